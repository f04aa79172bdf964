//! CustomResourceDefinition hooks: serving a type when its CRD is stored, dropping it when removed.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::{ResKey, ResourceType, from_crd};
use crate::status::ApiError;
use crate::store::{World, now, str_at};

/// Whether `res` is the CRD resource.
pub fn is_crd(res: &ResKey) -> bool {
    res.group == "apiextensions.k8s.io" && res.plural == "customresourcedefinitions"
}

/// Checks a CRD and fills its status; returns the type it serves.
pub fn prepare(obj: &mut Value) -> Result<ResourceType, ApiError> {
    let name = str_at(obj, "/metadata/name").to_string();
    let rt = from_crd(obj).map_err(|errs| {
        let causes: Vec<(String, String, String)> = errs
            .iter()
            .map(|e| match e {
                crate::resources::CrdError::Invalid {
                    field,
                    reason,
                    message,
                } => (field.clone(), reason.clone(), message.clone()),
            })
            .collect();
        ApiError::from_status_body(crate::validation::invalid_status(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            &name,
            &causes,
        ))
    })?;
    let t = now();
    let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(rt.singular);
    }
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!("{}List", rt.kind));
    }
    if let Some(spec_names) = obj.pointer_mut("/spec/names") {
        *spec_names = accepted.clone();
    }
    obj["status"] = json!({
        "acceptedNames": accepted,
        "storedVersions": [rt.version],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": t},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": t},
        ],
    });
    Ok(rt)
}

/// Serves the type of a stored CRD.
pub fn register(w: &mut World, rt: ResourceType) {
    w.types.insert(rt.key(), Arc::new(rt));
}

/// Called after any object is removed: a removed CRD stops serving and loses its objects.
pub fn on_removed(w: &mut World, res: &ResKey, obj: &Value) {
    if !is_crd(res) {
        return;
    }
    let key = ResKey {
        group: str_at(obj, "/spec/group").into(),
        plural: str_at(obj, "/spec/names/plural").into(),
    };
    w.types.remove(&key);
    let keys: Vec<_> = w
        .objects
        .get(&key)
        .map(|b| b.keys().cloned().collect())
        .unwrap_or_default();
    for k in keys {
        w.remove(&key, &k);
    }
    w.objects.remove(&key);
}
