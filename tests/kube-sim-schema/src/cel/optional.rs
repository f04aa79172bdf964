//! CEL optionals (`optional.of`, `optional.none`, `.?field`, `[?key]`, `hasValue`, `value`,
//! `orValue`, `or`, `optMap`, `optFlatMap`), which cel-interpreter 0.10 lacks.
//!
//! An optional is a map with the single key `@optional` holding a list of zero or one value; the
//! `.?`/`[?` syntax (rejected by cel-parser) is rewritten to `.optSelect__('f')`/`.optIndex__(k)`
//! before parsing.

use std::collections::HashMap;
use std::sync::Arc;

use cel_interpreter::extractors::Identifier;
use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, ExecutionError, FunctionContext, IdedExpr, Value as Cel};

const MARKER: &str = "@optional";
const NAMESPACE: &str = "@namespace";

fn marker(items: Vec<Cel>) -> Cel {
    let mut m = HashMap::new();
    m.insert(Key::String(Arc::new(MARKER.into())), Cel::List(Arc::new(items)));
    Cel::Map(Map { map: Arc::new(m) })
}

/// `optional.of(v)`.
pub(crate) fn some(v: Cel) -> Cel {
    marker(vec![v])
}

/// `optional.none()`.
pub(crate) fn none() -> Cel {
    marker(Vec::new())
}

/// `Some(Some(v))` / `Some(None)` for optionals, `None` for any other value.
pub(crate) fn as_optional(v: &Cel) -> Option<Option<Cel>> {
    let Cel::Map(m) = v else { return None };
    if m.map.len() != 1 {
        return None;
    }
    match m.map.get(&Key::String(Arc::new(MARKER.into()))) {
        Some(Cel::List(items)) => Some(items.first().cloned()),
        _ => None,
    }
}

/// A namespace value (`optional`, `format`, `sets`) so `optional.of(x)` resolves its target.
pub(crate) fn namespace(name: &str) -> Cel {
    let mut m = HashMap::new();
    m.insert(
        Key::String(Arc::new(NAMESPACE.into())),
        Cel::String(Arc::new(name.into())),
    );
    Cel::Map(Map { map: Arc::new(m) })
}

/// The namespace name when `v` is a [`namespace`] value.
pub(crate) fn namespace_of(v: &Cel) -> Option<String> {
    let Cel::Map(m) = v else { return None };
    match m.map.get(&Key::String(Arc::new(NAMESPACE.into()))) {
        Some(Cel::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn err(ftx: &FunctionContext, msg: &str) -> ExecutionError {
    ftx.error(msg)
}

fn resolve(ftx: &FunctionContext, i: usize) -> Result<Cel, ExecutionError> {
    let e = ftx
        .args
        .get(i)
        .ok_or_else(|| ExecutionError::invalid_argument_count(i + 1, ftx.args.len()))?;
    Cel::resolve(e, ftx.ptx)
}

fn this_optional(ftx: &FunctionContext) -> Result<Option<Cel>, ExecutionError> {
    let this = ftx
        .this
        .as_ref()
        .ok_or_else(ExecutionError::missing_argument_or_target)?;
    as_optional(this).ok_or_else(|| err(ftx, "no such overload"))
}

fn zero_value(v: &Cel) -> bool {
    match v {
        Cel::Null => true,
        Cel::Bool(b) => !b,
        Cel::Int(i) => *i == 0,
        Cel::UInt(u) => *u == 0,
        Cel::Float(f) => *f == 0.0,
        Cel::String(s) => s.is_empty(),
        Cel::Bytes(b) => b.is_empty(),
        Cel::List(l) => l.is_empty(),
        Cel::Map(m) => m.map.is_empty(),
        _ => false,
    }
}

/// Evaluates a macro body (`optMap(x, body)`) with `x` bound to `value`.
fn bind_and_eval(
    ftx: &FunctionContext,
    ident: &Identifier,
    body: &IdedExpr,
    value: Cel,
) -> Result<Cel, ExecutionError> {
    let mut inner = ftx.ptx.new_inner_scope();
    inner.add_variable_from_value(ident.0.as_str(), value);
    Cel::resolve(body, &inner)
}

/// Registers the optional functions.
pub(crate) fn register(ctx: &mut Context) {
    ctx.add_variable_from_value("optional", namespace("optional"));
    ctx.add_function("of", |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
        Ok(some(resolve(ftx, 0)?))
    });
    ctx.add_function("none", |_ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
        Ok(none())
    });
    ctx.add_function(
        "ofNonZeroValue",
        |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
            let v = resolve(ftx, 0)?;
            Ok(if zero_value(&v) { none() } else { some(v) })
        },
    );
    ctx.add_function(
        "hasValue",
        |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
            Ok(Cel::Bool(this_optional(ftx)?.is_some()))
        },
    );
    ctx.add_function("value", |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
        this_optional(ftx)?.ok_or_else(|| err(ftx, "optional.none() dereference"))
    });
    ctx.add_function(
        "orValue",
        |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
            match this_optional(ftx)? {
                Some(v) => Ok(v),
                None => resolve(ftx, 0),
            }
        },
    );
    ctx.add_function("or", |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
        match this_optional(ftx)? {
            Some(v) => Ok(some(v)),
            None => resolve(ftx, 0),
        }
    });
    ctx.add_function(
        "optMap",
        |ftx: &FunctionContext,
         _dummy: IdedExpr,
         ident: Identifier,
         body: IdedExpr|
         -> Result<Cel, ExecutionError> {
            match this_optional(ftx)? {
                Some(v) => Ok(some(bind_and_eval(ftx, &ident, &body, v)?)),
                None => Ok(none()),
            }
        },
    );
    ctx.add_function(
        "optFlatMap",
        |ftx: &FunctionContext, ident: Identifier, body: IdedExpr| -> Result<Cel, ExecutionError> {
            match this_optional(ftx)? {
                Some(v) => {
                    let r = bind_and_eval(ftx, &ident, &body, v)?;
                    as_optional(&r).ok_or_else(|| err(ftx, "optFlatMap body must return an optional"))?;
                    Ok(r)
                }
                None => Ok(none()),
            }
        },
    );
    ctx.add_function(
        "optSelect__",
        |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
            let this = ftx
                .this
                .clone()
                .ok_or_else(ExecutionError::missing_argument_or_target)?;
            let key = resolve(ftx, 0)?;
            Ok(select(this, key))
        },
    );
    ctx.add_function(
        "optIndex__",
        |ftx: &FunctionContext| -> Result<Cel, ExecutionError> {
            let this = ftx
                .this
                .clone()
                .ok_or_else(ExecutionError::missing_argument_or_target)?;
            let key = resolve(ftx, 0)?;
            Ok(select(this, key))
        },
    );
}

/// `x.?f` / `x[?k]`: optional chaining through optionals, maps and lists.
fn select(this: Cel, key: Cel) -> Cel {
    let target = match as_optional(&this) {
        Some(Some(v)) => v,
        Some(None) => return none(),
        None => this,
    };
    match (&target, &key) {
        (Cel::Map(m), k) => {
            let k: Result<Key, _> = k.clone().try_into();
            match k.ok().and_then(|k| m.get(&k).cloned()) {
                Some(v) => some(v),
                None => none(),
            }
        }
        (Cel::List(l), Cel::Int(i)) => match usize::try_from(*i).ok().and_then(|i| l.get(i)) {
            Some(v) => some(v.clone()),
            None => none(),
        },
        _ => none(),
    }
}

/// Rewrites `a.?b` to `a.optSelect__('b')` and `a[?k]` to `a.optIndex__(k)`, leaving string
/// literals untouched.
pub(crate) fn rewrite_optional_syntax(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    rewrite_range(&chars, 0, chars.len())
}

/// Index just past the string literal starting at `i` (handles `'`, `"`, triple quotes, `\` escapes).
fn skip_string(c: &[char], i: usize) -> usize {
    let q = c[i];
    let triple = i + 2 < c.len() && c[i + 1] == q && c[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < c.len() {
        if c[j] == '\\' {
            j += 2;
            continue;
        }
        if c[j] == q {
            if !triple {
                return j + 1;
            }
            if j + 2 < c.len() && c[j + 1] == q && c[j + 2] == q {
                return j + 3;
            }
        }
        j += 1;
    }
    c.len()
}

fn rewrite_range(c: &[char], start: usize, end: usize) -> String {
    let mut out = String::new();
    let mut i = start;
    while i < end {
        let ch = c[i];
        if ch == '\'' || ch == '"' {
            let j = skip_string(c, i).min(end);
            out.extend(&c[i..j]);
            i = j;
            continue;
        }
        if ch == '.' && i + 1 < end && c[i + 1] == '?' {
            let mut j = i + 2;
            while j < end && c[j].is_whitespace() {
                j += 1;
            }
            let id_start = j;
            while j < end && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            let ident: String = c[id_start..j].iter().collect();
            out.push_str(&format!(".optSelect__('{ident}')"));
            i = j;
            continue;
        }
        if ch == '[' && i + 1 < end && c[i + 1] == '?' {
            // find the matching ']'
            let mut depth = 1;
            let mut j = i + 2;
            while j < end && depth > 0 {
                match c[j] {
                    '\'' | '"' => {
                        j = skip_string(c, j);
                        continue;
                    }
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                j += 1;
            }
            let inner = rewrite_range(c, i + 2, j.min(end));
            out.push_str(&format!(".optIndex__({inner})"));
            i = j + 1;
            continue;
        }
        out.push(ch);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rewrite_optional_syntax as rw;

    #[test]
    fn rewrites_optional_syntax_outside_strings() {
        assert_eq!(rw("self.?foo.orValue(1)"), "self.optSelect__('foo').orValue(1)");
        assert_eq!(rw("self[?'a.b']"), "self.optIndex__('a.b')");
        assert_eq!(rw("'x.?y' == self.z"), "'x.?y' == self.z");
        assert_eq!(rw("a[?b[?'c']]"), "a.optIndex__(b.optIndex__('c'))");
        assert_eq!(rw("oldSelf.optMap(o, o == self)"), "oldSelf.optMap(o, o == self)");
    }
}
