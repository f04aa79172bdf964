//! Watches that survive objects they cannot decode.
//!
//! A typed watcher decodes a LIST page as one `ObjectList<K>`: a single object that does not fit
//! `K` (a CRD applied without its schema, a newer version's field, a hand-edited etcd) fails the
//! whole list, the watcher retries forever and after a restart no reconcile runs at all. Here the
//! watch is of [`DynamicObject`]s and each is converted on its own: the good ones flow on (into the
//! reflector store and the controller), a bad one is skipped and reported once per version with
//! its namespace/name and the decode error (never its content).

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Api;
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::events::{Event as KubeEvent, EventType};
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tracing::warn;

use crate::resources::conditions::Reason;
use crate::telemetry::{events::Recorder, metrics::Metrics};

/// Where undecodable objects are reported.
#[derive(Clone)]
pub struct Report {
    /// Kind, the metric's label and the Event's object kind.
    pub kind: &'static str,
    /// The kind's API resource (group, version) for the Event's object reference.
    pub resource: ApiResource,
    /// `undecodable_objects`.
    pub metrics: Arc<Metrics>,
    /// Publishes a Warning Event on the object.
    pub recorder: Recorder,
}

impl Report {
    fn undecodable(&self, bad: Undecodable) {
        warn!(
            kind = self.kind,
            namespace = %bad.namespace,
            name = %bad.name,
            error = %bad.error,
            "skipping an object that does not decode; every other object still reconciles"
        );
        let regarding = ObjectReference {
            api_version: Some(self.resource.api_version.clone()),
            kind: Some(self.kind.to_owned()),
            namespace: (!bad.namespace.is_empty()).then(|| bad.namespace.clone()),
            name: Some(bad.name.clone()),
            uid: bad.uid.clone(),
            resource_version: bad.resource_version.clone(),
            ..ObjectReference::default()
        };
        let event = KubeEvent {
            type_: EventType::Warning,
            reason: Reason::UndecodableObject.as_str().to_owned(),
            note: Some(format!(
                "the operator cannot read this {} and skips it ({}); fix it to match the CRD's schema",
                self.kind, bad.error
            )),
            action: "Decode".to_owned(),
            secondary: None,
        };
        let recorder = self.recorder.clone();
        tokio::spawn(async move {
            if let Err(e) = recorder.publish(&event, &regarding).await {
                warn!(error = %e, "publishing an Event failed");
            }
        });
    }
}

/// A watch of `api` (a [`DynamicObject`] view of kind `K`) that yields `K` events, skipping and
/// reporting objects that do not decode. Feed it to a reflector and `Controller::for_stream`.
pub fn decoded<K>(
    api: Api<DynamicObject>,
    config: watcher::Config,
    report: Report,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: DeserializeOwned + Send + 'static,
{
    let mut decoder = Decoder::<K>::default();
    report.metrics.set_undecodable(report.kind, 0);
    watcher(api, config).filter_map(move |item| {
        let out = match item {
            Err(e) => Some(Err(e)),
            Ok(ev) => {
                let (ev, bad) = decoder.convert(ev);
                if let Some(bad) = bad {
                    report.undecodable(bad);
                }
                report.metrics.set_undecodable(report.kind, decoder.undecodable());
                ev.map(Ok)
            }
        };
        futures::future::ready(out)
    })
}

use watcher::watcher;

/// An object that could not be decoded; safe to log (no field values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecodable {
    /// Namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID, for the Event's object reference.
    pub uid: Option<String>,
    /// Resource version that failed.
    pub resource_version: Option<String>,
    /// Where and why decoding failed, e.g. ``spec.domain: invalid type: integer, expected a string``.
    pub error: String,
}

/// Key of an object in the decoder's bookkeeping.
type Key = (String, String);

/// Converts a watch of [`DynamicObject`]s into one of `K`, remembering which objects are currently
/// undecodable (for the gauge) and which versions were already reported (a relist does not
/// report them again).
#[derive(Debug)]
pub struct Decoder<K> {
    /// Undecodable objects now, with the version that failed.
    broken: BTreeMap<Key, Option<String>>,
    /// During a relist: the undecodable objects seen so far.
    relisting: Option<BTreeMap<Key, Option<String>>>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Default for Decoder<K> {
    fn default() -> Self {
        Self {
            broken: BTreeMap::new(),
            relisting: None,
            _kind: PhantomData,
        }
    }
}

impl<K: DeserializeOwned> Decoder<K> {
    /// How many objects are undecodable now.
    pub fn undecodable(&self) -> usize {
        self.broken.len()
    }

    /// Converts one event. `None` when the event carried only an undecodable object; the second
    /// value is that object when this version was not reported before.
    pub fn convert(&mut self, event: Event<DynamicObject>) -> (Option<Event<K>>, Option<Undecodable>) {
        match event {
            Event::Init => {
                self.relisting = Some(BTreeMap::new());
                (Some(Event::Init), None)
            }
            Event::InitDone => {
                if let Some(seen) = self.relisting.take() {
                    self.broken = seen;
                }
                (Some(Event::InitDone), None)
            }
            Event::InitApply(obj) => {
                let (key, rv) = key_of(&obj);
                match decode::<K>(obj) {
                    Ok(k) => (Some(Event::InitApply(k)), None),
                    Err(bad) => {
                        let known = self.broken.get(&key) == Some(&rv);
                        self.relisting.get_or_insert_default().insert(key, rv);
                        (None, (!known).then_some(bad))
                    }
                }
            }
            Event::Apply(obj) => {
                let (key, rv) = key_of(&obj);
                match decode::<K>(obj) {
                    Ok(k) => {
                        self.forget(&key);
                        (Some(Event::Apply(k)), None)
                    }
                    Err(bad) => {
                        let known = self.broken.get(&key) == Some(&rv);
                        self.broken.insert(key.clone(), rv.clone());
                        if let Some(seen) = self.relisting.as_mut() {
                            seen.insert(key, rv);
                        }
                        (None, (!known).then_some(bad))
                    }
                }
            }
            Event::Delete(obj) => {
                let (key, _) = key_of(&obj);
                self.forget(&key);
                // An object that never decoded was never in the store: nothing to remove.
                (decode::<K>(obj).ok().map(Event::Delete), None)
            }
        }
    }

    fn forget(&mut self, key: &Key) {
        self.broken.remove(key);
        if let Some(seen) = self.relisting.as_mut() {
            seen.remove(key);
        }
    }
}

fn key_of(obj: &DynamicObject) -> (Key, Option<String>) {
    (
        (
            obj.metadata.namespace.clone().unwrap_or_default(),
            obj.metadata.name.clone().unwrap_or_default(),
        ),
        obj.metadata.resource_version.clone(),
    )
}

/// Decodes one object into `K`; on failure, what went wrong where, without the values.
pub fn decode<K: DeserializeOwned>(obj: DynamicObject) -> Result<K, Undecodable> {
    let ((namespace, name), resource_version) = key_of(&obj);
    let uid = obj.metadata.uid.clone();
    let value = match serde_json::to_value(&obj) {
        Ok(v) => v,
        Err(e) => {
            return Err(Undecodable {
                namespace,
                name,
                uid,
                resource_version,
                error: redact(&e.to_string()),
            });
        }
    };
    serde_path_to_error::deserialize::<_, K>(value).map_err(|e| {
        let path = e.path().to_string();
        let why = redact(&e.into_inner().to_string());
        Undecodable {
            namespace,
            name,
            uid,
            resource_version,
            error: if path == "." {
                why
            } else {
                format!("{path}: {why}")
            },
        }
    })
}

/// Drops the offending value from a serde message (it may be anything a user wrote, a secret
/// included): ``invalid type: string "x", expected u32`` → ``invalid type: string, expected u32``;
/// ``unknown variant `X`, expected …`` → ``unknown variant, expected …``. Field names stay.
pub fn redact(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let expected = rest.find(", expected").map_or("", |i| &rest[i..]);
            let kind = rest
                .split([' ', ','])
                .next()
                .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
                .unwrap_or("value");
            return format!("{prefix}{kind}{expected}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.find(", expected").map_or("", |i| &rest[i..]);
        return format!("unknown variant{expected}");
    }
    // Other serde messages ("missing field `domain`", "duplicate field `x`") name only fields;
    // anything unrecognised is cut to its first clause.
    match message.split_once(':') {
        Some((head, _))
            if !message.starts_with("missing field") && !message.starts_with("duplicate field") =>
        {
            head.to_owned()
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resources::custom_domain::CustomDomain;

    fn obj(name: &str, rv: &str, spec: serde_json::Value) -> DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "auth0.domain-operator.dev/v1alpha1",
            "kind": "CustomDomain",
            "metadata": {"namespace": "team", "name": name, "resourceVersion": rv, "uid": format!("uid-{name}")},
            "spec": spec,
        }))
        .unwrap()
    }

    fn good(name: &str, rv: &str) -> DynamicObject {
        obj(
            name,
            rv,
            serde_json::json!({"domain": format!("{name}.example.com"), "type": "Auth0ManagedCerts"}),
        )
    }

    fn bad(name: &str, rv: &str) -> DynamicObject {
        obj(
            name,
            rv,
            serde_json::json!({"domain": "s3cr3t-value.example.com", "type": 42}),
        )
    }

    fn names(ev: &Option<Event<CustomDomain>>) -> Option<String> {
        match ev {
            Some(Event::Apply(k) | Event::InitApply(k) | Event::Delete(k)) => k.metadata.name.clone(),
            Some(Event::Init) => Some("<init>".into()),
            Some(Event::InitDone) => Some("<done>".into()),
            None => None,
        }
    }

    #[test]
    fn a_bad_object_is_skipped_and_reported_once_while_the_others_flow() {
        let mut d = Decoder::<CustomDomain>::default();
        let mut reports = Vec::new();
        let mut out = Vec::new();
        for ev in [
            Event::Init,
            Event::InitApply(good("a", "1")),
            Event::InitApply(bad("b", "2")),
            Event::InitApply(good("c", "3")),
            Event::InitDone,
        ] {
            let (ev, report) = d.convert(ev);
            out.push(names(&ev));
            reports.extend(report);
        }
        assert_eq!(
            out,
            vec![
                Some("<init>".into()),
                Some("a".into()),
                None,
                Some("c".into()),
                Some("<done>".into())
            ]
        );
        assert_eq!(d.undecodable(), 1);
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("team", "b"));
        assert_eq!(r.uid.as_deref(), Some("uid-b"));
        assert!(r.error.starts_with("spec.type: "), "{}", r.error);
        assert!(
            !r.error.contains("42") && !r.error.contains("s3cr3t"),
            "{}",
            r.error
        );

        // A relist of the same version does not report again; a new version does.
        let mut again = Vec::new();
        for ev in [Event::Init, Event::InitApply(bad("b", "2")), Event::InitDone] {
            again.extend(d.convert(ev).1);
        }
        assert!(again.is_empty());
        assert!(d.convert(Event::Apply(bad("b", "5"))).1.is_some());
        assert_eq!(d.undecodable(), 1);

        // Fixed: flows again and leaves the gauge.
        let (ev, report) = d.convert(Event::Apply(good("b", "6")));
        assert_eq!(names(&ev).as_deref(), Some("b"));
        assert!(report.is_none());
        assert_eq!(d.undecodable(), 0);

        // Deleted while broken: nothing to forward, gone from the gauge.
        d.convert(Event::Apply(bad("e", "7")));
        assert_eq!(d.undecodable(), 1);
        let (ev, _) = d.convert(Event::Delete(bad("e", "8")));
        assert!(ev.is_none());
        assert_eq!(d.undecodable(), 0);

        // A relist no longer holding a broken object drops it from the gauge.
        d.convert(Event::Apply(bad("f", "9")));
        for ev in [Event::Init, Event::InitApply(good("a", "1")), Event::InitDone] {
            d.convert(ev);
        }
        assert_eq!(d.undecodable(), 0);
    }

    #[test]
    fn redaction_keeps_fields_and_drops_values() {
        for (raw, want) in [
            (
                r#"invalid type: string "hunter2", expected u32"#,
                "invalid type: string, expected u32",
            ),
            (
                "invalid type: integer `42`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "invalid value: integer, expected u32",
            ),
            (
                "unknown variant `Sneaky`, expected `Delete` or `Orphan`",
                "unknown variant, expected `Delete` or `Orphan`",
            ),
            ("missing field `domain`", "missing field `domain`"),
            ("something new: with hunter2", "something new"),
        ] {
            assert_eq!(redact(raw), want, "{raw}");
        }
    }
}
