//! `GET /custom-domains`: `q`, `fields`/`include_fields`, `sort`, checkpoint pagination.

use serde_json::{Map, Value, json};

use crate::api_error::ApiError;
use crate::domain::{Domain, RenderOptions, View};
use crate::tenant::{Tenant, lock};

/// Largest `take`.
pub const MAX_TAKE: usize = 100;
/// `take` when only `from` is given.
pub const DEFAULT_TAKE: usize = 50;

/// Parsed list parameters.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ListQuery {
    /// `q` terms: (field, value).
    pub terms: Vec<(String, String)>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `include_fields` (default true).
    pub include_fields: bool,
    /// `sort=domain:1`.
    pub sort_by_domain: bool,
    /// `take`.
    pub take: Option<usize>,
    /// `from`.
    pub from: Option<String>,
}

fn query_err(msg: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_query(format!("Query validation error: '{msg}'."))
}

fn query_prop_err(msg: impl std::fmt::Display, prop: &str) -> ApiError {
    ApiError::invalid_query(format!("Query validation error: '{msg}' on property {prop}."))
}

/// Splits a Lucene-ish query into `field:value` terms (quotes allowed, `AND` ignored).
fn parse_q(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(query_err(format!("Invalid q: unbalanced quotes in {q}")));
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    let mut terms = Vec::new();
    for t in tokens {
        if t == "AND" {
            continue;
        }
        let Some((field, value)) = t.split_once(':') else {
            return Err(query_err(format!("Invalid q: expected field:value, got {t}")));
        };
        if !["domain", "status", "type", "custom_domain_id"].contains(&field) {
            return Err(query_err(format!("Invalid q: field {field} is not searchable")));
        }
        terms.push((field.to_string(), value.to_string()));
    }
    Ok(terms)
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(query_prop_err(
            format!("Expected type boolean but found type string: {v}"),
            name,
        )),
    }
}

impl ListQuery {
    /// Parses the raw query string; `pagination` false rejects `take`/`from`.
    pub fn parse(raw: Option<&str>, pagination: bool) -> Result<Self, ApiError> {
        let mut q = ListQuery {
            include_fields: true,
            ..Default::default()
        };
        let mut unknown = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "q" => q.terms = parse_q(&v)?,
                "fields" => {
                    q.fields = v
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                }
                "include_fields" => q.include_fields = parse_bool("include_fields", &v)?,
                "sort" => match v.as_ref() {
                    "domain:1" => q.sort_by_domain = true,
                    other => {
                        return Err(query_err(format!(
                            "Invalid sort: {other}. Only domain:1 is supported"
                        )));
                    }
                },
                "take" | "from" if !pagination => unknown.push(k.into_owned()),
                "take" => {
                    let n: usize = v.parse().map_err(|_| {
                        query_prop_err(
                            format!("Expected type integer but found type string: {v}"),
                            "take",
                        )
                    })?;
                    if n == 0 || n > MAX_TAKE {
                        return Err(query_prop_err(
                            format!("Value {n} is out of range [1, {MAX_TAKE}]"),
                            "take",
                        ));
                    }
                    q.take = Some(n);
                }
                "from" => q.from = Some(v.into_owned()),
                _ => unknown.push(k.into_owned()),
            }
        }
        if !unknown.is_empty() {
            return Err(query_err(format!(
                "Additional properties not allowed: {}",
                unknown.join(",")
            )));
        }
        Ok(q)
    }

    fn matches(&self, d: &Domain) -> bool {
        self.terms.iter().all(|(field, value)| {
            let have = match field.as_str() {
                "domain" => d.domain.as_str(),
                "status" => d.status.as_str(),
                "type" => d.kind.as_str(),
                _ => d.id.as_str(),
            };
            match value.strip_suffix('*') {
                Some(prefix) => have.starts_with(prefix),
                None => have == value,
            }
        })
    }

    fn project(&self, v: Value) -> Value {
        if self.fields.is_empty() {
            return v;
        }
        let Value::Object(m) = v else { return v };
        let kept: Map<String, Value> = m
            .into_iter()
            .filter(|(k, _)| self.fields.iter().any(|f| f == k) == self.include_fields)
            .collect();
        Value::Object(kept)
    }
}

impl Tenant {
    /// `GET /custom-domains`.
    pub fn list_domains(&self, raw_query: Option<&str>) -> Result<Value, ApiError> {
        let readings = self.readings();
        let q = ListQuery::parse(raw_query, readings.pagination)?;
        let mut world = lock(&self.world);
        self.advance_all(&mut world)?;
        let mut found: Vec<&Domain> = world.domains.values().filter(|d| q.matches(d)).collect();
        let paginated = q.take.is_some() || q.from.is_some();
        // Observed order is ascending `domain`, with or without paging.
        found.sort_by(|a, b| a.domain.cmp(&b.domain));
        let opts = RenderOptions::from(&readings);
        let render = |d: &Domain| {
            let is_default = world.default_domain.as_deref() == Some(d.domain.as_str());
            q.project(d.render(View::Plain, is_default, opts))
        };
        if !paginated {
            return Ok(Value::Array(found.into_iter().map(render).collect()));
        }
        let start = match &q.from {
            None => 0,
            Some(from) => {
                let name =
                    decode_cursor(from).ok_or_else(|| query_err(format!("Invalid checkpoint: {from}")))?;
                found.partition_point(|d| d.domain < name)
            }
        };
        let take = q.take.unwrap_or(DEFAULT_TAKE);
        let page: Vec<Value> = found.iter().skip(start).take(take).map(|d| render(d)).collect();
        let mut body = json!({"custom_domains": page});
        if let Some(next) = found.get(start + take) {
            body["next"] = json!(encode_cursor(&next.domain));
        }
        Ok(body)
    }
}

const CURSOR_PREFIX: &str = "Sim1*";

/// The opaque `next` cursor: where the next page starts (a domain name), sealed in base64url.
/// Clients must pass it back verbatim; deleting the domain it names does not invalidate it.
pub fn encode_cursor(domain: &str) -> String {
    use base64::Engine as _;
    format!(
        "{CURSOR_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(domain)
    )
}

/// The domain name a cursor starts at, if it is one of ours.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = cursor.strip_prefix(CURSOR_PREFIX)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let q = ListQuery::parse(
            Some("q=domain%3A%22a.com%22%20AND%20status%3Aready&take=5&fields=domain&include_fields=false"),
            true,
        )
        .unwrap();
        assert_eq!(
            q.terms,
            vec![
                ("domain".into(), "a.com".into()),
                ("status".into(), "ready".into())
            ]
        );
        assert_eq!(q.take, Some(5));
        assert!(!q.include_fields);
        assert_eq!(
            ListQuery::parse(Some("take=5"), false).unwrap_err().error_code,
            Some("invalid_query_string")
        );
        assert!(ListQuery::parse(Some("page=1"), true).is_err());
        assert!(ListQuery::parse(Some("sort=domain:-1"), true).is_err());
        assert!(ListQuery::parse(Some("take=101"), true).is_err());
        assert_eq!(
            decode_cursor(&encode_cursor("a.example.com")).as_deref(),
            Some("a.example.com")
        );
        assert_eq!(decode_cursor("cd_0123456789abcdef"), None);
    }
}
