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

type Cause = (String, String, String);

fn required(field: &str) -> Cause {
    (field.into(), "FieldValueRequired".into(), "Required value".into())
}

fn invalid(field: &str, value: &str, msg: &str) -> Cause {
    (
        field.into(),
        "FieldValueInvalid".into(),
        format!("Invalid value: {}: {msg}", crate::names::q(value)),
    )
}

fn text<'a>(ev: &'a Value, key: &str) -> &'a str {
    ev.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn set(ev: &Value, key: &str) -> bool {
    match ev.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_i64() != Some(0),
        Some(Value::Object(m)) => m.values().any(|v| !v.is_null() && v != ""),
        Some(_) => true,
    }
}

/// The checks every Event passes (`legacyValidateEvent`), on an `events.k8s.io/v1` body. Field
/// paths are the core Event's, as the server reports them (`involvedObject`, `message`).
fn legacy_causes(ev: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let ns = ev
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let regarding_ns = ev
        .pointer("/regarding/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !set(ev, "eventTime") {
        let ok = if regarding_ns.is_empty() {
            ns.is_empty() || ns == "default"
        } else {
            ns == regarding_ns
        };
        if !ok {
            out.push(invalid(
                "involvedObject.namespace",
                regarding_ns,
                "does not match event.namespace",
            ));
        }
    } else {
        if regarding_ns.is_empty() && ns != "default" && ns != "kube-system" {
            out.push(invalid(
                "involvedObject.namespace",
                regarding_ns,
                "does not match event.namespace",
            ));
        }
        let controller = text(ev, "reportingController");
        if controller.is_empty() {
            out.push(required("reportingController"));
        }
        for m in crate::names::qualified_name(controller) {
            out.push(invalid("reportingController", controller, &m));
        }
        let limited = [
            ("reportingInstance", "reportingInstance", 128, true),
            ("action", "action", 128, true),
            ("reason", "reason", 128, true),
            ("note", "message", 1024, false),
        ];
        for (key, field, limit, needed) in limited {
            let v = text(ev, key);
            if needed && v.is_empty() {
                out.push(required(field));
            }
            if v.len() > limit {
                out.push(invalid(
                    field,
                    "",
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
    }
    for m in crate::names::dns1123_subdomain(ns) {
        out.push(invalid("namespace", ns, &m));
    }
    out
}

fn series_causes(ev: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    if let Some(s) = ev.get("series").filter(|s| !s.is_null()) {
        if s.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            out.push(invalid("series.count", "", "should be at least 2"));
        }
        if !set(s, "lastObservedTime") {
            out.push(required("series.lastObservedTime"));
        }
    }
    out
}

/// `ValidateEventCreate` for an `events.k8s.io/v1` Event: (legacy checks, strict checks); the
/// server reports the ObjectMeta checks between the two.
pub fn create_causes(ev: &Value) -> (Vec<Cause>, Vec<Cause>) {
    let legacy = legacy_causes(ev);
    let mut strict = series_causes(ev);
    if !set(ev, "eventTime") {
        strict.push(required("eventTime"));
    }
    let t = text(ev, "type");
    if t != "Normal" && t != "Warning" {
        strict.push(invalid("type", "", &format!("has invalid value: {t}")));
    }
    for (key, field) in [
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("deprecatedSource", "source"),
    ] {
        if set(ev, key) {
            strict.push(invalid(field, "", "needs to be unset"));
        }
    }
    (legacy, strict)
}

/// `ValidateEventUpdate` for an `events.k8s.io/v1` Event (the immutable scalar fields; the
/// series is checked again when it changed).
pub fn update_causes(new: &Value, old: &Value) -> (Vec<Cause>, Vec<Cause>) {
    let legacy = legacy_causes(new);
    let mut strict = Vec::new();
    if new.get("series") != old.get("series") {
        strict.extend(series_causes(new));
    }
    for (key, field) in [
        ("reason", "reason"),
        ("note", "message"),
        ("type", "type"),
        ("action", "action"),
        ("reportingController", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ] {
        if new.get(key) != old.get(key) {
            strict.push(invalid(field, text(new, key), "field is immutable"));
        }
    }
    for (key, field) in [
        ("regarding", "involvedObject"),
        ("eventTime", "eventTime"),
        ("related", "related"),
    ] {
        if new.get(key) != old.get(key) {
            strict.push((
                field.into(),
                "FieldValueInvalid".into(),
                "Invalid value: \"object\": field is immutable".into(),
            ));
        }
    }
    (legacy, strict)
}
