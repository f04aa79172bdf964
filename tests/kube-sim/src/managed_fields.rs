//! Server-side apply and `metadata.managedFields` bookkeeping.
//!
//! Field sets are sets of leaf paths; maps are merged field by field, lists are atomic
//! (as for CRD lists without `x-kubernetes-list-type`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// A leaf path (`["spec", "domain"]`).
pub type FieldPath = Vec<String>;

/// One `managedFields` entry.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: String,
    fields: BTreeSet<FieldPath>,
}

/// Metadata fields that are identity or server-owned, never in field sets.
const SKIP_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The leaf paths of an object (the fields a manager would own).
pub fn leaf_paths(obj: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    if let Value::Object(m) = obj {
        for (k, v) in m {
            if k == "apiVersion" || k == "kind" {
                continue;
            }
            if k == "metadata" {
                if let Value::Object(meta) = v {
                    for (mk, mv) in meta {
                        if !SKIP_META.contains(&mk.as_str()) {
                            walk(mv, vec!["metadata".into(), mk.clone()], &mut out);
                        }
                    }
                }
                continue;
            }
            walk(v, vec![k.clone()], &mut out);
        }
    }
    out
}

fn walk(v: &Value, path: FieldPath, out: &mut BTreeSet<FieldPath>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(k.clone());
                walk(c, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

fn get_path<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |cur, k| cur.get(k))
}

fn set_path(obj: &mut Value, path: &[String], value: Value) {
    let mut cur = obj;
    for k in &path[..path.len().saturating_sub(1)] {
        if !cur.get(k).is_some_and(Value::is_object)
            && let Value::Object(m) = cur
        {
            m.insert(k.clone(), Value::Object(Map::new()));
        }
        let Some(next) = cur.get_mut(k) else { return };
        cur = next;
    }
    if let (Value::Object(m), Some(last)) = (cur, path.last()) {
        m.insert(last.clone(), value);
    }
}

fn remove_path(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for k in parents {
        let Some(next) = cur.get_mut(k) else { return };
        cur = next;
    }
    if let Value::Object(m) = cur {
        m.remove(last);
    }
}

fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// `.spec.domain`, the path text structured-merge-diff prints.
pub fn path_text(p: &[String]) -> String {
    p.iter().map(|s| format!(".{s}")).collect()
}

fn to_fields_v1(set: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut cur = &mut root;
        for k in p {
            let entry = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(m) = entry else { break };
            cur = m;
        }
    }
    Value::Object(root)
}

fn from_fields_v1(v: &Value, path: FieldPath, out: &mut BTreeSet<FieldPath>) {
    let Value::Object(m) = v else { return };
    let fields: Vec<(&String, &Value)> = m.iter().filter(|(k, _)| k.starts_with("f:")).collect();
    if fields.is_empty() {
        if !path.is_empty() {
            out.insert(path);
        }
        return;
    }
    for (k, c) in fields {
        let mut p = path.clone();
        p.push(k[2..].to_string());
        from_fields_v1(c, p, out);
    }
}

fn read_entries(obj: &Value) -> Vec<Entry> {
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    let mut fields = BTreeSet::new();
                    if let Some(f) = e.get("fieldsV1") {
                        from_fields_v1(f, Vec::new(), &mut fields);
                    }
                    Entry {
                        manager: s(e, "manager"),
                        operation: s(e, "operation"),
                        api_version: s(e, "apiVersion"),
                        time: s(e, "time"),
                        subresource: s(e, "subresource"),
                        fields,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the entries in kube-apiserver's order (`sortEncodedManagedFields`): by operation
/// (`Apply` before `Update`), time (to the second; none first), manager, apiVersion, subresource.
fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let mut sorted: Vec<&Entry> = entries.iter().filter(|e| !e.fields.is_empty()).collect();
    // RFC 3339 times to the second, all UTC: text order is time order; "" (no time) sorts first.
    fn key(e: &Entry) -> (&str, &str, &str, &str, &str) {
        (&e.operation, &e.time, &e.manager, &e.api_version, &e.subresource)
    }
    sorted.sort_by(|p, q| key(p).cmp(&key(q)));
    let arr: Vec<Value> = sorted
        .into_iter()
        .map(|e| {
            let mut v = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields),
            });
            if !e.time.is_empty() {
                v["time"] = json!(e.time);
            }
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if arr.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(arr));
        }
    }
}

fn scope(paths: BTreeSet<FieldPath>, subresource: &str, has_status_sub: bool) -> BTreeSet<FieldPath> {
    paths
        .into_iter()
        .filter(|p| {
            let is_status = p.first().map(String::as_str) == Some("status");
            if subresource == "status" {
                is_status
            } else {
                !(has_status_sub && is_status)
            }
        })
        .collect()
}

/// What a server-side apply request asks for.
#[derive(Debug, Clone)]
pub struct ApplyRequest<'a> {
    /// `fieldManager`.
    pub manager: &'a str,
    /// `force=true`.
    pub force: bool,
    /// apiVersion of the object.
    pub api_version: &'a str,
    /// "" or "status".
    pub subresource: &'a str,
    /// Whether the type has a status subresource (main-resource applies then ignore status).
    pub has_status_sub: bool,
    /// Timestamp for the entry.
    pub time: &'a str,
}

/// Applies `applied` onto `live` (None = create), returning the merged object or a 409 conflict.
pub fn apply(live: Option<&Value>, applied: &Value, req: &ApplyRequest<'_>) -> Result<Value, ApiError> {
    let new_set = scope(leaf_paths(applied), req.subresource, req.has_status_sub);
    let Some(live) = live else {
        let mut obj = applied.clone();
        if req.has_status_sub
            && req.subresource.is_empty()
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        let entry = Entry {
            manager: req.manager.into(),
            operation: "Apply".into(),
            api_version: req.api_version.into(),
            time: req.time.into(),
            subresource: req.subresource.into(),
            fields: new_set,
        };
        write_entries(&mut obj, &[entry]);
        return Ok(obj);
    };
    let mut entries = read_entries(live);
    let is_me =
        |e: &Entry| e.manager == req.manager && e.operation == "Apply" && e.subresource == req.subresource;
    // Conflicts: fields owned by someone else whose value would change.
    let mut conflicts: Vec<(String, FieldPath)> = Vec::new();
    for e in entries.iter().filter(|e| e.manager != req.manager) {
        for p in &new_set {
            if e.fields.iter().any(|f| overlaps(f, p)) && get_path(live, p) != get_path(applied, p) {
                conflicts.push((manager_text(e), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(conflict_error(&conflicts));
    }
    let mut obj = live.clone();
    for p in &new_set {
        if let Some(v) = get_path(applied, p) {
            set_path(&mut obj, p, v.clone());
        }
    }
    let old_set: BTreeSet<FieldPath> = entries
        .iter()
        .filter(|e| is_me(e))
        .flat_map(|e| e.fields.clone())
        .collect();
    for p in old_set.difference(&new_set) {
        let owned_elsewhere = entries
            .iter()
            .filter(|e| !is_me(e))
            .any(|e| e.fields.iter().any(|f| overlaps(f, p)));
        if !owned_elsewhere && !new_set.iter().any(|n| overlaps(n, p)) {
            remove_path(&mut obj, p);
        }
    }
    // Forced (or changed) fields move to this manager; equal values stay shared.
    let changed: Vec<&FieldPath> = new_set
        .iter()
        .filter(|p| get_path(live, p) != get_path(applied, p))
        .collect();
    for e in entries.iter_mut().filter(|e| !is_me(e)) {
        e.fields.retain(|f| !changed.iter().any(|p| overlaps(f, p)));
    }
    // An apply that changes nothing leaves the manager's time as it was (none for a new manager),
    // as kube-apiserver's managedFieldsUpdater does.
    let time = if obj == *live {
        entries
            .iter()
            .find(|e| is_me(e))
            .map(|e| e.time.clone())
            .unwrap_or_default()
    } else {
        req.time.to_string()
    };
    entries.retain(|e| !is_me(e));
    entries.push(Entry {
        manager: req.manager.into(),
        operation: "Apply".into(),
        api_version: req.api_version.into(),
        time,
        subresource: req.subresource.into(),
        fields: new_set,
    });
    write_entries(&mut obj, &entries);
    Ok(obj)
}

/// Records a non-apply write (create, update, patch) by `manager` in `new`'s managedFields. On an
/// update, the entries start from `new`'s managedFields (the stored ones, or those the request
/// set: kube-apiserver takes managedFields written by a client as the new ownership).
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    time: &str,
) {
    let mut entries = if old.is_some() {
        read_entries(new)
    } else {
        Vec::new()
    };
    let new_paths = leaf_paths(new);
    let old_paths = old.map(leaf_paths).unwrap_or_default();
    let changed: BTreeSet<FieldPath> = new_paths
        .iter()
        .filter(|p| old.and_then(|o| get_path(o, p)) != get_path(new, p))
        .cloned()
        .chain(old_paths.difference(&new_paths).cloned())
        .collect();
    if changed.is_empty() {
        write_entries(new, &entries);
        return;
    }
    let is_me = |e: &Entry| e.manager == manager && e.operation == "Update" && e.subresource == subresource;
    for e in entries.iter_mut().filter(|e| !is_me(e)) {
        e.fields.retain(|f| !changed.iter().any(|p| overlaps(f, p)));
    }
    let mut mine: BTreeSet<FieldPath> = entries
        .iter()
        .filter(|e| is_me(e))
        .flat_map(|e| e.fields.clone())
        .collect();
    mine.retain(|f| new_paths.contains(f));
    mine.extend(changed.into_iter().filter(|p| new_paths.contains(p)));
    entries.retain(|e| !is_me(e));
    entries.push(Entry {
        manager: manager.into(),
        operation: "Update".into(),
        api_version: api_version.into(),
        time: time.into(),
        subresource: subresource.into(),
        fields: mine,
    });
    write_entries(new, &entries);
}

/// `printManager` of kube-apiserver: `"name"` for Apply, `"name" using v1` for Update.
fn manager_text(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        s = format!("{s} with subresource {:?}", e.subresource);
    }
    if e.operation == "Update" {
        s = format!("{s} using {}", e.api_version);
    }
    s
}

fn conflict_error(conflicts: &[(String, FieldPath)]) -> ApiError {
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].0,
            path_text(&conflicts[0].1)
        )
    } else {
        let mut managers: Vec<&String> = conflicts.iter().map(|c| &c.0).collect();
        managers.sort();
        managers.dedup();
        let mut lines = Vec::new();
        for m in managers {
            lines.push(format!("conflicts with {m}:"));
            for c in conflicts.iter().filter(|c| &c.0 == m) {
                lines.push(format!("- {}", path_text(&c.1)));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": path_text(p)}))
        .collect();
    let mut e = ApiError::new(409, "Conflict", message);
    e.details = Some(json!({"causes": causes}));
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(manager: &'a str, force: bool) -> ApplyRequest<'a> {
        ApplyRequest {
            manager,
            force,
            api_version: "v1",
            subresource: "",
            has_status_sub: false,
            time: "t",
        }
    }

    #[test]
    fn apply_conflicts_and_force() {
        let a = apply(
            None,
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("alice", false),
        )
        .unwrap_or_default();
        let err = apply(
            Some(&a),
            &json!({"metadata": {"name": "x"}, "data": {"k": "2"}}),
            &req("bob", false),
        )
        .err();
        assert_eq!(err.as_ref().map(|e| e.code), Some(409));
        assert_eq!(
            err.map(|e| e.message).unwrap_or_default(),
            "Apply failed with 1 conflict: conflict with \"alice\": .data.k"
        );
        let b = apply(
            Some(&a),
            &json!({"metadata": {"name": "x"}, "data": {"k": "2"}}),
            &req("bob", true),
        )
        .unwrap_or_default();
        assert_eq!(b["data"]["k"], "2");
        let managers: Vec<&str> = b["metadata"]["managedFields"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["manager"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(managers, vec!["bob"]);
    }

    #[test]
    fn apply_removes_fields_no_longer_applied() {
        let a = apply(
            None,
            &json!({"metadata": {"name": "x"}, "data": {"k": "1", "j": "2"}}),
            &req("alice", false),
        )
        .unwrap_or_default();
        let b = apply(
            Some(&a),
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("alice", false),
        )
        .unwrap_or_default();
        assert_eq!(b["data"], json!({"k": "1"}));
    }

    fn managers(obj: &Value) -> Vec<String> {
        obj["metadata"]["managedFields"]
            .as_array()
            .map(|a| {
                let text = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_string();
                a.iter()
                    .map(|e| format!("{}:{}", text(e, "manager"), text(e, "operation")))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn entries_sorted_and_noop_apply_keeps_no_time() {
        let a = apply(
            None,
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("zed", false),
        )
        .unwrap_or_default();
        let mut b = a.clone();
        b["data"]["j"] = json!("2");
        record_update(Some(&a), &mut b, "alpha", "v1", "", "t");
        // An apply that changes nothing: a new entry without time, sorted before timed ones.
        let c = apply(
            Some(&b),
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("mid", false),
        )
        .unwrap_or_default();
        assert_eq!(managers(&c), vec!["mid:Apply", "zed:Apply", "alpha:Update"]);
        assert_eq!(c["metadata"]["managedFields"][0].get("time"), None);
    }

    #[test]
    fn update_keeps_managed_fields_the_request_wrote() {
        let a = apply(
            None,
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("alice", false),
        )
        .unwrap_or_default();
        let mut b = a.clone();
        b["metadata"]["managedFields"][0]["manager"] = json!("bob");
        record_update(Some(&a), &mut b, "kubectl-patch", "v1", "", "t");
        assert_eq!(managers(&b), vec!["bob:Apply"]);
    }

    #[test]
    fn update_takes_ownership() {
        let a = apply(
            None,
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("alice", false),
        )
        .unwrap_or_default();
        let mut b = a.clone();
        b["data"]["k"] = json!("3");
        record_update(Some(&a), &mut b, "kubectl-edit", "v1", "", "t");
        let err = apply(
            Some(&b),
            &json!({"metadata": {"name": "x"}, "data": {"k": "1"}}),
            &req("alice", false),
        )
        .err()
        .map(|e| e.message)
        .unwrap_or_default();
        assert_eq!(
            err,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.k"
        );
    }
}
