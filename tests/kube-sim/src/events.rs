//! `events.k8s.io/v1` and core `v1` Events are one resource on a real server. kube-rs's
//! `Recorder` writes the former; `kubectl describe` reads the latter. Each `events.k8s.io` write
//! is mirrored as a core Event (same name, namespace and UID) so both views show it.

use serde_json::{Map, Value, json};

use crate::resources::ResKey;

/// Whether `res` is `events.k8s.io` events.
pub fn is_new_events(res: &ResKey) -> bool {
    res.group == "events.k8s.io" && res.plural == "events"
}

/// The core events resource.
pub fn core_events() -> ResKey {
    ResKey {
        group: String::new(),
        plural: "events".into(),
    }
}

/// Converts an `events.k8s.io/v1` Event to its core `v1` form.
pub fn to_core(ev: &Value) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("v1"));
    out.insert("kind".into(), json!("Event"));
    let mut meta = ev.get("metadata").cloned().unwrap_or(json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    out.insert("metadata".into(), meta);
    let copy = |out: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = ev.get(from) {
            out.insert(to.into(), v.clone());
        }
    };
    copy(&mut out, "regarding", "involvedObject");
    copy(&mut out, "related", "related");
    copy(&mut out, "reason", "reason");
    copy(&mut out, "note", "message");
    copy(&mut out, "type", "type");
    copy(&mut out, "action", "action");
    copy(&mut out, "eventTime", "eventTime");
    copy(&mut out, "reportingController", "reportingComponent");
    copy(&mut out, "reportingInstance", "reportingInstance");
    copy(&mut out, "deprecatedFirstTimestamp", "firstTimestamp");
    copy(&mut out, "deprecatedLastTimestamp", "lastTimestamp");
    copy(&mut out, "deprecatedCount", "count");
    if let Some(c) = ev.get("reportingController") {
        out.insert("source".into(), json!({"component": c}));
    }
    // kubectl shows LAST SEEN / counts from these; fill them from the series when absent.
    let event_time = ev.get("eventTime").and_then(Value::as_str).map(trim_micro);
    let last = ev
        .pointer("/series/lastObservedTime")
        .and_then(Value::as_str)
        .map(trim_micro)
        .or(event_time.clone());
    if !out.contains_key("lastTimestamp")
        && let Some(l) = last
    {
        out.insert("lastTimestamp".into(), json!(l));
    }
    if !out.contains_key("firstTimestamp")
        && let Some(f) = event_time
    {
        out.insert("firstTimestamp".into(), json!(f));
    }
    if !out.contains_key("count") {
        out.insert(
            "count".into(),
            ev.pointer("/series/count").cloned().unwrap_or(json!(1)),
        );
    }
    Value::Object(out)
}

/// `2026-01-01T00:00:00.123456Z` → `2026-01-01T00:00:00Z` (core timestamps have seconds).
fn trim_micro(s: &str) -> String {
    match s.split_once('.') {
        Some((head, _)) => format!("{head}Z"),
        None => s.to_string(),
    }
}
