//! Two operators (two clusters), each configured with the tenant's whole budget, spending one
//! Auth0 tenant: a model of Auth0's buckets answers their calls with the rate-limit headers Auth0
//! sends, in paused time, so the test shows whether they settle under the limit together. Each
//! operator checks its tenant first (one read), then creates its domains and, where the setup
//! says so, verifies each once its record is published, on as many workers as a tenant has
//! reconcile slots.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

/// Auth0's tenant bucket as the real service keeps it: counted when a call arrives, 429 when empty.
struct Auth0Bucket {
    tokens: f64,
    last: Instant,
    limit: RateLimit,
    served: u64,
    refused: Vec<Instant>,
}

impl Auth0Bucket {
    fn new(limit: RateLimit) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            last: Instant::now(),
            limit,
            served: 0,
            refused: Vec::new(),
        }
    }

    /// Counts one call; `Err` is a 429. Either way, the headers of the answer.
    fn take(&mut self) -> Result<RateLimitHeaders, RateLimitHeaders> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limit.requests_per_second).min(burst);
        self.last = now;
        let ok = self.tokens >= 1.0;
        if ok {
            self.tokens -= 1.0;
            self.served += 1;
        } else {
            self.refused.push(now);
        }
        let to_full = ((burst - self.tokens) / self.limit.requests_per_second).ceil() as u64;
        let headers = RateLimitHeaders {
            limit: Some(u64::from(self.limit.burst)),
            remaining: Some(self.tokens.floor() as u64),
            reset: Some(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default()
                    + to_full,
            ),
        };
        if ok { Ok(headers) } else { Err(headers) }
    }
}

/// Auth0's two buckets: the tenant's, which every call spends, and verify's own. A verify
/// spends a tenant token first; once past the tenant bucket its answer carries verify's headers,
/// so a run of verifies leaves the tenant bucket unseen (as the simulator answers).
struct Auth0 {
    tenant: Auth0Bucket,
    verify: Auth0Bucket,
}

impl Auth0 {
    fn take(&mut self, is_verify: bool) -> Result<RateLimitHeaders, RateLimitHeaders> {
        let tenant = self.tenant.take()?;
        if is_verify { self.verify.take() } else { Ok(tenant) }
    }
}

/// A latency from 1 to 6 ms, varied call by call (so answers overtake each other).
fn latency(n: u64) -> Duration {
    Duration::from_millis(1 + (n.wrapping_mul(2_654_435_761) >> 7) % 5)
}

/// One operator's work: `domains` creates, and a verify for each once its record is published
/// (`dns` after the create). Verifies go first, as in the operator.
struct Work {
    creates_left: u64,
    /// When each created domain's record is published, in creation order.
    verifies: std::collections::VecDeque<Instant>,
    verifies_left: u64,
    dns: Duration,
}

impl Work {
    /// The next call to send (true: a verify), or `None` when nothing is due now; `Err` when
    /// everything is done.
    fn next(&mut self) -> Result<Option<bool>, ()> {
        if self.verifies.front().is_some_and(|at| *at <= Instant::now()) {
            self.verifies.pop_front();
            return Ok(Some(true));
        }
        if self.creates_left > 0 {
            self.creates_left -= 1;
            return Ok(Some(false));
        }
        if self.verifies_left == 0 {
            Err(())
        } else {
            Ok(None)
        }
    }
}

/// Sends one call until it is answered with success, as the client does.
async fn send(budget: &Budget, auth0: &Mutex<Auth0>, is_verify: bool, priority: Priority, sent: &AtomicU64) {
    loop {
        budget.acquire(is_verify, priority).await;
        let n = sent.fetch_add(1, Ordering::SeqCst);
        let flight = budget.sending(is_verify);
        tokio::time::sleep(latency(n)).await;
        let answer = lock(auth0).take(is_verify);
        tokio::time::sleep(latency(n + 1)).await;
        match answer {
            Ok(headers) => {
                budget.observe(budget.scope_of(is_verify, &headers), &headers, &flight);
                return;
            }
            Err(headers) => {
                let scope = budget.scope_of(is_verify, &headers);
                budget.on_429(scope, &headers, Duration::from_secs(1), &flight);
            }
        }
    }
}

/// One operator: its tenant check (one read, answered before anything else is sent), then
/// after `work_after_check` the work, on `slots` workers, each taking the next call and sending
/// it until answered with success.
async fn operator(
    budget: Arc<Budget>,
    auth0: Arc<Mutex<Auth0>>,
    work: Arc<Mutex<Work>>,
    work_after_check: Duration,
    slots: usize,
) {
    let sent = Arc::new(AtomicU64::new(0));
    send(&budget, &auth0, false, Priority::Finish, &sent).await;
    tokio::time::sleep(work_after_check).await;
    let mut workers = Vec::new();
    for _ in 0..slots {
        let (budget, auth0, work, sent) = (budget.clone(), auth0.clone(), work.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Ok(next) = lock(&work).next() else { break };
                let Some(is_verify) = next else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let priority = if is_verify {
                    Priority::Finish
                } else {
                    Priority::Start
                };
                send(&budget, &auth0, is_verify, priority, &sent).await;
                let mut w = lock(&work);
                if is_verify {
                    w.verifies_left -= 1;
                } else {
                    let at = Instant::now() + w.dns;
                    w.verifies.push_back(at);
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap_or_default();
    }
}

/// Who spends the tenant, and on what.
#[derive(Clone, Copy)]
struct Setup {
    operators: usize,
    /// Domains per operator.
    domains: u64,
    /// Creates only (`None`), or a create and a verify per domain, the verify once the
    /// domain's record is published this long after its create.
    dns: Option<Duration>,
    /// From an operator's tenant check to its first domain (the applies take a while).
    work_after_check: Duration,
    /// The `i`th operator's domains arrive `i * stagger` after the first's (all check their
    /// tenant at the start): it wakes up to a bucket the others have been spending.
    stagger: Duration,
}

impl Setup {
    /// `operators` operators of 1,000 creates each, starting together.
    fn creates(operators: usize) -> Self {
        Self {
            operators,
            domains: 1000,
            dns: None,
            work_after_check: Duration::ZERO,
            stagger: Duration::ZERO,
        }
    }
}

/// Runs `operator` as `setup` says and returns when it finished.
async fn timed(budget: Arc<Budget>, auth0: Arc<Mutex<Auth0>>, setup: Setup, later: Duration) -> Instant {
    let work = Work {
        creates_left: setup.domains,
        verifies: std::collections::VecDeque::new(),
        verifies_left: if setup.dns.is_some() { setup.domains } else { 0 },
        dns: setup.dns.unwrap_or(Duration::MAX / 4),
    };
    operator(
        budget,
        auth0,
        Arc::new(Mutex::new(work)),
        setup.work_after_check + later,
        crate::tenant::runtime::TENANT_SLOTS,
    )
    .await;
    Instant::now()
}

/// What a run of [`operators`] showed.
struct Run {
    /// Until the last operator was done.
    wall: Duration,
    /// Until the first operator was done.
    first_done: Duration,
    /// 429s after the first second.
    late_429s: usize,
    /// Each operator's share at the end.
    shares: Vec<f64>,
}

/// Verify's bucket at ten times the Free tier's scale in the benches: 20 per second, burst 20.
const BENCH_VERIFY: RateLimit = RateLimit {
    requests_per_second: 20.0,
    burst: 20,
};

/// Runs the operators of `setup` against one tenant of `limit`. "The first second" starts
/// at the first operator's first domain.
async fn operators(limit: RateLimit, setup: Setup) -> Run {
    let Setup {
        operators: n,
        domains,
        dns,
        stagger,
        work_after_check,
    } = setup;
    let auth0 = Arc::new(Mutex::new(Auth0 {
        tenant: Auth0Bucket::new(limit),
        verify: Auth0Bucket::new(BENCH_VERIFY),
    }));
    let calls = if dns.is_some() { 2 * domains } else { domains };
    let start = Instant::now();
    let budgets: Vec<_> = (0..n)
        .map(|_| Arc::new(Budget::new(limit, BENCH_VERIFY, Duration::from_secs(60))))
        .collect();
    let runs: Vec<_> = budgets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let after = stagger * u32::try_from(i).unwrap_or(u32::MAX);
            tokio::spawn(timed(b.clone(), auth0.clone(), setup, after))
        })
        .collect();
    let mut done = Vec::new();
    for r in runs {
        done.push(
            r.await
                .unwrap_or_else(|_| Instant::now())
                .saturating_duration_since(start),
        );
    }
    let wall = done.iter().copied().max().unwrap_or_default();
    let first_done = done.iter().copied().min().unwrap_or_default();
    let a = lock(&auth0);
    let shares: Vec<f64> = budgets.iter().map(|b| b.tenant_share()).collect();
    eprintln!(
        "{n} operator(s), {calls} calls each: {wall:?} (first done at {first_done:?}), {} x 429 in all, shares at the end {shares:.2?}",
        a.tenant.refused.len() + a.verify.refused.len(),
    );
    assert_eq!(a.tenant.served, n as u64 * (calls + 1));
    let refused: Vec<_> = a
        .tenant
        .refused
        .iter()
        .chain(&a.verify.refused)
        .map(|at| at.saturating_duration_since(start))
        .collect();
    eprintln!("429s at {refused:.2?}");
    let late = refused
        .iter()
        .filter(|at| **at > work_after_check + Duration::from_secs(1))
        .count();
    Run {
        wall,
        first_done,
        late_429s: late,
        shares,
    }
}

/// Auth0's limits at ten times the Free tier: 20 per second, burst 40.
const TEN_TIMES_FREE: RateLimit = RateLimit {
    requests_per_second: 20.0,
    burst: 40,
};

#[tokio::test(start_paused = true)]
async fn alone_an_operator_keeps_the_whole_rate() {
    // Answers overtaking each other are no sign of another spender.
    let Run {
        wall,
        late_429s,
        shares,
        ..
    } = operators(TEN_TIMES_FREE, Setup::creates(1)).await;
    assert_eq!(late_429s, 0);
    assert_eq!(shares, [1.0]);
    // The burst less its margin, then 962 calls at 20 per second (48.1 s); near empty the
    // low-water pacing follows Auth0's whole-second reset, which costs a few per cent.
    assert!(wall <= Duration::from_secs_f64(48.1 * 1.05), "{wall:?}");
}

#[tokio::test(start_paused = true)]
async fn two_operators_with_the_whole_budget_stay_under_it_together() {
    let Run {
        wall,
        first_done,
        late_429s,
        ..
    } = operators(TEN_TIMES_FREE, Setup::creates(2)).await;
    assert_eq!(late_429s, 0, "429s after the first second");
    // Equal shares: neither is left to finish alone long after the other.
    assert!(
        first_done >= wall.mul_f64(0.85),
        "one done at {first_done:?}, the other at {wall:?}"
    );
    // 2,000 calls: the burst, then 1,960 at the refill rate (98 s).
    let bound = Duration::from_secs(98);
    assert!(
        wall <= bound.mul_f64(1.10),
        "{wall:?} for 2,000 calls against a {bound:?} bound"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_operator_starting_later_gets_its_share() {
    // The first spends the whole refill by the time the second starts: the second's calls
    // meet an empty bucket, and its 429s are not counted, so the first sees nobody unless it
    // leaves room now and then.
    let Run { wall, late_429s, .. } = operators(
        TEN_TIMES_FREE,
        Setup {
            stagger: Duration::from_secs(5),
            ..Setup::creates(2)
        },
    )
    .await;
    assert!(late_429s <= 10, "{late_429s} x 429");
    let bound = Duration::from_secs(98);
    assert!(
        wall <= bound.mul_f64(1.10),
        "{wall:?} for 2,000 calls against a {bound:?} bound"
    );
}

#[tokio::test(start_paused = true)]
async fn two_operators_stay_under_the_limit_through_a_run_of_verifies() {
    // A create and, once its record is published a second later, a verify per domain: verifies
    // go first, and their answers show verify's bucket only, so for a while neither operator
    // sees the tenant bucket that both still spend. The two see each other in their tenant
    // checks, a while before the first domain arrives, as in the two-clusters bench.
    let Run { wall, late_429s, .. } = operators(
        TEN_TIMES_FREE,
        Setup {
            operators: 2,
            domains: 500,
            dns: Some(Duration::from_secs(1)),
            work_after_check: Duration::from_millis(1500),
            stagger: Duration::ZERO,
        },
    )
    .await;
    assert_eq!(late_429s, 0, "429s after the first second");
    let bound = Duration::from_secs(98);
    assert!(
        wall <= bound.mul_f64(1.10),
        "{wall:?} for 2,000 calls against a {bound:?} bound"
    );
}
