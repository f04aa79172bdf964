//! Per-tenant request budget: a token bucket every call awaits, `verify`'s own bucket, and the
//! pauses a 429 (or a nearly empty Auth0 bucket) imposes.
//!
//! Time is `tokio::time::Instant`, so the logic is testable with a paused clock.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::sync::lock;

/// A token-bucket budget: `requests_per_second` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained rate (tokens added per second). Must be > 0.
    pub requests_per_second: f64,
    /// Bucket size (≥ 1).
    pub burst: u32,
}

impl RateLimit {
    /// Default tenant budget: 2 req/s, burst 2 (Auth0's Free tier, the lowest published limit).
    pub const DEFAULT_TENANT: Self = Self {
        requests_per_second: 2.0,
        burst: 2,
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

    /// The same rate with a token or two of the burst held back (one per 20, at least one when
    /// the burst allows): requests do not reach Auth0 exactly as they left the bucket, and with
    /// no slack a request that overtakes its predecessor on the wire lands before Auth0 has
    /// refilled its token, which is a 429.
    pub fn with_margin(self) -> Self {
        let burst = self.burst.max(1);
        Self {
            burst: if burst > 1 {
                burst - (burst / 20).max(1)
            } else {
                burst
            },
            ..self
        }
    }

    pub(crate) fn sanitized(self) -> Self {
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

/// Which calls go first when several wait for the same bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Calls that move a domain already in progress forward (verify, reads, patches, deletes).
    Finish,
    /// Calls that start new work (create). They take what the finishing calls leave, so a
    /// domain whose DNS record is already published is never queued behind a thousand creates.
    Start,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Instant,
    /// Waiting callers by (priority, arrival): the first one gets the next token.
    queue: BTreeSet<(Priority, u64)>,
    next_ticket: u64,
}

impl BucketState {
    fn refill(&mut self, limit: RateLimit, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        let cap = f64::from(limit.with_margin().burst);
        self.tokens = (self.tokens + elapsed * limit.requests_per_second).min(cap);
        self.last = now;
    }
}

/// A token bucket whose waiters are served by [`Priority`], then in arrival order. A waiter
/// sleeps until the next token is due (or until the queue's head changes); it never spins. It
/// holds [`RateLimit::with_margin`] back from the configured burst.
#[derive(Debug)]
pub struct TokenBucket {
    limit: Mutex<RateLimit>,
    state: Mutex<BucketState>,
    /// Woken when the head of the queue leaves (took its token or gave up).
    turn: Notify,
}

/// Removes a waiter's ticket if its future is dropped before it got a token.
struct Ticket<'a> {
    bucket: &'a TokenBucket,
    id: Option<(Priority, u64)>,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            lock(&self.bucket.state).queue.remove(&id);
            self.bucket.turn.notify_waiters();
        }
    }
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        let limit = limit.sanitized();
        Self {
            state: Mutex::new(BucketState {
                tokens: f64::from(limit.with_margin().burst),
                last: Instant::now(),
                queue: BTreeSet::new(),
                next_ticket: 0,
            }),
            limit: Mutex::new(limit),
            turn: Notify::new(),
        }
    }

    /// Changes the rate (e.g. `spec.rateLimit` edited); tokens already in the bucket are kept,
    /// capped to the new burst.
    pub fn set_limit(&self, limit: RateLimit) {
        let limit = limit.sanitized();
        *lock(&self.limit) = limit;
        let mut s = lock(&self.state);
        s.tokens = s.tokens.min(f64::from(limit.with_margin().burst));
        drop(s);
        self.turn.notify_waiters();
    }

    /// The current limit.
    pub fn limit(&self) -> RateLimit {
        *lock(&self.limit)
    }

    /// Waits for a token as a [`Priority::Finish`] call; returns the time waited.
    pub async fn acquire(&self) -> Duration {
        self.acquire_as(Priority::Finish).await
    }

    /// Waits for a token, served after every waiting call of a higher priority and every earlier
    /// call of the same priority; returns the time waited.
    pub async fn acquire_as(&self, priority: Priority) -> Duration {
        let start = Instant::now();
        let id = {
            let mut s = lock(&self.state);
            let id = (priority, s.next_ticket);
            s.next_ticket += 1;
            s.queue.insert(id);
            id
        };
        let mut ticket = Ticket {
            bucket: self,
            id: Some(id),
        };
        loop {
            // Registered before looking, so a head change between the look and the sleep wakes us.
            let turn = self.turn.notified();
            tokio::pin!(turn);
            turn.as_mut().enable();
            let limit = self.limit();
            let wait = {
                let mut s = lock(&self.state);
                s.refill(limit, Instant::now());
                if s.queue.first() != Some(&id) {
                    None
                } else if s.tokens >= 1.0 {
                    s.tokens -= 1.0;
                    s.queue.remove(&id);
                    ticket.id = None;
                    drop(s);
                    self.turn.notify_waiters();
                    return start.elapsed();
                } else {
                    Some(Duration::from_secs_f64(
                        (1.0 - s.tokens) / limit.requests_per_second,
                    ))
                }
            };
            match wait {
                Some(d) => {
                    tokio::select! {
                        () = tokio::time::sleep(d) => {}
                        () = &mut turn => {}
                    }
                }
                None => turn.await,
            }
        }
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

    /// The tenant's rate.
    pub fn tenant_limit(&self) -> RateLimit {
        self.tenant.limit()
    }

    /// Verify's rate.
    pub fn verify_limit(&self) -> RateLimit {
        self.verify.limit()
    }

    /// Waits until a call may be sent: pauses first, then the tenant bucket (by `priority`), and
    /// for verify also verify's pause and bucket. Returns the total wait.
    pub async fn acquire(&self, is_verify: bool, priority: Priority) -> Duration {
        let mut waited = Duration::ZERO;
        if is_verify {
            waited += self.verify_pause.wait().await;
            waited += self.verify.acquire().await;
        }
        waited += self.tenant_pause.wait().await;
        waited += self.tenant.acquire_as(priority).await;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn unix_now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_burst_less_margin_then_paces() {
        let b = TokenBucket::new(RateLimit {
            requests_per_second: 2.0,
            burst: 3,
        });
        let start = Instant::now();
        // Burst 3 less one token of margin.
        for _ in 0..2 {
            assert_eq!(b.acquire().await, Duration::ZERO);
        }
        // 3rd and 4th wait 0.5 s each.
        b.acquire().await;
        b.acquire().await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_millis(1100),
            "{elapsed:?}"
        );
    }

    #[test]
    fn margin_is_one_token_in_twenty_at_least_one() {
        let burst = |b| {
            RateLimit {
                requests_per_second: 1.0,
                burst: b,
            }
            .with_margin()
            .burst
        };
        assert_eq!(
            [burst(1), burst(2), burst(5), burst(10), burst(40), burst(100)],
            [1, 1, 4, 9, 38, 95]
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
        // 4 free (5 less the margin), then 3 more at 12 s each.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(36) && elapsed < Duration::from_secs(37),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn finishing_calls_overtake_waiting_starts() {
        let b = std::sync::Arc::new(TokenBucket::new(RateLimit {
            requests_per_second: 1.0,
            burst: 2,
        }));
        // Drain the one usable token, then queue three starts and, later, one finish.
        b.acquire().await;
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..3 {
            let (b, order) = (b.clone(), order.clone());
            handles.push(tokio::spawn(async move {
                b.acquire_as(Priority::Start).await;
                lock(&order).push(format!("start{i}"));
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (b2, order2) = (b.clone(), order.clone());
        handles.push(tokio::spawn(async move {
            b2.acquire_as(Priority::Finish).await;
            lock(&order2).push("finish".to_owned());
        }));
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*lock(&order), ["finish", "start0", "start1", "start2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_gives_up_does_not_block_the_queue() {
        let b = std::sync::Arc::new(TokenBucket::new(RateLimit {
            requests_per_second: 1.0,
            burst: 2,
        }));
        b.acquire().await;
        // The head of the queue is dropped (its reconcile was cancelled) before its token.
        let head = tokio::time::timeout(Duration::from_millis(100), b.acquire_as(Priority::Finish)).await;
        assert!(head.is_err());
        let start = Instant::now();
        b.acquire_as(Priority::Start).await;
        assert!(start.elapsed() <= Duration::from_secs(1), "{:?}", start.elapsed());
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
        budget.acquire(false, Priority::Finish).await;
        assert!(start.elapsed() < Duration::from_millis(10));
        budget.acquire(true, Priority::Finish).await;
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
        budget.acquire(false, Priority::Finish).await;
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
