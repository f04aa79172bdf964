//! TenantClient behaviour against small scripted HTTP servers: exactly the responses each case
//! needs (token refresh, retries, ambiguous creates, 429 pauses, pagination fallback, redaction).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth0_domain_operator::auth0::types::{CreateDomain, DomainType};
use auth0_domain_operator::auth0::{Error, RateLimit, Redacted, RetryPolicy, TenantClient, TenantConfig};
use auth0_domain_operator::telemetry::metrics::Metrics;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const SECRET: &str = "client-secret-DO-NOT-LEAK";
const KEY: &str = "cname-api-key-DO-NOT-LEAK";

/// One scripted answer.
#[derive(Clone)]
enum Step {
    Json {
        status: u16,
        body: Value,
        headers: Vec<(&'static str, String)>,
    },
    Sleep(Duration, Box<Step>),
}

fn ok(body: Value) -> Step {
    Step::Json {
        status: 200,
        body,
        headers: vec![],
    }
}

fn status(status: u16, body: Value) -> Step {
    Step::Json {
        status,
        body,
        headers: vec![],
    }
}

fn with_headers(step: Step, h: Vec<(&'static str, String)>) -> Step {
    match step {
        Step::Json { status, body, .. } => Step::Json {
            status,
            body,
            headers: h,
        },
        other => other,
    }
}

#[derive(Clone, Debug)]
#[allow(dead_code)]
struct Seen {
    route: String,
    query: Option<String>,
    auth: Option<String>,
    body: String,
}

#[derive(Default)]
struct Script {
    queues: HashMap<String, VecDeque<Step>>,
    seen: Vec<Seen>,
    tokens: u32,
    token_delay: Duration,
    token_ttl: u64,
}

type Shared = Arc<Mutex<Script>>;

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = format!("{method} {}", uri.path());
    let (step, token_delay) = {
        let mut s = s.lock().unwrap();
        s.seen.push(Seen {
            route: route.clone(),
            query: uri.query().map(str::to_string),
            auth: headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string()),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let scripted = s.queues.get_mut(&route).and_then(VecDeque::pop_front);
        match scripted {
            Some(step) => (Some(step), Duration::ZERO),
            None if route == "POST /oauth/token" => {
                s.tokens += 1;
                let ttl = if s.token_ttl == 0 { 86_400 } else { s.token_ttl };
                (
                    Some(ok(
                        json!({"access_token": format!("tok-{}", s.tokens), "expires_in": ttl,
                        "scope": "read:custom_domains create:custom_domains", "token_type": "Bearer"}),
                    )),
                    s.token_delay,
                )
            }
            None => (None, Duration::ZERO),
        }
    };
    tokio::time::sleep(token_delay).await;
    let mut step = match step {
        Some(step) => step,
        None => return (StatusCode::IM_A_TEAPOT, format!("unscripted {route}")).into_response(),
    };
    loop {
        match step {
            Step::Sleep(d, next) => {
                tokio::time::sleep(d).await;
                step = *next;
            }
            Step::Json {
                status,
                body,
                headers,
            } => {
                let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
                for (k, v) in headers {
                    resp.headers_mut().insert(k, v.parse().unwrap());
                }
                return resp;
            }
        }
    }
}

struct Server {
    url: String,
    script: Shared,
}

impl Server {
    async fn start() -> Self {
        let script: Shared = Arc::default();
        let app = Router::new().fallback(handle).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, script }
    }

    fn push(&self, route: &str, steps: impl IntoIterator<Item = Step>) {
        self.script
            .lock()
            .unwrap()
            .queues
            .entry(route.to_string())
            .or_default()
            .extend(steps);
    }

    fn seen(&self, route: &str) -> Vec<Seen> {
        self.script
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.route == route)
            .cloned()
            .collect()
    }

    fn tokens(&self) -> u32 {
        self.script.lock().unwrap().tokens
    }

    fn config(&self) -> TenantConfig {
        let mut cfg = TenantConfig::new(
            "scripted",
            "scripted.auth0.test",
            "client-id",
            Redacted::new(SECRET.into()),
        );
        cfg.management_api_url = Some(self.url.clone());
        cfg.allow_insecure = true;
        cfg.rate_limit = RateLimit {
            requests_per_second: 1000.0,
            burst: 1000,
        };
        cfg.request_timeout = Duration::from_millis(500);
        cfg.retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        };
        cfg.max_pause = Duration::from_secs(3);
        cfg
    }

    fn client(&self) -> TenantClient {
        TenantClient::new(self.config(), None).unwrap()
    }
}

fn domain_json(id: &str, name: &str) -> Value {
    json!({
        "custom_domain_id": id, "domain": name, "primary": false, "status": "pending_verification",
        "type": "self_managed_certs",
        "verification": {"methods": [{"name": "txt", "record": "rec-1", "domain": format!("_cf-custom-hostname.{name}")}]}
    })
}

fn create_body(name: &str) -> CreateDomain {
    CreateDomain {
        domain: name.into(),
        type_: DomainType::SelfManagedCerts,
        verification_method: None,
        tls_policy: None,
        custom_client_ip_header: None,
        domain_metadata: [("k8s_owner".to_string(), "c/ns/n".to_string())].into(),
        relying_party_identifier: None,
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn token_is_cached_and_sent_as_bearer() {
    let srv = Server::start().await;
    srv.push(
        "GET /api/v2/custom-domains/cd_1",
        (0..3).map(|_| ok(domain_json("cd_1", "a.example.com"))),
    );
    let c = srv.client();
    for _ in 0..3 {
        assert_eq!(
            c.get_domain("cd_1").await.unwrap().unwrap().domain,
            "a.example.com"
        );
    }
    assert_eq!(srv.tokens(), 1);
    let seen = srv.seen("GET /api/v2/custom-domains/cd_1");
    assert!(seen.iter().all(|s| s.auth.as_deref() == Some("Bearer tok-1")));
    let token_req: Value = serde_json::from_str(&srv.seen("POST /oauth/token")[0].body).unwrap();
    assert_eq!(token_req["grant_type"], "client_credentials");
    assert_eq!(token_req["audience"], "https://scripted.auth0.test/api/v2/");
    assert_eq!(token_req["client_secret"], SECRET);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let srv = Server::start().await;
    srv.push(
        "GET /api/v2/custom-domains/cd_1",
        [
            status(
                401,
                json!({"statusCode": 401, "error": "Unauthorized", "message": "Expired token"}),
            ),
            ok(domain_json("cd_1", "a.example.com")),
        ],
    );
    let c = srv.client();
    assert!(c.get_domain("cd_1").await.unwrap().is_some());
    assert_eq!(srv.tokens(), 2);
    let auths: Vec<_> = srv
        .seen("GET /api/v2/custom-domains/cd_1")
        .into_iter()
        .map(|s| s.auth.unwrap())
        .collect();
    assert_eq!(auths, vec!["Bearer tok-1", "Bearer tok-2"]);

    // A second 401 right after a fresh token is the credentials' fault: no loop.
    srv.push(
        "GET /api/v2/custom-domains/cd_2",
        (0..2).map(|_| {
            status(
                401,
                json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}),
            )
        }),
    );
    let err = c.get_domain("cd_2").await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.is_auth() && !err.is_transient());
    assert_eq!(srv.seen("GET /api/v2/custom-domains/cd_2").len(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let srv = Server::start().await;
    srv.script.lock().unwrap().token_delay = Duration::from_millis(150);
    srv.push(
        "GET /api/v2/tenants/settings",
        (0..20).map(|_| ok(json!({"mtls": {"enable_endpoint_aliases": true}}))),
    );
    let c = srv.client();
    let calls = (0..20).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.get_tenant_settings().await })
    });
    for h in calls.collect::<Vec<_>>() {
        assert_eq!(
            h.await.unwrap().unwrap().mtls.unwrap().enable_endpoint_aliases,
            Some(true)
        );
    }
    assert_eq!(srv.tokens(), 1);
}

#[tokio::test]
async fn token_refused_is_a_permanent_credentials_error_without_secrets() {
    let srv = Server::start().await;
    srv.push(
        "POST /oauth/token",
        [status(
            401,
            json!({"error": "access_denied", "error_description": "Unauthorized"}),
        )],
    );
    let c = srv.client();
    let err = c.check_credentials().await.unwrap_err();
    assert!(matches!(err, Error::Token { status: 401, .. }), "{err:?}");
    assert!(err.is_auth() && !err.is_transient());
    assert_eq!(
        srv.seen("POST /oauth/token").len(),
        1,
        "4xx from the token endpoint is not retried"
    );
    for text in [format!("{err}"), format!("{err:?}"), format!("{c:?}")] {
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed_so_the_secret_stays_put() {
    let srv = Server::start().await;
    srv.push(
        "POST /oauth/token",
        [with_headers(
            status(307, json!({})),
            vec![("location", "/stolen/oauth/token".to_string())],
        )],
    );
    let c = srv.client();
    let err = c.check_credentials().await.unwrap_err();
    assert_eq!(err.status(), Some(307), "{err:?}");
    assert!(
        srv.seen("POST /stolen/oauth/token").is_empty(),
        "the token request (with the client secret) was re-sent to the redirect target"
    );
    assert!(!format!("{err}").contains(SECRET));
}

#[tokio::test]
async fn credentials_check_reports_scopes() {
    let srv = Server::start().await;
    let c = srv.client();
    let check = c.check_credentials().await.unwrap();
    assert_eq!(
        check.missing(&auth0_domain_operator::auth0::client::CUSTOM_DOMAIN_SCOPES),
        vec!["update:custom_domains", "delete:custom_domains"]
    );
}

#[tokio::test]
async fn transient_errors_on_get_are_retried() {
    let srv = Server::start().await;
    srv.push(
        "GET /api/v2/custom-domains/cd_1",
        [
            status(
                503,
                json!({"statusCode": 503, "error": "Service Unavailable", "message": "down"}),
            ),
            Step::Sleep(
                Duration::from_secs(2),
                Box::new(ok(domain_json("cd_1", "slow.example.com"))),
            ),
            ok(domain_json("cd_1", "a.example.com")),
        ],
    );
    let c = srv.client();
    assert_eq!(
        c.get_domain("cd_1").await.unwrap().unwrap().domain,
        "a.example.com"
    );
    assert_eq!(srv.seen("GET /api/v2/custom-domains/cd_1").len(), 3);

    // Retries are bounded.
    srv.push(
        "PATCH /api/v2/custom-domains/cd_1",
        (0..5).map(|_| status(502, json!({}))),
    );
    let err = c.patch_domain("cd_1", &Default::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.is_transient());
    assert_eq!(srv.seen("PATCH /api/v2/custom-domains/cd_1").len(), 3);
}

#[tokio::test]
async fn create_is_never_blindly_retried() {
    let srv = Server::start().await;
    let c = srv.client();

    // 5xx: Auth0 may have created it.
    srv.push(
        "POST /api/v2/custom-domains",
        [
            status(503, json!({"statusCode": 503})),
            status(201, domain_json("cd_x", "x")),
        ],
    );
    let err = c.create_domain(&create_body("a.example.com")).await.unwrap_err();
    assert!(err.is_create_ambiguous() && err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("a.example.com"));
    assert_eq!(srv.seen("POST /api/v2/custom-domains").len(), 1);

    // Timeout: same.
    srv.script.lock().unwrap().queues.clear();
    srv.push(
        "POST /api/v2/custom-domains",
        [Step::Sleep(
            Duration::from_secs(2),
            Box::new(status(201, domain_json("cd_1", "b.example.com"))),
        )],
    );
    let err = c.create_domain(&create_body("b.example.com")).await.unwrap_err();
    assert!(err.is_create_ambiguous(), "{err:?}");
    assert_eq!(srv.seen("POST /api/v2/custom-domains").len(), 2);

    // 429: certainly not processed, so it is sent again after the pause.
    srv.push(
        "POST /api/v2/custom-domains",
        [
            with_headers(
                status(429, json!({"statusCode": 429, "error": "Too Many Requests", "errorCode": "too_many_requests"})),
                vec![("x-ratelimit-limit", "50".into()), ("x-ratelimit-remaining", "0".into())],
            ),
            status(201, domain_json("cd_2", "c.example.com")),
        ],
    );
    let created = c.create_domain(&create_body("c.example.com")).await.unwrap();
    assert_eq!(created.custom_domain_id, "cd_2");
    assert_eq!(srv.seen("POST /api/v2/custom-domains").len(), 4);

    // 409 duplicate: permanent, not retried.
    srv.push("POST /api/v2/custom-domains", [status(409, json!({"statusCode": 409, "error": "Conflict", "message": "The specified custom domain already exists"}))]);
    let err = c.create_domain(&create_body("c.example.com")).await.unwrap_err();
    assert!(err.is_conflict() && !err.is_transient() && !err.is_create_ambiguous());
    assert_eq!(srv.seen("POST /api/v2/custom-domains").len(), 5);
}

#[tokio::test]
async fn refused_connection_is_not_ambiguous() {
    // Bind then drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = TenantConfig::new("closed", "closed.test", "id", Redacted::new(SECRET.into()));
    cfg.management_api_url = Some(format!("http://127.0.0.1:{port}"));
    cfg.allow_insecure = true;
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    let c = TenantClient::new(cfg, None).unwrap();
    let err = c.create_domain(&create_body("a.example.com")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: auth0_domain_operator::auth0::error::TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient() && !err.is_create_ambiguous());
}

#[tokio::test]
async fn a_429_pauses_the_tenant_until_reset() {
    let srv = Server::start().await;
    let reset = unix_now() + 1;
    srv.push(
        "GET /api/v2/custom-domains/cd_1",
        [
            with_headers(
                status(429, json!({"statusCode": 429, "errorCode": "too_many_requests", "message": "Global limit has been reached"})),
                vec![("x-ratelimit-limit", "50".into()), ("x-ratelimit-remaining", "0".into()), ("x-ratelimit-reset", reset.to_string())],
            ),
            ok(domain_json("cd_1", "a.example.com")),
        ],
    );
    srv.push("GET /api/v2/tenants/settings", [ok(json!({}))]);
    let metrics = Arc::new(Metrics::new());
    let c = TenantClient::new(srv.config(), Some(metrics.clone())).unwrap();
    let start = Instant::now();
    assert!(c.get_domain("cd_1").await.unwrap().is_some());
    let reset_at = UNIX_EPOCH + Duration::from_secs(reset);
    assert!(
        SystemTime::now() >= reset_at - Duration::from_millis(50),
        "waited until the reset"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    c.get_tenant_settings().await.unwrap();
    let text = metrics.encode().unwrap();
    assert!(text.contains(r#"auth0_domain_operator_auth0_ratelimited_total{tenant="scripted",endpoint="GET /custom-domains/{id}"} 1"#), "{text}");
    assert!(text.contains(r#"auth0_domain_operator_auth0_requests_total{tenant="scripted",endpoint="GET /custom-domains/{id}",status="429"} 1"#));
    assert!(text.contains(r#"auth0_domain_operator_auth0_requests_total{tenant="scripted",endpoint="GET /custom-domains/{id}",status="200"} 1"#));
    assert!(text.contains(r#"auth0_domain_operator_auth0_ratelimit_wait_seconds_count{tenant="scripted"}"#));
}

#[tokio::test]
async fn a_verify_429_pauses_only_verify() {
    let srv = Server::start().await;
    srv.push(
        "POST /api/v2/custom-domains/cd_1/verify",
        [
            with_headers(
                status(429, json!({"statusCode": 429, "errorCode": "too_many_requests"})),
                vec![("x-ratelimit-limit", "5".into()), ("x-ratelimit-remaining", "0".into()), ("x-ratelimit-reset", (unix_now() + 2).to_string())],
            ),
            ok(json!({"custom_domain_id": "cd_1", "domain": "a.example.com", "status": "ready", "type": "self_managed_certs", "cname_api_key": KEY})),
        ],
    );
    srv.push(
        "GET /api/v2/custom-domains/cd_1",
        [ok(domain_json("cd_1", "a.example.com"))],
    );
    let mut cfg = srv.config();
    cfg.retry.max_attempts = 1; // surface the 429 instead of waiting it out
    let c = TenantClient::new(cfg, None).unwrap();
    let err = c.verify_domain("cd_1").await.unwrap_err();
    assert!(err.is_rate_limited() && err.is_transient());
    assert!(err.retry_after(Duration::from_secs(60)).is_some());
    assert!(c.budget().verify_paused_for() > Duration::from_millis(500));
    assert_eq!(c.budget().tenant_paused_for(), Duration::ZERO);
    let start = Instant::now();
    c.get_domain("cd_1").await.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "other calls are not paused"
    );
    let start = Instant::now();
    let verified = c.verify_domain("cd_1").await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "verify waited for its pause"
    );
    assert_eq!(verified.cname_api_key.as_ref().unwrap().expose(), KEY);
    assert!(!format!("{verified:?}").contains(KEY));
}

#[tokio::test]
async fn pagination_and_fallback() {
    let srv = Server::start().await;
    let page = |from: usize, n: usize, next: Option<&str>| {
        let domains: Vec<Value> = (from..from + n)
            .map(|i| domain_json(&format!("cd_{i}"), &format!("d{i:03}.example.com")))
            .collect();
        let mut body = json!({"custom_domains": domains});
        if let Some(n) = next {
            body["next"] = json!(n);
        }
        ok(body)
    };
    srv.push(
        "GET /api/v2/custom-domains",
        [
            page(0, 100, Some("cp1")),
            page(100, 100, Some("cp2")),
            page(200, 50, None),
        ],
    );
    let c = srv.client();
    let all = c.list_domains().await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(c.supports_pagination(), Some(true));
    let queries: Vec<_> = srv
        .seen("GET /api/v2/custom-domains")
        .into_iter()
        .map(|s| s.query.unwrap())
        .collect();
    assert_eq!(
        queries,
        vec!["take=100", "take=100&from=cp1", "take=100&from=cp2"]
    );

    // A tenant without checkpoint pagination: 400, then the plain list, remembered.
    let srv = Server::start().await;
    let plain: Vec<Value> = (0..3)
        .map(|i| domain_json(&format!("cd_{i}"), &format!("p{i}.example.com")))
        .collect();
    srv.push(
        "GET /api/v2/custom-domains",
        [
            status(
                400,
                json!({"statusCode": 400, "error": "Bad Request", "errorCode": "invalid_query_string"}),
            ),
            ok(json!(plain.clone())),
            ok(json!(plain)),
        ],
    );
    let c = srv.client();
    assert_eq!(c.list_domains().await.unwrap().len(), 3);
    assert_eq!(c.supports_pagination(), Some(false));
    assert_eq!(c.list_domains().await.unwrap().len(), 3);
    let queries: Vec<_> = srv
        .seen("GET /api/v2/custom-domains")
        .into_iter()
        .map(|s| s.query)
        .collect();
    assert_eq!(queries, vec![Some("take=100".to_string()), None, None]);

    // A 400 on a later page is an error, not a reason to read the plain list: the pages already
    // handed over would come twice.
    let srv = Server::start().await;
    srv.push(
        "GET /api/v2/custom-domains",
        [
            page(0, 100, Some("cp1")),
            status(400, json!({"statusCode": 400, "error": "Bad Request"})),
        ],
    );
    let c = srv.client();
    let mut pages = Vec::new();
    let err = c.for_each_domain_page(|p| pages.push(p.len())).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(pages, vec![100], "the first page was handed over once");
    assert_eq!(srv.seen("GET /api/v2/custom-domains").len(), 2);
    assert_ne!(c.supports_pagination(), Some(false));
}

#[tokio::test]
async fn not_found_semantics_and_find_by_name() {
    let srv = Server::start().await;
    let nf = || {
        status(
            404,
            json!({"statusCode": 404, "error": "Not Found", "errorCode": "inexistent_custom_domain", "message": "The custom domain does not exist"}),
        )
    };
    srv.push("GET /api/v2/custom-domains/cd_gone", [nf()]);
    srv.push("DELETE /api/v2/custom-domains/cd_gone", [nf()]);
    srv.push("PATCH /api/v2/custom-domains/cd_gone", [nf()]);
    srv.push(
        "GET /api/v2/custom-domains",
        [ok(json!([
            domain_json("cd_a", "other.example.com"),
            domain_json("cd_b", "Login.Example.com")
        ]))],
    );
    let c = srv.client();
    assert!(c.get_domain("cd_gone").await.unwrap().is_none());
    c.delete_domain("cd_gone").await.unwrap();
    let err = c.patch_domain("cd_gone", &Default::default()).await.unwrap_err();
    assert!(err.is_not_found() && !err.is_transient());
    assert_eq!(err.error_code(), Some("inexistent_custom_domain"));
    let found = c.find_domain("login.example.com").await.unwrap().unwrap();
    assert_eq!(found.custom_domain_id, "cd_b");
    assert_eq!(
        srv.seen("GET /api/v2/custom-domains")[0].query.as_deref(),
        Some("q=domain%3Alogin.example.com")
    );
}

#[tokio::test]
async fn secrets_stay_out_of_logs_errors_and_debug() {
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }
    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buf.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let srv = Server::start().await;
    srv.push(
        "POST /api/v2/custom-domains/cd_1/verify",
        [ok(json!({"custom_domain_id": "cd_1", "domain": "a.example.com", "status": "ready", "type": "self_managed_certs", "cname_api_key": KEY}))],
    );
    srv.push(
        "GET /api/v2/custom-domains/cd_1",
        [
            status(401, json!({})),
            status(500, json!({"message": "boom"})),
            status(
                400,
                json!({"statusCode": 400, "errorCode": "invalid_uri", "message": "bad id"}),
            ),
        ],
    );
    let c = srv.client();
    let verified = c.verify_domain("cd_1").await.unwrap();
    let err = c.get_domain("cd_1").await.unwrap_err();
    let create_err = {
        srv.push("POST /api/v2/custom-domains", [status(500, json!({}))]);
        c.create_domain(&create_body("z.example.com")).await.unwrap_err()
    };
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Auth0"), "logging was captured: {logs}");
    for text in [
        logs,
        format!("{verified:?}"),
        format!("{err} {err:?}"),
        format!("{create_err} {create_err:?}"),
        format!("{c:?}"),
        format!("{:?}", srv.config()),
    ] {
        for secret in [SECRET, KEY, "tok-1", "tok-2"] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}

#[tokio::test]
async fn verify_retried_after_a_lost_answer_says_so() {
    let srv = Server::start().await;
    let ready = json!({"custom_domain_id": "cd_1", "domain": "a.example.com", "status": "ready", "type": "self_managed_certs"});
    srv.push(
        "POST /api/v2/custom-domains/cd_1/verify",
        [
            Step::Sleep(Duration::from_secs(2), Box::new(ok(ready.clone()))),
            ok(ready.clone()),
            ok(ready),
        ],
    );
    let c = srv.client();
    let v = c.verify_domain("cd_1").await.unwrap();
    assert!(v.earlier_attempt_lost && v.cname_api_key.is_none());
    let v = c.verify_domain("cd_1").await.unwrap();
    assert!(!v.earlier_attempt_lost);
    assert_eq!(srv.seen("POST /api/v2/custom-domains/cd_1/verify").len(), 3);
}
