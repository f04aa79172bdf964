//! OpenAPI v3 value validation as kube-openapi's `SchemaValidator` does it, with errors converted
//! the way apiextensions-apiserver's `kubeOpenAPIResultToFieldErrors` converts them.
//!
//! Message texts: kube-openapi `pkg/validation/errors/schema.go` (`%s in body should match '%s'`, ...).

use std::collections::HashSet;

use serde_json::Value;

use crate::FieldError;
use crate::field_error::{self as fe, BadValue, go_float};
use crate::formats;
use crate::schema::{Additional, Node};

/// The JSON type name kube-openapi reports for a value (`integer` for whole numbers).
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(n: &Node, v: &Value) -> bool {
    if n.int_or_string {
        return matches!(json_type(v), "integer" | "string");
    }
    let Some(t) = n.type_.as_deref() else { return true };
    match (t, v) {
        ("number", Value::Number(_)) => true,
        // JSON `2.0` decodes as float64 in Go and passes an integer check (swag.IsFloat64AJSONInteger).
        ("integer", Value::Number(num)) => {
            num.is_i64() || num.is_u64() || num.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        (t, v) => t == json_type(v),
    }
}

/// The kube-openapi error name (`spec.domain`); `field` is what the cause shows (`<nil>` at root).
fn field_of(path: &str) -> String {
    fe::shown(path)
}

/// Validates `v` against `n`, appending field errors in kube-openapi's validator order
/// (type, allOf/anyOf/oneOf/not, string, format, enum, array, number, object).
///
/// `old` is the correlated old value on update: validation ratcheting (`CRDValidationRatcheting`,
/// on by default since 1.30) skips a value equal to its old value, so objects stored before a
/// schema was tightened can still be updated elsewhere.
pub(crate) fn validate(n: &Node, v: &Value, old: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    if old.is_some_and(|o| o == v) {
        return;
    }
    if v.is_null() {
        if n.nullable || (n.type_.is_none() && !n.int_or_string) {
            return;
        }
        let t = if n.int_or_string {
            "integer,string".to_string()
        } else {
            n.type_name().to_string()
        };
        // errors.InvalidType(name, "body", type, nil): no data part, BadValue "".
        errs.push(fe::type_invalid(
            &field_of(path),
            BadValue::Str(String::new()),
            &format!("{path} in body must be of type {t}"),
        ));
        return;
    }
    if !type_matches(n, v) {
        let t = if n.int_or_string {
            "integer,string".to_string()
        } else {
            n.type_name().to_string()
        };
        let got = json_type(v);
        errs.push(fe::type_invalid(
            &field_of(path),
            BadValue::Str(got.into()),
            &format!("{path} in body must be of type {t}: {}", fe::go_quote(got)),
        ));
        return;
    }
    schema_props(n, v, path, errs);
    if let Value::String(s) = v {
        strings(n, s, path, errs);
    }
    if let Some(f) = &n.format
        && let Value::String(s) = v
        && !formats::valid(f, s)
    {
        // strfmt failure: errors.InvalidType(path, in, format, value) -> TypeInvalid.
        errs.push(fe::type_invalid(
            &field_of(path),
            BadValue::Str(s.clone()),
            &format!("{path} in body must be of type {f}: {}", fe::go_quote(s)),
        ));
    }
    if let Some(values) = &n.enum_values
        && !values.iter().any(|e| e == v)
    {
        let allowed: Vec<String> = values
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        errs.push(fe::not_supported(&field_of(path), BadValue::json(v), &allowed));
    }
    match v {
        Value::Array(items) => arrays(n, items, old.and_then(Value::as_array), path, errs),
        Value::Number(num) => numbers(n, v, num.as_f64().unwrap_or(0.0), path, errs),
        Value::Object(map) => objects(n, map, old.and_then(Value::as_object), path, errs),
        _ => {}
    }
}

/// `allOf`/`anyOf`/`oneOf`/`not` (kube-openapi `schema_props.go`). Their summary errors are plain
/// (non-`Validation`) errors, which apiextensions reports on the nil root path with an empty value:
/// `<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found none valid`.
fn schema_props(n: &Node, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let run = |s: &Node| {
        let mut e = Vec::new();
        validate(s, v, None, path, &mut e);
        e
    };
    let summary = |text: String| fe::invalid("<nil>", BadValue::Str(String::new()), &text);
    let quoted = fe::go_quote(path);
    // The branch go-openapi keeps as "best failures": the one closest to passing.
    let best = |results: &[Vec<FieldError>]| {
        results
            .iter()
            .filter(|r| !r.is_empty())
            .min_by_key(|r| r.len())
            .cloned()
    };
    if !n.all_of.is_empty() {
        let results: Vec<Vec<FieldError>> = n.all_of.iter().map(run).collect();
        let valid = results.iter().filter(|r| r.is_empty()).count();
        for r in &results {
            errs.extend(r.iter().cloned());
        }
        if valid != results.len() {
            let extra = if valid == 0 { ". None validated" } else { "" };
            errs.push(summary(format!(
                "{quoted} must validate all the schemas (allOf){extra}"
            )));
        }
    }
    if !n.any_of.is_empty() {
        let results: Vec<Vec<FieldError>> = n.any_of.iter().map(run).collect();
        if !results.iter().any(Vec::is_empty) {
            errs.push(summary(format!(
                "{quoted} must validate at least one schema (anyOf)"
            )));
            errs.extend(best(&results).unwrap_or_default());
        }
    }
    if !n.one_of.is_empty() {
        let results: Vec<Vec<FieldError>> = n.one_of.iter().map(run).collect();
        let valid = results.iter().filter(|r| r.is_empty()).count();
        if valid != 1 {
            let extra = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            errs.push(summary(format!(
                "{quoted} must validate one and only one schema (oneOf). {extra}"
            )));
            if valid == 0 {
                errs.extend(best(&results).unwrap_or_default());
            }
        }
    }
    if let Some(not) = &n.not
        && run(not).is_empty()
    {
        errs.push(summary(format!("{quoted} must not validate the schema (not)")));
    }
}

fn strings(n: &Node, s: &str, path: &str, errs: &mut Vec<FieldError>) {
    // go-openapi counts runes (utf8.RuneCountInString), not bytes.
    let len = s.chars().count() as i64;
    if let Some(max) = n.max_length
        && len > max
    {
        errs.push(fe::too_long(&field_of(path), max));
    }
    if let Some(min) = n.min_length
        && len < min
    {
        errs.push(fe::invalid(
            &field_of(path),
            BadValue::Str(s.into()),
            &format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some((src, re)) = &n.pattern
        && !re.is_match(s)
    {
        errs.push(fe::invalid(
            &field_of(path),
            BadValue::Str(s.into()),
            &format!("{path} in body should match '{src}'"),
        ));
    }
}

fn arrays(n: &Node, items: &[Value], old: Option<&Vec<Value>>, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(item_schema) = &n.items {
        for (i, it) in items.iter().enumerate() {
            let old_item = old.and_then(|olds| n.correlate_item(it, olds));
            validate(item_schema, it, old_item, &fe::index(path, i), errs);
        }
    }
    let size = items.len() as i64;
    if let Some(min) = n.min_items
        && size < min
    {
        errs.push(fe::invalid(
            &field_of(path),
            BadValue::Raw(size.to_string()),
            &format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = n.max_items
        && size > max
    {
        errs.push(fe::too_many(&field_of(path), size, max));
    }
    if n.unique_items && has_duplicates(items) {
        errs.push(fe::invalid(
            &field_of(path),
            BadValue::Str(String::new()),
            &format!("{path} in body shouldn't contain duplicates"),
        ));
    }
}

fn has_duplicates(items: &[Value]) -> bool {
    let mut seen = HashSet::new();
    items.iter().any(|v| !seen.insert(v.to_string()))
}

fn numbers(n: &Node, v: &Value, f: f64, path: &str, errs: &mut Vec<FieldError>) {
    let bad = || BadValue::json(v);
    if let Some(mult) = n.multiple_of
        && mult != 0.0
        && (f / mult).fract().abs() > f64::EPSILON
    {
        errs.push(fe::invalid(
            &field_of(path),
            bad(),
            &format!("{path} in body should be a multiple of {}", go_float(mult)),
        ));
    }
    if let Some(max) = n.maximum {
        let (fail, word) = if n.exclusive_maximum {
            (f >= max, "less than")
        } else {
            (f > max, "less than or equal to")
        };
        if fail {
            errs.push(fe::invalid(
                &field_of(path),
                bad(),
                &format!("{path} in body should be {word} {}", go_float(max)),
            ));
        }
    }
    if let Some(min) = n.minimum {
        let (fail, word) = if n.exclusive_minimum {
            (f <= min, "greater than")
        } else {
            (f < min, "greater than or equal to")
        };
        if fail {
            errs.push(fe::invalid(
                &field_of(path),
                bad(),
                &format!("{path} in body should be {word} {}", go_float(min)),
            ));
        }
    }
}

fn objects(
    n: &Node,
    map: &serde_json::Map<String, Value>,
    old: Option<&serde_json::Map<String, Value>>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let count = map.len() as i64;
    if let Some(max) = n.max_properties
        && count > max
    {
        errs.push(fe::too_many(&field_of(path), count, max));
    }
    if let Some(min) = n.min_properties
        && count < min
    {
        errs.push(fe::invalid(
            &field_of(path),
            BadValue::Raw(min.to_string()),
            &format!("{path} in body should have at least {min} properties"),
        ));
    }
    for r in &n.required {
        if !map.contains_key(r) {
            errs.push(fe::required(&fe::child(path, r), ""));
        }
    }
    for (k, v) in map {
        let child = fe::child(path, k);
        let old_child = old.and_then(|o| o.get(k));
        if let Some(p) = n.property(k) {
            validate(p, v, old_child, &child, errs);
        } else if let Some(Additional::Schema(s)) = &n.additional {
            validate(s, v, old_child, &child, errs);
        }
    }
}

/// `structurallisttype.ValidateListSetsAndMaps`: duplicate entries of `set` and `map` lists.
pub(crate) fn list_sets_and_maps(n: &Node, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Array(items) => {
            match n.list_type.as_deref() {
                Some("set") => {
                    let mut seen = HashSet::new();
                    for (i, it) in items.iter().enumerate() {
                        if !seen.insert(it.to_string()) {
                            errs.push(fe::duplicate(&fe::index(path, i), BadValue::json(it)));
                        }
                    }
                }
                Some("map") => {
                    let mut seen = HashSet::new();
                    for (i, it) in items.iter().enumerate() {
                        let Some(obj) = it.as_object() else { continue };
                        let key: serde_json::Map<String, Value> = n
                            .list_map_keys
                            .iter()
                            .filter_map(|k| obj.get(k).map(|kv| (k.clone(), kv.clone())))
                            .collect();
                        if !seen.insert(Value::Object(key.clone()).to_string()) {
                            errs.push(fe::duplicate(
                                &fe::index(path, i),
                                BadValue::Json(Value::Object(key)),
                            ));
                        }
                    }
                }
                _ => {}
            }
            if let Some(s) = &n.items {
                for (i, it) in items.iter().enumerate() {
                    list_sets_and_maps(s, it, &fe::index(path, i), errs);
                }
            }
        }
        Value::Object(map) => {
            for (k, val) in map {
                if let Some(p) = n.property(k) {
                    list_sets_and_maps(p, val, &fe::child(path, k), errs);
                } else if let Some(s) = n.additional_schema() {
                    list_sets_and_maps(s, val, &fe::key(path, k), errs);
                }
            }
        }
        _ => {}
    }
}

/// `schemaobjectmeta.Validate` for `x-kubernetes-embedded-resource` nodes: `apiVersion` and `kind`
/// must be set (`Required value: must not be empty`).
pub(crate) fn embedded_resources(n: &Node, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(map) => {
            if n.embedded_resource {
                for k in ["apiVersion", "kind"] {
                    let empty = map.get(k).and_then(Value::as_str).is_none_or(str::is_empty);
                    if empty {
                        errs.push(fe::required(&fe::child(path, k), "must not be empty"));
                    }
                }
            }
            for (k, val) in map {
                if let Some(p) = n.property(k) {
                    embedded_resources(p, val, &fe::child(path, k), errs);
                } else if let Some(s) = n.additional_schema() {
                    embedded_resources(s, val, &fe::key(path, k), errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = &n.items {
                for (i, it) in items.iter().enumerate() {
                    embedded_resources(s, it, &fe::index(path, i), errs);
                }
            }
        }
        _ => {}
    }
}
