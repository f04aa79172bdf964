//! Kubernetes format library: `format.<name>().validate(s)` returns `optional.none()` when `s`
//! is valid, else an optional list of the messages `k8s.io/apimachinery/pkg/util/validation`
//! gives.

use std::collections::HashMap;
use std::sync::Arc;

use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, ExecutionError, FunctionContext, Value as Cel};

use super::library::{Res, args, cached_regex, list_val, overload, str_val, string_of};
use super::optional::{self, namespace, namespace_of};

const FORMAT_KEY: &str = "@format";

/// Kubernetes validation messages (`k8s.io/apimachinery/pkg/util/validation`).
fn format_errors(name: &str, s: &str) -> Option<Vec<String>> {
    let label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    let re = |p: &str| cached_regex(p).ok();
    let mut errs = Vec::new();
    match name {
        "dns1123Label" => {
            if s.len() > 63 {
                errs.push("must be no more than 63 characters".to_string());
            }
            if !re(&format!("^{label}$")).is_some_and(|r| r.is_match(s)) {
                errs.push(format!("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{label}')"));
            }
        }
        "dns1123Subdomain" => {
            if s.len() > 253 {
                errs.push("must be no more than 253 characters".to_string());
            }
            let sub = format!("{label}(\\.{label})*");
            if !re(&format!("^{sub}$")).is_some_and(|r| r.is_match(s)) {
                errs.push(format!("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{sub}')"));
            }
        }
        "dns1035Label" => {
            let l = "[a-z]([-a-z0-9]*[a-z0-9])?";
            if s.len() > 63 {
                errs.push("must be no more than 63 characters".to_string());
            }
            if !re(&format!("^{l}$")).is_some_and(|r| r.is_match(s)) {
                errs.push(format!("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '{l}')"));
            }
        }
        "labelValue" => {
            let l = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
            if s.len() > 63 {
                errs.push("must be no more than 63 characters".to_string());
            }
            if !re(&format!("^{l}$")).is_some_and(|r| r.is_match(s)) {
                errs.push(format!("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{l}')"));
            }
        }
        "uuid" => {
            if !crate::formats::valid("uuid", s) {
                errs.push("does not match the UUID format".to_string());
            }
        }
        "date" | "datetime" | "byte" | "uri" => {
            let f = if name == "datetime" { "date-time" } else { name };
            if !crate::formats::valid(f, s) {
                errs.push(format!("does not match the {name} format"));
            }
        }
        _ => return None,
    }
    Some(errs)
}

/// Registers `format` and its validators.
pub(crate) fn register(ctx: &mut Context) {
    ctx.add_variable_from_value("format", namespace("format"));
    for name in [
        "dns1123Label",
        "dns1123Subdomain",
        "dns1035Label",
        "labelValue",
        "uuid",
        "date",
        "datetime",
        "byte",
    ] {
        ctx.add_function(name, move |ftx: &FunctionContext| -> Res {
            let this = ftx
                .this
                .clone()
                .ok_or_else(ExecutionError::missing_argument_or_target)?;
            if namespace_of(&this).as_deref() != Some("format") {
                return Err(overload(ftx));
            }
            let mut m = HashMap::new();
            m.insert(Key::String(Arc::new(FORMAT_KEY.into())), str_val(name));
            Ok(Cel::Map(Map { map: Arc::new(m) }))
        });
    }
    ctx.add_function("validate", |ftx: &FunctionContext| -> Res {
        let this = ftx
            .this
            .clone()
            .ok_or_else(ExecutionError::missing_argument_or_target)?;
        let Cel::Map(m) = &this else {
            return Err(overload(ftx));
        };
        let Some(Cel::String(name)) = m.map.get(&Key::String(Arc::new(FORMAT_KEY.into()))) else {
            return Err(overload(ftx));
        };
        let s = string_of(&args(ftx)?.first().cloned().ok_or_else(|| overload(ftx))?, ftx)?;
        let errs = format_errors(name, &s).ok_or_else(|| overload(ftx))?;
        Ok(if errs.is_empty() {
            optional::none()
        } else {
            optional::some(list_val(errs.into_iter().map(str_val).collect()))
        })
    });
}
