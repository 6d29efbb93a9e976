//! [`Cooldown`]: at most one action per key per interval, remembering a
//! bounded number of keys (sans-IO: time comes in as an [`Instant`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// When each key last acted, for at most `max_keys` keys.
pub(super) struct Cooldown<K> {
    interval: Duration,
    max_keys: usize,
    last: HashMap<K, Instant>,
}

impl<K: Hash + Eq> Cooldown<K> {
    /// Each key may act once per `interval`; when `max_keys` are
    /// remembered, those whose interval is over are forgotten.
    pub(super) fn new(interval: Duration, max_keys: usize) -> Self {
        Self {
            interval,
            max_keys,
            last: HashMap::new(),
        }
    }

    /// Whether `key` may act now; a yes is recorded.
    pub(super) fn try_now(&mut self, key: K, now: Instant) -> bool {
        let interval = self.interval;
        if self
            .last
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < interval)
        {
            return false;
        }
        if self.last.len() >= self.max_keys {
            self.last.retain(|_, t| now.duration_since(*t) < interval);
        }
        self.last.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_interval_per_key_with_bounded_memory() {
        let mut c = Cooldown::new(Duration::from_secs(5), 2);
        let t0 = Instant::now();
        assert!(c.try_now(1, t0));
        assert!(!c.try_now(1, t0 + Duration::from_secs(4)));
        assert!(c.try_now(2, t0));
        assert!(c.try_now(1, t0 + Duration::from_secs(5)));
        // Full: the keys whose interval is over are forgotten first.
        assert!(c.try_now(3, t0 + Duration::from_secs(6)));
        assert!(c.last.len() <= 2);
    }
}
