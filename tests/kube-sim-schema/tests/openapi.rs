//! OpenAPI keyword table tests. Expected texts come from kube-openapi
//! `pkg/validation/errors/schema.go` (the `... in body ...` details), apiextensions-apiserver
//! `kubeOpenAPIResultToFieldErrors` (which error type each becomes) and apimachinery
//! `pkg/util/validation/field/errors.go` 1.32 (`ErrorBody`, `TooLong`, `TooMany`, `NotSupported`).

use kube_sim_schema::{FieldError, Schema};
use serde_json::{Value, json};

/// A root object whose `spec.x` has schema `x`.
fn schema_for(x: Value) -> Schema {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"x": x}}}});
    match Schema::compile(&s) {
        Ok(s) => s,
        Err(e) => panic!("schema did not compile: {e:?}"),
    }
}

fn errors(x: Value, value: Value) -> Vec<String> {
    let s = schema_for(x);
    s.validate(&json!({"spec": {"x": value}}), None)
        .iter()
        .map(FieldError::to_string)
        .collect()
}

#[test]
fn keyword_table() {
    // (name, schema of spec.x, value, expected errors)
    let rows: Vec<(&str, Value, Value, Vec<&str>)> = vec![
        ("type ok", json!({"type": "string"}), json!("a"), vec![]),
        (
            "type string got integer",
            json!({"type": "string"}),
            json!(1),
            vec![r#"spec.x: Invalid value: "integer": spec.x in body must be of type string: "integer""#],
        ),
        (
            "type integer got number",
            json!({"type": "integer"}),
            json!(1.5),
            vec![r#"spec.x: Invalid value: "number": spec.x in body must be of type integer: "number""#],
        ),
        (
            "type integer accepts 2.0",
            json!({"type": "integer"}),
            json!(2.0),
            vec![],
        ),
        (
            "type number accepts integer",
            json!({"type": "number"}),
            json!(2),
            vec![],
        ),
        (
            "type object got array",
            json!({"type": "object"}),
            json!([]),
            vec![r#"spec.x: Invalid value: "array": spec.x in body must be of type object: "array""#],
        ),
        (
            "type boolean got string",
            json!({"type": "boolean"}),
            json!("true"),
            vec![r#"spec.x: Invalid value: "string": spec.x in body must be of type boolean: "string""#],
        ),
        (
            "null not nullable",
            json!({"type": "string"}),
            json!(null),
            vec![r#"spec.x: Invalid value: "": spec.x in body must be of type string"#],
        ),
        (
            "null nullable",
            json!({"type": "string", "nullable": true}),
            json!(null),
            vec![],
        ),
        (
            "int-or-string int",
            json!({"x-kubernetes-int-or-string": true}),
            json!(3),
            vec![],
        ),
        (
            "int-or-string str",
            json!({"x-kubernetes-int-or-string": true}),
            json!("3%"),
            vec![],
        ),
        (
            "enum",
            json!({"type": "string", "enum": ["Auth0ManagedCerts", "SelfManagedCerts"]}),
            json!("Foo"),
            vec![
                r#"spec.x: Unsupported value: "Foo": supported values: "Auth0ManagedCerts", "SelfManagedCerts""#,
            ],
        ),
        (
            "enum of numbers",
            json!({"type": "integer", "enum": [1, 2]}),
            json!(3),
            vec![r#"spec.x: Unsupported value: 3: supported values: "1", "2""#],
        ),
        (
            "pattern",
            json!({"type": "string", "pattern": "^[a-z]+$"}),
            json!("A"),
            vec![r#"spec.x: Invalid value: "A": spec.x in body should match '^[a-z]+$'"#],
        ),
        (
            "maxLength",
            json!({"type": "string", "maxLength": 3}),
            json!("abcd"),
            vec!["spec.x: Too long: may not be more than 3 bytes"],
        ),
        (
            "maxLength counts characters",
            json!({"type": "string", "maxLength": 3}),
            json!("ééé"),
            vec![],
        ),
        (
            "minLength",
            json!({"type": "string", "minLength": 1}),
            json!(""),
            vec![r#"spec.x: Invalid value: "": spec.x in body should be at least 1 chars long"#],
        ),
        (
            "maximum",
            json!({"type": "integer", "maximum": 10}),
            json!(11),
            vec!["spec.x: Invalid value: 11: spec.x in body should be less than or equal to 10"],
        ),
        (
            "exclusiveMaximum",
            json!({"type": "integer", "maximum": 10, "exclusiveMaximum": true}),
            json!(10),
            vec!["spec.x: Invalid value: 10: spec.x in body should be less than 10"],
        ),
        (
            "minimum",
            json!({"type": "number", "minimum": 0.5}),
            json!(0.25),
            vec!["spec.x: Invalid value: 0.25: spec.x in body should be greater than or equal to 0.5"],
        ),
        (
            "exclusiveMinimum",
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true}),
            json!(0),
            vec!["spec.x: Invalid value: 0: spec.x in body should be greater than 0"],
        ),
        (
            "multipleOf",
            json!({"type": "integer", "multipleOf": 5}),
            json!(7),
            vec!["spec.x: Invalid value: 7: spec.x in body should be a multiple of 5"],
        ),
        (
            "maxItems",
            json!({"type": "array", "maxItems": 2, "items": {"type": "string"}}),
            json!(["a", "b", "c"]),
            vec!["spec.x: Too many: 3: must have at most 2 items"],
        ),
        (
            "minItems",
            json!({"type": "array", "minItems": 1, "items": {"type": "string"}}),
            json!([]),
            vec!["spec.x: Invalid value: 0: spec.x in body should have at least 1 items"],
        ),
        (
            "uniqueItems",
            json!({"type": "array", "uniqueItems": true, "items": {"type": "string"}}),
            json!(["a", "a"]),
            vec![r#"spec.x: Invalid value: "": spec.x in body shouldn't contain duplicates"#],
        ),
        (
            "items are validated with index paths",
            json!({"type": "array", "items": {"type": "string", "maxLength": 1}}),
            json!(["a", "bb"]),
            vec!["spec.x[1]: Too long: may not be more than 1 byte"],
        ),
        (
            "maxProperties",
            json!({"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}),
            json!({"a": "1", "b": "2"}),
            vec!["spec.x: Too many: 2: must have at most 1 item"],
        ),
        (
            "minProperties",
            json!({"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}),
            json!({}),
            vec!["spec.x: Invalid value: 1: spec.x in body should have at least 1 properties"],
        ),
        (
            "required",
            json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}),
            json!({}),
            vec!["spec.x.name: Required value"],
        ),
        (
            "additionalProperties schema",
            json!({"type": "object", "additionalProperties": {"type": "string", "maxLength": 2}}),
            json!({"k": "long"}),
            vec!["spec.x.k: Too long: may not be more than 2 bytes"],
        ),
        (
            "format date-time",
            json!({"type": "string", "format": "date-time"}),
            json!("yesterday"),
            vec![
                r#"spec.x: Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday""#,
            ],
        ),
        (
            "format date-time ok",
            json!({"type": "string", "format": "date-time"}),
            json!("2024-01-02T03:04:05Z"),
            vec![],
        ),
        (
            "format int32 is not checked",
            json!({"type": "integer", "format": "int32"}),
            json!(1),
            vec![],
        ),
        // kube-openapi schema_messages.go texts; these are not `Validation` errors, so
        // kubeOpenAPIResultToFieldErrors puts them on the nil path with value "".
        (
            "anyOf",
            json!({"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]}),
            json!("c"),
            vec![
                r#"<nil>: Invalid value: "": "spec.x" must validate at least one schema (anyOf)"#,
                r#"spec.x: Invalid value: "c": spec.x in body should match '^a'"#,
            ],
        ),
        (
            "oneOf two valid",
            json!({"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]}),
            json!("ab"),
            vec![
                r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
            ],
        ),
        (
            "oneOf none valid",
            json!({"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]}),
            json!("c"),
            vec![
                r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found none valid"#,
                r#"spec.x: Invalid value: "c": spec.x in body should match '^a'"#,
            ],
        ),
        (
            "not",
            json!({"type": "string", "not": {"pattern": "^a"}}),
            json!("a"),
            vec![r#"<nil>: Invalid value: "": "spec.x" must not validate the schema (not)"#],
        ),
        (
            "allOf",
            json!({"type": "string", "allOf": [{"maxLength": 1}]}),
            json!("ab"),
            vec![
                "spec.x: Too long: may not be more than 1 byte",
                r#"<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf). None validated"#,
            ],
        ),
        (
            "list-type set duplicates",
            json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}),
            json!(["a", "b", "a"]),
            vec![r#"spec.x[2]: Duplicate value: "a""#],
        ),
        (
            "list-type map duplicates",
            json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                   "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}}),
            json!([{"name": "a", "v": 1}, {"name": "a", "v": 2}]),
            vec![r#"spec.x[1]: Duplicate value: map[string]interface {}{"name":"a"}"#],
        ),
        (
            "embedded resource needs apiVersion and kind",
            json!({"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}),
            json!({"metadata": {}}),
            vec![
                "spec.x.apiVersion: Required value: must not be empty",
                "spec.x.kind: Required value: must not be empty",
            ],
        ),
    ];
    for (name, schema, value, want) in rows {
        let got = errors(schema, value);
        assert_eq!(got, want, "row {name:?}");
    }
}

#[test]
fn maxlength_and_pattern_both_reported_in_validator_order() {
    // kube-openapi's string validator checks maxLength, minLength, then pattern.
    let got = errors(
        json!({"type": "string", "maxLength": 2, "pattern": "^[a-z]+$"}),
        json!("ABC"),
    );
    assert_eq!(
        got,
        vec![
            "spec.x: Too long: may not be more than 2 bytes".to_string(),
            r#"spec.x: Invalid value: "ABC": spec.x in body should match '^[a-z]+$'"#.to_string(),
        ]
    );
}

#[test]
fn causes_carry_reason_and_body() {
    let s = schema_for(json!({"type": "string", "enum": ["a"]}));
    let e = s.validate(&json!({"spec": {"x": "b"}}), None);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field, "spec.x");
    assert_eq!(e[0].reason, "FieldValueNotSupported");
    assert_eq!(e[0].message, r#"Unsupported value: "b": supported values: "a""#);
}

#[test]
fn bad_schemas_are_rejected_at_compile() {
    let bad_type = json!({"type": "object", "properties": {"spec": {"type": "strin"}}});
    let e = Schema::compile(&bad_type).err().unwrap_or_default();
    // The unsupported type, then the structural check that finds the node untyped.
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0].field,
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type"
    );
    assert_eq!(e[0].reason, "FieldValueNotSupported");

    let bad_regex = json!({"type": "object", "properties": {"spec": {"type": "string", "pattern": "["}}});
    let e = Schema::compile_at(&bad_regex, "openAPIV3Schema")
        .err()
        .unwrap_or_default();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field, "openAPIV3Schema.properties[spec].pattern");
    assert!(
        e[0].message
            .starts_with(r#"Invalid value: "[": must be a valid regular expression"#),
        "{}",
        e[0].message
    );
}

#[test]
fn non_structural_schemas_are_rejected() {
    let base = "spec.versions[0].schema.openAPIV3Schema";
    let check = |s: Value| -> Vec<String> {
        Schema::compile(&s)
            .err()
            .unwrap_or_default()
            .iter()
            .map(FieldError::to_string)
            .collect()
    };
    assert_eq!(
        check(json!({"type": "string"})),
        vec![format!(
            r#"{base}.type: Invalid value: "string": must be object at the root"#
        )]
    );
    assert_eq!(
        check(json!({"type": "object", "properties": {"spec": {"properties": {}}}})),
        vec![format!(
            "{base}.properties[spec].type: Required value: must not be empty for specified object fields"
        )]
    );
    assert_eq!(
        check(json!({"type": "object", "properties": {"l": {"type": "array"}}})),
        vec![format!(
            "{base}.properties[l].items: Required value: must be specified"
        )]
    );
    assert_eq!(
        check(json!({"type": "object", "properties": {"m": {"type": "object",
            "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}})),
        vec![format!(
            "{base}.properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
        )]
    );
    // A default must satisfy its own schema.
    assert_eq!(
        check(json!({"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}})),
        vec![format!(
            r#"{base}.properties[n].default: Invalid value: "string": {base}.properties[n].default in body must be of type integer: "string""#
        )]
    );
    // preserve-unknown-fields and int-or-string nodes need no type.
    assert!(
        check(
            json!({"type": "object", "properties": {"f": {"x-kubernetes-preserve-unknown-fields": true},
        "p": {"x-kubernetes-int-or-string": true}}})
        )
        .is_empty()
    );
}
