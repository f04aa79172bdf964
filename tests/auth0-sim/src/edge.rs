//! The edge: stands in for Auth0's origin behind a customer's reverse proxy (self-managed domains).
//!
//! A request is accepted when its `Host` (port ignored) is a self-managed domain — by its own name
//! or by its `origin_domain_name`, which is what a proxy following Auth0's guide sends — and the
//! `cname-api-key` header equals the key issued for that domain. `X-Forwarded-Host` is reported but
//! not used for matching. Accepted requests get a 200 JSON echo of what arrived.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::oauth::request_host;
use crate::domain::DomainType;
use crate::server::Peer;
use crate::tenant::{Tenant, lock};

async fn echo(State(t): State<Arc<Tenant>>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts.extensions.get::<Peer>().map(|p| p.0.to_string());
    let host_full = request_host(&parts.headers, &parts.uri).unwrap_or_default();
    let host = host_full
        .rsplit_once(':')
        .map_or(host_full.as_str(), |(h, _)| h)
        .to_ascii_lowercase();
    let body_len = to_bytes(body, 16 * 1024 * 1024)
        .await
        .map(|b| b.len())
        .unwrap_or(0);
    let sent_key = parts
        .headers
        .get("cname-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let matched = {
        let world = lock(&t.world);
        world
            .domains
            .values()
            .find(|d| {
                d.kind == DomainType::SelfManagedCerts && (d.domain == host || d.origin_domain_name == host)
            })
            .map(|d| {
                (
                    d.id.clone(),
                    d.domain.clone(),
                    d.custom_client_ip_header.clone(),
                    world.key_of(&d.id).cloned(),
                )
            })
    };
    let Some((id, domain, ip_header, issued)) = matched else {
        lock(&t.counters).edge_refused += 1;
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "unknown_host", "host": host})),
        )
            .into_response();
    };
    let key_ok = match (&issued, &sent_key) {
        (Some(k), Some(s)) => k.cname_api_key == *s,
        _ => false,
    };
    if !key_ok {
        lock(&t.counters).edge_refused += 1;
        let why = if sent_key.is_none() {
            "missing cname-api-key"
        } else {
            "invalid cname-api-key"
        };
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "forbidden", "error_description": why})),
        )
            .into_response();
    }
    lock(&t.counters).edge_accepted += 1;
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &parts.headers {
        // The key itself is not echoed back.
        let value = if k.as_str() == "cname-api-key" {
            "[redacted]".to_string()
        } else {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        };
        headers.entry(k.as_str().to_string()).or_default().push(value);
    }
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    for v in parts.headers.get_all(axum::http::header::COOKIE) {
        for pair in String::from_utf8_lossy(v.as_bytes()).split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                cookies.insert(k.to_string(), v.to_string());
            }
        }
    }
    let header_value = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let client_ip = ip_header
        .as_deref()
        .filter(|h| !h.is_empty())
        .and_then(header_value);
    let body = json!({
        "custom_domain_id": id,
        "domain": domain,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "host": host_full,
        "http_version": format!("{:?}", parts.version),
        "headers": headers,
        "cookies": cookies,
        "client_ip_header": ip_header,
        "client_ip": client_ip,
        "x_forwarded_for": header_value("x-forwarded-for"),
        "x_forwarded_host": header_value("x-forwarded-host"),
        "remote_addr": peer,
        "body_length": body_len,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Router answering every method and path.
pub fn router(t: Arc<Tenant>) -> Router {
    Router::new().fallback(echo).with_state(t)
}
