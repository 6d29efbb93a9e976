//! Token buckets, by key (a publisher, an inbox), bounded in how many keys
//! they track. Sans-IO: time comes in as an [`Instant`].

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use crate::config::RateLimit;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One token bucket per key: `burst` tokens, refilled at `per_second`.
#[derive(Debug)]
pub(in crate::engine) struct Limiter<K> {
    rate: RateLimit,
    max_keys: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// Buckets at `rate`, for at most `max_keys` keys at once.
    pub(in crate::engine) fn new(rate: RateLimit, max_keys: usize) -> Self {
        Self {
            rate,
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token of `key`'s bucket at `now`; false when it is empty.
    /// With every key tracked busy, a new key gets nothing (a flood of
    /// fresh keys cannot buy fresh bursts).
    pub(in crate::engine) fn allow(&mut self, key: &K, now: Instant) -> bool {
        let (per_second, burst) = (
            f64::from(self.rate.per_second),
            f64::from(self.rate.burst.max(1)),
        );
        if !self.buckets.contains_key(key) && self.buckets.len() >= self.max_keys {
            // Forget the keys whose buckets are full again (idle ones).
            self.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < burst
            });
            if self.buckets.len() >= self.max_keys {
                return false;
            }
        }
        let bucket = self.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rate(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut l = Limiter::new(rate(10, 5), 8);
        let allowed = (0..20).filter(|_| l.allow(&1u8, t0)).count();
        assert_eq!(allowed, 5, "the burst");
        // One second later: ten more, not more than the burst.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..20).filter(|_| l.allow(&1u8, t1)).count(), 5);
        let t2 = t1 + Duration::from_millis(300);
        assert_eq!((0..20).filter(|_| l.allow(&1u8, t2)).count(), 3);
        // Another key has its own bucket.
        assert!(l.allow(&2u8, t2));
    }

    #[test]
    fn keys_are_bounded_and_fresh_keys_buy_no_burst_under_pressure() {
        let t0 = Instant::now();
        let mut l = Limiter::new(rate(1, 2), 4);
        for k in 0..4u32 {
            assert!(l.allow(&k, t0));
        }
        assert!(!l.allow(&99, t0), "every tracked key is busy");
        // Once they are idle (full again), they are forgotten.
        let later = t0 + Duration::from_secs(10);
        assert!(l.allow(&99, later));
        assert!(l.buckets.len() <= 4);
    }
}
