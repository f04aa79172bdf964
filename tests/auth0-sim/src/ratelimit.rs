//! Token buckets behind Auth0's `x-ratelimit-*` headers.

use std::time::{Duration, Instant};

use crate::config::RateSpec;

/// What a response reports about a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateHeaders {
    /// `x-ratelimit-limit`: bucket size.
    pub limit: u32,
    /// `x-ratelimit-remaining`: whole tokens left.
    pub remaining: u32,
    /// `x-ratelimit-reset`: UNIX seconds when the bucket is full again.
    pub reset: i64,
}

/// A refilling bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    spec: RateSpec,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(spec: RateSpec) -> Self {
        Self {
            spec,
            tokens: f64::from(spec.burst),
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.spec.per_second).min(f64::from(self.spec.burst));
        self.last = now;
    }

    /// Takes one token if there is one; returns whether it was taken and the headers after.
    pub fn take(&mut self, now: Instant, now_unix: f64) -> (bool, RateHeaders) {
        self.refill(now);
        let ok = self.tokens >= 1.0;
        if ok {
            self.tokens -= 1.0;
        }
        (ok, self.headers(now_unix))
    }

    /// Headers without taking a token.
    pub fn peek(&mut self, now: Instant, now_unix: f64) -> RateHeaders {
        self.refill(now);
        self.headers(now_unix)
    }

    /// Seconds until at least one token is available.
    pub fn wait_for_one(&self) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.spec.per_second)
        }
    }

    fn headers(&self, now_unix: f64) -> RateHeaders {
        let missing = f64::from(self.spec.burst) - self.tokens;
        let full_in = if missing <= 0.0 {
            0.0
        } else {
            missing / self.spec.per_second
        };
        RateHeaders {
            limit: self.spec.burst,
            remaining: self.tokens.floor().max(0.0) as u32,
            reset: (now_unix + full_in).ceil() as i64,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let mut b = Bucket::new(RateSpec {
            burst: 5,
            per_second: 1.0,
        });
        let t0 = Instant::now();
        for i in 0..5 {
            let (ok, h) = b.take(t0, 1000.0);
            assert!(ok);
            assert_eq!(h.remaining, 4 - i);
            assert_eq!(h.reset, 1000 + i64::from(i) + 1);
        }
        let (ok, h) = b.take(t0, 1000.0);
        assert!(!ok);
        assert_eq!((h.limit, h.remaining, h.reset), (5, 0, 1005));
        let (ok, h) = b.take(t0 + Duration::from_secs(2), 1002.0);
        assert!(ok);
        assert_eq!((h.remaining, h.reset), (1, 1006));
    }
}
