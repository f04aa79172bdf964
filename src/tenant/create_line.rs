//! The order in which one tenant's new domains wait for a place to create.
//!
//! A create waits in the tenant's budget behind every call that finishes a domain, and only a few
//! reconciles may wait for a create at once ([`super::runtime::Tenants::call_permit`]); the rest
//! step aside. Without an order every one of them would come back about once a second: with a
//! thousand new domains that is some twenty reconciles per domain (each reading its Secret) before
//! its create goes out. Here a domain refused a place joins a line and comes back when the domains
//! ahead of it have had time to create at the tenant's full rate. Creates never get more than
//! that rate, so it comes back early rather than late and the budget never idles for want of a
//! caller; coming back early only costs another look at its place.
//!
//! Pure bookkeeping over instants passed in: no clock, no I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::verify_queue::TurnKey;
use crate::sync::lock;

/// How soon the head of the line comes back: places free up about every tenth of a second when
/// creates flow, and a place left empty for this long costs little.
pub const HEAD_WAIT: Duration = Duration::from_millis(500);

/// A domain that has not come back this long after it was due left the line (it was deleted, or
/// found its Auth0 domain and no longer creates).
const NO_SHOW_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Line {
    next: u64,
    /// Each waiting domain's place (order of joining), when it is due back and the stamp of the
    /// object it stepped aside with.
    places: HashMap<TurnKey, (u64, Instant, u64)>,
    order: BTreeMap<u64, TurnKey>,
}

impl Line {
    fn drop_no_shows(&mut self, now: Instant) {
        let gone: Vec<TurnKey> = self
            .places
            .iter()
            .filter(|(_, (_, due, _))| now.saturating_duration_since(*due) > NO_SHOW_GRACE)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.remove(&key);
        }
    }

    fn remove(&mut self, key: &TurnKey) {
        if let Some((seq, _, _)) = self.places.remove(key) {
            self.order.remove(&seq);
        }
    }
}

/// The domains of one tenant waiting for a place to create, in the order they first asked.
#[derive(Debug, Default)]
pub struct CreateLine {
    line: Mutex<Line>,
}

impl CreateLine {
    /// `key` was refused a place at `now`: it joins the line (or keeps its place) and gets how
    /// long to step aside, given the tenant's sustained rate `requests_per_second`. `stamp`
    /// fingerprints what a person last changed on the object (`custom_domain::trigger`).
    pub fn step_aside(&self, key: &TurnKey, stamp: u64, now: Instant, requests_per_second: f64) -> Duration {
        let mut line = lock(&self.line);
        line.drop_no_shows(now);
        let seq = match line.places.get(key) {
            Some((seq, _, _)) => *seq,
            None => {
                let seq = line.next;
                line.next += 1;
                line.order.insert(seq, key.clone());
                seq
            }
        };
        let ahead = line.order.range(..seq).count();
        let after = come_back_after(ahead, requests_per_second);
        line.places.insert(key.clone(), (seq, now + after, stamp));
        after
    }

    /// Whether `key` waits in the line with the object as it was (same `stamp`): then, while no
    /// place is free, stepping aside again is all its reconcile would do.
    pub fn holds(&self, key: &TurnKey, stamp: u64) -> bool {
        lock(&self.line)
            .places
            .get(key)
            .is_some_and(|(_, _, s)| *s == stamp)
    }

    /// `key` got its place (or no longer needs one): it leaves the line.
    pub fn leave(&self, key: &TurnKey) {
        lock(&self.line).remove(key);
    }

    /// Domains waiting in the line.
    pub fn len(&self) -> usize {
        lock(&self.line).places.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How long a domain with `ahead` domains before it steps aside: the head soon, the others when
/// those ahead could have created at the full rate.
pub fn come_back_after(ahead: usize, requests_per_second: f64) -> Duration {
    let rate = if requests_per_second.is_finite() && requests_per_second > 0.0 {
        requests_per_second
    } else {
        1.0
    };
    HEAD_WAIT + Duration::from_secs_f64(ahead as f64 / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> TurnKey {
        ("ns".to_owned(), format!("d{n:04}"))
    }

    #[test]
    fn domains_come_back_in_the_order_they_asked_spaced_at_the_tenant_rate() {
        let line = CreateLine::default();
        let now = Instant::now();
        let waits: Vec<Duration> = (0..100).map(|i| line.step_aside(&key(i), 0, now, 20.0)).collect();
        assert_eq!(waits[0], HEAD_WAIT);
        assert_eq!(waits[20], HEAD_WAIT + Duration::from_secs(1));
        assert_eq!(waits[99], HEAD_WAIT + Duration::from_secs_f64(99.0 / 20.0));
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "one behind the other");
    }

    #[test]
    fn a_domain_keeps_its_place_and_moves_up_as_those_ahead_leave() {
        let line = CreateLine::default();
        let now = Instant::now();
        for i in 0..10 {
            line.step_aside(&key(i), 0, now, 10.0);
        }
        assert_eq!(
            line.step_aside(&key(9), 0, now, 10.0),
            HEAD_WAIT + Duration::from_millis(900)
        );
        for i in 0..5 {
            line.leave(&key(i));
        }
        // Asking again does not send it to the back.
        assert_eq!(
            line.step_aside(&key(9), 0, now, 10.0),
            HEAD_WAIT + Duration::from_millis(400)
        );
        assert_eq!(line.len(), 5);
    }

    #[test]
    fn a_domain_that_never_comes_back_stops_holding_the_others_up() {
        let line = CreateLine::default();
        let now = Instant::now();
        line.step_aside(&key(0), 0, now, 10.0);
        line.step_aside(&key(1), 0, now, 10.0);
        // key(1) keeps asking; key(0) was due back after HEAD_WAIT and never came.
        let mid = now + NO_SHOW_GRACE / 2;
        assert_eq!(
            line.step_aside(&key(1), 0, mid, 10.0),
            HEAD_WAIT + Duration::from_millis(100)
        );
        let later = now + HEAD_WAIT + NO_SHOW_GRACE + Duration::from_secs(1);
        assert_eq!(line.step_aside(&key(1), 0, later, 10.0), HEAD_WAIT);
        assert_eq!(line.len(), 1);
        assert!(!line.is_empty());
    }

    #[test]
    fn the_line_holds_a_domain_only_as_it_was_when_it_stepped_aside() {
        let line = CreateLine::default();
        let now = Instant::now();
        assert!(!line.holds(&key(0), 7), "not in the line");
        line.step_aside(&key(0), 7, now, 10.0);
        assert!(line.holds(&key(0), 7));
        assert!(
            !line.holds(&key(0), 8),
            "changed since (spec, deletion, annotation)"
        );
        line.leave(&key(0));
        assert!(!line.holds(&key(0), 7));
    }

    #[test]
    fn a_nonsense_rate_still_gives_a_finite_wait() {
        assert_eq!(come_back_after(3, 0.0), HEAD_WAIT + Duration::from_secs(3));
        assert_eq!(come_back_after(3, f64::NAN), HEAD_WAIT + Duration::from_secs(3));
    }
}
