//! `x-kubernetes-validations` rules, evaluated at the schema node they sit on as
//! apiextensions-apiserver `pkg/apiserver/schema/cel/validation.go` does.
//!
//! A rule is parsed by cel-parser (after [`rewrite_optional_syntax`]), checked against the schema
//! ([`check`]), lowered to fix cel-interpreter's error semantics ([`strict`]) and evaluated by
//! cel-interpreter's `Value::resolve` with the functions of [`library`] and [`optional`].

mod check;
mod convert;
pub(crate) mod cost;
mod format;
mod library;
mod optional;
mod strict;
mod url;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use cel_interpreter::{Context, ExecutionError, IdedExpr, Value as Cel};
use serde_json::Value;

use crate::FieldError;
use crate::field_error::{self as fe, BadValue, reason};
use crate::schema::Node;

pub(crate) use optional::rewrite_optional_syntax;

/// The context every evaluation starts from: cel-interpreter's standard functions plus the
/// Kubernetes library subset in [`library`].
static ROOT: LazyLock<Context<'static>> = LazyLock::new(|| {
    let mut ctx = Context::default();
    library::register(&mut ctx);
    strict::register(&mut ctx);
    ctx
});

/// `messageExpression` results longer than this are ignored (`celconfig.MaxEvaluatedMessageExpressionSizeBytes`).
const MAX_MESSAGE_EXPRESSION_BYTES: usize = 5 * 1024;

const REASONS: [&str; 4] = [
    reason::INVALID,
    reason::FORBIDDEN,
    reason::REQUIRED,
    reason::DUPLICATE,
];

/// One compiled validation rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    source: String,
    program: IdedExpr,
    message: String,
    message_expression: Option<IdedExpr>,
    /// `field.Path` text appended to the node path (from `fieldPath`), if any.
    field_path: Option<String>,
    reason: Option<String>,
    uses_old_self: bool,
    optional_old_self: bool,
    /// Field path of the rule (`...x-kubernetes-validations[0].rule`), for cost errors.
    pub(crate) path: String,
    /// Estimated worst-case cost of one evaluation ([`cost::estimate`]).
    pub(crate) cost: f64,
}

/// Parses `src` (after the optional-syntax rewrite) and runs the static check against `node`.
fn compile_program(
    src: &str,
    node: &Node,
    is_root: bool,
    old_self_optional: bool,
) -> Result<(IdedExpr, f64), String> {
    let rewritten = rewrite_optional_syntax(src);
    // cel-parser panics on some inputs it cannot represent; a bad rule must not take the server down.
    let parsed = catch_unwind(|| cel_parser::Parser::default().parse(&rewritten));
    match parsed {
        Ok(Ok(ast)) => match check::check(&ast, node, is_root, old_self_optional) {
            Ok(()) => {
                let cost = cost::estimate(&ast, node);
                Ok((strict::lower(ast), cost))
            }
            Err(e) => Err(format!("compilation failed: {}", located(src, &e))),
        },
        // cel-parser already prints `ERROR: <input>:L:C: msg` and the caret lines; cel-go indents
        // those with a space.
        Ok(Err(e)) => Err(format!(
            "compilation failed: {}",
            e.to_string().trim().replace("\n| ", "\n | ")
        )),
        Err(_) => Err("compilation failed: ERROR: <input>:1:1: unsupported expression".to_string()),
    }
}

/// `ERROR: <input>:L:C: msg` plus cel-go's source and caret lines, for a static-check error;
/// the column is found by looking for the offending name in the source.
fn located(src: &str, msg: &str) -> String {
    let name = msg.split('\'').nth(1).unwrap_or_default();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let found = if msg.starts_with("undefined field") {
        src.match_indices(&format!(".{name}"))
            .find(|(i, m)| !src[i + m.len()..].starts_with(is_word))
            .map(|(i, _)| i)
    } else {
        src.match_indices(name)
            .find(|(i, m)| {
                let before_ok = src[..*i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !is_word(c) && c != '.');
                before_ok && !src[i + m.len()..].starts_with(is_word)
            })
            .map(|(i, _)| i)
    };
    let Some(offset) = found else {
        return format!("ERROR: <input>:1:1: {msg}");
    };
    let line_start = src[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_no = src[..offset].matches('\n').count() + 1;
    let col = src[line_start..offset].chars().count() + 1;
    let line = src[line_start..].lines().next().unwrap_or_default();
    format!(
        "ERROR: <input>:{line_no}:{col}: {msg}\n | {line}\n | {}^",
        ".".repeat(col - 1)
    )
}

/// The rule as the server prints it in compile errors (Go `%#v` of `apiextensions.ValidationRule`).
fn rule_go_value(v: &Value) -> String {
    let s = |k: &str| fe::go_quote(v.get(k).and_then(Value::as_str).unwrap_or_default());
    // Pointer fields print as an address when set; the address is not meaningful.
    let ptr = |k: &str, ty: &str| match v.get(k) {
        Some(Value::Null) | None => format!("(*{ty})(nil)"),
        Some(_) => format!("(*{ty})(0xc000000000)"),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{}, FieldPath:{}, OptionalOldSelf:{}}}",
        s("rule"),
        s("message"),
        s("messageExpression"),
        ptr("reason", "apiextensions.FieldValueErrorReason"),
        s("fieldPath"),
        ptr("optionalOldSelf", "bool"),
    )
}

impl Rule {
    /// Compiles one entry of `x-kubernetes-validations` found at `path` on schema node `node`.
    pub(crate) fn compile(
        v: &Value,
        path: &str,
        node: &Node,
        is_root: bool,
    ) -> Result<Rule, Vec<FieldError>> {
        let mut errs = Vec::new();
        let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let source = get("rule").unwrap_or_default();
        let rule_path = fe::child(path, "rule");
        let optional_old_self = v.get("optionalOldSelf").and_then(Value::as_bool).unwrap_or(false);
        let mut program = None;
        let mut cost = 0.0;
        if source.trim().is_empty() {
            errs.push(fe::required(&rule_path, "rule is not specified"));
        } else {
            match compile_program(&source, node, is_root, optional_old_self) {
                Ok((p, c)) => {
                    program = Some(p);
                    cost = c;
                }
                Err(e) => errs.push(fe::invalid(&rule_path, BadValue::Raw(rule_go_value(v)), &e)),
            }
        }
        let message = get("message").unwrap_or_default();
        if message.contains('\n') {
            errs.push(fe::invalid(
                &fe::child(path, "message"),
                BadValue::Str(message.clone()),
                "message must not contain line breaks",
            ));
        }
        let mut message_expression = None;
        if let Some(me) = get("messageExpression").filter(|s| !s.trim().is_empty()) {
            match compile_program(&me, node, is_root, optional_old_self) {
                Ok((p, _)) => message_expression = Some(p),
                Err(e) => errs.push(fe::invalid(
                    &fe::child(path, "messageExpression"),
                    BadValue::Raw(rule_go_value(v)),
                    &format!("messageExpression {e}"),
                )),
            }
        }
        let reason = get("reason");
        if let Some(r) = &reason
            && !REASONS.contains(&r.as_str())
        {
            errs.push(fe::not_supported(
                &fe::child(path, "reason"),
                BadValue::Str(r.clone()),
                &REASONS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ));
        }
        let mut field_path = None;
        if let Some(fp) = get("fieldPath").filter(|s| !s.is_empty()) {
            match normalize_field_path(&fp, node) {
                Ok(p) => field_path = Some(p),
                Err(e) => errs.push(fe::invalid(
                    &fe::child(path, "fieldPath"),
                    BadValue::Str(fp.clone()),
                    &format!("fieldPath must be a valid path: {e}"),
                )),
            }
        }
        let Some(program) = program else { return Err(errs) };
        if !errs.is_empty() {
            return Err(errs);
        }
        let uses_old_self = program.references().has_variable("oldSelf");
        if optional_old_self && !uses_old_self {
            return Err(vec![fe::invalid(
                &fe::child(path, "optionalOldSelf"),
                BadValue::Raw("true".into()),
                "may not be set if oldSelf is not used in rule",
            )]);
        }
        Ok(Rule {
            source,
            program,
            message,
            message_expression,
            field_path,
            reason,
            uses_old_self,
            optional_old_self,
            path: rule_path,
            cost,
        })
    }

    /// `ruleErrorString`: the trimmed message, else the trimmed rule.
    fn error_string(&self) -> String {
        if self.message.is_empty() {
            self.source.trim().to_string()
        } else {
            self.message.trim().to_string()
        }
    }

    /// `ruleMessageOrDefault`.
    fn message_or_default(&self) -> String {
        if self.message.is_empty() {
            format!("failed rule: {}", self.error_string())
        } else {
            self.message.trim().to_string()
        }
    }
}

/// `ValidFieldPath`: `.a.b`, `['a.b']` (named properties or map keys) into `field.Path` text.
fn normalize_field_path(fp: &str, node: &Node) -> Result<String, String> {
    let mut out = String::new();
    let mut cur = node;
    let mut rest = fp;
    while !rest.is_empty() {
        let (name, tail) = if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").ok_or("unexpected end of JSON path")?;
            (r[..end].to_string(), &r[end + 2..])
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err("unexpected end of JSON path".into());
            }
            (r[..end].to_string(), &r[end..])
        } else {
            return Err(format!("expected [ or . but got: {rest}"));
        };
        if !cur.properties.is_empty() {
            cur = cur.property(&name).ok_or("does not refer to a valid field")?;
            out = fe::child(&out, &name);
        } else if let Some(s) = cur.additional_schema() {
            out = fe::key(&out, &name);
            cur = s;
        } else {
            return Err("does not refer to a valid field".into());
        }
        rest = tail;
    }
    Ok(out)
}

/// cel-go's wording for the runtime errors a rule can hit.
fn runtime_error_text(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::UndeclaredReference(r) => format!("undeclared reference to '{r}' (in container '')"),
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".into(),
        ExecutionError::Overflow(..) => "integer overflow".into(),
        ExecutionError::FunctionError { message, .. } => message.clone(),
        _ => "no such overload".into(),
    }
}

/// Evaluates `program` with `self` (and `oldSelf` when given), never panicking.
fn eval(program: &IdedExpr, this: &Cel, old: Option<&Cel>) -> Result<Cel, ExecutionError> {
    let mut ctx = ROOT.new_inner_scope();
    ctx.add_variable_from_value("self", this.clone());
    if let Some(o) = old {
        ctx.add_variable_from_value("oldSelf", o.clone());
    }
    match catch_unwind(AssertUnwindSafe(|| Cel::resolve(program, &ctx))) {
        Ok(r) => r,
        Err(_) => Err(ExecutionError::function_error(
            "rule",
            "evaluation failed: unsupported expression",
        )),
    }
}

/// Walks `v` (and the correlated `old`) and evaluates the rules of every node, appending errors.
pub(crate) fn validate(
    n: &Node,
    v: &Value,
    old: Option<&Value>,
    path: &str,
    is_root: bool,
    errs: &mut Vec<FieldError>,
) {
    if v.is_null() {
        // Rules only see non-null values; nullable fields are checked from their parent.
        return;
    }
    if !n.rules.is_empty() {
        run_rules(n, v, old, path, is_root, errs);
    }
    match v {
        Value::Object(map) => {
            let old_map = old.and_then(Value::as_object);
            for (k, val) in map {
                if is_root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let old_child = old_map.and_then(|m| m.get(k));
                if let Some(p) = n.property(k) {
                    validate(p, val, old_child, &fe::child(path, k), false, errs);
                } else if let Some(s) = n.additional_schema() {
                    validate(s, val, old_child, &fe::key(path, k), false, errs);
                }
            }
        }
        Value::Array(items) => {
            let Some(s) = &n.items else { return };
            let old_items = old.and_then(Value::as_array);
            for (i, it) in items.iter().enumerate() {
                let old_item = old_items.and_then(|olds| n.correlate_item(it, olds));
                validate(s, it, old_item, &fe::index(path, i), false, errs);
            }
        }
        _ => {}
    }
}

fn run_rules(
    n: &Node,
    v: &Value,
    old: Option<&Value>,
    path: &str,
    is_root: bool,
    errs: &mut Vec<FieldError>,
) {
    let this = convert::to_cel(Some(n), v, is_root);
    let old_cel = old.map(|o| convert::to_cel(Some(n), o, is_root));
    let type_name = n.type_name().to_string();
    // Ratcheting: a failing rule that does not use oldSelf is ignored when the value is unchanged.
    let unchanged = old.is_some_and(|o| o == v);
    for rule in &n.rules {
        let old_arg = if rule.optional_old_self {
            Some(match &old_cel {
                Some(o) => optional::some(o.clone()),
                None => optional::none(),
            })
        } else if rule.uses_old_self {
            match &old_cel {
                Some(o) => Some(o.clone()),
                // Transition rules run only when there is an old value to compare with.
                None => continue,
            }
        } else {
            None
        };
        let result = eval(&rule.program, &this, old_arg.as_ref());
        let field = fe::shown(path);
        match result {
            Err(e) => {
                let text = runtime_error_text(&e);
                let detail = if text == "no such overload" {
                    format!(
                        "'{text}': call arguments did not match a supported operator, function or macro signature for rule: {}",
                        rule.error_string()
                    )
                } else {
                    format!("{text} evaluating rule: {}", rule.error_string())
                };
                errs.push(fe::invalid(&field, BadValue::Str(type_name.clone()), &detail));
            }
            Ok(Cel::Bool(true)) => {}
            Ok(_) if unchanged && !rule.uses_old_self => {}
            Ok(_) => {
                let target = match &rule.field_path {
                    Some(fp) => fe::shown(&fe::child(path, fp)),
                    None => field,
                };
                let detail = rule
                    .message_expression
                    .as_ref()
                    .and_then(|me| match eval(me, &this, old_arg.as_ref()) {
                        Ok(Cel::String(s)) => {
                            let t = s.trim().to_string();
                            (!t.is_empty() && !t.contains('\n') && t.len() <= MAX_MESSAGE_EXPRESSION_BYTES)
                                .then_some(t)
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| rule.message_or_default());
                let bad = BadValue::Str(type_name.clone());
                errs.push(match rule.reason.as_deref() {
                    Some(reason::FORBIDDEN) => fe::forbidden(&target, &detail),
                    Some(reason::REQUIRED) => fe::required(&target, &detail),
                    Some(reason::DUPLICATE) => fe::duplicate(&target, bad),
                    _ => fe::invalid(&target, bad, &detail),
                });
            }
        }
    }
}
