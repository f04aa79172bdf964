//! The order in which one tenant's domains get to call `POST …/verify`.
//!
//! Auth0 allows 5 verifies per minute per tenant, burst 5, on every plan (docs/auth0-api.md#rate-limits).
//! With hundreds of domains whose records are published, most must wait minutes. A domain
//! takes a *turn* here: a time at which a verify token will be there for it, given every turn handed
//! out before. It does not wait for its turn inside a reconcile (that would hold a reconcile slot
//! other domains could use); it reports its place ("3 ahead, about 1 min") and comes back then.
//!
//! The schedule is a token bucket kept as a "theoretical arrival time" (GCRA): each turn starts
//! at `max(now, tat - (burst - 1) × interval)` and moves `tat` one interval on. It starts with
//! *one* turn free: after a restart the operator cannot know how much of Auth0's bucket the
//! previous process used, and a fresh burst could be answered 429. Until that probe has been
//! answered, other domains get no turn, only "ask again in a second" ([`PROBE_WAIT`]): a turn
//! handed out before the count is known could not move up once it is. Each verify's answer says how
//! many Auth0 has left (`x-ratelimit-remaining` of the verify bucket), and the schedule takes
//! that count ([`VerifyQueue::used`]): the rest of a full burst is used, not lost, a token a
//! domain did not come back for is handed out again, and a bucket someone else has spent pushes
//! the schedule back.
//!
//! Pure bookkeeping over instants passed in: no clock, no I/O.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth0::RateLimit;
use crate::sync::lock;

/// A turn not used this long after it came is dropped (the domain was deleted or no longer needs
/// a verify); its slot is lost, which only makes the schedule more careful.
const UNUSED_TURN_GRACE: Duration = Duration::from_secs(120);

/// How soon a domain asks again while the start's probe has not been answered.
pub const PROBE_WAIT: Duration = Duration::from_secs(1);

/// Who holds a turn: the `CustomDomain`'s namespace and name.
pub type TurnKey = (String, String);

/// A domain's place in the verify schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Turn {
    /// When its verify may be sent.
    pub at: Instant,
    /// Turns handed out earlier that are still waiting.
    pub ahead: usize,
}

#[derive(Debug)]
struct State {
    interval: Duration,
    burst: u32,
    tat: Instant,
    turns: HashMap<TurnKey, Instant>,
    /// Whether a verify has been answered since the start (the probe).
    probed: bool,
}

impl State {
    /// Takes Auth0's count after a verify answer: `left` verifies remain in its bucket at `now`,
    /// and the turns handed out and not sent yet are owed from it. The schedule becomes what that
    /// count implies, whichever way it moves: after the start's probe it frees the rest of a full
    /// burst; a count below the schedule's (someone else verified on this tenant) pushes it back;
    /// one above it (a turn nobody came back for) hands those tokens out again. Turns already
    /// handed out keep their times: their domains were told when to come back.
    fn follow(&mut self, left: u64, now: Instant) {
        let left = u32::try_from(left).unwrap_or(u32::MAX);
        let pending = u32::try_from(self.turns.len()).unwrap_or(u32::MAX);
        let owed = self.burst.saturating_sub(left).saturating_add(pending);
        self.tat = now + self.interval * owed;
    }
}

/// The verify schedule of one tenant.
#[derive(Debug)]
pub struct VerifyQueue {
    state: Mutex<State>,
}

impl VerifyQueue {
    /// A schedule for `limit` starting at `now` with one turn free: the probe whose answer tells
    /// how much of the burst is really there.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        let (interval, burst) = shape(limit);
        Self {
            state: Mutex::new(State {
                interval,
                burst,
                tat: now + interval * burst.saturating_sub(1),
                turns: HashMap::new(),
                probed: false,
            }),
        }
    }

    /// Verifies per minute, for status messages.
    pub fn per_minute(&self) -> f64 {
        let s = lock(&self.state);
        60.0 / s.interval.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Changes the rate; turns already handed out keep their time.
    pub fn set_limit(&self, limit: RateLimit) {
        let (interval, burst) = shape(limit);
        let mut s = lock(&self.state);
        s.interval = interval;
        s.burst = burst;
    }

    /// The turn of `key`: the one it already holds, else a new one at the end of the schedule.
    /// While the start's probe is out, anyone else is told to ask again in [`PROBE_WAIT`] and
    /// holds no place.
    pub fn turn(&self, key: &TurnKey, now: Instant) -> Turn {
        let mut s = lock(&self.state);
        s.turns.retain(|_, at| *at + UNUSED_TURN_GRACE > now);
        let at = match s.turns.get(key) {
            Some(at) => *at,
            None if !s.probed && !s.turns.is_empty() => {
                return Turn {
                    at: now + PROBE_WAIT,
                    ahead: s.turns.len(),
                };
            }
            None => {
                let tolerance = s.interval * s.burst.saturating_sub(1);
                let earliest = s.tat.checked_sub(tolerance).unwrap_or(now);
                let at = earliest.max(now);
                s.tat = s.tat.max(at) + s.interval;
                s.turns.insert(key.clone(), at);
                at
            }
        };
        let ahead = s
            .turns
            .iter()
            .filter(|(k, t)| **t < at || (**t == at && *k < key))
            .count();
        Turn { at, ahead }
    }

    /// The verify of `key` was sent and answered: its turn is used up. `left` is what the answer
    /// said Auth0's verify bucket has left, when it said: the schedule takes that count.
    pub fn used(&self, key: &TurnKey, left: Option<u64>, now: Instant) {
        let mut s = lock(&self.state);
        s.turns.remove(key);
        s.probed = true;
        if let Some(left) = left {
            s.follow(left, now);
        }
    }

    /// Turns handed out and not used yet.
    pub fn waiting(&self) -> usize {
        lock(&self.state).turns.len()
    }
}

fn shape(limit: RateLimit) -> (Duration, u32) {
    let rps = if limit.requests_per_second.is_finite() && limit.requests_per_second > 0.0 {
        limit.requests_per_second
    } else {
        RateLimit::DEFAULT_VERIFY.requests_per_second
    };
    (Duration::from_secs_f64(1.0 / rps), limit.burst.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> TurnKey {
        ("ns".to_owned(), format!("d{n}"))
    }

    fn five_per_minute() -> RateLimit {
        RateLimit::per(5, Duration::from_secs(60))
    }

    /// A schedule whose start's probe (`key(0)` at `t0`) was answered with `left` verifies left.
    fn probed(t0: Instant, left: u64) -> VerifyQueue {
        let q = VerifyQueue::new(five_per_minute(), t0);
        assert_eq!(q.turn(&key(0), t0).at, t0);
        q.used(&key(0), Some(left), t0);
        q
    }

    fn secs(q: &VerifyQueue, n: usize, t0: Instant, now: Instant) -> u64 {
        (q.turn(&key(n), now).at - t0).as_secs()
    }

    #[test]
    fn starts_with_one_probe_and_the_others_wait_for_its_answer() {
        let t0 = Instant::now();
        let q = VerifyQueue::new(five_per_minute(), t0);
        let probe = q.turn(&key(0), t0);
        assert_eq!(
            (probe.at, probe.ahead),
            (t0, 0),
            "no burst right after a start, one probe"
        );
        let asked = q.turn(&key(1), t0);
        assert_eq!(
            (asked.at - t0, asked.ahead),
            (PROBE_WAIT, 1),
            "ask again in a moment"
        );
        assert_eq!(q.waiting(), 1, "no place is held before the probe's answer");
        // An answer that does not say how many are left: a conservative schedule, one per 12 s.
        q.used(&key(0), None, t0);
        let turns: Vec<Turn> = (1..4).map(|n| q.turn(&key(n), t0)).collect();
        let at: Vec<u64> = turns.iter().map(|t| (t.at - t0).as_secs()).collect();
        assert_eq!(at, vec![12, 24, 36]);
        assert_eq!(turns.iter().map(|t| t.ahead).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(q.turn(&key(2), t0), turns[1], "asking again keeps the place");
    }

    #[test]
    fn a_quiet_minute_refills_the_burst_and_no_more() {
        let t0 = Instant::now();
        let q = VerifyQueue::new(five_per_minute(), t0);
        let later = t0 + Duration::from_secs(600);
        assert_eq!(secs(&q, 0, later, later), 0);
        q.used(&key(0), None, later);
        let turns: Vec<u64> = (1..7).map(|n| secs(&q, n, later, later)).collect();
        assert_eq!(turns, vec![0, 0, 0, 0, 12, 24], "burst of 5, then one per 12 s");
    }

    #[test]
    fn used_turns_leave_and_the_rest_move_up() {
        let t0 = Instant::now();
        let q = VerifyQueue::new(five_per_minute(), t0);
        q.turn(&key(9), t0);
        q.used(&key(9), None, t0);
        let first = q.turn(&key(0), t0);
        let second = q.turn(&key(1), t0);
        assert_eq!(second.ahead, 1);
        q.used(&key(0), None, first.at);
        let again = q.turn(&key(1), first.at);
        assert_eq!((again.at, again.ahead), (second.at, 0));
        assert_eq!(q.waiting(), 1);
        // A new turn for the first domain goes to the end, not back to its old place.
        assert!(q.turn(&key(0), first.at).at > second.at);
    }

    #[test]
    fn the_probes_answer_frees_the_rest_of_a_full_burst() {
        let t0 = Instant::now();
        // Auth0 had a full bucket: 4 left after the probe.
        let q = probed(t0, 4);
        let next: Vec<u64> = (1..6).map(|n| secs(&q, n, t0, t0)).collect();
        assert_eq!(
            next,
            vec![0, 0, 0, 0, 12],
            "the probe and four more now, then one per 12 s"
        );
    }

    #[test]
    fn a_bucket_spent_by_someone_else_pushes_the_schedule_back() {
        let t0 = Instant::now();
        // A previous process left nothing: the next token is a whole interval away.
        let q = probed(t0, 0);
        assert_eq!(secs(&q, 1, t0, t0), 12);
        let t12 = t0 + Duration::from_secs(12);
        q.used(&key(1), Some(0), t12);
        assert_eq!(secs(&q, 2, t0, t12), 24);
        q.used(&key(2), None, t0 + Duration::from_secs(24));
        // After a quiet ten minutes the schedule has a full burst, but Auth0 says someone else
        // spent it.
        let t600 = t0 + Duration::from_secs(600);
        assert_eq!(secs(&q, 3, t600, t600), 0);
        q.used(&key(3), Some(0), t600);
        assert_eq!(secs(&q, 4, t600, t600), 12);
    }

    #[test]
    fn a_token_nobody_came_back_for_is_handed_out_again() {
        let t0 = Instant::now();
        let q = probed(t0, 0);
        // A domain takes the turn at 12 s, then is deleted and never sends its verify.
        assert_eq!(secs(&q, 1, t0, t0), 12);
        let t30 = t0 + Duration::from_secs(30);
        assert_eq!(secs(&q, 2, t0, t30), 30);
        // Auth0 still has the token the deleted domain did not use: after this verify, one left
        // besides the turn still held.
        q.used(&key(2), Some(2), t30);
        assert_eq!(q.turn(&key(3), t30).at, t30);
    }

    #[test]
    fn abandoned_turns_expire_and_an_abandoned_probe_is_handed_on() {
        let t0 = Instant::now();
        let q = VerifyQueue::new(five_per_minute(), t0);
        q.turn(&key(0), t0);
        let much_later = t0 + Duration::from_secs(12) + UNUSED_TURN_GRACE + Duration::from_secs(1);
        let t = q.turn(&key(1), much_later);
        assert_eq!((t.at, t.ahead), (much_later, 0), "the next domain is the probe");
        assert_eq!(q.waiting(), 1);
    }
}
