//! `POST /oauth/token` (client_credentials) and bearer-token checks for `/api/v2`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::api_error::{ApiError, OAuthError};
use crate::tenant::{Tenant, lock};
use crate::token::{Claims, TokenError};

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError {
        status,
        error,
        description: description.into(),
    }
}

/// Host the request was addressed to (Host header, or the authority of an HTTP/2 request).
pub fn request_host(headers: &HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
}

fn params(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        return Ok(url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), json!(v)))
            .collect());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid request body: expected JSON object",
        )),
    }
}

/// `POST /oauth/token`.
pub async fn token(
    State(t): State<Arc<Tenant>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let p = params(&headers, &body)?;
    let get = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    // client_secret_basic is accepted too.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())));
    let grant = get("grant_type").ok_or_else(|| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: grant_type",
        )
    })?;
    if grant != "client_credentials" {
        return Err(oauth(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            format!("Grant type '{grant}' not allowed for the client."),
        ));
    }
    let (id, secret) = match (get("client_id"), get("client_secret"), basic) {
        (Some(id), Some(secret), _) => (id, secret),
        (_, _, Some(pair)) => pair,
        (None, _, None) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: client_id",
            ));
        }
        (Some(_), None, None) => {
            return Err(oauth(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized"));
        }
    };
    let client = t
        .cfg
        .clients
        .iter()
        .find(|c| c.id == id && c.secret == secret)
        .ok_or_else(|| oauth(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized"))?;
    let host = request_host(&headers, &uri).unwrap_or_default();
    let accepted = [
        format!("https://{host}/api/v2/"),
        format!("https://{}/api/v2/", t.tenant_domain),
    ];
    let audience = get("audience").ok_or_else(|| {
        oauth(
            StatusCode::FORBIDDEN,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        )
    })?;
    if !accepted.contains(&audience) {
        return Err(oauth(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
            ),
        ));
    }
    // A requested scope narrows the grant; scopes outside the grant are dropped.
    let scopes: Vec<String> = match get("scope") {
        Some(req) => client
            .scopes
            .iter()
            .filter(|s| req.split(' ').any(|r| r == s.as_str()))
            .cloned()
            .collect(),
        None => client.scopes.clone(),
    };
    let now = unix_now();
    let ttl = i64::try_from(t.cfg.token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = Claims {
        iss: format!("https://{}/", t.tenant_domain),
        sub: format!("{}@clients", client.id),
        aud: audience,
        iat: now,
        exp: now + ttl,
        scope: scopes.join(" "),
        gty: "client-credentials".into(),
        azp: client.id.clone(),
        sim_gen: lock(&t.world).token_generation,
    };
    let token = t.signer.sign(&claims);
    lock(&t.counters).tokens_issued += 1;
    Ok(axum::Json(json!({
        "access_token": token,
        "scope": claims.scope,
        "expires_in": ttl,
        "token_type": "Bearer",
    }))
    .into_response())
}

/// Checks the bearer token (any scope).
pub fn authenticate(t: &Tenant, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| ApiError::unauthorized("Invalid token"))?;
    let generation = lock(&t.world).token_generation;
    // Auth0 says "Invalid token" for a missing, malformed, forged or expired token alike.
    t.signer
        .verify(token.trim(), unix_now(), generation)
        .map_err(|_: TokenError| ApiError::unauthorized("Invalid token"))
}

/// Checks the bearer token and that it carries `scope`.
pub fn authorize(t: &Tenant, headers: &HeaderMap, scope: &str) -> Result<Claims, ApiError> {
    let claims = authenticate(t, headers)?;
    if !claims.scope.split(' ').any(|s| s == scope) {
        return Err(ApiError::insufficient_scope(scope));
    }
    Ok(claims)
}
