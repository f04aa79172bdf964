//! One HTTP exchange with the Management API: what is sent ([`Call`]), the 2xx answer
//! ([`Reply`]), decoding, and how failures become [`Error`]s.

use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::budget::{RateLimitHeaders, Scope};
use super::endpoint::Endpoint;
use super::error::{Error, ErrorBody, TransportKind, decode_detail};
use super::types::{CustomDomain, DomainPage};

/// A 2xx answer.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    /// Earlier attempts that got no answer although the request may have been processed.
    pub(crate) lost_attempts: u32,
    /// The answer's rate-limit headers, and the bucket they describe.
    pub(crate) limits: RateLimitHeaders,
    pub(crate) scope: Scope,
}

/// What to send.
pub(crate) struct Call<'a> {
    pub(crate) endpoint: Endpoint,
    /// Path segments after `/api/v2/`.
    pub(crate) segments: Vec<&'a str>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<serde_json::Value>,
    /// The domain being created (for [`Error::CreateOutcomeUnknown`]).
    pub(crate) creating: Option<&'a str>,
    /// Reserve or come back: when the budget has no token within this wait, send nothing and
    /// answer [`Error::Deferred`]. `None`: wait as long as it takes.
    pub(crate) defer_beyond: Option<std::time::Duration>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(endpoint: Endpoint, segments: Vec<&'a str>) -> Self {
        Self {
            endpoint,
            segments,
            query: Vec::new(),
            body: None,
            creating: None,
            defer_beyond: None,
        }
    }
}

/// Error text of a reqwest failure with its causes, without URL.
pub(crate) fn transport_detail(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub(crate) fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    }
}

pub(crate) fn to_json<T: Serialize>(endpoint: Endpoint, body: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(body).map_err(|e| Error::Decode {
        endpoint: endpoint.route(),
        status: 0,
        detail: format!("encoding the request: {e}"),
    })
}

pub(crate) fn parse<T: DeserializeOwned>(endpoint: Endpoint, reply: &Reply) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| Error::Decode {
        endpoint: endpoint.route(),
        status: reply.status.as_u16(),
        detail: decode_detail(&e),
    })
}

/// A list answer: a plain array, or a `{custom_domains, next}` page. Read straight into the
/// domains (the first byte tells which shape): a tree of JSON values in between cost several
/// times the page itself, for every page of every tenant's refresh.
pub(crate) fn parse_list(
    endpoint: Endpoint,
    reply: &Reply,
) -> Result<(Vec<CustomDomain>, Option<String>), Error> {
    let first = reply.body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return Ok((parse(endpoint, reply)?, None));
    }
    let page: DomainPage = parse(endpoint, reply)?;
    Ok((page.custom_domains, page.next.filter(|n| !n.is_empty())))
}

pub(crate) fn api_error(route: &'static str, status: StatusCode, body: &[u8], reset: Option<u64>) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .message
        .or(parsed.error_description)
        .or(parsed.error)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    Error::Api {
        endpoint: route,
        status: status.as_u16(),
        error_code: parsed.error_code,
        message,
        ratelimit_reset: reset,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reply(body: &str) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: body.as_bytes().to_vec(),
            lost_attempts: 0,
            limits: RateLimitHeaders::default(),
            scope: Scope::Tenant,
        }
    }

    #[test]
    fn a_list_is_read_in_either_shape() {
        let domain =
            r#"{"custom_domain_id": "cd_1", "domain": "a.example.com", "type": "self_managed_certs"}"#;
        let (all, next) = parse_list(Endpoint::ListDomains, &reply(&format!("\n  [{domain}]"))).unwrap();
        assert_eq!((all.len(), next), (1, None));
        let page = format!(r#" {{"custom_domains": [{domain}, {domain}], "next": "cp2"}}"#);
        let (all, next) = parse_list(Endpoint::ListDomains, &reply(&page)).unwrap();
        assert_eq!((all.len(), next.as_deref()), (2, Some("cp2")));
        let last = r#"{"custom_domains": [], "next": ""}"#;
        assert_eq!(
            parse_list(Endpoint::ListDomains, &reply(last)).unwrap(),
            (vec![], None)
        );
        let err = parse_list(Endpoint::ListDomains, &reply("[{\"domain\": 1}]")).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }
}
