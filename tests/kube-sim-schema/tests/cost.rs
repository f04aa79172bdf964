//! CEL cost budgets at CRD create/update: rules that iterate unbounded lists or traverse
//! unbounded strings are refused with apiextensions' texts; bounded ones compile.

use kube_sim_schema::Schema;
use serde_json::{Value, json};

fn spec_schema(spec: Value) -> Value {
    json!({"type": "object", "properties": {"spec": spec}})
}

fn errors(schema: &Value) -> Vec<(String, String)> {
    Schema::compile(schema)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect()
}

const BASE: &str = "spec.versions[0].schema.openAPIV3Schema";

#[test]
fn rule_over_unbounded_list_of_unbounded_strings_is_refused() {
    let schema = spec_schema(json!({"type": "object",
        "properties": {"hosts": {"type": "array", "items": {"type": "string"}}},
        "x-kubernetes-validations": [{"rule": "self.hosts.all(h, h.matches('^[a-z.]+$'))"}]}));
    let e = errors(&schema);
    let rule = format!("{BASE}.properties[spec].x-kubernetes-validations[0].rule");
    assert_eq!(e[0].0, rule);
    assert_eq!(
        e[0].1,
        "Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    // Over the total budget too: the rule is named, then the whole schema.
    assert_eq!(
        e[1],
        (
            rule,
            "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema".to_string()
        )
    );
    assert_eq!(e[2].0, BASE);
    assert!(e[2].1.starts_with(
        "Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x"
    ));
}

#[test]
fn bounds_make_the_same_rule_affordable() {
    let schema = spec_schema(json!({"type": "object",
        "properties": {"hosts": {"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 253}}},
        "x-kubernetes-validations": [{"rule": "self.hosts.all(h, h.matches('^[a-z.]+$'))"}]}));
    assert!(Schema::compile(&schema).is_ok());
}

#[test]
fn a_rule_on_every_item_counts_once_per_item() {
    // The rule itself is cheap, but it runs once per item of an unbounded list, on an unbounded
    // string: cost times cardinality is over the per-rule budget.
    let schema = spec_schema(json!({"type": "object", "properties": {"items": {"type": "array",
        "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('a') && self.contains('b')"}]}}}}));
    let e = errors(&schema);
    assert_eq!(
        e[0].0,
        format!("{BASE}.properties[spec].properties[items].items.x-kubernetes-validations[0].rule")
    );
    assert!(
        e[0].1
            .starts_with("Forbidden: estimated rule cost exceeds budget by factor of"),
        "{}",
        e[0].1
    );
    // size() is constant time: fine on the same unbounded data.
    let schema = spec_schema(json!({"type": "object", "properties": {"items": {"type": "array",
        "items": {"type": "string", "x-kubernetes-validations": [{"rule": "size(self) > 0"}]}}}}));
    assert!(Schema::compile(&schema).is_ok());
}

#[test]
fn nested_iteration_over_bounded_lists_can_still_exceed() {
    let schema = spec_schema(json!({"type": "object",
        "properties": {"a": {"type": "array", "maxItems": 5000, "items": {"type": "string", "maxLength": 64}}},
        "x-kubernetes-validations": [{"rule": "self.a.all(x, self.a.exists(y, x == y))"}]}));
    let e = errors(&schema);
    assert!(!e.is_empty());
    assert!(
        e[0].1.contains("estimated rule cost exceeds budget by factor of"),
        "{e:?}"
    );
}
