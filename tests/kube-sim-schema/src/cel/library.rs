//! The Kubernetes CEL library subset rules commonly use, on top of cel-interpreter's standard
//! functions: strings (`lowerAscii`, `split`, `join`, ...), lists (`isSorted`, `sum`, `min`, ...),
//! regex (`find`, `findAll`), `sets.*`; registers the URL ([`super::url`]), format
//! ([`super::format`]) and optional ([`super::optional`]) libraries too.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use cel_interpreter::objects::Key;
use cel_interpreter::{Context, ExecutionError, FunctionContext, Value as Cel};
use regex::Regex;

use super::optional::{self, namespace, namespace_of};

pub(crate) type Res = Result<Cel, ExecutionError>;

/// Compiled regexes by pattern: rules run on every write, and compiling a pattern costs far more
/// than matching it. Bounded by clearing when full.
static REGEXES: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
const REGEX_CACHE_MAX: usize = 512;

/// A compiled regex for `pattern`, from the cache when possible.
pub(crate) fn cached_regex(pattern: &str) -> Result<Regex, regex::Error> {
    if let Ok(cache) = REGEXES.lock()
        && let Some(re) = cache.get(pattern)
    {
        return Ok(re.clone());
    }
    let re = Regex::new(pattern)?;
    if let Ok(mut cache) = REGEXES.lock() {
        if cache.len() >= REGEX_CACHE_MAX {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// `matches` with a cached regex (cel-interpreter compiles the pattern on every call).
fn matches(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let s = string_of(&this, ftx)?;
    let re = regex_of(ftx, rest.first().ok_or_else(|| overload(ftx))?)?;
    Ok(Cel::Bool(re.is_match(&s)))
}

/// Resolved arguments.
pub(crate) fn args(ftx: &FunctionContext) -> Result<Vec<Cel>, ExecutionError> {
    ftx.args.iter().map(|e| Cel::resolve(e, ftx.ptx)).collect()
}

/// `(receiver, rest)`: the target of a method call, else the first argument.
pub(crate) fn recv(ftx: &FunctionContext) -> Result<(Cel, Vec<Cel>), ExecutionError> {
    let mut a = args(ftx)?;
    match &ftx.this {
        Some(t) => Ok((t.clone(), a)),
        None if !a.is_empty() => {
            let first = a.remove(0);
            Ok((first, a))
        }
        None => Err(ExecutionError::missing_argument_or_target()),
    }
}

pub(crate) fn overload(ftx: &FunctionContext) -> ExecutionError {
    ExecutionError::function_error(ftx.name.as_str(), "no such overload")
}

pub(crate) fn string_of(v: &Cel, ftx: &FunctionContext) -> Result<Arc<String>, ExecutionError> {
    match v {
        Cel::String(s) => Ok(s.clone()),
        _ => Err(overload(ftx)),
    }
}

fn int_of(v: &Cel, ftx: &FunctionContext) -> Result<i64, ExecutionError> {
    match v {
        Cel::Int(i) => Ok(*i),
        Cel::UInt(u) => i64::try_from(*u).map_err(|_| overload(ftx)),
        _ => Err(overload(ftx)),
    }
}

pub(crate) fn str_val(s: impl Into<String>) -> Cel {
    Cel::String(Arc::new(s.into()))
}

pub(crate) fn list_val(items: Vec<Cel>) -> Cel {
    Cel::List(Arc::new(items))
}

/// `size`: code points for strings (cel-interpreter counts bytes).
fn size(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    let n = match &this {
        Cel::String(s) => s.chars().count(),
        Cel::List(l) => l.len(),
        Cel::Map(m) => m.map.len(),
        Cel::Bytes(b) => b.len(),
        _ => return Err(overload(ftx)),
    };
    Ok(Cel::Int(n as i64))
}

fn lower_ascii(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    Ok(str_val(string_of(&this, ftx)?.to_ascii_lowercase()))
}

fn upper_ascii(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    Ok(str_val(string_of(&this, ftx)?.to_ascii_uppercase()))
}

fn trim(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    Ok(str_val(string_of(&this, ftx)?.trim()))
}

fn reverse(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    match &this {
        Cel::String(s) => Ok(str_val(s.chars().rev().collect::<String>())),
        Cel::List(l) => Ok(list_val(l.iter().rev().cloned().collect())),
        _ => Err(overload(ftx)),
    }
}

/// `split(sep)` / `split(sep, n)` with Go `strings.SplitN` semantics.
fn split(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let s = string_of(&this, ftx)?;
    let sep = string_of(rest.first().ok_or_else(|| overload(ftx))?, ftx)?;
    let n = match rest.get(1) {
        Some(v) => int_of(v, ftx)?,
        None => -1,
    };
    if n == 0 {
        return Ok(list_val(Vec::new()));
    }
    let parts: Vec<String> = if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let (head, tail) = chars.split_at(n as usize - 1);
            let mut v = head.to_vec();
            v.push(tail.concat());
            v
        } else {
            chars
        }
    } else if n > 0 {
        s.splitn(n as usize, sep.as_str()).map(str::to_string).collect()
    } else {
        s.split(sep.as_str()).map(str::to_string).collect()
    };
    Ok(list_val(parts.into_iter().map(str_val).collect()))
}

fn join(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let Cel::List(items) = &this else {
        return Err(overload(ftx));
    };
    let sep = match rest.first() {
        Some(v) => string_of(v, ftx)?.to_string(),
        None => String::new(),
    };
    let parts: Result<Vec<String>, _> = items
        .iter()
        .map(|v| string_of(v, ftx).map(|s| s.to_string()))
        .collect();
    Ok(str_val(parts?.join(&sep)))
}

/// Code-point index of `needle` in `hay` at or after code point `from`.
fn char_index(hay: &str, needle: &str, from: usize, last: bool) -> i64 {
    let chars: Vec<char> = hay.chars().collect();
    let n: Vec<char> = needle.chars().collect();
    if n.len() > chars.len() {
        return -1;
    }
    let positions: Box<dyn Iterator<Item = usize>> = if last {
        Box::new((0..=chars.len() - n.len()).rev())
    } else {
        Box::new(from..=chars.len() - n.len())
    };
    for i in positions {
        if last && i > from {
            continue;
        }
        if chars[i..i + n.len()] == n[..] {
            return i as i64;
        }
    }
    -1
}

fn index_of_impl(ftx: &FunctionContext, last: bool) -> Res {
    let (this, rest) = recv(ftx)?;
    let needle = rest.first().ok_or_else(|| overload(ftx))?;
    match &this {
        Cel::String(s) => {
            let needle = string_of(needle, ftx)?;
            let len = s.chars().count();
            let from = match rest.get(1) {
                Some(v) => {
                    let f = int_of(v, ftx)?;
                    if f < 0 || f as usize > len {
                        return Err(ExecutionError::function_error(
                            ftx.name.as_str(),
                            format!("index out of range: {f}"),
                        ));
                    }
                    f as usize
                }
                None if last => len,
                None => 0,
            };
            Ok(Cel::Int(char_index(s, &needle, from, last)))
        }
        Cel::List(items) => {
            let pos = if last {
                items.iter().rposition(|v| v == needle)
            } else {
                items.iter().position(|v| v == needle)
            };
            Ok(Cel::Int(pos.map(|p| p as i64).unwrap_or(-1)))
        }
        _ => Err(overload(ftx)),
    }
}

fn index_of(ftx: &FunctionContext) -> Res {
    index_of_impl(ftx, false)
}

fn last_index_of(ftx: &FunctionContext) -> Res {
    index_of_impl(ftx, true)
}

fn replace(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let s = string_of(&this, ftx)?;
    let from = string_of(rest.first().ok_or_else(|| overload(ftx))?, ftx)?;
    let to = string_of(rest.get(1).ok_or_else(|| overload(ftx))?, ftx)?;
    let n = match rest.get(2) {
        Some(v) => int_of(v, ftx)?,
        None => -1,
    };
    Ok(str_val(if n < 0 {
        s.replace(from.as_str(), &to)
    } else {
        s.replacen(from.as_str(), &to, n as usize)
    }))
}

fn substring(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let chars: Vec<char> = string_of(&this, ftx)?.chars().collect();
    let start = int_of(rest.first().ok_or_else(|| overload(ftx))?, ftx)?;
    let end = match rest.get(1) {
        Some(v) => int_of(v, ftx)?,
        None => chars.len() as i64,
    };
    if start < 0 || end < start || end as usize > chars.len() {
        return Err(ExecutionError::function_error(
            "substring",
            format!("index out of range: {}", if start < 0 { start } else { end }),
        ));
    }
    Ok(str_val(
        chars[start as usize..end as usize].iter().collect::<String>(),
    ))
}

fn char_at(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let chars: Vec<char> = string_of(&this, ftx)?.chars().collect();
    let i = int_of(rest.first().ok_or_else(|| overload(ftx))?, ftx)?;
    if i < 0 || i as usize > chars.len() {
        return Err(ExecutionError::function_error(
            "charAt",
            format!("index out of range: {i}"),
        ));
    }
    Ok(str_val(
        chars.get(i as usize).map(|c| c.to_string()).unwrap_or_default(),
    ))
}

/// The list a list-function works on: the receiver, or a single list argument, or all arguments.
fn list_operand(ftx: &FunctionContext) -> Result<Vec<Cel>, ExecutionError> {
    let a = args(ftx)?;
    match (&ftx.this, a.as_slice()) {
        (Some(Cel::List(l)), _) => Ok(l.to_vec()),
        (Some(_), _) => Err(overload(ftx)),
        (None, [Cel::List(l)]) => Ok(l.to_vec()),
        (None, _) => Ok(a),
    }
}

fn extreme(ftx: &FunctionContext, want: std::cmp::Ordering) -> Res {
    let items = list_operand(ftx)?;
    let mut best: Option<Cel> = None;
    for it in items {
        best = Some(match best {
            None => it,
            Some(b) => match it.partial_cmp(&b) {
                Some(o) if o == want => it,
                Some(_) => b,
                None => return Err(ExecutionError::ValuesNotComparable(b, it)),
            },
        });
    }
    best.ok_or_else(|| ExecutionError::function_error(ftx.name.as_str(), "min/max of empty list"))
}

fn min(ftx: &FunctionContext) -> Res {
    extreme(ftx, std::cmp::Ordering::Less)
}

fn max(ftx: &FunctionContext) -> Res {
    extreme(ftx, std::cmp::Ordering::Greater)
}

fn sum(ftx: &FunctionContext) -> Res {
    let items = list_operand(ftx)?;
    let mut acc = Cel::Int(0);
    for it in items {
        acc = (acc + it)?;
    }
    Ok(acc)
}

fn is_sorted(ftx: &FunctionContext) -> Res {
    let items = list_operand(ftx)?;
    for w in items.windows(2) {
        match w[0].partial_cmp(&w[1]) {
            Some(std::cmp::Ordering::Greater) => return Ok(Cel::Bool(false)),
            Some(_) => {}
            None => return Err(ExecutionError::ValuesNotComparable(w[0].clone(), w[1].clone())),
        }
    }
    Ok(Cel::Bool(true))
}

fn slice(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let Cel::List(items) = &this else {
        return Err(overload(ftx));
    };
    let a = int_of(rest.first().ok_or_else(|| overload(ftx))?, ftx)?;
    let b = int_of(rest.get(1).ok_or_else(|| overload(ftx))?, ftx)?;
    if a < 0 || b < a || b as usize > items.len() {
        return Err(ExecutionError::function_error(
            "slice",
            format!("index out of bounds: {b}"),
        ));
    }
    Ok(list_val(items[a as usize..b as usize].to_vec()))
}

fn regex_of(ftx: &FunctionContext, v: &Cel) -> Result<Regex, ExecutionError> {
    let p = string_of(v, ftx)?;
    cached_regex(&p)
        .map_err(|e| ExecutionError::function_error(ftx.name.as_str(), format!("invalid regex: {e}")))
}

fn find(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let s = string_of(&this, ftx)?;
    let re = regex_of(ftx, rest.first().ok_or_else(|| overload(ftx))?)?;
    Ok(str_val(
        re.find(&s).map(|m| m.as_str().to_string()).unwrap_or_default(),
    ))
}

fn find_all(ftx: &FunctionContext) -> Res {
    let (this, rest) = recv(ftx)?;
    let s = string_of(&this, ftx)?;
    let re = regex_of(ftx, rest.first().ok_or_else(|| overload(ftx))?)?;
    let limit = match rest.get(1) {
        Some(v) => int_of(v, ftx)?,
        None => -1,
    };
    let found = re.find_iter(&s).map(|m| str_val(m.as_str()));
    Ok(list_val(if limit < 0 {
        found.collect()
    } else {
        found.take(limit as usize).collect()
    }))
}

fn dyn_(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    Ok(this)
}

// ---- sets ----

fn two_lists(ftx: &FunctionContext) -> Result<(Vec<Cel>, Vec<Cel>), ExecutionError> {
    let a = args(ftx)?;
    match a.as_slice() {
        [Cel::List(x), Cel::List(y)] => Ok((x.to_vec(), y.to_vec())),
        _ => Err(overload(ftx)),
    }
}

fn register_sets(ctx: &mut Context) {
    ctx.add_variable_from_value("sets", namespace("sets"));
    ctx.add_function("equivalent", |ftx: &FunctionContext| -> Res {
        let (x, y) = two_lists(ftx)?;
        Ok(Cel::Bool(
            x.iter().all(|v| y.contains(v)) && y.iter().all(|v| x.contains(v)),
        ))
    });
    ctx.add_function("intersects", |ftx: &FunctionContext| -> Res {
        let (x, y) = two_lists(ftx)?;
        Ok(Cel::Bool(x.iter().any(|v| y.contains(v))))
    });
}

/// `contains`: strings/lists/maps as cel-interpreter does, plus `sets.contains(a, b)`.
fn contains(ftx: &FunctionContext) -> Res {
    if let Some(this) = &ftx.this
        && namespace_of(this).as_deref() == Some("sets")
    {
        let (x, y) = two_lists(ftx)?;
        return Ok(Cel::Bool(y.iter().all(|v| x.contains(v))));
    }
    let (this, rest) = recv(ftx)?;
    let arg = rest.first().ok_or_else(|| overload(ftx))?;
    Ok(Cel::Bool(match (&this, arg) {
        (Cel::String(s), Cel::String(sub)) => s.contains(sub.as_str()),
        (Cel::List(l), v) => l.contains(v),
        (Cel::Map(m), k) => {
            let key: Result<Key, _> = k.clone().try_into();
            key.is_ok_and(|k| m.map.contains_key(&k))
        }
        _ => return Err(overload(ftx)),
    }))
}

/// Registers every function of this module on `ctx`.
pub(crate) fn register(ctx: &mut Context) {
    ctx.add_function("size", size);
    ctx.add_function("matches", matches);
    ctx.add_function("lowerAscii", lower_ascii);
    ctx.add_function("upperAscii", upper_ascii);
    ctx.add_function("trim", trim);
    ctx.add_function("reverse", reverse);
    ctx.add_function("split", split);
    ctx.add_function("join", join);
    ctx.add_function("indexOf", index_of);
    ctx.add_function("lastIndexOf", last_index_of);
    ctx.add_function("replace", replace);
    ctx.add_function("substring", substring);
    ctx.add_function("charAt", char_at);
    ctx.add_function("min", min);
    ctx.add_function("max", max);
    ctx.add_function("sum", sum);
    ctx.add_function("isSorted", is_sorted);
    ctx.add_function("slice", slice);
    ctx.add_function("find", find);
    ctx.add_function("findAll", find_all);
    ctx.add_function("dyn", dyn_);
    ctx.add_function("contains", contains);
    super::url::register(ctx);
    super::format::register(ctx);
    register_sets(ctx);
    optional::register(ctx);
}
