//! The operator's resources seen as dynamic objects (no dependency on the operator's types, so the
//! suite also checks the wire form), plus small readers for status fields.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::core::{ApiResource, DynamicObject};
use serde_json::Value;

/// API group of the operator's resources.
pub const GROUP: &str = "auth0.domain-operator.dev";
/// Served version.
pub const VERSION: &str = "v1alpha1";
/// Finalizer the operator puts on CustomDomains.
pub const FINALIZER: &str = "auth0-domain-operator.dev/cleanup";
/// Annotation that allows adopting an unmarked Auth0 domain.
pub const ADOPT_ANNOTATION: &str = "auth0-domain-operator.dev/adopt";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: format!("{GROUP}/{VERSION}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// `CustomDomain` (namespaced).
pub fn custom_domain_resource() -> ApiResource {
    resource("CustomDomain", "customdomains")
}

/// `Auth0Tenant` (cluster-scoped).
pub fn tenant_resource() -> ApiResource {
    resource("Auth0Tenant", "auth0tenants")
}

/// A condition's `status`, `reason` and `message`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cond {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// Human message.
    pub message: String,
}

/// The condition `type_` of an object's status.
pub fn condition(obj: &DynamicObject, type_: &str) -> Option<Cond> {
    let conds = obj.data.pointer("/status/conditions")?.as_array()?;
    let c = conds
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Some(Cond {
        status: s("status"),
        reason: s("reason"),
        message: s("message"),
    })
}

/// Whether condition `type_` is `True`.
pub fn is_true(obj: &DynamicObject, type_: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c.status == "True")
}

/// A string at a JSON pointer into the object (e.g. `/status/customDomainId`).
pub fn str_at<'a>(obj: &'a DynamicObject, pointer: &str) -> Option<&'a str> {
    obj.data.pointer(pointer).and_then(Value::as_str)
}

/// A DNS record the status asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `TXT` or `CNAME`.
    pub type_: String,
    /// Name to create it at.
    pub name: String,
    /// Value.
    pub value: String,
}

/// `status.verification.records`.
pub fn records(obj: &DynamicObject) -> Vec<Record> {
    obj.data
        .pointer("/status/verification/records")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    Some(Record {
                        type_: r.get("type")?.as_str()?.to_string(),
                        name: r.get("name")?.as_str()?.to_string(),
                        value: r.get("value")?.as_str()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A Secret's data decoded as UTF-8 strings.
pub fn secret_strings(s: &Secret) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in s.data.iter().flatten() {
        out.insert(k.clone(), String::from_utf8_lossy(&v.0).into_owned());
    }
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Compact one-line summary of a CustomDomain's status for failure messages.
pub fn status_summary(obj: &DynamicObject) -> String {
    obj.data
        .get("status")
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .unwrap_or_else(|| "<no status>".into())
}

/// `Ready=True` for the object's current generation (what `kubectl wait --for=condition=Ready`
/// plus kstatus's observedGeneration check mean by ready).
pub fn ready(obj: &DynamicObject) -> bool {
    is_true(obj, "Ready")
        && obj
            .data
            .pointer("/status/observedGeneration")
            .and_then(serde_json::Value::as_i64)
            == obj.metadata.generation
}
