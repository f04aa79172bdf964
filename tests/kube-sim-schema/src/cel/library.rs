//! The Kubernetes CEL library subset rules commonly use, on top of cel-interpreter's standard
//! functions: strings (`lowerAscii`, `split`, `join`, ...), lists (`isSorted`, `sum`, `min`, ...),
//! regex (`find`, `findAll`), `url`/`isURL`, `format.<name>().validate()`, `sets.*`, optionals.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, ExecutionError, FunctionContext, Value as Cel};
use regex::Regex;

use super::optional::{self, namespace, namespace_of};

type Res = Result<Cel, ExecutionError>;

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
fn args(ftx: &FunctionContext) -> Result<Vec<Cel>, ExecutionError> {
    ftx.args.iter().map(|e| Cel::resolve(e, ftx.ptx)).collect()
}

/// `(receiver, rest)`: the target of a method call, else the first argument.
fn recv(ftx: &FunctionContext) -> Result<(Cel, Vec<Cel>), ExecutionError> {
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

fn overload(ftx: &FunctionContext) -> ExecutionError {
    ExecutionError::function_error(ftx.name.as_str(), "no such overload")
}

fn string_of(v: &Cel, ftx: &FunctionContext) -> Result<Arc<String>, ExecutionError> {
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

fn str_val(s: impl Into<String>) -> Cel {
    Cel::String(Arc::new(s.into()))
}

fn list_val(items: Vec<Cel>) -> Cel {
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

// ---- url ----

const URL_KEY: &str = "@url";

/// Kubernetes `url()` accepts absolute URIs and absolute paths.
fn parse_url(s: &str) -> Option<url::Url> {
    if s.starts_with('/') {
        return url::Url::parse(&format!("http://placeholder.invalid{s}")).ok();
    }
    url::Url::parse(s).ok()
}

fn url_value(s: &str) -> Cel {
    let mut m = HashMap::new();
    m.insert(Key::String(Arc::new(URL_KEY.into())), str_val(s));
    Cel::Map(Map { map: Arc::new(m) })
}

fn url_of(v: &Cel) -> Option<String> {
    let Cel::Map(m) = v else { return None };
    match m.map.get(&Key::String(Arc::new(URL_KEY.into()))) {
        Some(Cel::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn url_fn(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    let s = string_of(&this, ftx)?;
    if parse_url(&s).is_none() {
        return Err(ExecutionError::function_error(
            "url",
            format!("URL parse error during conversion from string: {s}"),
        ));
    }
    Ok(url_value(&s))
}

fn is_url(ftx: &FunctionContext) -> Res {
    let (this, _) = recv(ftx)?;
    Ok(Cel::Bool(parse_url(&string_of(&this, ftx)?).is_some()))
}

fn url_getter(ftx: &FunctionContext, part: fn(&str, &url::Url) -> Cel) -> Res {
    let this = ftx
        .this
        .clone()
        .ok_or_else(ExecutionError::missing_argument_or_target)?;
    let s = url_of(&this).ok_or_else(|| overload(ftx))?;
    let u = parse_url(&s).ok_or_else(|| overload(ftx))?;
    Ok(part(&s, &u))
}

fn register_url(ctx: &mut Context) {
    ctx.add_function("url", url_fn);
    ctx.add_function("isURL", is_url);
    ctx.add_function("getScheme", |ftx: &FunctionContext| {
        url_getter(ftx, |s, u| {
            str_val(if s.starts_with('/') { "" } else { u.scheme() })
        })
    });
    ctx.add_function("getHost", |ftx: &FunctionContext| {
        url_getter(ftx, |s, u| {
            if s.starts_with('/') {
                return str_val("");
            }
            let host = u.host_str().unwrap_or_default();
            match u.port() {
                Some(p) => str_val(format!("{host}:{p}")),
                None => str_val(host),
            }
        })
    });
    ctx.add_function("getHostname", |ftx: &FunctionContext| {
        url_getter(ftx, |s, u| {
            let h = if s.starts_with('/') {
                ""
            } else {
                u.host_str().unwrap_or_default()
            };
            str_val(h.trim_start_matches('[').trim_end_matches(']'))
        })
    });
    ctx.add_function("getPort", |ftx: &FunctionContext| {
        url_getter(ftx, |_, u| {
            str_val(u.port().map(|p| p.to_string()).unwrap_or_default())
        })
    });
    ctx.add_function("getEscapedPath", |ftx: &FunctionContext| {
        url_getter(ftx, |_, u| str_val(u.path()))
    });
    ctx.add_function("getQuery", |ftx: &FunctionContext| {
        url_getter(ftx, |_, u| {
            let mut m: HashMap<Key, Vec<Cel>> = HashMap::new();
            for (k, v) in u.query_pairs() {
                m.entry(Key::String(Arc::new(k.to_string())))
                    .or_default()
                    .push(str_val(v.to_string()));
            }
            let map = m.into_iter().map(|(k, v)| (k, list_val(v))).collect();
            Cel::Map(Map { map: Arc::new(map) })
        })
    });
}

// ---- format library: format.dns1123Label().validate(s) ----

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

fn register_format(ctx: &mut Context) {
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
    register_url(ctx);
    register_format(ctx);
    register_sets(ctx);
    optional::register(ctx);
}
