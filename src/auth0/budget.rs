//! Per-tenant request budget: a token bucket every call awaits, `verify`'s own bucket, and the
//! pauses a 429 (or a nearly empty Auth0 bucket) imposes.
//!
//! Time is `tokio::time::Instant`, so the logic is testable with a paused clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
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
    /// The latest time promised to a caller of each priority told to come back
    /// ([`TokenBucket::reserve_within`]): the next one is told one token later, so callers sent
    /// away return one by one instead of all at the first free token. Per priority, so a verify
    /// sent away is not promised a time behind a thousand creates.
    promised: BTreeMap<Priority, Instant>,
}

impl BucketState {
    fn refill(&mut self, limit: RateLimit, cap: f64, now: Instant) {
        top_up(
            &mut self.tokens,
            &mut self.last,
            limit.requests_per_second,
            cap,
            now,
        );
    }
}

/// Adds what `rate` refilled since `last` (up to `cap`) and moves `last` to `now`.
fn top_up(tokens: &mut f64, last: &mut Instant, rate: f64, cap: f64, now: Instant) {
    let elapsed = now.saturating_duration_since(*last).as_secs_f64();
    *tokens = (*tokens + elapsed * rate).min(cap);
    *last = now;
}

/// A token bucket whose waiters are served by [`Priority`], then in arrival order. A waiter
/// sleeps until the next token is due (or until the queue's head changes); it never spins. It
/// holds [`RateLimit::with_margin`] back from the configured burst, unless made [`Self::exact`].
#[derive(Debug)]
pub struct TokenBucket {
    limit: Mutex<RateLimit>,
    /// Whether the margin is held back.
    margin: bool,
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
    /// A full bucket that holds the margin back.
    pub fn new(limit: RateLimit) -> Self {
        Self::with(limit, true)
    }

    /// A full bucket that may spend its whole burst: for a bucket whose calls are already spaced
    /// a whole refill apart and checked against Auth0's count after each answer (verify).
    pub fn exact(limit: RateLimit) -> Self {
        Self::with(limit, false)
    }

    fn with(limit: RateLimit, margin: bool) -> Self {
        let limit = limit.sanitized();
        let cap = Self::cap_of(limit, margin);
        Self {
            margin,
            state: Mutex::new(BucketState {
                tokens: cap,
                last: Instant::now(),
                queue: BTreeSet::new(),
                next_ticket: 0,
                promised: BTreeMap::new(),
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
        let cap = self.cap(limit);
        let mut s = lock(&self.state);
        s.tokens = s.tokens.min(cap);
        drop(s);
        self.turn.notify_waiters();
    }

    /// The current limit.
    pub fn limit(&self) -> RateLimit {
        *lock(&self.limit)
    }

    fn cap_of(limit: RateLimit, margin: bool) -> f64 {
        f64::from(if margin {
            limit.with_margin().burst
        } else {
            limit.burst
        })
    }

    /// The most tokens the bucket holds under `limit`.
    fn cap(&self, limit: RateLimit) -> f64 {
        Self::cap_of(limit, self.margin)
    }

    /// The current limit and the state, refilled up to now.
    fn refilled(&self) -> (RateLimit, MutexGuard<'_, BucketState>) {
        let limit = self.limit();
        let mut s = lock(&self.state);
        s.refill(limit, self.cap(limit), Instant::now());
        (limit, s)
    }

    /// Tokens of the burst held back (0 for an exact bucket).
    fn margin_tokens(&self) -> f64 {
        let limit = self.limit();
        f64::from(limit.burst) - self.cap(limit)
    }

    /// Lowers the tokens to `at_most` when they are more than `slack` above it (never raises
    /// them): Auth0 reported fewer left than this process expected, so someone else spent them.
    /// The tokens may go below zero (owed), down to minus one burst. Returns the tokens removed.
    pub fn sync_down(&self, at_most: f64, slack: f64) -> f64 {
        let (limit, mut s) = self.refilled();
        let floor = -f64::from(limit.burst);
        let target = at_most.max(floor);
        if s.tokens - target <= slack {
            return 0.0;
        }
        let removed = s.tokens - target;
        s.tokens = target;
        removed
    }

    /// How long a call of `priority` arriving now would wait: tokens owed to the waiters it would
    /// queue behind, less the tokens in the bucket, at the refill rate.
    pub fn expected_wait(&self, priority: Priority) -> Duration {
        let (limit, s) = self.refilled();
        let ahead = s.queue.range(..(priority, u64::MAX)).count();
        let owed = ahead as f64 + 1.0 - s.tokens;
        if owed <= 0.0 {
            Duration::ZERO
        } else {
            at_least_a_millisecond(Duration::from_secs_f64(owed / limit.requests_per_second))
        }
    }

    /// Reserve or come back: when a token is due within `max_wait`, waits for it and returns
    /// `Ok(waited)`; else takes nothing and returns `Err(after)`, a time to come back at. Callers
    /// sent away are spread one token apart, so they do not all return at once.
    pub async fn reserve_within(&self, priority: Priority, max_wait: Duration) -> Result<Duration, Duration> {
        let wait = self.expected_wait(priority);
        if wait <= max_wait {
            return Ok(self.acquire_as(priority).await);
        }
        let interval = Duration::from_secs_f64(1.0 / self.limit().requests_per_second);
        Err(self.promise(priority, wait, interval))
    }

    /// Promises a caller of `priority` a time at least `wait` from now and `interval` after the
    /// last promise made to its priority.
    fn promise(&self, priority: Priority, wait: Duration, interval: Duration) -> Duration {
        let now = Instant::now();
        let mut s = lock(&self.state);
        let last = s.promised.get(&priority).copied().unwrap_or(now).max(now);
        let at = (now + wait).max(last + interval);
        s.promised.insert(priority, at);
        at_least_a_millisecond(at - now)
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
            let wait = {
                let (limit, mut s) = self.refilled();
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
                    Some(at_least_a_millisecond(Duration::from_secs_f64(
                        (1.0 - s.tokens) / limit.requests_per_second,
                    )))
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

/// Tokio's timer has millisecond resolution: a shorter sleep ends at once, and a loop waiting for
/// a token a fraction of a millisecond away would spin until it came.
fn at_least_a_millisecond(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
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

/// The part of the configured tenant rate this process uses: all of it until Auth0's headers show
/// someone else spending the same bucket (another cluster's operator, a script), then less
/// (halved the first time the bucket is nearly empty while the other spender is about, on a 429
/// and on an empty bucket; cut by a fifth on a nearly empty one after that), creeping back while
/// the bucket stays half full and nobody else spends. Two operators that were each given the
/// tenant's whole budget so settle on shares that add up to what Auth0 refills, instead of 429s
/// every second.
#[derive(Debug)]
struct Share {
    factor: f64,
    last_change: Instant,
    /// The last halving: fifths and halvings are throttled apart, so a fifth just before a 429
    /// does not spare the share its halving.
    last_halving: Option<Instant>,
    /// Since when answers have shown Auth0's bucket under a quarter with nobody else seen.
    short_alone_since: Option<Instant>,
    /// Whether the share was halved since another spender last appeared (after
    /// [`OTHERS_FRESH`] unseen): the first short bucket of a sharing halves, later ones cut a fifth.
    halved_while_sharing: bool,
}

/// How the share moves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Move {
    /// A bucket left nearly empty while someone else spends from it.
    Fifth,
    /// A 429, a bucket left empty, or another spender appearing.
    Halve,
    /// Room in Auth0's bucket while someone else spends from it: one small step.
    Grow,
    /// Room in Auth0's bucket and nobody else seen lately: a larger step, so the rate comes
    /// back within seconds once the other spender is done.
    Regain,
}

/// The lowest share: one eighth of the configured rate.
const MIN_SHARE: f64 = 0.125;
/// At most one cut per this long (answers in flight report the same empty bucket).
const SHARE_CUT_EVERY: Duration = Duration::from_millis(500);
/// At most one step up per this long.
const SHARE_GROW_EVERY: Duration = Duration::from_secs(1);
/// One step up while another spender is about.
const SHARE_GROW_STEP: f64 = 0.05;
/// One step up with nobody else seen lately.
const SHARE_REGAIN_STEP: f64 = 0.2;
/// How long Auth0's bucket may stay under a quarter with nobody else seen before this process
/// leaves room (cuts its share by a fifth) to find out whether someone is starved: another
/// spender whose calls all meet an empty bucket gets 429s, which Auth0 does not count, so it
/// never shows in the answers.
const PROBE_AFTER: Duration = Duration::from_secs(2);
/// The smallest Auth0 bucket worth probing: the room a probe leaves is kept in the bucket, and a
/// bucket of a few tokens (the Free tier's 2) would overflow and lose it.
const PROBE_MIN_BUCKET: u64 = 20;
/// The longest a [`Priority::Finish`] call waits inline for the tenant bucket's next token
/// ([`Budget::reserve_within`]).
pub const FINISH_WAIT_CAP: Duration = Duration::from_secs(1);
/// How long after this process last heard from Auth0 its view of the tenant bucket is too old to
/// spend on: the local bucket refilled meanwhile as if nobody else spent, and another spender may
/// have emptied Auth0's. The next call then goes alone, and the rest wait for its answer.
const STALE_VIEW: Duration = Duration::from_secs(1);
/// The longest a call waits for a lone call's answer after a stale view (a slow answer, or a
/// lone call that was dropped before it was sent).
const LONE_CALL_WAIT: Duration = Duration::from_millis(500);
/// How long a sighting of another spender counts: a low bucket within this long after one is
/// blamed on sharing and cuts the share; without one it is this process's own doing.
const OTHERS_FRESH: Duration = Duration::from_secs(2);

/// A call sent and not answered yet (held from the send to the answer). Auth0's `remaining` on
/// an answer does not count the calls sent after it that are still on their way, so following
/// it must. Calls sent before it were (almost always) counted by Auth0 already.
#[derive(Debug)]
pub struct InFlight<'a> {
    budget: &'a Budget,
    seq: u64,
    verify: bool,
    sent: Instant,
}

impl InFlight<'_> {
    /// Calls of `scope`'s bucket sent after this one and not answered yet.
    fn later(&self, scope: Scope) -> u32 {
        let f = lock(&self.budget.flights);
        let set = match scope {
            Scope::Tenant => &f.tenant,
            Scope::Verify => &f.verify,
        };
        u32::try_from(set.range(self.seq + 1..).count()).unwrap_or(u32::MAX)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut f = lock(&self.budget.flights);
        f.tenant.remove(&self.seq);
        if self.verify {
            f.verify.remove(&self.seq);
        }
        drop(f);
        self.budget.answered.notify_waiters();
    }
}

/// When this process last heard from Auth0, and the lone call sent while that was too long ago.
#[derive(Debug, Default)]
struct View {
    last_answer: Option<Instant>,
    /// A call let through alone on a stale view, until it is sent.
    lone_since: Option<Instant>,
}

/// The calls in flight, by the order they were sent (a verify is in both sets).
#[derive(Debug, Default)]
struct Flights {
    next: u64,
    tenant: BTreeSet<u64>,
    verify: BTreeSet<u64>,
}

/// Auth0's tenant bucket as it would be if this process were its only spender: refilled at the
/// whole configured rate (not the share), one token less per call sent. Auth0 reporting less, by
/// more than timing explains, is another spender, even one spending a steady trickle that never
/// leaves the local bucket (paced at the share, so always nearly empty) short.
#[derive(Debug)]
struct Mirror {
    tokens: f64,
    last: Instant,
    /// Auth0's bucket size, from `x-ratelimit-limit` once an answer carried it.
    size: Option<f64>,
}

impl Mirror {
    fn refill(&mut self, configured: RateLimit, now: Instant) {
        let size = self.size.unwrap_or_else(|| f64::from(configured.burst));
        top_up(
            &mut self.tokens,
            &mut self.last,
            configured.requests_per_second,
            size,
            now,
        );
    }

    /// Takes Auth0's count (`remaining`, plus this process's `later` calls it has not counted
    /// yet); returns the tokens someone else spent when that is more than `slack`. Smaller gaps
    /// are kept, not forgotten: a steady trickle adds up until it shows. A count above the
    /// mirror is not taken: it means calls sent earlier that Auth0 has yet to count, and taking
    /// it would show them as someone else's once counted.
    fn follow(&mut self, remaining: f64, later: f64, size: f64, slack: f64) -> f64 {
        self.size = Some(size);
        self.tokens = self.tokens.min(size);
        let auth0 = remaining + later;
        let gap = self.tokens - auth0;
        if gap <= slack {
            return 0.0;
        }
        self.tokens = auth0;
        gap
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
    /// The tenant rate as configured (`spec.rateLimit`); the bucket runs at `share` of it.
    configured: Mutex<RateLimit>,
    share: Mutex<Share>,
    /// Calls sent and not answered.
    flights: Mutex<Flights>,
    /// When an answer last showed another spender in the tenant bucket.
    others_seen: Mutex<Option<Instant>>,
    mirror: Mutex<Mirror>,
    view: Mutex<View>,
    /// Woken by every answer and every call that ends.
    answered: Notify,
}

impl Budget {
    /// A budget with full buckets; pauses are capped at `max_pause`.
    pub fn new(tenant: RateLimit, verify: RateLimit, max_pause: Duration) -> Self {
        Self {
            tenant: TokenBucket::new(tenant),
            verify: TokenBucket::exact(verify),
            tenant_pause: Pause::default(),
            verify_pause: Pause::default(),
            max_pause,
            configured: Mutex::new(tenant.sanitized()),
            share: Mutex::new(Share {
                factor: 1.0,
                last_change: Instant::now(),
                last_halving: None,
                short_alone_since: None,
                halved_while_sharing: false,
            }),
            flights: Mutex::new(Flights::default()),
            others_seen: Mutex::new(None),
            mirror: Mutex::new(Mirror {
                tokens: f64::from(tenant.sanitized().burst),
                last: Instant::now(),
                size: None,
            }),
            view: Mutex::new(View::default()),
            answered: Notify::new(),
        }
    }

    /// Marks a call as sent; keep the guard until its answer has been observed.
    pub fn sending(&self, is_verify: bool) -> InFlight<'_> {
        let mut f = lock(&self.flights);
        let seq = f.next;
        f.next += 1;
        f.tenant.insert(seq);
        if is_verify {
            f.verify.insert(seq);
        }
        drop(f);
        lock(&self.view).lone_since = None;
        // Every call, a verify too, spends a tenant token at Auth0.
        let configured = *lock(&self.configured);
        let mut m = lock(&self.mirror);
        m.refill(configured, Instant::now());
        m.tokens -= 1.0;
        drop(m);
        InFlight {
            budget: self,
            seq,
            verify: is_verify,
            sent: Instant::now(),
        }
    }

    /// Changes the tenant's rate (from `spec.rateLimit`); the current share is kept.
    pub fn set_tenant_limit(&self, limit: RateLimit) {
        *lock(&self.configured) = limit.sanitized();
        let factor = lock(&self.share).factor;
        self.apply_share(factor);
    }

    /// The share of the configured tenant rate in use (1.0: all of it).
    pub fn tenant_share(&self) -> f64 {
        lock(&self.share).factor
    }

    fn apply_share(&self, factor: f64) {
        let c = *lock(&self.configured);
        self.tenant.set_limit(RateLimit {
            requests_per_second: c.requests_per_second * factor,
            // A share of the burst too: a full burst is what lands on the other process's tokens.
            burst: ((f64::from(c.burst) * factor).round() as u32).max(1),
        });
    }

    /// Moves the share: a fifth or a half down (each at most once per [`SHARE_CUT_EVERY`]: answers
    /// in flight report the same empty bucket), or a step up (at most once per
    /// [`SHARE_GROW_EVERY`]).
    fn change_share(&self, how: Move) {
        let now = Instant::now();
        let factor = {
            let mut s = lock(&self.share);
            let since = now.saturating_duration_since(s.last_change);
            let halved_lately = s
                .last_halving
                .is_some_and(|at| now.saturating_duration_since(at) < SHARE_CUT_EVERY);
            let next = match how {
                Move::Halve if !halved_lately => {
                    s.last_halving = Some(now);
                    s.halved_while_sharing = true;
                    (s.factor * 0.5).max(MIN_SHARE)
                }
                Move::Fifth if since >= SHARE_CUT_EVERY || s.factor >= 1.0 => (s.factor * 0.8).max(MIN_SHARE),
                Move::Grow if s.factor < 1.0 && since >= SHARE_GROW_EVERY => {
                    (s.factor + SHARE_GROW_STEP).min(1.0)
                }
                Move::Regain if s.factor < 1.0 && since >= SHARE_GROW_EVERY => {
                    (s.factor + SHARE_REGAIN_STEP).min(1.0)
                }
                _ => return,
            };
            if (next - s.factor).abs() < f64::EPSILON {
                return;
            }
            s.factor = next;
            s.last_change = now;
            next
        };
        tracing::debug!(
            share = factor,
            "tenant rate share changed from Auth0's rate-limit headers"
        );
        self.apply_share(factor);
    }

    /// Changes verify's rate.
    pub fn set_verify_limit(&self, limit: RateLimit) {
        self.verify.set_limit(limit);
    }

    /// The tenant's rate as configured (the bucket may run at a share of it: [`Self::tenant_share`]).
    pub fn tenant_limit(&self) -> RateLimit {
        *lock(&self.configured)
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
        waited += self.alone_on_a_stale_view().await;
        waited += self.tenant.acquire_as(priority).await;
        waited
    }

    /// After [`STALE_VIEW`] without an answer (at the start, after a quiet spell), lets one call
    /// through and holds the rest until its answer has shown where Auth0's bucket stands (at
    /// most [`LONE_CALL_WAIT`]): a process that wakes up with a full local bucket would
    /// otherwise spend it at once on a bucket another spender has emptied meanwhile, a burst of
    /// 429s. Costs one round trip after a quiet spell.
    async fn alone_on_a_stale_view(&self) -> Duration {
        let start = Instant::now();
        let deadline = start + LONE_CALL_WAIT;
        loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let now = Instant::now();
            if now >= deadline {
                return start.elapsed();
            }
            let busy = !lock(&self.flights).tenant.is_empty();
            {
                let mut v = lock(&self.view);
                let stale = v
                    .last_answer
                    .is_none_or(|at| now.saturating_duration_since(at) >= STALE_VIEW);
                let lone_out = v
                    .lone_since
                    .is_some_and(|at| now.saturating_duration_since(at) < LONE_CALL_WAIT);
                if !stale {
                    return start.elapsed();
                }
                if !busy && !lone_out {
                    v.lone_since = Some(now);
                    return start.elapsed();
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = &mut answered => {}
            }
        }
    }

    /// An answer came (any status, any bucket): the view of Auth0 is fresh.
    fn heard_from_auth0(&self) {
        lock(&self.view).last_answer = Some(Instant::now());
        self.answered.notify_waiters();
    }

    /// Reserve or come back: sends now (after waiting at most about `max_wait`) when the pauses
    /// and buckets allow it, else takes nothing and returns `Err(after)`. A caller that would
    /// wait longer gives back what it holds (a reconcile slot) instead of sleeping in the queue.
    ///
    /// A [`Priority::Finish`] call may wait up to one token of the tenant bucket (at most
    /// [`FINISH_WAIT_CAP`]): in a slow bucket (the Free tier's 2 per second) a returning create
    /// takes each token as it comes, and a verify told to come back at that same instant would
    /// find it gone every time; queued, it goes ahead of them.
    pub async fn reserve_within(
        &self,
        is_verify: bool,
        priority: Priority,
        max_wait: Duration,
    ) -> Result<Duration, Duration> {
        let max_wait = if priority == Priority::Finish {
            let token = Duration::from_secs_f64(1.0 / self.tenant.limit().requests_per_second);
            max_wait.max(token.min(FINISH_WAIT_CAP))
        } else {
            max_wait
        };
        let mut wait = self.tenant_pause.remaining();
        if is_verify {
            wait = wait
                .max(self.verify_pause.remaining())
                .max(self.verify.expected_wait(Priority::Finish));
        }
        let bucket = self.tenant.expected_wait(priority);
        if wait.max(bucket) > max_wait {
            // Only the tenant bucket spreads its promises; a pause ends for everyone at once.
            return Err(if bucket > max_wait {
                // Spread at the configured rate, not the share: promises outlive the share they
                // were made at, and a cut share (another spender about) would otherwise leave a
                // line of callers due back long after the share has grown again, with the
                // bucket idle meanwhile. Coming back early only costs another look.
                let c = *lock(&self.configured);
                let interval = Duration::from_secs_f64(1.0 / c.requests_per_second);
                self.tenant.promise(priority, bucket.max(wait), interval)
            } else {
                at_least_a_millisecond(wait)
            });
        }
        Ok(self.acquire(is_verify, priority).await)
    }

    /// Decides which bucket an answer (a 429 or any other) describes: verify's when the call was a
    /// verify and the advertised limit is verify-sized (or not advertised), else the tenant's.
    pub fn scope_of(&self, is_verify: bool, headers: &RateLimitHeaders) -> Scope {
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
    ///
    /// The local bucket is emptied too (less the calls still in flight): what it held was not
    /// there at Auth0. The tenant's stays empty through the pause: what Auth0 refills meanwhile
    /// may go to another spender, and a whole pause's tokens spent at once as it ends is the
    /// burst that meets the other spender's calls in an empty bucket again.
    pub fn on_429(
        &self,
        scope: Scope,
        headers: &RateLimitHeaders,
        fallback: Duration,
        flight: &InFlight<'_>,
    ) -> Duration {
        self.heard_from_auth0();
        let d = headers
            .until_reset(self.max_pause)
            .unwrap_or(fallback.min(self.max_pause));
        let owed = -f64::from(flight.later(scope));
        match scope {
            Scope::Tenant => {
                self.change_share(Move::Halve);
                let refilled = self.tenant.limit().requests_per_second * d.as_secs_f64();
                self.tenant.sync_down(owed - refilled, 0.0);
                // Auth0 is empty: the mirror starts again from there (a 429 was not counted).
                let mut m = lock(&self.mirror);
                m.tokens = m.tokens.min(-owed);
                drop(m);
                self.tenant_pause.extend(d);
            }
            Scope::Verify => {
                self.verify.sync_down(owed, 0.0);
                self.verify_pause.extend(d);
            }
        }
        d
    }

    /// Follows Auth0's bucket from one answer's headers (`flight`: that call's guard).
    ///
    /// - **Remaining.** When Auth0 has fewer tokens left than this process holds, less the calls
    ///   still in flight and the margin it keeps, someone else spent them: the local bucket drops
    ///   to Auth0's count, so two processes never both spend the same tokens in a burst. While
    ///   another spender has been seen in the last `OTHERS_FRESH`, the margin is a tenth of
    ///   Auth0's bucket, which absorbs two processes spending the last tokens at once.
    /// - **Others.** Auth0 holding less than the `Mirror` (this process alone) would, by more
    ///   than timing explains, is another spender too.
    /// - **Share.** With another spender about: halved the first time the bucket is under a
    ///   quarter and on an empty bucket (as on a 429), cut by a fifth under a quarter after that,
    ///   grown a step a second otherwise. Alone: grown back faster while the bucket holds a
    ///   quarter, and cut by a fifth after `PROBE_AFTER` under a quarter (a probe for a starved
    ///   spender).
    /// - **Low water.** With under a tenth left, the next call waits for one token to refill at
    ///   this process's share of the rate. `x-ratelimit-reset` is when the bucket is *full*
    ///   again, so one token takes `(reset - now) / (limit - remaining)` (never shorter than the
    ///   real refill, as Auth0 rounds the reset up).
    ///
    /// Returns the pause applied.
    pub fn observe(&self, scope: Scope, headers: &RateLimitHeaders, flight: &InFlight<'_>) -> Duration {
        self.heard_from_auth0();
        let (Some(remaining), Some(limit)) = (headers.remaining, headers.limit) else {
            return Duration::ZERO;
        };
        let bucket = match scope {
            Scope::Tenant => &self.tenant,
            Scope::Verify => &self.verify,
        };
        let now = Instant::now();
        let low_water = (limit / 10).max(1);
        let low = remaining < low_water && remaining < limit;
        let sharing = scope == Scope::Tenant
            && lock(&self.others_seen).is_some_and(|at| now.saturating_duration_since(at) < OTHERS_FRESH);
        let margin = bucket.margin_tokens();
        // Auth0 counted somewhere between the send and the answer; what refilled here meanwhile
        // (a verify that checks DNS takes a while) is no sign of anyone else.
        let refilled =
            bucket.limit().requests_per_second * now.saturating_duration_since(flight.sent).as_secs_f64();
        let (keep, slack) = if sharing {
            (margin.max(low_water as f64), 1.0 + refilled)
        } else {
            // One token of slack for Auth0's rounding down, plus the margin for answers that
            // arrive out of order: alone, this process never loses a token to the comparison.
            (margin, 1.0 + margin + refilled)
        };
        let in_flight = flight.later(scope);
        let at_most = remaining as f64 - f64::from(in_flight) - keep;
        let removed = bucket.sync_down(at_most, slack);
        if removed > 0.0 {
            tracing::debug!(
                ?scope,
                remaining,
                in_flight,
                removed,
                "Auth0's bucket holds less than this process expected: another spender"
            );
        }
        if scope == Scope::Tenant {
            let spent = self.follow_mirror(remaining, limit, in_flight, flight.sent, now);
            let removed = removed.max(spent);
            if removed > 0.0 {
                *lock(&self.others_seen) = Some(now);
            }
            // With another spender about, the first answer under a quarter halves the share,
            // whether the spender appeared in it or a moment before in a healthy bucket (two
            // operators starting together see each other at once, before either is short): two
            // processes that were each given the whole budget then add up to it before either
            // overruns Auth0. Verify answers show only verify's bucket, so the tenant bucket may
            // go unseen for a while, and shares adding up to more than its refill would empty it
            // unseen; fifths alone take several steps to get there. Appearing in a healthy
            // bucket changes nothing yet (a spender that went quiet and came back).
            // Shared, the share grows a step a second while the bucket holds at least a quarter
            // and is cut by a fifth under that (the others do the same, each seeing the same
            // bucket), so the spenders together settle on what Auth0 refills, and on equal
            // shares: they grow alike and are cut in proportion (additive increase,
            // multiplicative decrease). The bucket stays above empty and below full, so none
            // of the refill is lost.
            // Alone, a short bucket is this process's own doing, unless someone starved shows
            // up when it leaves room (the probe); the Free tier's bucket of 2 is never probed.
            let others = sharing || removed > 0.0;
            let short = remaining.saturating_mul(4) < limit;
            let halved = {
                let mut s = lock(&self.share);
                if !short || others {
                    s.short_alone_since = None;
                }
                if others && !sharing {
                    s.halved_while_sharing = false;
                }
                s.halved_while_sharing
            };
            if others && (remaining == 0 || (short && !halved)) {
                self.change_share(Move::Halve);
            } else if others && short {
                self.change_share(Move::Fifth);
            } else if short && limit >= PROBE_MIN_BUCKET {
                if self.probe_due(now) {
                    self.change_share(Move::Fifth);
                }
            } else if others {
                self.change_share(Move::Grow);
            } else if !short {
                // Nobody about and room left: a probe's room was not taken, or the spender who
                // was about is done. Regaining from a quarter (not a half) keeps what a probe
                // leaves unspent in Auth0's bucket to about a quarter of it.
                self.change_share(Move::Regain);
            }
        }
        if !low {
            return Duration::ZERO;
        }
        let Some(to_reset) = headers.until_reset(self.max_pause) else {
            return Duration::ZERO;
        };
        let share = match scope {
            Scope::Tenant => self.tenant_share(),
            Scope::Verify => 1.0,
        };
        let d = (to_reset / u32::try_from(limit - remaining).unwrap_or(u32::MAX)).div_f64(share);
        match scope {
            Scope::Tenant => self.tenant_pause.extend(d),
            Scope::Verify => self.verify_pause.extend(d),
        }
        d
    }

    /// Whether answers have shown Auth0's bucket short with nobody else seen for
    /// [`PROBE_AFTER`] (counting from now if this is the first such answer); when they have, the
    /// next probe is counted from now.
    fn probe_due(&self, now: Instant) -> bool {
        let mut s = lock(&self.share);
        let since = *s.short_alone_since.get_or_insert(now);
        let due = now.saturating_duration_since(since) >= PROBE_AFTER;
        if due {
            s.short_alone_since = Some(now);
        }
        due
    }

    /// Follows Auth0's tenant count in the [`Mirror`]; returns the tokens someone else spent
    /// (0 when the gap is within what timing, rounding and reordering explain).
    fn follow_mirror(&self, remaining: u64, limit: u64, later: u32, sent: Instant, now: Instant) -> f64 {
        let configured = *lock(&self.configured);
        let mut m = lock(&self.mirror);
        m.refill(configured, now);
        // Auth0 counted somewhere between the send and now; one token for its rounding down;
        // and the margin for answers that arrive out of order.
        let refilled = configured.requests_per_second * now.saturating_duration_since(sent).as_secs_f64();
        let slack = 1.0 + refilled + (limit as f64 / 20.0).max(1.0);
        let spent = m.follow(remaining as f64, f64::from(later), limit as f64, slack);
        if spent > 0.0 {
            tracing::debug!(
                remaining,
                spent,
                "Auth0's tenant bucket holds less than this process alone would have left: another spender"
            );
        }
        spent
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
mod two_spenders;

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

    fn ten_per_second() -> RateLimit {
        // Burst 2 less the margin: one token at once, then one every 100 ms.
        RateLimit {
            requests_per_second: 10.0,
            burst: 2,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reserve_takes_a_token_due_within_the_wait() {
        let b = TokenBucket::new(ten_per_second());
        assert_eq!(
            b.reserve_within(Priority::Start, Duration::ZERO).await,
            Ok(Duration::ZERO)
        );
        // The next token is 100 ms away: within 150 ms it is waited for.
        let start = Instant::now();
        let got = b
            .reserve_within(Priority::Start, Duration::from_millis(150))
            .await;
        assert!(got.is_ok(), "{got:?}");
        assert!(
            start.elapsed() >= Duration::from_millis(99),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reserve_sends_callers_away_one_token_apart_and_takes_nothing() {
        let b = TokenBucket::new(ten_per_second());
        b.acquire().await;
        let afters: Vec<Duration> = {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(
                    b.reserve_within(Priority::Start, Duration::from_millis(10))
                        .await
                        .unwrap_err(),
                );
            }
            v
        };
        let ms: Vec<u128> = afters.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![100, 200, 300], "spread one token apart");
        // Nothing was taken: the token is there when the first comes back.
        tokio::time::advance(afters[0]).await;
        let start = Instant::now();
        assert_eq!(b.acquire_as(Priority::Start).await, Duration::ZERO);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_finishing_call_sent_away_is_not_promised_a_time_behind_the_starts() {
        let b = TokenBucket::new(ten_per_second());
        while b.expected_wait(Priority::Start).is_zero() {
            b.acquire().await;
        }
        for _ in 0..20 {
            b.reserve_within(Priority::Start, Duration::ZERO)
                .await
                .unwrap_err();
        }
        // Twenty creates were told to come back over the next two seconds; a verify is told to
        // come back at the next token, where it goes ahead of them.
        let after = b
            .reserve_within(Priority::Finish, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(after <= Duration::from_millis(100), "{after:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_free_tier_a_verify_queues_for_the_next_token_instead_of_coming_back() {
        let budget = Budget::new(
            RateLimit::DEFAULT_TENANT,
            RateLimit::DEFAULT_VERIFY,
            Duration::from_secs(60),
        );
        // A create has just taken the only token.
        budget
            .reserve_within(false, Priority::Start, Duration::from_millis(250))
            .await
            .unwrap();
        // The next one is half a second away: a create is sent away...
        assert!(
            budget
                .reserve_within(false, Priority::Start, Duration::from_millis(250))
                .await
                .is_err()
        );
        // ...a verify waits for it.
        let waited = budget
            .reserve_within(true, Priority::Finish, Duration::from_millis(250))
            .await
            .unwrap();
        assert!(waited <= Duration::from_millis(500), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_ahead_count_against_a_reservation() {
        let b = std::sync::Arc::new(TokenBucket::new(ten_per_second()));
        b.acquire().await;
        // Three finishing calls queue for the next 300 ms of tokens.
        let mut handles = Vec::new();
        for _ in 0..3 {
            let b = b.clone();
            handles.push(tokio::spawn(async move { b.acquire().await }));
        }
        tokio::task::yield_now().await;
        let wait = b.expected_wait(Priority::Start);
        assert_eq!(
            wait,
            Duration::from_millis(400),
            "behind three waiters, then its own token"
        );
        // A finishing call is not behind starts, only behind the finishing calls.
        assert_eq!(b.expected_wait(Priority::Finish), Duration::from_millis(400));
        for h in handles {
            h.await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_under_a_millisecond_is_rounded_up_not_spun() {
        let b = TokenBucket::new(RateLimit {
            requests_per_second: 1000.0,
            burst: 2,
        });
        b.acquire().await;
        tokio::time::advance(Duration::from_micros(999)).await;
        // 0.999 of a token: 1 µs short, reported (and slept) as a whole millisecond.
        assert_eq!(b.expected_wait(Priority::Finish), Duration::from_millis(1));
        let got = tokio::time::timeout(Duration::from_millis(5), b.acquire()).await;
        assert!(got.is_ok(), "a sub-millisecond wait must end");
    }

    #[tokio::test(start_paused = true)]
    async fn budget_reserve_comes_back_after_a_pause() {
        let budget = Budget::new(
            RateLimit {
                requests_per_second: 100.0,
                burst: 100,
            },
            RateLimit::DEFAULT_VERIFY,
            Duration::from_secs(60),
        );
        budget.tenant_pause.extend(Duration::from_secs(3));
        let after = budget
            .reserve_within(false, Priority::Start, Duration::from_millis(250))
            .await
            .unwrap_err();
        assert_eq!(after, Duration::from_secs(3));
        // Verify's own bucket is exact: a fresh one holds all 5 tokens, then 12 s each.
        budget.tenant_pause.extend(Duration::ZERO);
        tokio::time::advance(Duration::from_secs(3)).await;
        for _ in 0..5 {
            assert!(
                budget
                    .reserve_within(true, Priority::Finish, Duration::from_millis(250))
                    .await
                    .is_ok()
            );
        }
        let after = budget
            .reserve_within(true, Priority::Finish, Duration::from_millis(250))
            .await
            .unwrap_err();
        assert!(after > Duration::from_secs(10), "{after:?}");
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
        let scope = budget.scope_of(true, &h);
        assert_eq!(scope, Scope::Verify);
        assert_eq!(
            budget.on_429(scope, &h, Duration::from_secs(2), &budget.sending(true)),
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
        assert_eq!(budget.scope_of(true, &h), Scope::Tenant);
        let d = budget.on_429(Scope::Tenant, &h, Duration::from_secs(1), &budget.sending(false));
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
        assert_eq!(
            budget.observe(Scope::Tenant, &plenty, &budget.sending(false)),
            Duration::ZERO
        );
        assert_eq!(budget.tenant_paused_for(), Duration::ZERO);
        // Empty verify bucket of 5, full in ~60 s: one token in ~12 s.
        let empty = RateLimitHeaders {
            limit: Some(5),
            remaining: Some(0),
            reset: Some(unix_now() + 60),
        };
        let d = budget.observe(Scope::Verify, &empty, &budget.sending(true));
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
        let d = budget.observe(Scope::Tenant, &low, &budget.sending(false));
        assert!(
            d > Duration::from_millis(80) && d <= Duration::from_millis(102),
            "{d:?}"
        );
    }

    fn twenty_per_second_burst_40() -> Budget {
        Budget::new(
            RateLimit {
                requests_per_second: 20.0,
                burst: 40,
            },
            RateLimit::DEFAULT_VERIFY,
            Duration::from_secs(60),
        )
    }

    /// The share is `expected` (to rounding).
    #[track_caller]
    fn assert_share(budget: &Budget, expected: f64) {
        let share = budget.tenant_share();
        assert!(
            (share - expected).abs() < 1e-9,
            "share {share}, expected {expected}"
        );
    }

    /// An answer of that bucket with `remaining` left, full again in 2 s.
    fn answer(remaining: u64) -> RateLimitHeaders {
        RateLimitHeaders {
            limit: Some(40),
            remaining: Some(remaining),
            reset: Some(unix_now() + 2),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn another_spender_shrinks_the_share_and_room_grows_it_back() {
        let budget = twenty_per_second_burst_40();
        // Alone, Auth0's bucket keeps the margin this process holds back: after spending its
        // 38, an answer with 2 left changes nothing.
        for _ in 0..38 {
            budget.acquire(false, Priority::Finish).await;
            drop(budget.sending(false));
        }
        budget.observe(Scope::Tenant, &answer(2), &budget.sending(false));
        assert_eq!(budget.tenant_share(), 1.0);
        // Empty, with this process's own bucket spent too: its own doing (at the Free tier's
        // burst of 2, Auth0 rounding down shows 0 now and then). Nothing changes.
        budget.observe(Scope::Tenant, &answer(0), &budget.sending(false));
        assert_eq!(budget.tenant_share(), 1.0);
        // A 429 halves it; 429s in flight right after do not cut again.
        budget.on_429(
            Scope::Tenant,
            &answer(0),
            Duration::from_secs(1),
            &budget.sending(false),
        );
        budget.on_429(
            Scope::Tenant,
            &answer(0),
            Duration::from_secs(1),
            &budget.sending(false),
        );
        assert_share(&budget, 0.5);
        tokio::time::advance(SHARE_CUT_EVERY).await;
        // One more, later, halves it again.
        budget.on_429(
            Scope::Tenant,
            &answer(0),
            Duration::from_secs(1),
            &budget.sending(false),
        );
        assert_share(&budget, 0.25);
        assert!((budget.tenant.limit().requests_per_second - 5.0).abs() < 1e-9);
        assert_eq!(
            budget.tenant_limit().requests_per_second,
            20.0,
            "the configured rate is kept"
        );
        // A half-full bucket and nobody else seen: a fifth of the rate back per second, no faster.
        budget.observe(Scope::Tenant, &answer(20), &budget.sending(false));
        assert_share(&budget, 0.25);
        tokio::time::advance(SHARE_GROW_EVERY).await;
        budget.observe(Scope::Tenant, &answer(20), &budget.sending(false));
        budget.observe(Scope::Tenant, &answer(20), &budget.sending(false));
        assert_share(&budget, 0.45);
        // Never under the floor.
        for _ in 0..20 {
            tokio::time::advance(SHARE_CUT_EVERY).await;
            budget.on_429(
                Scope::Tenant,
                &answer(0),
                Duration::from_millis(1),
                &budget.sending(false),
            );
        }
        assert_eq!(budget.tenant_share(), MIN_SHARE);
        // A verify 429 leaves the tenant's share alone.
        let before = budget.tenant_share();
        budget.on_429(
            Scope::Verify,
            &answer(0),
            Duration::from_millis(1),
            &budget.sending(true),
        );
        assert_eq!(budget.tenant_share(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_someone_else_spent_are_not_spent_again() {
        let budget = twenty_per_second_burst_40();
        let waits = |budget: &Budget| budget.tenant.expected_wait(Priority::Finish);
        // Two of this process's calls still on their way when the first answer says 8 left:
        // 8 - 2 in flight - 2 of margin = 4 tokens to spend, not 38. Someone else appeared and
        // the bucket is under a quarter, so the share is halved at once.
        let first = budget.sending(false);
        let _second = budget.sending(false);
        let _third = budget.sending(false);
        budget.observe(Scope::Tenant, &answer(8), &first);
        drop(first);
        assert_eq!(budget.tenant_share(), 0.5);
        for _ in 0..4 {
            assert_eq!(waits(&budget), Duration::ZERO);
            budget.tenant.acquire().await;
        }
        assert!(waits(&budget) > Duration::ZERO, "the 5th waits for a refill");
        // Under a quarter left while the other spender is about: the two together still take
        // more than Auth0 refills, so this one's share is cut by a fifth.
        tokio::time::advance(SHARE_CUT_EVERY).await;
        budget.observe(Scope::Tenant, &answer(3), &budget.sending(false));
        assert_share(&budget, 0.4);
        // At least a quarter while the other spender is about: a twentieth back per second.
        tokio::time::advance(SHARE_GROW_EVERY).await;
        budget.observe(Scope::Tenant, &answer(15), &budget.sending(false));
        budget.observe(Scope::Tenant, &answer(15), &budget.sending(false));
        assert_share(&budget, 0.45);
    }

    #[tokio::test(start_paused = true)]
    async fn a_spender_seen_in_a_healthy_bucket_halves_the_share_once_the_bucket_is_short() {
        let budget = twenty_per_second_burst_40();
        // Two operators starting together see each other in their tenant checks, while the
        // bucket is nearly full: nothing to cut yet.
        drop(budget.sending(false));
        budget.observe(Scope::Tenant, &answer(33), &budget.sending(false));
        assert!(lock(&budget.others_seen).is_some(), "another spender seen");
        assert_eq!(budget.tenant_share(), 1.0);
        // A second later, with both spending, the bucket is under a quarter: halved, not cut
        // by a fifth, so the two add up to what Auth0 refills before a run of verify answers
        // (which show only verify's bucket) hides the tenant bucket from both.
        tokio::time::advance(Duration::from_secs(1)).await;
        budget.observe(Scope::Tenant, &answer(5), &budget.sending(false));
        assert_eq!(budget.tenant_share(), 0.5);
        // Later short answers while the spender is still about cut by a fifth.
        tokio::time::advance(SHARE_CUT_EVERY).await;
        budget.observe(Scope::Tenant, &answer(5), &budget.sending(false));
        assert_share(&budget, 0.4);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_quiet_spell_one_call_goes_alone_until_answered() {
        let budget = std::sync::Arc::new(twenty_per_second_burst_40());
        // Nothing heard yet: the first call goes, the second waits for its answer.
        budget.acquire(false, Priority::Finish).await;
        let first = budget.sending(false);
        let second = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(false, Priority::Finish).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !second.is_finished(),
            "the second call waits for the first's answer"
        );
        // The answer: Auth0 has 4 left (someone else spent the rest), and the local bucket
        // follows it before the second call takes a token.
        budget.observe(Scope::Tenant, &answer(4), &first);
        drop(first);
        let waited = second.await.unwrap();
        assert_eq!(waited, Duration::from_millis(100));
        // 4 left less the 2 of margin: one more, then the bucket is empty.
        budget.acquire(false, Priority::Finish).await;
        assert!(budget.tenant.expected_wait(Priority::Finish) > Duration::ZERO);
        // While answers keep coming, calls do not wait for one another.
        tokio::time::advance(Duration::from_secs(1)).await;
        let a = budget.sending(false);
        budget.observe(Scope::Tenant, &answer(20), &a);
        let b = budget.sending(false);
        assert_eq!(budget.acquire(false, Priority::Finish).await, Duration::ZERO);
        // A lone call that never reaches the wire holds the others for half a second at most.
        tokio::time::advance(STALE_VIEW).await;
        drop(a);
        drop(b);
        budget.acquire(false, Priority::Finish).await;
        assert_eq!(budget.acquire(false, Priority::Finish).await, LONE_CALL_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn callers_sent_away_at_a_cut_share_are_spread_at_the_configured_rate() {
        let budget = twenty_per_second_burst_40();
        budget.change_share(Move::Halve);
        tokio::time::advance(SHARE_CUT_EVERY).await;
        budget.change_share(Move::Halve);
        assert_share(&budget, 0.25);
        while budget
            .reserve_within(false, Priority::Start, Duration::ZERO)
            .await
            .is_ok()
        {
            drop(budget.sending(false));
        }
        let mut last = Duration::ZERO;
        for i in 0..10 {
            let after = budget
                .reserve_within(false, Priority::Start, Duration::ZERO)
                .await
                .unwrap_err();
            if i > 0 {
                // A twentieth of a second apart (20 per second configured), not a fifth (the
                // 5 per second the share allows now): the share may grow before they are due.
                let gap = after - last;
                assert!(
                    gap >= Duration::from_millis(49) && gap <= Duration::from_millis(51),
                    "{gap:?}"
                );
            }
            last = after;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_trickle_from_someone_else_adds_up_until_it_shows() {
        let budget = twenty_per_second_burst_40();
        // Each answer is a token short of what this process alone would see: within the slack
        // one by one, but the gap adds up and shows by the fourth answer or so.
        let mut left = 40;
        for i in 0..10 {
            budget.acquire(false, Priority::Finish).await;
            let call = budget.sending(false);
            left -= 2;
            budget.observe(Scope::Tenant, &answer(left), &call);
            if i < 2 {
                assert_eq!(budget.tenant_share(), 1.0, "answer {i}");
            }
        }
        assert!(lock(&budget.others_seen).is_some(), "another spender seen");
        // Seen in a healthy bucket: nothing to cut yet.
        assert_eq!(budget.tenant_share(), 1.0);
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
