//! JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

use serde_json::{Map, Value};

use crate::status::ApiError;

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<(String, String), ApiError> {
    if path.is_empty() {
        return Err(ApiError::bad_request("jsonpatch: the root cannot be replaced"));
    }
    let idx = path
        .rfind('/')
        .ok_or_else(|| ApiError::bad_request(format!("jsonpatch: invalid path {path:?}")))?;
    Ok((path[..idx].to_string(), unescape(&path[idx + 1..])))
}

fn add_at(doc: &mut Value, path: &str, value: Value) -> Result<(), ApiError> {
    let (parent, last) = split_pointer(path)?;
    let missing = || {
        ApiError::internal(format!(
            "add operation does not apply: doc is missing path: \"{path}\": missing value"
        ))
    };
    let p = doc.pointer_mut(&parent).ok_or_else(missing)?;
    match p {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = last.parse().map_err(|_| missing())?;
            if i > a.len() {
                return Err(missing());
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove_at(doc: &mut Value, path: &str) -> Result<Value, ApiError> {
    let (parent, last) = split_pointer(path)?;
    let missing = || {
        ApiError::internal(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": missing value"
        ))
    };
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => m.remove(&last).ok_or_else(missing),
        Some(Value::Array(a)) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

/// RFC 6902 JSON patch. Errors follow kube-apiserver (failed `test` → 422 via caller, others 500).
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), ApiError> {
    let ops = ops.as_array().ok_or_else(|| {
        ApiError::bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    })?;
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        let value = op.get("value").cloned();
        match kind {
            "add" => add_at(doc, path, value.unwrap_or(Value::Null))?,
            "remove" => {
                remove_at(doc, path)?;
            }
            "replace" => {
                remove_at(doc, path).map_err(|_| {
                    ApiError::internal(format!(
                        "replace operation does not apply: doc is missing key: {path}: missing value"
                    ))
                })?;
                add_at(doc, path, value.unwrap_or(Value::Null))?;
            }
            "move" | "copy" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or_default();
                let v = if kind == "move" {
                    remove_at(doc, from)?
                } else {
                    doc.pointer(from).cloned().ok_or_else(|| {
                        ApiError::internal(format!(
                            "copy operation does not apply: doc is missing from path: {from}"
                        ))
                    })?
                };
                add_at(doc, path, v)?;
            }
            "test" => {
                let have = doc.pointer(path);
                // Like evanphx/json-patch: testing a missing path against null succeeds.
                let missing_is_null = have.is_none() && value.as_ref().is_none_or(Value::is_null);
                if !missing_is_null && have != value.as_ref() {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: testing value {path} failed: test failed"
                        ),
                    ));
                }
            }
            other => return Err(ApiError::internal(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(())
}

/// Merge keys of well-known built-in list fields (strategic merge patch).
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets"
        | "ephemeralContainers" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "tolerations" => "key",
        _ => return None,
    })
}

/// Primitive lists merged as sets by strategic merge patch.
fn is_set_list(field: &str) -> bool {
    matches!(field, "finalizers")
}

/// Strategic merge patch for built-in types (map merge, `$patch` directives, keyed list merge).
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut copy = p.clone();
        copy.remove("$patch");
        *target = Value::Object(copy);
        return Ok(());
    }
    if p.get("$patch").and_then(Value::as_str) == Some("delete") {
        *target = Value::Object(Map::new());
        return Ok(());
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return Ok(()) };
    // `$retainKeys`: drop keys of the target not listed.
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(have)), Some(del)) = (t.get_mut(field), v.as_array()) {
                have.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match v {
            Value::Object(inner) if inner.get("$patch").and_then(Value::as_str) == Some("delete") => {
                t.remove(k);
            }
            Value::Object(_) => strategic_merge(t.entry(k.clone()).or_insert(Value::Null), v)?,
            Value::Array(items) => {
                let existing = t.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
                let merged = if let Some(key) = merge_key(k) {
                    merge_keyed_list(existing, items, key)?
                } else if is_set_list(k) {
                    let mut out = existing;
                    for i in items {
                        if !out.contains(i) {
                            out.push(i.clone());
                        }
                    }
                    out
                } else {
                    items.iter().filter(|i| !is_directive(i)).cloned().collect()
                };
                t.insert(k.clone(), Value::Array(merged));
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

fn is_directive(v: &Value) -> bool {
    v.get("$patch").is_some()
}

fn merge_keyed_list(mut existing: Vec<Value>, items: &[Value], key: &str) -> Result<Vec<Value>, ApiError> {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(items.iter().filter(|i| !is_directive(i)).cloned().collect());
    }
    for item in items {
        let Some(kv) = item.get(key) else {
            return Err(ApiError::internal(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let pos = existing.iter().position(|e| e.get(key) == Some(kv));
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = pos {
                existing.remove(i);
            }
            continue;
        }
        match pos {
            Some(i) => strategic_merge(&mut existing[i], item)?,
            None => existing.push(item.clone()),
        }
    }
    Ok(existing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_removes_nulls() {
        let mut d = json!({"a": {"b": 1, "c": 2}, "l": [1]});
        merge_patch(&mut d, &json!({"a": {"b": null, "d": 3}, "l": [2]}));
        assert_eq!(d, json!({"a": {"c": 2, "d": 3}, "l": [2]}));
    }

    #[test]
    fn json_patch_ops() {
        let mut d = json!({"metadata": {"finalizers": ["a", "b"]}});
        json_patch(&mut d, &json!([{"op": "test", "path": "/metadata/finalizers", "value": ["a", "b"]}, {"op": "remove", "path": "/metadata/finalizers/0"}, {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}])).ok();
        assert_eq!(
            d,
            json!({"metadata": {"finalizers": ["b"], "labels": {"x": "y"}}})
        );
        assert_eq!(
            json_patch(
                &mut d,
                &json!([{"op": "test", "path": "/metadata/finalizers", "value": []}])
            )
            .err()
            .map(|e| e.code),
            Some(422)
        );
        assert_eq!(
            json_patch(&mut d, &json!([{"op": "remove", "path": "/nope/x"}]))
                .err()
                .map(|e| e.code),
            Some(500)
        );
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let mut d = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}, "metadata": {"finalizers": ["f1"]}});
        let p = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "a", "$patch": "delete"}]}, "metadata": {"finalizers": ["f2"]}});
        strategic_merge(&mut d, &p).ok();
        assert_eq!(d["spec"]["containers"], json!([{"name": "b", "image": "z"}]));
        assert_eq!(d["metadata"]["finalizers"], json!(["f1", "f2"]));
        strategic_merge(&mut d, &json!({"spec": {"$patch": "replace", "x": 1}})).ok();
        assert_eq!(d["spec"], json!({"x": 1}));
    }
}
