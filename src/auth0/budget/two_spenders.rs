//! Two operators (two clusters), each configured with the tenant's whole budget, spending one
//! Auth0 bucket: a model of Auth0's bucket answers their calls with the rate-limit headers Auth0
//! sends, in paused time, so the test shows whether they settle under the limit together.

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

/// A latency from 1 to 6 ms, varied call by call (so answers overtake each other).
fn latency(n: u64) -> Duration {
    Duration::from_millis(1 + (n.wrapping_mul(2_654_435_761) >> 7) % 5)
}

/// One operator: `slots` workers, each taking the next of `calls` and sending it until answered
/// with success.
async fn operator(budget: Arc<Budget>, auth0: Arc<Mutex<Auth0Bucket>>, calls: u64, slots: usize) {
    let taken = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..slots {
        let (budget, auth0, taken, sent) = (budget.clone(), auth0.clone(), taken.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            while taken.fetch_add(1, Ordering::SeqCst) < calls {
                loop {
                    budget.acquire(false, Priority::Start).await;
                    let n = sent.fetch_add(1, Ordering::SeqCst);
                    let flight = budget.sending(false);
                    tokio::time::sleep(latency(n)).await;
                    let answer = lock(&auth0).take();
                    tokio::time::sleep(latency(n + 1)).await;
                    match answer {
                        Ok(headers) => {
                            budget.observe(Scope::Tenant, &headers, &flight);
                            break;
                        }
                        Err(headers) => {
                            budget.on_429(Scope::Tenant, &headers, Duration::from_secs(1), &flight);
                        }
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap_or_default();
    }
}

/// Runs `operator` and returns when it finished.
async fn timed(budget: Arc<Budget>, auth0: Arc<Mutex<Auth0Bucket>>, calls: u64, after: Duration) -> Instant {
    tokio::time::sleep(after).await;
    operator(budget, auth0, calls, 12).await;
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

/// Runs `n` operators of `calls` each against one bucket, the `i`th starting `i * stagger` in.
async fn operators(n: usize, limit: RateLimit, calls: u64, stagger: Duration) -> Run {
    let auth0 = Arc::new(Mutex::new(Auth0Bucket::new(limit)));
    let start = Instant::now();
    let budgets: Vec<_> = (0..n)
        .map(|_| {
            Arc::new(Budget::new(
                limit,
                RateLimit::DEFAULT_VERIFY,
                Duration::from_secs(60),
            ))
        })
        .collect();
    let runs: Vec<_> = budgets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let after = stagger * u32::try_from(i).unwrap_or(u32::MAX);
            tokio::spawn(timed(b.clone(), auth0.clone(), calls, after))
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
        a.refused.len(),
    );
    assert_eq!(a.served, n as u64 * calls);
    let late = a
        .refused
        .iter()
        .filter(|at| at.saturating_duration_since(start) > Duration::from_secs(1))
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
    } = operators(1, TEN_TIMES_FREE, 1000, Duration::ZERO).await;
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
    } = operators(2, TEN_TIMES_FREE, 1000, Duration::ZERO).await;
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
    let Run { wall, late_429s, .. } = operators(2, TEN_TIMES_FREE, 1000, Duration::from_secs(5)).await;
    assert!(late_429s <= 10, "{late_429s} x 429");
    let bound = Duration::from_secs(98);
    assert!(
        wall <= bound.mul_f64(1.10),
        "{wall:?} for 2,000 calls against a {bound:?} bound"
    );
}
