//! Pruning of unknown fields (apiextensions-apiserver `pkg/apiserver/schema/pruning`).

use serde_json::{Map, Value};

use crate::field_error as fe;
use crate::schema::Node;

/// The fields `metav1.ObjectMeta` knows; anything else under `metadata` is dropped by the
/// server's ObjectMeta round trip.
const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Removes unknown fields from `v` (`is_root`/embedded resources keep `apiVersion`, `kind` and an
/// ObjectMeta-shaped `metadata`); pushes the `field.Path` of every removed field.
pub(crate) fn prune(n: &Node, v: &mut Value, path: &str, is_root: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            let keep_type_meta = is_root || n.embedded_resource;
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let child_path = fe::child(path, &k);
                if keep_type_meta && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                if keep_type_meta && k == "metadata" {
                    if let Some(Value::Object(meta)) = map.get_mut(&k) {
                        prune_object_meta(meta, &child_path, out);
                    }
                    continue;
                }
                if let Some(p) = n.property(&k) {
                    if let Some(val) = map.get_mut(&k) {
                        prune(p, val, &child_path, false, out);
                    }
                } else if let Some(s) = n.additional_schema() {
                    if let Some(val) = map.get_mut(&k) {
                        prune(s, val, &fe::key(path, &k), false, out);
                    }
                } else if !n.preserve_unknown
                    && !matches!(n.additional, Some(crate::schema::Additional::Allows(true)))
                {
                    map.remove(&k);
                    out.push(child_path);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = &n.items {
                for (i, it) in items.iter_mut().enumerate() {
                    prune(s, it, &fe::index(path, i), false, out);
                }
            }
        }
        _ => {}
    }
}

fn prune_object_meta(meta: &mut Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let unknown: Vec<String> = meta
        .keys()
        .filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        meta.remove(&k);
        out.push(fe::child(path, &k));
    }
}
