//! Long waits of settled domains, held outside kube-runtime's scheduler.
//!
//! A Ready domain comes back once per resync interval to compare itself with the tenant's list.
//! Held as a requeue in kube-runtime's scheduler, each waiting domain costs about 880 B: its
//! object reference (name, namespace, uid, resourceVersion) twice, in a delay queue and in a hash
//! map. At 10,000 domains that was 8.8 MB, the third largest allocation of the operator. Here a
//! waiting domain costs its name and a deadline (about 60 B), and a sweep hands the due ones to
//! the controller every [`SWEEP`]; it looks at the table only when the earliest deadline has
//! passed. Short waits (DNS re-checks, retries) stay with the scheduler, which is exact to the
//! millisecond.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use kube::runtime::{controller::Action, reflector::ObjectRef};

use super::store::StoredDomain;

/// Waits at least this long are held here (late by up to [`SWEEP`]); shorter ones are requeues.
pub const LONG_WAIT: Duration = Duration::from_secs(10);
/// How often due domains are handed to the controller: at most 1 % late on the shortest wait held
/// (a verify turn's ETA in the status is held to 10 %).
pub const SWEEP: Duration = Duration::from_millis(100);

/// Deadlines by namespace, then name.
type Deadlines = HashMap<Box<str>, HashMap<Box<str>, Instant>>;

#[derive(Default)]
struct Table {
    due: Deadlines,
    /// No deadline is earlier (one may be later: a wait replaced or forgotten keeps it).
    earliest: Option<Instant>,
}

/// The domains waiting a long time, and when each is due.
#[derive(Default)]
pub struct Resyncs(Mutex<Table>);

impl Resyncs {
    fn lock(&self) -> MutexGuard<'_, Table> {
        crate::sync::lock(&self.0)
    }

    /// The controller's action for a reconcile of `namespace/name` that wants to run again after
    /// `after` (`None`: only when something changes). A newer answer replaces an older one.
    pub fn next(&self, namespace: &str, name: &str, after: Option<Duration>) -> Action {
        match after {
            Some(after) if after >= LONG_WAIT => {
                self.hold(namespace, name, Instant::now() + after);
                Action::await_change()
            }
            Some(after) => {
                self.forget(namespace, name);
                Action::requeue(after)
            }
            None => {
                self.forget(namespace, name);
                Action::await_change()
            }
        }
    }

    fn hold(&self, namespace: &str, name: &str, at: Instant) {
        let mut table = self.lock();
        table.earliest = Some(table.earliest.map_or(at, |e| e.min(at)));
        let due = &mut table.due;
        match due.get_mut(namespace) {
            Some(names) => match names.get_mut(name) {
                Some(deadline) => *deadline = at,
                None => {
                    names.insert(name.into(), at);
                }
            },
            None => {
                due.insert(namespace.into(), HashMap::from([(name.into(), at)]));
            }
        }
    }

    /// Drops `namespace/name`'s wait (it failed, or is deleted).
    pub fn forget(&self, namespace: &str, name: &str) {
        let due = &mut self.lock().due;
        if let Some(names) = due.get_mut(namespace) {
            names.remove(name);
            if names.is_empty() {
                due.remove(namespace);
            }
        }
    }

    /// Number of domains waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().due.values().map(HashMap::len).sum()
    }

    /// True when no domain waits.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns the domains due at `now`.
    pub fn take_due(&self, now: Instant) -> Vec<ObjectRef<StoredDomain>> {
        let mut taken = Vec::new();
        let mut table = self.lock();
        if table.earliest.is_none_or(|e| e > now) {
            return taken;
        }
        let mut earliest: Option<Instant> = None;
        table.due.retain(|namespace, names| {
            names.retain(|name, deadline| {
                let keep = *deadline > now;
                if keep {
                    earliest = Some(earliest.map_or(*deadline, |e| e.min(*deadline)));
                } else {
                    taken.push(ObjectRef::new(name).within(namespace));
                }
                keep
            });
            !names.is_empty()
        });
        table.earliest = earliest;
        taken
    }

    /// The due domains, swept every [`SWEEP`]: the controller's `reconcile_on` input.
    pub fn due(self: Arc<Self>) -> impl Stream<Item = ObjectRef<StoredDomain>> + Send + 'static {
        let mut ticks = tokio::time::interval(SWEEP);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        futures::stream::unfold((self, ticks), |(resyncs, mut ticks)| async move {
            ticks.tick().await;
            let due = resyncs.take_due(Instant::now());
            Some((futures::stream::iter(due), (resyncs, ticks)))
        })
        .flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn long_waits_are_held_here_and_short_ones_go_to_the_scheduler() {
        let r = Resyncs::default();
        let held = r.next("shop", "login", Some(Duration::from_secs(600)));
        assert_eq!(held, Action::await_change());
        assert_eq!(r.len(), 1);

        let short = r.next("shop", "login", Some(Duration::from_secs(2)));
        assert_eq!(short, Action::requeue(Duration::from_secs(2)));
        assert!(r.is_empty(), "a short requeue replaces the held wait");

        r.next("shop", "login", Some(Duration::from_secs(600)));
        assert_eq!(r.next("shop", "login", None), Action::await_change());
        assert!(r.is_empty(), "waiting for a change replaces it too");
    }

    #[test]
    fn due_domains_are_taken_once_and_the_newest_deadline_counts() {
        let r = Resyncs::default();
        let now = Instant::now();
        r.hold("shop", "a", now + Duration::from_secs(30));
        r.hold("shop", "b", now + Duration::from_secs(90));
        r.hold("blog", "c", now + Duration::from_secs(30));
        // a came back early (a change) and settled again: its deadline moves.
        r.hold("shop", "a", now + Duration::from_secs(120));

        let mut due = r.take_due(now + Duration::from_secs(60));
        due.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(due, vec![ObjectRef::new("c").within("blog")]);
        assert!(r.take_due(now + Duration::from_secs(60)).is_empty(), "taken once");
        assert_eq!(r.len(), 2);
        assert_eq!(r.lock().due.len(), 1, "an emptied namespace is dropped");
        assert_eq!(
            r.lock().earliest,
            Some(now + Duration::from_secs(90)),
            "the next look is at the earliest deadline left"
        );

        r.forget("shop", "b");
        let due = r.take_due(now + Duration::from_secs(200));
        assert_eq!(due, vec![ObjectRef::new("a").within("shop")]);
        assert!(r.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweep_hands_due_domains_over() {
        let r = Arc::new(Resyncs::default());
        r.hold("shop", "a", Instant::now());
        let mut due = Box::pin(r.clone().due());
        let first = tokio::time::timeout(Duration::from_secs(5), due.next())
            .await
            .unwrap();
        assert_eq!(first, Some(ObjectRef::new("a").within("shop")));
        assert!(r.is_empty());
    }
}
