//! The Management API server: routes, handlers and the front door (faults, rate limits, counters).

pub mod oauth;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceExt as _;

use crate::api_error::ApiError;
use crate::faults::template;
use crate::ratelimit::RateHeaders;
use crate::server::Dropped;
use crate::tenant::{Tenant, lock};
use crate::validate;

type ApiResult = Result<Response, ApiError>;

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

async fn list(State(t): State<Arc<Tenant>>, h: HeaderMap, RawQuery(q): RawQuery) -> ApiResult {
    oauth::authorize(&t, &h, "read:custom_domains")?;
    t.check_plan()?;
    Ok(json(StatusCode::OK, t.list_domains(q.as_deref())?))
}

async fn create(State(t): State<Arc<Tenant>>, h: HeaderMap, body: Bytes) -> ApiResult {
    oauth::authorize(&t, &h, "create:custom_domains")?;
    t.check_plan()?;
    let req = validate::create(&body, t.readings().strict_type_fields)?;
    Ok(json(StatusCode::CREATED, t.create_domain(req)?))
}

async fn get_one(State(t): State<Arc<Tenant>>, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    oauth::authorize(&t, &h, "read:custom_domains")?;
    t.check_plan()?;
    Ok(json(StatusCode::OK, t.get_domain(&id)?))
}

async fn patch_one(
    State(t): State<Arc<Tenant>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    oauth::authorize(&t, &h, "update:custom_domains")?;
    t.check_plan()?;
    let req = validate::patch(&body)?;
    Ok(json(StatusCode::OK, t.patch_domain(&id, req)?))
}

async fn delete_one(State(t): State<Arc<Tenant>>, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    oauth::authorize(&t, &h, "delete:custom_domains")?;
    t.check_plan()?;
    t.delete_domain(&id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn verify(State(t): State<Arc<Tenant>>, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    oauth::authorize(&t, &h, "create:custom_domains")?;
    t.check_plan()?;
    Ok(json(StatusCode::OK, t.verify_domain(&id).await?))
}

async fn test(State(t): State<Arc<Tenant>>, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    oauth::authorize(&t, &h, "read:custom_domains")?;
    t.check_plan()?;
    Ok(json(StatusCode::OK, t.test_domain(&id)?))
}

async fn get_default(State(t): State<Arc<Tenant>>, h: HeaderMap) -> ApiResult {
    oauth::authorize(&t, &h, "read:custom_domains")?;
    t.check_plan()?;
    Ok(json(StatusCode::OK, t.get_default()?))
}

async fn set_default(State(t): State<Arc<Tenant>>, h: HeaderMap, body: Bytes) -> ApiResult {
    oauth::authorize(&t, &h, "update:custom_domains")?;
    t.check_plan()?;
    Ok(json(StatusCode::OK, t.set_default(&body)?))
}

async fn get_settings(State(t): State<Arc<Tenant>>, h: HeaderMap, RawQuery(q): RawQuery) -> ApiResult {
    oauth::authorize(&t, &h, "read:tenant_settings")?;
    Ok(json(StatusCode::OK, t.get_settings(q.as_deref())?))
}

async fn patch_settings(State(t): State<Arc<Tenant>>, h: HeaderMap, body: Bytes) -> ApiResult {
    oauth::authorize(&t, &h, "update:tenant_settings")?;
    Ok(json(StatusCode::OK, t.patch_settings(&body)?))
}

/// The Management endpoints that build user-facing URLs or send email: they need to know which
/// custom domain to use (`auth0-custom-domain` header) once the tenant has several.
async fn custom_domain_context(
    State(t): State<Arc<Tenant>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    h: HeaderMap,
    body: Bytes,
) -> ApiResult {
    oauth::authenticate(&t, &h)?;
    let obj = if body.is_empty() {
        serde_json::Map::new()
    } else {
        validate::parse_object(&body)?
    };
    if obj.contains_key("domain") {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'Additional properties not allowed: domain'.",
        ));
    }
    let header = h
        .get("auth0-custom-domain")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let domain = t.email_domain(header.as_deref())?;
    let path = uri.path();
    let id = |prefix: &str| format!("{prefix}_{}", &uri_digest(path)[..16]);
    let created = |v: serde_json::Value| Ok(json(StatusCode::CREATED, v));
    match (method.as_str(), path) {
        ("GET", "/api/v2/users") => Ok(json(StatusCode::OK, serde_json::json!([]))),
        ("POST", "/api/v2/users") => created(serde_json::json!({
            "user_id": format!("auth0|{}", id("u")), "email": obj.get("email"), "created_at": crate::domain::iso_ms(crate::domain::now_ms()),
        })),
        (_, p) if p.starts_with("/api/v2/users/") => Ok(json(
            StatusCode::OK,
            serde_json::json!({"user_id": p.trim_start_matches("/api/v2/users/")}),
        )),
        (_, "/api/v2/jobs/verification-email") => created(serde_json::json!({
            "type": "verification_email", "status": "pending", "id": id("job"),
            "created_at": crate::domain::iso_ms(crate::domain::now_ms()),
        })),
        (_, "/api/v2/guardian/enrollments/ticket") => Ok(json(
            StatusCode::OK,
            serde_json::json!({"ticket_id": id("t"), "ticket_url": format!("https://{domain}/guardian/enroll?ticket={}", id("t"))}),
        )),
        (_, p) if p.ends_with("/invitations") => created(serde_json::json!({
            "id": id("uinv"),
            "invitation_url": format!("https://{domain}/login?invitation={}", id("inv")),
        })),
        _ => created(serde_json::json!({"ticket": format!("https://{domain}/lo/reset?ticket={}", id("t"))})),
    }
}

fn uri_digest(path: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{path}{}", crate::domain::now_ms()).as_bytes(),
    );
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found", None)
}

/// Routes of the Management API and `/oauth/token` (plus `/__sim` when control is on).
pub fn router(t: Arc<Tenant>) -> Router {
    let mut r = Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/api/v2/custom-domains", get(list).post(create))
        .route(
            "/api/v2/custom-domains/default",
            get(get_default).patch(set_default),
        )
        .route(
            "/api/v2/custom-domains/{id}",
            get(get_one).patch(patch_one).delete(delete_one),
        )
        .route("/api/v2/custom-domains/{id}/verify", post(verify))
        .route("/api/v2/custom-domains/{id}/test", post(test))
        .route(
            "/api/v2/users",
            get(custom_domain_context).post(custom_domain_context),
        )
        .route(
            "/api/v2/users/{id}",
            get(custom_domain_context).patch(custom_domain_context),
        )
        .route("/api/v2/jobs/verification-email", post(custom_domain_context))
        .route("/api/v2/tickets/email-verification", post(custom_domain_context))
        .route("/api/v2/tickets/password-change", post(custom_domain_context))
        .route(
            "/api/v2/organizations/{id}/invitations",
            post(custom_domain_context),
        )
        .route("/api/v2/guardian/enrollments/ticket", post(custom_domain_context))
        .route(
            "/api/v2/tenants/settings",
            get(get_settings).patch(patch_settings),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    if t.cfg.control {
        r = r.nest("/__sim", crate::control::router());
    }
    r.with_state(t)
}

fn set_rate_headers(resp: &mut Response, h: RateHeaders) {
    let hs = resp.headers_mut();
    hs.insert("x-ratelimit-limit", HeaderValue::from(h.limit));
    hs.insert("x-ratelimit-remaining", HeaderValue::from(h.remaining));
    hs.insert("x-ratelimit-reset", HeaderValue::from(h.reset));
}

/// Everything before and after routing: injected faults, rate limits, headers, counters.
pub async fn front_door(t: Arc<Tenant>, router: Router, req: Request<Body>) -> Result<Response, Dropped> {
    let path = req.uri().path().to_string();
    if path.starts_with("/__sim") {
        let mut resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
        set_rate_headers(&mut resp, t.rate_peek());
        return Ok(resp);
    }
    let tpl = template(req.method().as_str(), &path);
    let decision = lock(&t.faults).decide(&tpl);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    if decision.drop {
        lock(&t.counters).dropped += 1;
        return Err(Dropped);
    }
    let is_api = path.starts_with("/api/v2/");
    let is_verify = req.method() == axum::http::Method::POST
        && path.starts_with("/api/v2/custom-domains/")
        && path.trim_end_matches('/').ends_with("/verify");
    let (mut resp, headers) = if let Some(status) = decision.error {
        lock(&t.counters).injected_errors += 1;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let reason = status.canonical_reason().unwrap_or("Error");
        (ApiError::new(status, reason, None).into_response(), t.rate_peek())
    } else if is_api {
        let out = t.rate_check(is_verify);
        if out.allowed {
            (
                router.oneshot(req).await.unwrap_or_else(|e| match e {}),
                out.headers,
            )
        } else {
            (ApiError::too_many_requests().into_response(), out.headers)
        }
    } else {
        (
            router.oneshot(req).await.unwrap_or_else(|e| match e {}),
            t.rate_peek(),
        )
    };
    set_rate_headers(&mut resp, headers);
    lock(&t.counters).record(&tpl, resp.status().as_u16());
    Ok(resp)
}
