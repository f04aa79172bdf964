//! Field-level validation errors shaped like `k8s.io/apimachinery/pkg/util/validation/field`
//! (the 1.32 texts: `ErrorBody`, `TooLong`, `TooMany`, `NotSupported`, ...).

use std::fmt;

use serde_json::Value;

/// `reason` of a cause: the `field.ErrorType` values kube-apiserver puts in `details.causes[].reason`.
pub mod reason {
    /// `field.ErrorTypeInvalid`.
    pub const INVALID: &str = "FieldValueInvalid";
    /// `field.ErrorTypeRequired`.
    pub const REQUIRED: &str = "FieldValueRequired";
    /// `field.ErrorTypeNotSupported`.
    pub const NOT_SUPPORTED: &str = "FieldValueNotSupported";
    /// `field.ErrorTypeTooLong`.
    pub const TOO_LONG: &str = "FieldValueTooLong";
    /// `field.ErrorTypeTooMany`.
    pub const TOO_MANY: &str = "FieldValueTooMany";
    /// `field.ErrorTypeTypeInvalid`.
    pub const TYPE_INVALID: &str = "FieldValueTypeInvalid";
    /// `field.ErrorTypeForbidden`.
    pub const FORBIDDEN: &str = "FieldValueForbidden";
    /// `field.ErrorTypeDuplicate`.
    pub const DUPLICATE: &str = "FieldValueDuplicate";
    /// `field.ErrorTypeInternal`.
    pub const INTERNAL: &str = "InternalError";
}

/// One validation failure: the same triple kube-apiserver returns as a `StatusCause`.
///
/// `message` is the Go `ErrorBody()` (no field prefix); [`FieldError`]'s `Display` is the Go
/// `Error()` (`<field>: <body>`), which is what the aggregate `Status.message` joins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// JSON path of the field as `field.Path` prints it (`spec.domain`, `spec.items[0]`, `<nil>` for the root).
    pub field: String,
    /// Machine-readable reason (see [`reason`]).
    pub reason: String,
    /// Human-readable body, e.g. `Required value` or `Invalid value: "x": must be ...`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The value printed after `Invalid value:` (Go prints the `BadValue` with `%v`/`%q`/`%#v`).
#[derive(Debug, Clone)]
pub(crate) enum BadValue {
    /// `field.OmitValueType{}`: nothing printed.
    Omit,
    /// A Go string, printed with `%q`.
    Str(String),
    /// A Go number or bool, printed with `%v`.
    Raw(String),
    /// An unstructured JSON value as Go holds it (`map[string]interface {}` etc.).
    Json(Value),
}

impl BadValue {
    /// The JSON value as the Go unstructured value would print.
    pub(crate) fn json(v: &Value) -> Self {
        match v {
            Value::String(s) => BadValue::Str(s.clone()),
            Value::Number(n) => BadValue::Raw(go_number(n)),
            Value::Bool(b) => BadValue::Raw(b.to_string()),
            // Go: a nil BadValue prints as the string "null".
            Value::Null => BadValue::Str("null".into()),
            other => BadValue::Json(other.clone()),
        }
    }

    fn render(&self) -> Option<String> {
        match self {
            BadValue::Omit => None,
            BadValue::Str(s) => Some(go_quote(s)),
            BadValue::Raw(s) => Some(s.clone()),
            BadValue::Json(v) => Some(go_sharp_v(v)),
        }
    }
}

/// Go's `ErrorType.String()`.
fn type_text(reason: &str) -> &'static str {
    match reason {
        reason::REQUIRED => "Required value",
        reason::NOT_SUPPORTED => "Unsupported value",
        reason::TOO_LONG => "Too long",
        reason::TOO_MANY => "Too many",
        reason::FORBIDDEN => "Forbidden",
        reason::DUPLICATE => "Duplicate value",
        reason::INTERNAL => "Internal error",
        "FieldValueNotFound" => "Not found",
        _ => "Invalid value",
    }
}

/// Builds a [`FieldError`] the way `field.Error.ErrorBody()` renders it.
pub(crate) fn make(field: &str, reason: &str, value: BadValue, detail: &str) -> FieldError {
    let mut body = type_text(reason).to_string();
    let value_shown = !matches!(
        reason,
        reason::REQUIRED | reason::FORBIDDEN | reason::TOO_LONG | reason::INTERNAL
    );
    if value_shown && let Some(v) = value.render() {
        body.push_str(": ");
        body.push_str(&v);
    }
    if !detail.is_empty() {
        body.push_str(": ");
        body.push_str(detail);
    }
    FieldError {
        field: field.to_string(),
        reason: reason.to_string(),
        message: body,
    }
}

/// `field.Required(path, detail)`.
pub(crate) fn required(field: &str, detail: &str) -> FieldError {
    make(field, reason::REQUIRED, BadValue::Omit, detail)
}

/// `field.Invalid(path, value, detail)`.
pub(crate) fn invalid(field: &str, value: BadValue, detail: &str) -> FieldError {
    make(field, reason::INVALID, value, detail)
}

/// `field.TypeInvalid(path, value, detail)`.
pub(crate) fn type_invalid(field: &str, value: BadValue, detail: &str) -> FieldError {
    make(field, reason::TYPE_INVALID, value, detail)
}

/// `field.Forbidden(path, detail)`.
pub(crate) fn forbidden(field: &str, detail: &str) -> FieldError {
    make(field, reason::FORBIDDEN, BadValue::Omit, detail)
}

/// `field.Duplicate(path, value)`.
pub(crate) fn duplicate(field: &str, value: BadValue) -> FieldError {
    make(field, reason::DUPLICATE, value, "")
}

/// `field.NotSupported(path, value, validValues)`: `supported values: "a", "b"`.
pub(crate) fn not_supported(field: &str, value: BadValue, valid: &[String]) -> FieldError {
    let detail = if valid.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = valid.iter().map(|v| go_quote(v)).collect();
        format!("supported values: {}", quoted.join(", "))
    };
    make(field, reason::NOT_SUPPORTED, value, &detail)
}

/// `field.TooLong(path, value, max)` (1.32 text: `may not be more than N bytes`).
pub(crate) fn too_long(field: &str, max: i64) -> FieldError {
    let detail = if max >= 0 {
        format!(
            "may not be more than {max} {}",
            if max == 1 { "byte" } else { "bytes" }
        )
    } else {
        "value is too long".to_string()
    };
    make(field, reason::TOO_LONG, BadValue::Omit, &detail)
}

/// `field.TooMany(path, actual, max)`: `Too many: 11: must have at most 10 items`.
pub(crate) fn too_many(field: &str, actual: i64, max: i64) -> FieldError {
    let detail = if max >= 0 {
        format!(
            "must have at most {max} {}",
            if max == 1 { "item" } else { "items" }
        )
    } else {
        "has too many items".to_string()
    };
    let value = if actual >= 0 {
        BadValue::Raw(actual.to_string())
    } else {
        BadValue::Omit
    };
    make(field, reason::TOO_MANY, value, &detail)
}

/// Go `%v` of a JSON number as unstructured holds it (int64 or float64).
pub(crate) fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    go_float(n.as_f64().unwrap_or(0.0))
}

/// Go `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)` with Go's exponent form).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        // Go: 1e+21, 1.5e-05
        let s = format!("{f:e}");
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let digits = if digits.len() < 2 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            return format!("{mant}e{sign}{digits}");
        }
        return s;
    }
    let s = format!("{f}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Go `strconv.Quote`: double quotes, `\"`, `\\`, `\n`, `\t`, `\r`, `\xNN`/`\uNNNN` for the rest.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go `%#v` of an unstructured value (`map[string]interface {}{"a":"b"}`, `[]interface {}{1, 2}`).
pub(crate) fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", parts.join(", "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", go_quote(k), go_sharp_v(&map[k.as_str()])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
    }
}

/// Joins a path the way `field.Path.Child` does (`""` + `spec` = `spec`).
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// `field.Path.Index`: `spec.items[3]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `field.Path.Key`: `spec.labels[app]`.
pub(crate) fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

/// `field.Path.String()` of a path that may be the nil root (`<nil>`).
pub(crate) fn shown(path: &str) -> String {
    if path.is_empty() {
        "<nil>".to_string()
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_match_go_error_body() {
        // apimachinery field/errors.go ErrorBody: Required/TooLong never print the value.
        assert_eq!(
            required("spec.domain", "").to_string(),
            "spec.domain: Required value"
        );
        assert_eq!(
            too_long("spec.domain", 253).message,
            "Too long: may not be more than 253 bytes"
        );
        assert_eq!(
            too_many("spec.metadata", 11, 10).message,
            "Too many: 11: must have at most 10 items"
        );
        assert_eq!(
            too_many("spec.x", 2, 1).message,
            "Too many: 2: must have at most 1 item"
        );
        let ns = not_supported(
            "spec.type",
            BadValue::Str("Foo".into()),
            &["Auth0ManagedCerts".into(), "SelfManagedCerts".into()],
        );
        assert_eq!(
            ns.message,
            "Unsupported value: \"Foo\": supported values: \"Auth0ManagedCerts\", \"SelfManagedCerts\""
        );
        assert_eq!(
            invalid("x", BadValue::json(&json!(null)), "d").message,
            "Invalid value: \"null\": d"
        );
        assert_eq!(forbidden("x", "no").message, "Forbidden: no");
    }

    #[test]
    fn go_formatting() {
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(
            go_sharp_v(&json!({"b": 1, "a": ["x"]})),
            "map[string]interface {}{\"a\":[]interface {}{\"x\"}, \"b\":1}"
        );
    }
}
