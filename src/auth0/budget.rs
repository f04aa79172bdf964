//! Per-tenant request budget: a token bucket every call awaits, `verify`'s own bucket, and the
//! pauses a 429 (or a nearly empty Auth0 bucket) imposes.
//!
//! Time is `tokio::time::Instant`, so the logic is testable with a paused clock.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// A token-bucket budget: `requests_per_second` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained rate (tokens added per second). Must be > 0.
    pub requests_per_second: f64,
    /// Bucket size (≥ 1).
    pub burst: u32,
}

impl RateLimit {
    /// Default tenant budget: 2 req/s, burst 10 (Auth0's smallest published plan).
    pub const DEFAULT_TENANT: Self = Self {
        requests_per_second: 2.0,
        burst: 10,
    };
    /// Auth0's verify bucket: burst 5, 5 per minute.
    pub const DEFAULT_VERIFY: Self = Self {
        requests_per_second: 5.0 / 60.0,
        burst: 5,
    };

    /// `n` requests per `per`, burst `n`.
    pub fn per(n: u32, per: Duration) -> Self {
        let secs = per.as_secs_f64().max(f64::MIN_POSITIVE);
        Self {
            requests_per_second: f64::from(n.max(1)) / secs,
            burst: n.max(1),
        }
    }

    fn sanitized(self) -> Self {
        let rps = if self.requests_per_second.is_finite() && self.requests_per_second > 0.0 {
            self.requests_per_second
        } else {
            Self::DEFAULT_TENANT.requests_per_second
        };
        Self {
            requests_per_second: rps,
            burst: self.burst.max(1),
        }
    }
}

#[derive(Debug)]
struct BucketState {
    /// May go negative: each waiter reserves its token up front and sleeps until it is "paid".
    tokens: f64,
    last: Instant,
}

/// A token bucket with reservations: `acquire` never spins and waiters are served in order.
#[derive(Debug)]
pub struct TokenBucket {
    limit: Mutex<RateLimit>,
    state: Mutex<BucketState>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        let limit = limit.sanitized();
        Self {
            state: Mutex::new(BucketState {
                tokens: f64::from(limit.burst),
                last: Instant::now(),
            }),
            limit: Mutex::new(limit),
        }
    }

    /// Changes the rate (e.g. `spec.rateLimit` edited); tokens already in the bucket are kept,
    /// capped to the new burst.
    pub fn set_limit(&self, limit: RateLimit) {
        let limit = limit.sanitized();
        *lock(&self.limit) = limit;
        let mut s = lock(&self.state);
        s.tokens = s.tokens.min(f64::from(limit.burst));
    }

    /// The current limit.
    pub fn limit(&self) -> RateLimit {
        *lock(&self.limit)
    }

    /// Reserves one token and returns how long the caller must wait before using it.
    pub fn reserve(&self) -> Duration {
        let limit = self.limit();
        let mut s = lock(&self.state);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.tokens = (s.tokens + elapsed * limit.requests_per_second).min(f64::from(limit.burst));
        s.last = now;
        s.tokens -= 1.0;
        if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens / limit.requests_per_second)
        }
    }

    /// Waits for a token; returns the time waited.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

/// A "do not send before" instant, moved forward by 429s and low-remaining headers.
#[derive(Debug, Default)]
pub struct Pause {
    until: Mutex<Option<Instant>>,
}

impl Pause {
    /// Pauses until `now + d` (never shortens an existing pause).
    pub fn extend(&self, d: Duration) {
        let target = Instant::now() + d;
        let mut until = lock(&self.until);
        if until.is_none_or(|u| u < target) {
            *until = Some(target);
        }
    }

    /// Time left of the pause (zero when none).
    pub fn remaining(&self) -> Duration {
        lock(&self.until)
            .map(|u| u.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// Waits out the pause (re-checking in case it was extended meanwhile); returns the time waited.
    pub async fn wait(&self) -> Duration {
        let mut waited = Duration::ZERO;
        // Bounded: each pause is capped by the caller, so a few rounds at most.
        for _ in 0..8 {
            let left = self.remaining();
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left).await;
            waited += left;
        }
        waited
    }
}

/// Which bucket a 429 came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The tenant-wide Management API bucket: every call pauses.
    Tenant,
    /// `verify`'s own bucket: only verify pauses.
    Verify,
}

/// What the rate-limit headers of one response said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// `x-ratelimit-limit`.
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset` (UNIX seconds).
    pub reset: Option<u64>,
}

impl RateLimitHeaders {
    /// Reads the three headers (absent or unparsable → `None`).
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok())
        };
        Self {
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            reset: num("x-ratelimit-reset"),
        }
    }

    /// Time from now until `reset`, capped at `max`; `None` without a reset header.
    pub fn until_reset(&self, max: Duration) -> Option<Duration> {
        let reset = self.reset?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        // The header has one-second resolution; a reset "now" still needs a moment.
        let secs = (reset as f64 - now).max(0.0);
        Some(Duration::from_secs_f64(secs).clamp(Duration::from_millis(100), max))
    }
}

/// The whole budget of one tenant.
#[derive(Debug)]
pub struct Budget {
    tenant: TokenBucket,
    verify: TokenBucket,
    tenant_pause: Pause,
    verify_pause: Pause,
    max_pause: Duration,
}

impl Budget {
    /// A budget with full buckets; pauses are capped at `max_pause`.
    pub fn new(tenant: RateLimit, verify: RateLimit, max_pause: Duration) -> Self {
        Self {
            tenant: TokenBucket::new(tenant),
            verify: TokenBucket::new(verify),
            tenant_pause: Pause::default(),
            verify_pause: Pause::default(),
            max_pause,
        }
    }

    /// Changes the tenant's rate (from `spec.rateLimit`).
    pub fn set_tenant_limit(&self, limit: RateLimit) {
        self.tenant.set_limit(limit);
    }

    /// Changes verify's rate.
    pub fn set_verify_limit(&self, limit: RateLimit) {
        self.verify.set_limit(limit);
    }

    /// Waits until a call may be sent: pauses first, then the tenant bucket, and for verify also
    /// verify's pause and bucket. Returns the total wait.
    pub async fn acquire(&self, is_verify: bool) -> Duration {
        let mut waited = Duration::ZERO;
        if is_verify {
            waited += self.verify_pause.wait().await;
            waited += self.verify.acquire().await;
        }
        waited += self.tenant_pause.wait().await;
        waited += self.tenant.acquire().await;
        waited
    }

    /// Decides which bucket a 429 on this endpoint came from: verify's when the call was a
    /// verify and the advertised limit is verify-sized (or not advertised), else the tenant's.
    pub fn scope_of_429(&self, is_verify: bool, headers: &RateLimitHeaders) -> Scope {
        if !is_verify {
            return Scope::Tenant;
        }
        let verify_burst = u64::from(self.verify.limit().burst);
        match headers.limit {
            Some(limit) if limit > verify_burst => Scope::Tenant,
            _ => Scope::Verify,
        }
    }

    /// Applies a 429: pauses `scope` until the reset (capped), or for `fallback` when the header
    /// is missing. Returns the pause applied.
    pub fn on_429(&self, scope: Scope, headers: &RateLimitHeaders, fallback: Duration) -> Duration {
        let d = headers
            .until_reset(self.max_pause)
            .unwrap_or(fallback.min(self.max_pause));
        match scope {
            Scope::Tenant => self.tenant_pause.extend(d),
            Scope::Verify => self.verify_pause.extend(d),
        }
        d
    }

    /// Slows down before Auth0 says 429: with under a tenth of the bucket left, wait for one
    /// token to refill before the next call. `x-ratelimit-reset` is when the bucket is *full*
    /// again, so one token takes `(reset - now) / (limit - remaining)` (never shorter than the real
    /// refill, as Auth0 rounds the reset up). Returns the pause applied.
    pub fn observe(&self, scope: Scope, headers: &RateLimitHeaders) -> Duration {
        let (Some(remaining), Some(limit)) = (headers.remaining, headers.limit) else {
            return Duration::ZERO;
        };
        let low_water = (limit / 10).max(1);
        if remaining >= low_water || remaining >= limit {
            return Duration::ZERO;
        }
        let Some(to_reset) = headers.until_reset(self.max_pause) else {
            return Duration::ZERO;
        };
        let d = to_reset / u32::try_from(limit - remaining).unwrap_or(u32::MAX);
        match scope {
            Scope::Tenant => self.tenant_pause.extend(d),
            Scope::Verify => self.verify_pause.extend(d),
        }
        d
    }

    /// Remaining pause of the tenant (for tests and diagnostics).
    pub fn tenant_paused_for(&self) -> Duration {
        self.tenant_pause.remaining()
    }

    /// Remaining pause of verify (for tests and diagnostics).
    pub fn verify_paused_for(&self) -> Duration {
        self.verify_pause.remaining()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of plain numbers; keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn unix_now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_burst_then_paces() {
        let b = TokenBucket::new(RateLimit {
            requests_per_second: 2.0,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.acquire().await, Duration::ZERO);
        }
        // 4th and 5th wait 0.5 s each.
        b.acquire().await;
        b.acquire().await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_millis(1100),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_spread_out() {
        let b = std::sync::Arc::new(TokenBucket::new(RateLimit::per(5, Duration::from_secs(60))));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..7 {
            let b = b.clone();
            handles.push(tokio::spawn(async move { b.acquire().await }));
        }
        for h in handles {
            h.await.unwrap();
        }
        // 5 free, then 2 more at 12 s each.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(24) && elapsed < Duration::from_secs(25),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn verify_429_pauses_only_verify() {
        let budget = Budget::new(
            RateLimit::DEFAULT_TENANT,
            RateLimit::DEFAULT_VERIFY,
            Duration::from_secs(60),
        );
        let h = RateLimitHeaders {
            limit: Some(5),
            remaining: Some(0),
            reset: None,
        };
        let scope = budget.scope_of_429(true, &h);
        assert_eq!(scope, Scope::Verify);
        assert_eq!(
            budget.on_429(scope, &h, Duration::from_secs(2)),
            Duration::from_secs(2)
        );
        assert_eq!(budget.tenant_paused_for(), Duration::ZERO);
        assert!(budget.verify_paused_for() > Duration::from_secs(1));
        let start = Instant::now();
        budget.acquire(false).await;
        assert!(start.elapsed() < Duration::from_millis(10));
        budget.acquire(true).await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn tenant_429_pauses_everything_until_reset_capped() {
        let budget = Budget::new(
            RateLimit::DEFAULT_TENANT,
            RateLimit::DEFAULT_VERIFY,
            Duration::from_secs(60),
        );
        let h = RateLimitHeaders {
            limit: Some(50),
            remaining: Some(0),
            reset: Some(unix_now() + 3600),
        };
        assert_eq!(budget.scope_of_429(true, &h), Scope::Tenant);
        let d = budget.on_429(Scope::Tenant, &h, Duration::from_secs(1));
        assert_eq!(d, Duration::from_secs(60), "capped");
        let start = Instant::now();
        budget.acquire(false).await;
        assert!(start.elapsed() >= Duration::from_secs(59));
    }

    #[test]
    fn low_remaining_paces_at_the_refill_rate() {
        let budget = Budget::new(
            RateLimit::DEFAULT_TENANT,
            RateLimit::DEFAULT_VERIFY,
            Duration::from_secs(60),
        );
        let plenty = RateLimitHeaders {
            limit: Some(100),
            remaining: Some(50),
            reset: Some(unix_now() + 10),
        };
        assert_eq!(budget.observe(Scope::Tenant, &plenty), Duration::ZERO);
        assert_eq!(budget.tenant_paused_for(), Duration::ZERO);
        // Empty verify bucket of 5, full in ~60 s: one token in ~12 s.
        let empty = RateLimitHeaders {
            limit: Some(5),
            remaining: Some(0),
            reset: Some(unix_now() + 60),
        };
        let d = budget.observe(Scope::Verify, &empty);
        assert!(
            d > Duration::from_secs(10) && d <= Duration::from_secs(12),
            "{d:?}"
        );
        assert!(budget.verify_paused_for() > Duration::from_secs(10));
        assert_eq!(budget.tenant_paused_for(), Duration::ZERO);
        // Nearly empty tenant bucket of 100, full in ~10 s: about 0.1 s.
        let low = RateLimitHeaders {
            limit: Some(100),
            remaining: Some(1),
            reset: Some(unix_now() + 10),
        };
        let d = budget.observe(Scope::Tenant, &low);
        assert!(
            d > Duration::from_millis(80) && d <= Duration::from_millis(102),
            "{d:?}"
        );
    }

    #[test]
    fn parses_headers() {
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-limit", "10".parse().unwrap());
        h.insert("x-ratelimit-remaining", " 3".parse().unwrap());
        h.insert("x-ratelimit-reset", "garbage".parse().unwrap());
        let r = RateLimitHeaders::from_headers(&h);
        assert_eq!(
            r,
            RateLimitHeaders {
                limit: Some(10),
                remaining: Some(3),
                reset: None
            }
        );
    }
}
