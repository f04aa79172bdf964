//! Defaulting, pruning and the 422 `Status` shape.
//!
//! Status shape: `k8s.io/apimachinery/pkg/api/errors.NewInvalid` (message `Kind.group "name" is
//! invalid: ...`, aggregate in brackets only for several errors, causes `{reason, message, field}`).

use kube_sim_schema::{FieldError, Schema, invalid_status, kubectl_invalid_text};
use serde_json::{Value, json};

fn compile(s: Value) -> Schema {
    match Schema::compile(&s) {
        Ok(s) => s,
        Err(e) => panic!("schema did not compile: {e:?}"),
    }
}

fn sample() -> Schema {
    compile(json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "policy": {"type": "string", "default": "Delete"},
            "tenantRef": {"type": "object", "default": {}, "properties": {
                "name": {"type": "string", "default": "default"}}},
            "opt": {"type": "object", "properties": {"on": {"type": "boolean", "default": false}}},
            "ports": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "protocol": {"type": "string", "default": "TCP"}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "weight": {"type": "integer", "default": 1}}}},
            "nullable": {"type": "string", "nullable": true},
            "plain": {"type": "string"},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
                "known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
            "embedded": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {
                "spec": {"type": "object", "properties": {"x": {"type": "string"}}}}}
        }},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
    }}))
}

#[test]
fn defaults_apply_to_missing_fields_nested_items_and_maps() {
    let s = sample();
    let mut obj = json!({"spec": {
        "opt": {},
        "ports": [{"name": "a"}, {"name": "b", "protocol": "UDP"}],
        "labels": {"x": {}, "y": {"weight": 5}}
    }});
    s.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["policy"], "Delete");
    // A default set on this pass is itself defaulted (tenantRef {} -> {name: default}).
    assert_eq!(obj["spec"]["tenantRef"], json!({"name": "default"}));
    // Parent present -> nested default applies; absent parent gets nothing.
    assert_eq!(obj["spec"]["opt"], json!({"on": false}));
    assert_eq!(
        obj["spec"]["ports"],
        json!([{"name": "a", "protocol": "TCP"}, {"name": "b", "protocol": "UDP"}])
    );
    assert_eq!(
        obj["spec"]["labels"],
        json!({"x": {"weight": 1}, "y": {"weight": 5}})
    );
    assert!(obj.get("status").is_none());
}

#[test]
fn nulls_without_defaults_are_dropped_unless_nullable() {
    let s = sample();
    let mut obj = json!({"spec": {"plain": null, "nullable": null, "policy": null}});
    s.apply_defaults(&mut obj);
    assert!(
        obj["spec"].get("plain").is_none(),
        "non-nullable null without default is dropped"
    );
    assert_eq!(obj["spec"]["nullable"], Value::Null);
    assert_eq!(
        obj["spec"]["policy"], "Delete",
        "null with a default gets the default"
    );
}

#[test]
fn prune_removes_unknown_fields_and_reports_paths() {
    let s = sample();
    let mut obj = json!({
        "apiVersion": "g/v1", "kind": "K",
        "metadata": {"name": "a", "labels": {"k": "v"}, "bogus": 1},
        "spec": {
            "policy": "Delete", "extra": 1,
            "ports": [{"name": "a", "junk": true}],
            "labels": {"x": {"weight": 2, "nope": 0}},
            "free": {"anything": {"goes": 1}, "known": {"a": "1", "b": "2"}},
            "embedded": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "zzz": 1},
                         "spec": {"x": "1", "y": "2"}, "other": 1}
        },
        "topLevel": true
    });
    let pruned = s.prune(&mut obj);
    assert_eq!(
        pruned,
        vec![
            "metadata.bogus",
            "spec.embedded.metadata.zzz",
            "spec.embedded.other",
            "spec.embedded.spec.y",
            "spec.extra",
            "spec.free.known.b",
            "spec.labels[x].nope",
            "spec.ports[0].junk",
            "topLevel",
        ]
    );
    assert_eq!(obj["metadata"], json!({"name": "a", "labels": {"k": "v"}}));
    assert_eq!(
        obj["spec"]["free"]["anything"],
        json!({"goes": 1}),
        "preserve-unknown-fields keeps unknowns"
    );
    assert_eq!(obj["spec"]["embedded"]["kind"], "ConfigMap");
    assert_eq!(obj["apiVersion"], "g/v1");
}

#[test]
fn status_single_error_has_no_brackets() {
    let errors = vec![FieldError {
        field: "spec.domain".into(),
        reason: "FieldValueInvalid".into(),
        message: "Invalid value: \"string\": domain is immutable".into(),
    }];
    let st = invalid_status("CustomDomain", "auth0.domain-operator.dev", "x", &errors);
    assert_eq!(
        st,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "CustomDomain.auth0.domain-operator.dev \"x\" is invalid: spec.domain: Invalid value: \"string\": domain is immutable",
            "reason": "Invalid",
            "details": {"name": "x", "group": "auth0.domain-operator.dev", "kind": "CustomDomain", "causes": [
                {"reason": "FieldValueInvalid", "message": "Invalid value: \"string\": domain is immutable", "field": "spec.domain"}
            ]},
            "code": 422
        })
    );
}

#[test]
fn status_several_errors_are_bracketed_and_deduplicated() {
    let s = compile(json!({"type": "object", "properties": {"spec": {"type": "object",
        "required": ["domain"], "properties": {"domain": {"type": "string"},
        "type": {"type": "string", "enum": ["Auth0ManagedCerts", "SelfManagedCerts"]}}}}}));
    let mut errors = s.validate(&json!({"spec": {"type": "Foo"}}), None);
    errors.push(errors[0].clone());
    let st = invalid_status("CustomDomain", "auth0.domain-operator.dev", "x", &errors);
    assert_eq!(
        st["message"],
        "CustomDomain.auth0.domain-operator.dev \"x\" is invalid: [spec.domain: Required value, spec.type: Unsupported value: \"Foo\": supported values: \"Auth0ManagedCerts\", \"SelfManagedCerts\"]"
    );
    assert_eq!(
        st["details"]["causes"].as_array().map(Vec::len),
        Some(3),
        "causes are not de-duplicated"
    );
    assert_eq!(
        invalid_status("ConfigMap", "", "c", &errors[..1])["message"],
        "ConfigMap \"c\" is invalid: spec.domain: Required value"
    );
}

#[test]
fn kubectl_renders_causes() {
    // kubectl cmd/util/helpers.go: IsInvalid -> MultilineError("The Kind \"name\" is invalid: ", causes).
    let one = vec![FieldError {
        field: "spec.domain".into(),
        reason: "FieldValueInvalid".into(),
        message: "Invalid value: \"string\": domain is immutable".into(),
    }];
    assert_eq!(
        kubectl_invalid_text("CustomDomain", "x", &one),
        "The CustomDomain \"x\" is invalid: spec.domain: Invalid value: \"string\": domain is immutable\n"
    );
    let mut two = one.clone();
    two.push(FieldError {
        field: "spec.type".into(),
        reason: "FieldValueRequired".into(),
        message: "Required value".into(),
    });
    two.push(one[0].clone());
    assert_eq!(
        kubectl_invalid_text("CustomDomain", "x", &two),
        "The CustomDomain \"x\" is invalid: \n* spec.domain: Invalid value: \"string\": domain is immutable\n* spec.type: Required value\n"
    );
}
