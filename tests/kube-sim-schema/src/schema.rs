//! The compiled form of an `openAPIV3Schema`: one [`Node`] per schema object.

use regex::Regex;
use serde_json::{Map, Value};

use crate::FieldError;
use crate::cel::Rule;
use crate::field_error::{self as fe, BadValue};

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug, Clone)]
pub(crate) enum Additional {
    /// `additionalProperties: true|false`.
    Allows(bool),
    /// `additionalProperties: {schema}` (maps).
    Schema(Box<Node>),
}

/// One compiled schema object. Value-validation branches (`allOf`, ...) are full nodes too.
#[derive(Debug, Default, Clone)]
pub(crate) struct Node {
    /// `type`, when set.
    pub(crate) type_: Option<String>,
    pub(crate) format: Option<String>,
    pub(crate) nullable: bool,
    pub(crate) enum_values: Option<Vec<Value>>,
    /// Source text (for messages) and compiled regex.
    pub(crate) pattern: Option<(String, Regex)>,
    pub(crate) min_length: Option<i64>,
    pub(crate) max_length: Option<i64>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) exclusive_maximum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) min_items: Option<i64>,
    pub(crate) max_items: Option<i64>,
    pub(crate) unique_items: bool,
    pub(crate) min_properties: Option<i64>,
    pub(crate) max_properties: Option<i64>,
    pub(crate) required: Vec<String>,
    /// In schema order.
    pub(crate) properties: Vec<(String, Node)>,
    pub(crate) additional: Option<Additional>,
    pub(crate) items: Option<Box<Node>>,
    pub(crate) all_of: Vec<Node>,
    pub(crate) any_of: Vec<Node>,
    pub(crate) one_of: Vec<Node>,
    pub(crate) not: Option<Box<Node>>,
    pub(crate) default: Option<Value>,
    pub(crate) preserve_unknown: bool,
    pub(crate) int_or_string: bool,
    pub(crate) embedded_resource: bool,
    pub(crate) list_type: Option<String>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) map_type: Option<String>,
    pub(crate) rules: Vec<Rule>,
}

const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

impl Node {
    /// Looks up a declared property.
    pub(crate) fn property(&self, name: &str) -> Option<&Node> {
        self.properties.iter().find(|(k, _)| k == name).map(|(_, n)| n)
    }

    /// The schema of map values (`additionalProperties: {schema}`).
    pub(crate) fn additional_schema(&self) -> Option<&Node> {
        match &self.additional {
            Some(Additional::Schema(n)) => Some(n),
            _ => None,
        }
    }

    /// The old list item a new item of this list correlates with: `set` lists by value, `map`
    /// lists by their keys, `atomic` lists never.
    pub(crate) fn correlate_item<'a>(&self, item: &Value, olds: &'a [Value]) -> Option<&'a Value> {
        match self.list_type.as_deref() {
            Some("set") => olds.iter().find(|o| *o == item),
            Some("map") => olds
                .iter()
                .find(|o| self.list_map_keys.iter().all(|k| o.get(k) == item.get(k))),
            _ => None,
        }
    }

    /// The type name CEL errors print as the "bad value" (`sts.Type`).
    pub(crate) fn type_name(&self) -> &str {
        self.type_.as_deref().unwrap_or("")
    }

    /// Compiles one schema object found at `path` (a CRD field path such as
    /// `spec.versions[0].schema.openAPIV3Schema.properties[spec]`).
    pub(crate) fn compile(v: &Value, path: &str, is_root: bool, errs: &mut Vec<FieldError>) -> Node {
        let Some(obj) = v.as_object() else {
            errs.push(fe::invalid(path, BadValue::json(v), "must be an object"));
            return Node::default();
        };
        let mut n = Node::default();
        if let Some(t) = obj.get("type") {
            match t.as_str() {
                Some(s) if TYPES.contains(&s) => n.type_ = Some(s.to_string()),
                Some("") => {}
                _ => errs.push(fe::not_supported(
                    &fe::child(path, "type"),
                    BadValue::json(t),
                    &TYPES.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                )),
            }
        }
        n.format = str_field(obj, "format");
        n.nullable = bool_field(obj, "nullable");
        n.enum_values = obj.get("enum").and_then(Value::as_array).cloned();
        if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
            match Regex::new(p) {
                Ok(re) => n.pattern = Some((p.to_string(), re)),
                Err(e) => errs.push(fe::invalid(
                    &fe::child(path, "pattern"),
                    BadValue::Str(p.into()),
                    &format!("must be a valid regular expression, but isn't: {e}"),
                )),
            }
        }
        n.min_length = int_field(obj, "minLength");
        n.max_length = int_field(obj, "maxLength");
        n.minimum = obj.get("minimum").and_then(Value::as_f64);
        n.maximum = obj.get("maximum").and_then(Value::as_f64);
        n.exclusive_minimum = bool_field(obj, "exclusiveMinimum");
        n.exclusive_maximum = bool_field(obj, "exclusiveMaximum");
        n.multiple_of = obj.get("multipleOf").and_then(Value::as_f64);
        n.min_items = int_field(obj, "minItems");
        n.max_items = int_field(obj, "maxItems");
        n.unique_items = bool_field(obj, "uniqueItems");
        n.min_properties = int_field(obj, "minProperties");
        n.max_properties = int_field(obj, "maxProperties");
        n.required = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (k, p) in props {
                let child = Node::compile(p, &format!("{path}.properties[{k}]"), false, errs);
                n.properties.push((k.clone(), child));
            }
        }
        match obj.get("additionalProperties") {
            Some(Value::Bool(b)) => n.additional = Some(Additional::Allows(*b)),
            Some(s @ Value::Object(_)) => {
                let child = Node::compile(s, &fe::child(path, "additionalProperties"), false, errs);
                n.additional = Some(Additional::Schema(Box::new(child)));
            }
            _ => {}
        }
        if let Some(items) = obj.get("items") {
            n.items = Some(Box::new(Node::compile(
                items,
                &fe::child(path, "items"),
                false,
                errs,
            )));
        }
        for (key, target) in [
            ("allOf", &mut n.all_of),
            ("anyOf", &mut n.any_of),
            ("oneOf", &mut n.one_of),
        ] {
            if let Some(list) = obj.get(key).and_then(Value::as_array) {
                for (i, s) in list.iter().enumerate() {
                    target.push(Node::compile(s, &format!("{path}.{key}[{i}]"), false, errs));
                }
            }
        }
        if let Some(not) = obj.get("not") {
            n.not = Some(Box::new(Node::compile(not, &fe::child(path, "not"), false, errs)));
        }
        n.default = obj.get("default").cloned();
        n.preserve_unknown = bool_field(obj, "x-kubernetes-preserve-unknown-fields");
        n.int_or_string = bool_field(obj, "x-kubernetes-int-or-string");
        n.embedded_resource = bool_field(obj, "x-kubernetes-embedded-resource");
        n.list_type = str_field(obj, "x-kubernetes-list-type");
        n.list_map_keys = obj
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        n.map_type = str_field(obj, "x-kubernetes-map-type");
        if let Some(lt) = &n.list_type
            && !["atomic", "set", "map"].contains(&lt.as_str())
        {
            errs.push(fe::not_supported(
                &fe::child(path, "x-kubernetes-list-type"),
                BadValue::Str(lt.clone()),
                &["atomic".into(), "set".into(), "map".into()],
            ));
        }
        if let Some(rules) = obj.get("x-kubernetes-validations").and_then(Value::as_array) {
            for (i, r) in rules.iter().enumerate() {
                let rule_path = format!("{path}.x-kubernetes-validations[{i}]");
                match Rule::compile(r, &rule_path, &n, is_root) {
                    Ok(rule) => n.rules.push(rule),
                    Err(mut e) => errs.append(&mut e),
                }
            }
        }
        n
    }
}

/// Structural-schema requirements apiextensions enforces on v1 CRDs (`structural` validation),
/// and `default`s that must validate against their own schema.
pub(crate) fn structural_errors(n: &Node, path: &str, is_root: bool, errs: &mut Vec<FieldError>) {
    let type_path = fe::child(path, "type");
    if is_root {
        match n.type_.as_deref() {
            Some("object") => {}
            Some(t) => errs.push(fe::invalid(
                &type_path,
                BadValue::Str(t.into()),
                "must be object at the root",
            )),
            None => errs.push(fe::required(&type_path, "must not be empty at the root")),
        }
    }
    if n.type_.as_deref() == Some("array") && n.items.is_none() {
        errs.push(fe::required(&fe::child(path, "items"), "must be specified"));
    }
    if !n.properties.is_empty() && matches!(n.additional, Some(Additional::Schema(_))) {
        errs.push(fe::forbidden(
            &fe::child(path, "additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if let Some(d) = &n.default {
        let default_path = fe::child(path, "default");
        crate::openapi::validate(n, d, None, &default_path, errs);
    }
    let untyped = |c: &Node| c.type_.is_none() && !c.int_or_string && !c.preserve_unknown;
    for (k, p) in &n.properties {
        let child = format!("{path}.properties[{k}]");
        if untyped(p) {
            errs.push(fe::required(
                &fe::child(&child, "type"),
                "must not be empty for specified object fields",
            ));
        }
        structural_errors(p, &child, false, errs);
    }
    if let Some(items) = &n.items {
        let child = fe::child(path, "items");
        if untyped(items) {
            errs.push(fe::required(
                &fe::child(&child, "type"),
                "must not be empty for specified array items",
            ));
        }
        structural_errors(items, &child, false, errs);
    }
    if let Some(Additional::Schema(a)) = &n.additional {
        let child = fe::child(path, "additionalProperties");
        if untyped(a) {
            errs.push(fe::required(
                &fe::child(&child, "type"),
                "must not be empty for specified object fields",
            ));
        }
        structural_errors(a, &child, false, errs);
    }
}

fn str_field(obj: &Map<String, Value>, k: &str) -> Option<String> {
    obj.get(k).and_then(Value::as_str).map(str::to_string)
}

fn bool_field(obj: &Map<String, Value>, k: &str) -> bool {
    obj.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn int_field(obj: &Map<String, Value>, k: &str) -> Option<i64> {
    obj.get(k)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}
