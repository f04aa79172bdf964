//! Discovery documents: `/version`, `/api`, `/apis`, resource lists, aggregated discovery (v2).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// Content type of aggregated discovery responses.
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "kube-sim",
        "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.4",
        "compiler": "gc", "platform": "linux/amd64",
    })
}

/// Groups (non-core) with their types, in a stable order.
fn groups(types: &[Arc<ResourceType>]) -> BTreeMap<String, Vec<Arc<ResourceType>>> {
    let mut g: BTreeMap<String, Vec<Arc<ResourceType>>> = BTreeMap::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        g.entry(t.group.clone()).or_default().push(t.clone());
    }
    g
}

/// `/api` (legacy form).
pub fn core_versions(addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
}

/// `/apis` (legacy form).
pub fn group_list(types: &[Arc<ResourceType>]) -> Value {
    let gs: Vec<Value> = groups(types).iter().map(|(g, ts)| group_doc(g, ts)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

fn group_doc(g: &str, ts: &[Arc<ResourceType>]) -> Value {
    let v = ts.first().map(|t| t.version.clone()).unwrap_or_default();
    json!({"name": g, "versions": [{"groupVersion": format!("{g}/{v}"), "version": v}], "preferredVersion": {"groupVersion": format!("{g}/{v}"), "version": v}})
}

/// `/apis/<group>`.
pub fn group(types: &[Arc<ResourceType>], g: &str) -> Option<Value> {
    let gs = groups(types);
    gs.get(g).map(|ts| {
        let mut d = group_doc(g, ts);
        d["kind"] = json!("APIGroup");
        d["apiVersion"] = json!("v1");
        d
    })
}

/// `/api/v1` or `/apis/<g>/<v>`.
pub fn resource_list(types: &[Arc<ResourceType>], g: &str, v: &str) -> Option<Value> {
    let ts: Vec<&Arc<ResourceType>> = types.iter().filter(|t| t.group == g && t.version == v).collect();
    if ts.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in ts {
        resources.push(json!({
            "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
            "verbs": t.verbs(), "shortNames": t.short_names, "categories": t.categories,
        }));
        if t.status_subresource {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
        if t.scale.is_some() {
            resources.push(json!({"name": format!("{}/scale", t.plural), "singularName": "", "namespaced": t.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    let gv = if g.is_empty() {
        v.to_string()
    } else {
        format!("{g}/{v}")
    };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let kind = json!({"group": t.group, "version": t.version, "kind": t.kind});
    let mut r = json!({
        "resource": t.plural, "responseKind": kind, "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular, "verbs": t.verbs(),
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    let mut subs = Vec::new();
    if t.status_subresource {
        subs.push(
            json!({"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}),
        );
    }
    if t.scale.is_some() {
        subs.push(json!({"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]}));
    }
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// Aggregated discovery for `/api` (core = true) or `/apis`.
pub fn aggregated(types: &[Arc<ResourceType>], core: bool) -> Value {
    let items: Vec<Value> = if core {
        let rs: Vec<Value> = types
            .iter()
            .filter(|t| t.group.is_empty())
            .map(|t| aggregated_resource(t))
            .collect();
        vec![
            json!({"metadata": {"creationTimestamp": null}, "versions": [{"version": "v1", "resources": rs, "freshness": "Current"}]}),
        ]
    } else {
        groups(types)
            .iter()
            .map(|(g, ts)| {
                let v = ts.first().map(|t| t.version.clone()).unwrap_or_default();
                let rs: Vec<Value> = ts.iter().map(|t| aggregated_resource(t)).collect();
                json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": [{"version": v, "resources": rs, "freshness": "Current"}]})
            })
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
