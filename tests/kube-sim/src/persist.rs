//! `--state FILE`: the store survives restarts (atomic JSON snapshots).

use std::path::Path;

use serde_json::{Value, json};

use crate::crds;
use crate::resources::{ResKey, from_crd};
use crate::store::{World, obj_key};

/// Serializes the objects and the resourceVersion counter.
pub fn snapshot(w: &World) -> String {
    let mut objects = Vec::new();
    for (res, bucket) in &w.objects {
        for o in bucket.values() {
            objects.push(json!({"group": res.group, "plural": res.plural, "object": &**o}));
        }
    }
    json!({"resourceVersion": w.rv, "objects": objects}).to_string()
}

/// Errors loading a state file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading failed.
    #[error("reading state file: {0}")]
    Io(#[from] std::io::Error),
    /// Not a state file.
    #[error("parsing state file: {0}")]
    Json(#[from] serde_json::Error),
}

/// Loads a snapshot into a fresh world (CRDs are served again). A missing file is an empty world.
pub fn load(path: &Path, w: &mut World) -> Result<(), LoadError> {
    if !path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path)?;
    let v: Value = serde_json::from_str(&text)?;
    w.objects.clear();
    let entries = v
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in &entries {
        let res = ResKey {
            group: e.get("group").and_then(Value::as_str).unwrap_or_default().into(),
            plural: e.get("plural").and_then(Value::as_str).unwrap_or_default().into(),
        };
        let Some(obj) = e.get("object").cloned() else {
            continue;
        };
        if crds::is_crd(&res)
            && let Ok(rt) = from_crd(&obj)
        {
            crds::register(w, rt);
        }
        w.objects
            .entry(res)
            .or_default()
            .insert(obj_key(&obj), std::sync::Arc::new(obj));
    }
    let rv = v.get("resourceVersion").and_then(Value::as_u64).unwrap_or(1);
    w.rv = rv;
    w.oldest_rv = rv;
    w.history.clear();
    Ok(())
}
