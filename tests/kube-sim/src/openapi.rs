//! OpenAPI v3 documents (per group-version), enough for `kubectl explain` and for kubectl to see
//! that the server validates fields (`fieldValidation`) and supports `dryRun`.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

fn gv_path(t: &ResourceType) -> String {
    if t.group.is_empty() {
        format!("api/{}", t.version)
    } else {
        format!("apis/{}/{}", t.group, t.version)
    }
}

/// `/openapi/v3`: the index of per-group-version documents.
pub fn root(types: &[Arc<ResourceType>]) -> Value {
    let gvs: BTreeSet<String> = types.iter().map(|t| gv_path(t)).collect();
    let mut paths = Map::new();
    for gv in gvs {
        let hash = types
            .iter()
            .filter(|t| gv_path(t) == gv)
            .map(|t| {
                format!(
                    "{}{}",
                    t.plural,
                    t.raw_schema.as_ref().map(|s| s.to_string().len()).unwrap_or(0)
                )
            })
            .collect::<String>();
        let h = hash
            .bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        paths.insert(
            gv.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={h:016X}")}),
        );
    }
    json!({"paths": paths})
}

/// Reverse-DNS schema name (`dev.domain-operator.auth0.v1alpha1.CustomDomain`).
fn schema_name(t: &ResourceType) -> String {
    if t.group.is_empty() {
        return format!("io.k8s.api.core.{}.{}", t.version, t.kind);
    }
    let rev: Vec<&str> = t.group.split('.').rev().collect();
    format!("{}.{}.{}", rev.join("."), t.version, t.kind)
}

fn object_schema(t: &ResourceType) -> Value {
    let mut s = t
        .raw_schema
        .clone()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    if let Some(m) = s.as_object_mut() {
        let props = m.entry("properties").or_insert_with(|| json!({}));
        if let Some(p) = props.as_object_mut() {
            p.entry("apiVersion").or_insert_with(|| json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"}));
            p.entry("kind").or_insert_with(|| json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"}));
            p.insert("metadata".into(), json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "default": {}, "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}));
        }
        m.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": t.group, "version": t.version, "kind": t.kind}]),
        );
    }
    s
}

fn object_meta() -> Value {
    let str_field = |d: &str| json!({"type": "string", "description": d});
    json!({
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
        "type": "object",
        "properties": {
            "name": str_field("Name must be unique within a namespace."),
            "namespace": str_field("Namespace defines the space within which each name must be unique."),
            "generateName": str_field("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."),
            "uid": str_field("UID is the unique in time and space value for this object."),
            "resourceVersion": str_field("An opaque value that represents the internal version of this object."),
            "generation": {"type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state."},
            "creationTimestamp": str_field("CreationTimestamp is a timestamp representing the server time when this object was created."),
            "deletionTimestamp": str_field("DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."),
            "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Map of string keys and values that can be used to organize and categorize (scope and select) objects."},
            "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Annotations is an unstructured key value map stored with a resource."},
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""}, "description": "Must be empty before the object is deleted from the registry."},
            "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "description": "List of objects depended by this object."},
            "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "description": "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow."},
        },
    })
}

fn operation(t: &ResourceType, params: &[&str]) -> Value {
    let ps: Vec<Value> = params
        .iter()
        .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
        .collect();
    json!({
        "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
        "parameters": ps,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(t))}}}}},
    })
}

/// `/openapi/v3/<gv>`: schemas + paths for one group-version; None if unknown.
pub fn group_version(types: &[Arc<ResourceType>], gv: &str) -> Option<Value> {
    let ts: Vec<&Arc<ResourceType>> = types.iter().filter(|t| gv_path(t) == gv).collect();
    if ts.is_empty() {
        return None;
    }
    let mut schemas = Map::new();
    let mut paths = Map::new();
    schemas.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into(),
        object_meta(),
    );
    let write = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
    for t in ts {
        schemas.insert(schema_name(t), object_schema(t));
        let item = if t.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("/{gv}/{}/{{name}}", t.plural)
        };
        paths.insert(
            item.clone(),
            json!({"get": operation(t, &["pretty"]), "put": operation(t, &write), "patch": operation(t, &["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]), "delete": operation(t, &["dryRun", "propagationPolicy"])}),
        );
        let coll = item.trim_end_matches("/{name}").to_string();
        paths.insert(coll, json!({"get": operation(t, &["labelSelector", "fieldSelector", "limit", "continue", "watch"]), "post": operation(t, &write)}));
        if t.status_subresource {
            paths.insert(format!("{item}/status"), json!({"get": operation(t, &["pretty"]), "put": operation(t, &write), "patch": operation(t, &["dryRun", "fieldManager", "fieldValidation", "force"])}));
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
