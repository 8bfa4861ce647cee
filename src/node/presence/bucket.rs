//! A token bucket: rate limits that allow short bursts (answers to `hello`, signature
//! checks). Pure: time is a parameter.

use std::time::Instant;

/// A token bucket: at most `rate` actions per second, bursts up to `burst`.
#[derive(Debug)]
pub(in crate::node) struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    pub(in crate::node) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            burst,
            rate,
            last: now,
        }
    }

    /// Whether the bucket has refilled to its burst by `now` (nothing owed).
    pub(super) fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }

    /// Tokens left, as of the last take.
    #[cfg(test)]
    pub(super) fn tokens(&self) -> f64 {
        self.tokens
    }

    /// Takes a token if one is left.
    pub(in crate::node) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
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

    #[test]
    fn token_bucket_limits_bursts_and_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3.0, t0);
        assert!((0..3).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
    }
}
