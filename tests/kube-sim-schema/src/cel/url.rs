//! Kubernetes URL library: `url(s)`, `isURL(s)` and the getters on a URL value.

use std::collections::HashMap;
use std::sync::Arc;

use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, ExecutionError, FunctionContext, Value as Cel};

use super::library::{Res, list_val, overload, recv, str_val, string_of};

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

/// Registers the URL functions.
pub(crate) fn register(ctx: &mut Context) {
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
