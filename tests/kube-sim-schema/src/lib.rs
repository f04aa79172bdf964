//! CRD structural-schema handling for kube-sim, as kube-apiserver (1.32) does it for custom
//! resources: defaulting, pruning of unknown fields, OpenAPI v3 validation and
//! `x-kubernetes-validations` CEL rules (including transition rules), with the same error texts
//! and the same 422 `Status` shape, so `kubectl` prints what a user would see on a real cluster.
//!
//! Typical use on create/update, in the server's order:
//! ```
//! # use serde_json::json;
//! # use kube_sim_schema::{Schema, invalid_status};
//! let schema = Schema::compile(&json!({
//!     "type": "object",
//!     "properties": {"spec": {"type": "object", "properties": {
//!         "replicas": {"type": "integer", "default": 1, "maximum": 3}}}}
//! })).expect("valid schema");
//! let mut obj = json!({"apiVersion": "x/v1", "kind": "Foo", "metadata": {"name": "a"},
//!                      "spec": {"bogus": true}});
//! let pruned = schema.prune(&mut obj);
//! assert_eq!(pruned, vec!["spec.bogus".to_string()]);
//! schema.apply_defaults(&mut obj);
//! assert_eq!(obj["spec"]["replicas"], 1);
//! let errors = schema.validate(&obj, None);
//! assert!(errors.is_empty());
//! # let _ = invalid_status("Foo", "x", "a", &errors);
//! ```
//!
//! # Wiring into a server
//!
//! - CRD create/update: [`Schema::compile_at`] each version's `schema.openAPIV3Schema` with the
//!   path `spec.versions[<i>].schema.openAPIV3Schema`; errors are the CRD's 422:
//!   `invalid_status("CustomResourceDefinition", "apiextensions.k8s.io", <crd name>, &errors)`.
//! - Custom resource create/update/patch/apply (after the patch is merged): [`Schema::prune`]
//!   (with `fieldValidation=Strict` the server answers 400 `strict decoding error: unknown field
//!   "<path>"`, joined by `, `; with `Warn` each becomes a `Warning: unknown field "<path>"`),
//!   then [`Schema::apply_defaults`], then [`Schema::validate`] with the stored object as `old` on
//!   update; errors become the 422 of [`invalid_status`] (`kubectl` prints
//!   [`kubectl_invalid_text`]).
//! - Reads from storage: [`Schema::apply_defaults`] again (defaults added later appear on read).
//!
//! # What is supported
//!
//! - OpenAPI: `type` (string/integer/number/boolean/object/array), `nullable`, `enum`, `pattern`
//!   (Rust `regex`, RE2-like as Go's), `minLength`/`maxLength` (characters), `minimum`/`maximum`
//!   (+ `exclusive*`), `multipleOf`, `minItems`/`maxItems`, `uniqueItems`, `minProperties`/
//!   `maxProperties`, `required`, `properties`, `additionalProperties`, `items`, `allOf`/`anyOf`/
//!   `oneOf`/`not`, `format` (date-time, date, uuid, hostname, ipv4, ipv6, byte, duration; others
//!   unchecked), `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`,
//!   `x-kubernetes-embedded-resource` (apiVersion/kind required, metadata kept),
//!   `x-kubernetes-list-type` `set`/`map` duplicates, `default` (also validated at compile),
//!   structural-schema checks at compile, validation ratcheting on update.
//! - CEL (`x-kubernetes-validations`): `rule`, `message`, `messageExpression`, `fieldPath`,
//!   `reason`, `optionalOldSelf`; transition rules only when an old value correlates (object keys,
//!   map keys, `set`/`map` list items); rules skipped when a blocking OpenAPI error exists. The
//!   root exposes `apiVersion`, `kind`, `metadata.name`, `metadata.generateName`. `date-time`
//!   fields are timestamps, `duration` fields durations, `number` fields doubles.
//!   Functions: cel-interpreter's standard set (`size`, `has`, `matches`, `startsWith`, `endsWith`,
//!   `contains`, `all`, `exists`, `exists_one`, `map`, `filter`, `in`, `int`, `uint`, `double`,
//!   `string`, `bytes`, `timestamp`, `duration` and timestamp getters) plus the Kubernetes
//!   libraries: `lowerAscii`, `upperAscii`, `trim`, `split`, `join`, `indexOf`, `lastIndexOf`,
//!   `replace`, `substring`, `charAt`, `reverse`, `find`, `findAll`, list `isSorted`, `sum`,
//!   `min`, `max`, `indexOf`, `lastIndexOf`, `slice`, `url`/`isURL` with `getScheme`, `getHost`,
//!   `getHostname`, `getPort`, `getEscapedPath`, `getQuery`, `format.<dns1123Label|
//!   dns1123Subdomain|dns1035Label|labelValue|uuid|date|datetime|byte>().validate(s)`,
//!   `sets.contains|equivalent|intersects`, `dyn`, and optionals (`optional.of|none|ofNonZeroValue`,
//!   `.?field`, `[?key]`, `hasValue`, `value`, `orValue`, `or`, `optMap`, `optFlatMap`).
//!   `||`/`&&` absorb errors as cel-go does; missing map keys and list indexes are errors.
//!   A light static check at compile rejects undeclared identifiers and fields the schema does not
//!   declare (cel-go's `undefined field`/`undeclared reference` errors).
//!
//! # Not modelled
//!
//! cel-go's exact cost numbers: rule costs are estimated by a model of its estimator
//! (`cel/cost.rs`: string traversals, regexes, comprehensions over schema-bounded sizes) and
//! checked against the same budgets, so rules close to a budget may be judged differently;
//! `messageExpression` costs are not counted. Full cel-go type checking (type mismatches surface at runtime
//! as `no such overload`); `quantity`, `ip`, `cidr`, `semver`, `base64` CEL libraries (rules
//! using them fail at runtime with `undeclared reference`); order-insensitive equality of
//! `set`/`map` lists in CEL; warnings for ratcheted errors; `x-kubernetes-map-type`.
//!
//! Message texts follow kube-apiserver 1.32 (apimachinery `field/errors.go`, kube-openapi
//! `validation/errors/schema.go`, apiextensions `schema/cel/validation.go`,
//! `registry/customresource/strategy.go`).

mod cel;
mod defaults;
mod field_error;
mod formats;
mod openapi;
mod prune;
mod schema;
mod status;

use serde_json::Value;

pub use field_error::{FieldError, reason};
pub use status::{aggregate, invalid_message, invalid_status, kubectl_invalid_text};

use field_error::BadValue;
use schema::Node;

/// The CRD field path `compile` reports schema errors under (the first version's schema).
pub const DEFAULT_SCHEMA_PATH: &str = "spec.versions[0].schema.openAPIV3Schema";

/// The error appended (instead of running CEL rules) when the OpenAPI validation already found a
/// type, required, enum, length or count error (apiextensions `hasBlockingErr`).
pub const RULES_NOT_CHECKED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// A compiled `openAPIV3Schema` of one CRD version.
#[derive(Debug, Clone)]
pub struct Schema {
    root: Node,
    has_rules: bool,
}

fn any_rules(n: &Node) -> bool {
    !n.rules.is_empty()
        || n.properties.iter().any(|(_, p)| any_rules(p))
        || n.items.as_deref().is_some_and(any_rules)
        || n.additional_schema().is_some_and(any_rules)
}

impl Schema {
    /// Compiles a CRD version's `schema.openAPIV3Schema`. Errors (bad types, bad regexes, CEL
    /// rules that do not parse, bad `reason`/`fieldPath`) are what the CRD create/update is
    /// rejected with; their paths start at [`DEFAULT_SCHEMA_PATH`].
    pub fn compile(open_api_v3_schema: &Value) -> Result<Schema, Vec<FieldError>> {
        Self::compile_at(open_api_v3_schema, DEFAULT_SCHEMA_PATH)
    }

    /// [`Schema::compile`] with error paths under `path` (e.g. `spec.versions[2].schema.openAPIV3Schema`).
    pub fn compile_at(open_api_v3_schema: &Value, path: &str) -> Result<Schema, Vec<FieldError>> {
        let mut errs = Vec::new();
        let root = Node::compile(open_api_v3_schema, path, true, &mut errs);
        schema::structural_errors(&root, path, true, &mut errs);
        if errs.is_empty() {
            errs.extend(cost_errors(&root, path));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let has_rules = any_rules(&root);
        Ok(Schema { root, has_rules })
    }

    /// Applies `default`s (also inside `items` and `additionalProperties`, and inside defaults
    /// just set) and drops `null`s of non-nullable fields without a default. The server does this
    /// on create, update and when reading from storage.
    pub fn apply_defaults(&self, obj: &mut Value) {
        defaults::apply(&self.root, obj);
    }

    /// Removes fields the schema does not declare (keeping `x-kubernetes-preserve-unknown-fields`
    /// subtrees, and `apiVersion`/`kind`/`metadata` at the root and in embedded resources, where
    /// `metadata` is cut to the `ObjectMeta` fields). Returns the removed paths, sorted, as
    /// `field.Path` prints them (`spec.foo`, `spec.items[0].bar`, `metadata.foo`): the server's
    /// `fieldValidation` messages are `unknown field "<path>"`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut out = Vec::new();
        prune::prune(&self.root, obj, "", true, &mut out);
        out.sort();
        out
    }

    /// Validates `obj` (already defaulted and pruned); `old` is the stored object on update, which
    /// enables transition rules (`oldSelf`). Order as kube-apiserver: OpenAPI errors, embedded
    /// resource and list-type errors, then CEL rule errors (skipped, with [`RULES_NOT_CHECKED`],
    /// when a blocking OpenAPI error exists).
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errs = Vec::new();
        openapi::validate(&self.root, obj, old, "", &mut errs);
        openapi::embedded_resources(&self.root, obj, "", &mut errs);
        openapi::list_sets_and_maps(&self.root, obj, "", &mut errs);
        if self.has_rules {
            let blocking = errs.iter().any(|e| {
                matches!(
                    e.reason.as_str(),
                    reason::NOT_SUPPORTED
                        | reason::REQUIRED
                        | reason::TOO_LONG
                        | reason::TOO_MANY
                        | reason::TYPE_INVALID
                )
            });
            if blocking {
                errs.push(field_error::invalid(
                    "<nil>",
                    BadValue::Str("null".into()),
                    RULES_NOT_CHECKED,
                ));
            } else {
                cel::validate(&self.root, obj, old, "", true, &mut errs);
            }
        }
        errs
    }
}

/// The estimated cost one rule may have, times the number of times it can run per object
/// (apiextensions `StaticEstimatedCostLimit`).
pub const RULE_COST_LIMIT: u64 = 10_000_000;

/// The estimated cost all rules of a schema may have together (`StaticEstimatedCRDCostLimit`).
pub const TOTAL_COST_LIMIT: u64 = 100_000_000;

/// apiextensions' `getCostErrorMessage`.
fn cost_message(what: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!(
        "{what} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )
}

/// Rule cost checks at CRD create/update: each rule's estimated cost times how often it can run
/// (the product of the sizes of the lists and maps above it) against [`RULE_COST_LIMIT`], and
/// the sum against [`TOTAL_COST_LIMIT`].
fn cost_errors(root: &Node, path: &str) -> Vec<FieldError> {
    fn walk(n: &Node, cardinality: u64, errs: &mut Vec<FieldError>, costs: &mut Vec<(String, u64)>) {
        for r in &n.rules {
            let per_call = r.cost.ceil().max(0.0);
            let cost = if per_call >= u64::MAX as f64 {
                u64::MAX
            } else {
                (per_call as u64).saturating_mul(cardinality)
            };
            if cost > RULE_COST_LIMIT {
                errs.push(field_error::forbidden(
                    &r.path,
                    &cost_message("estimated rule cost", cost, RULE_COST_LIMIT),
                ));
            }
            costs.push((r.path.clone(), cost));
        }
        for (_, p) in &n.properties {
            walk(p, cardinality, errs, costs);
        }
        let elements = cel::cost::max_elements(n);
        if let Some(items) = n.items.as_deref() {
            walk(items, cardinality.saturating_mul(elements), errs, costs);
        }
        if let Some(values) = n.additional_schema() {
            walk(values, cardinality.saturating_mul(elements), errs, costs);
        }
    }
    let mut errs = Vec::new();
    let mut costs = Vec::new();
    walk(root, 1, &mut errs, &mut costs);
    let total = costs.iter().fold(0u64, |t, (_, c)| t.saturating_add(*c));
    if total > TOTAL_COST_LIMIT {
        costs.sort_by_key(|c| std::cmp::Reverse(c.1));
        for (p, _) in costs.iter().take(4) {
            errs.push(field_error::forbidden(
                p,
                "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
            ));
        }
        errs.push(field_error::forbidden(
            path,
            &cost_message(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                total,
                TOTAL_COST_LIMIT,
            ),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Schema>();
    }
}
