//! Publishing Kubernetes Events (`events.k8s.io/v1`) with a small, bounded memory of recent ones.
//!
//! kube's own `Recorder` keeps every Event object it published in the last six minutes to count
//! repeats into a series. At 1,000 domains that cache held ~3,000 full Event objects and, while
//! its table grew, was the largest allocation in the operator (17.7 MB peak under heaptrack).
//! This one remembers only the Event's name, its count and when it was last seen, for at most
//! [`MAX_REMEMBERED`] recent Events; a repeat within [`SERIES_WINDOW`] bumps the series of the
//! existing Event, like kubectl and client-go do, instead of creating a new object.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use serde_json::json;

use crate::sync::lock;

/// How long a published Event can be continued as a series.
pub const SERIES_WINDOW: Duration = Duration::from_secs(360);
/// Most Events remembered for series at once (the oldest is forgotten first).
pub const MAX_REMEMBERED: usize = 2048;

#[derive(Clone, Debug)]
struct Seen {
    name: String,
    namespace: String,
    count: i32,
    last: Instant,
}

/// Publishes Events for one controller; cheap to clone (shared memory of recent Events).
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    seen: Arc<Mutex<HashMap<u64, Seen>>>,
}

impl Recorder {
    /// A recorder publishing as `reporter`.
    pub fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            seen: Arc::default(),
        }
    }

    /// Publishes `ev` about `regarding`: a new Event, or the next count of a recent identical one.
    pub async fn publish(&self, ev: &Event, regarding: &ObjectReference) -> Result<(), kube::Error> {
        let key = event_key(ev, regarding);
        let now = Instant::now();
        let repeat = {
            let mut seen = lock(&self.seen);
            forget_old(&mut seen, now);
            seen.get_mut(&key).map(|s| {
                s.count += 1;
                s.last = now;
                s.clone()
            })
        };
        if let Some(s) = repeat {
            let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &s.namespace);
            let patch = json!({ "series": EventSeries {
                count: s.count,
                last_observed_time: MicroTime(jiff::Timestamp::now()),
            }});
            match api
                .patch(&s.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Expired or deleted meanwhile: start over with a new Event.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = self.new_event(ev, regarding);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
        let created = api.create(&PostParams::default(), &event).await?;
        let mut seen = lock(&self.seen);
        seen.insert(
            key,
            Seen {
                name: created.metadata.name.unwrap_or_default(),
                namespace,
                count: 1,
                last: now,
            },
        );
        Ok(())
    }

    fn new_event(&self, ev: &Event, regarding: &ObjectReference) -> K8sEvent {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let base = regarding.name.as_deref().unwrap_or("object");
        K8sEvent {
            metadata: ObjectMeta {
                // Like client-go: the object's name and a unique suffix.
                name: Some(format!("{base}.{:016x}", rand::random::<u64>())),
                namespace: Some(namespace),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(jiff::Timestamp::now())),
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            note: ev.note.clone(),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            regarding: Some(regarding.clone()),
            related: None,
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            ..K8sEvent::default()
        }
    }

    /// How many Events are remembered for series (for tests).
    pub fn remembered(&self) -> usize {
        lock(&self.seen).len()
    }
}

fn event_key(ev: &Event, regarding: &ObjectReference) -> u64 {
    let mut h = DefaultHasher::new();
    (
        &regarding.uid,
        &regarding.namespace,
        &regarding.name,
        &regarding.kind,
    )
        .hash(&mut h);
    (
        matches!(ev.type_, EventType::Warning),
        &ev.reason,
        &ev.action,
        &ev.note,
    )
        .hash(&mut h);
    h.finish()
}

/// Drops Events too old to continue, then the oldest ones beyond [`MAX_REMEMBERED`].
fn forget_old(seen: &mut HashMap<u64, Seen>, now: Instant) {
    seen.retain(|_, s| now.duration_since(s.last) < SERIES_WINDOW);
    while seen.len() >= MAX_REMEMBERED {
        let Some(oldest) = seen.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| *k) else {
            break;
        };
        seen.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(age: Duration, now: Instant) -> Seen {
        Seen {
            name: "x".into(),
            namespace: "ns".into(),
            count: 1,
            last: now.checked_sub(age).unwrap_or(now),
        }
    }

    #[test]
    fn memory_is_bounded_and_expires() {
        let now = Instant::now();
        let mut m: HashMap<u64, Seen> = (0..MAX_REMEMBERED as u64 + 10)
            .map(|k| (k, seen(Duration::from_millis(k), now)))
            .collect();
        m.insert(u64::MAX, seen(SERIES_WINDOW + Duration::from_secs(1), now));
        forget_old(&mut m, now);
        assert_eq!(m.len(), MAX_REMEMBERED - 1);
        assert!(!m.contains_key(&u64::MAX), "expired");
        assert!(m.contains_key(&0), "the newest are kept");
    }

    #[test]
    fn identical_events_share_a_key_and_others_do_not() {
        let regarding = ObjectReference {
            kind: Some("CustomDomain".into()),
            namespace: Some("team-a".into()),
            name: Some("login".into()),
            uid: Some("u1".into()),
            ..ObjectReference::default()
        };
        let ev = |note: &str| Event {
            type_: EventType::Warning,
            reason: "DnsRecordMissing".into(),
            note: Some(note.into()),
            action: "Verify".into(),
            secondary: None,
        };
        assert_eq!(event_key(&ev("a"), &regarding), event_key(&ev("a"), &regarding));
        assert_ne!(event_key(&ev("a"), &regarding), event_key(&ev("b"), &regarding));
        let other = ObjectReference {
            uid: Some("u2".into()),
            ..regarding.clone()
        };
        assert_ne!(event_key(&ev("a"), &regarding), event_key(&ev("a"), &other));
    }
}
