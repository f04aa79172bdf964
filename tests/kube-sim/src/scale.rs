//! The `scale` subresource of CRDs that declare `subresources.scale`: an `autoscaling/v1 Scale`
//! view of the replica paths, read with GET and written with PUT or PATCH.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::resources::{ResourceType, ScaleSpec};
use crate::status::{ApiError, Target};
use crate::store::{World, str_at};
use crate::verbs::{self, ManagedUpdate, Outcome, PatchKind, WriteOpts};

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |cur, seg| cur.get(seg))
}

fn set_at(obj: &mut Value, path: &str, v: Value) {
    let mut cur = obj;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(m) = cur.as_object_mut() else { return };
        if i + 1 == segs.len() {
            m.insert((*seg).to_string(), v);
            return;
        }
        cur = m.entry((*seg).to_string()).or_insert_with(|| json!({}));
    }
}

/// The Scale of a custom resource.
pub fn to_scale(spec: &ScaleSpec, obj: &Value) -> Value {
    let mut meta = Map::new();
    for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = obj.pointer(&format!("/metadata/{k}")) {
            meta.insert(k.into(), v.clone());
        }
    }
    let replicas = at(obj, &spec.spec_replicas_path)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut status = json!({
        "replicas": at(obj, &spec.status_replicas_path).and_then(Value::as_i64).unwrap_or(0)
    });
    if let Some(sel) = spec
        .label_selector_path
        .as_deref()
        .and_then(|p| at(obj, p))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        status["selector"] = json!(sel);
    }
    let spec_json = if replicas == 0 {
        json!({})
    } else {
        json!({"replicas": replicas})
    };
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta, "spec": spec_json, "status": status})
}

fn spec_of(rt: &ResourceType) -> Result<&ScaleSpec, ApiError> {
    rt.scale.as_ref().ok_or_else(ApiError::no_resource)
}

fn current(w: &World, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
    let ns = if rt.namespaced { ns } else { "" };
    w.get(&rt.key(), &(ns.to_string(), name.to_string()))
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(Target {
                group: &rt.group,
                plural: &rt.plural,
                name,
            })
        })
}

/// GET `.../<name>/scale`.
pub fn get(w: &World, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
    Ok(to_scale(spec_of(rt)?, &current(w, rt, ns, name)?))
}

/// PUT `.../<name>/scale` with a Scale body; answers with the new Scale.
pub fn update(
    w: &mut World,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    scale: &Value,
    opts: &WriteOpts,
) -> Result<Outcome, ApiError> {
    let spec = spec_of(rt)?.clone();
    let old = current(w, rt, ns, name)?;
    if !scale.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type object)",
        ));
    }
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {v} into Go struct field ScaleSpec.spec.replicas of type int32"
            ))
        })?,
    };
    if replicas < 0 {
        return Err(ApiError::invalid(
            "Scale",
            "autoscaling",
            name,
            &[(
                "spec.replicas".into(),
                "FieldValueInvalid".into(),
                format!("Invalid value: {replicas}: must be greater than or equal to 0"),
            )],
        ));
    }
    let want_rv = str_at(scale, "/metadata/resourceVersion");
    if !want_rv.is_empty() && want_rv != str_at(&old, "/metadata/resourceVersion") {
        return Err(ApiError::conflict(Target {
            group: &rt.group,
            plural: &rt.plural,
            name,
        }));
    }
    let mut new = old.clone();
    set_at(&mut new, &spec.spec_replicas_path, json!(replicas));
    let mut out = verbs::commit_update(w, rt, &old, new, "scale", opts, ManagedUpdate::Record)?;
    out.obj = to_scale(&spec, &out.obj);
    Ok(out)
}

/// PATCH `.../<name>/scale` (merge, JSON or strategic merge patch of the Scale).
#[allow(clippy::too_many_arguments)]
pub fn patch(
    w: &mut World,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    opts: &WriteOpts,
) -> Result<Outcome, ApiError> {
    let mut scale = get(w, rt, ns, name)?;
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    match kind {
        PatchKind::Merge | PatchKind::Strategic => crate::patch::merge_patch(&mut scale, &parsed),
        PatchKind::Json => crate::patch::json_patch(&mut scale, &parsed)?,
        PatchKind::Apply => {
            return Err(ApiError::unsupported_patch("application/apply-patch+yaml"));
        }
    }
    // A patch applies to the current state: its resourceVersion is only a precondition when
    // the patch itself sets one.
    if parsed.pointer("/metadata/resourceVersion").is_none()
        && let Some(m) = scale.get_mut("metadata").and_then(Value::as_object_mut)
    {
        m.remove("resourceVersion");
    }
    update(w, rt, ns, name, &scale, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view_of_replica_paths() {
        let spec = ScaleSpec {
            spec_replicas_path: "spec.replicas".into(),
            status_replicas_path: "status.replicas".into(),
            label_selector_path: Some("status.selector".into()),
        };
        let obj = json!({"metadata": {"name": "a", "resourceVersion": "7"}, "spec": {"replicas": 3},
                         "status": {"replicas": 2, "selector": "app=a"}});
        let s = to_scale(&spec, &obj);
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(s["status"], json!({"replicas": 2, "selector": "app=a"}));
        assert_eq!(s["metadata"]["resourceVersion"], "7");
        let mut o = json!({});
        set_at(&mut o, "spec.x.y", json!(1));
        assert_eq!(o, json!({"spec": {"x": {"y": 1}}}));
    }
}
