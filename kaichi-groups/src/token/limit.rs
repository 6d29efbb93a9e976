//! A token bucket bounding the request rate to a balance source.

use std::time::{Duration, Instant};

/// At most `per_second` requests a second on average, `burst` at once.
#[derive(Debug, Clone)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    /// A full bucket as of `now`; `per_second` and `burst` are at least 1.
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_second: f64::from(per_second.max(1)),
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Takes one request's token at `now`, or says how long to wait for it.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let t0 = Instant::now();
        let mut l = RateLimit::new(10, 3, t0);
        for _ in 0..3 {
            assert!(l.try_take(t0).is_ok());
        }
        let wait = l.try_take(t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100) && wait > Duration::ZERO);
        assert!(l.try_take(t0 + Duration::from_millis(100)).is_ok());
        assert!(l.try_take(t0 + Duration::from_millis(100)).is_err());
        // Over a long run: no more than the rate (plus the burst).
        let mut taken = 0;
        let mut t = t0 + Duration::from_millis(100);
        for _ in 0..10_000 {
            t += Duration::from_millis(1);
            if l.try_take(t).is_ok() {
                taken += 1;
            }
        }
        assert!((99..=103).contains(&taken), "{taken}");
    }
}
