//! Malformed Auth0 answers fed to every `TenantClient` call: truncated JSON at every cut point of a
//! valid body, missing fields, wrong types and nulls per field, huge bodies (20 MiB, and a 1 GiB
//! stream), wrong content types, HTML error pages, empty and garbage 2xx bodies, a lying
//! `content-length`, and status codes docs/auth0-api.md#endpoints does not list.
//!
//! Every case must end without a panic in the typed outcome an oracle predicts from the answer
//! (the oracle decodes the body with the same public wire types the client uses), and no planted
//! secret (`cname_api_key`, `access_token`, the client secret) may appear in the error's `Display`
//! or `Debug`. The cases come from a seeded generator, so a failure names a reproducible case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth0_domain_operator::auth0::client::MAX_RESPONSE_BYTES;
use auth0_domain_operator::auth0::token::TokenResponse;
use auth0_domain_operator::auth0::types::{
    CreateDomain, CustomDomain, DomainPage, DomainType, PatchDomain, TlsPolicy, VerifyResponse,
};
use auth0_domain_operator::auth0::{Error, RateLimit, Redacted, RetryPolicy, TenantClient, TenantConfig};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Every planted secret contains this marker; no error text may.
const MARKER: &str = "PLANTED";
const KEY: &str = "cnamekey-PLANTED-9f3a61";
const TOKEN: &str = "eyJhbGciOi.PLANTED-access-token.77c1";
const CLIENT_SECRET: &str = "client-secret-PLANTED-0b2e";
const SEED: u64 = 20_261_125;
const MIB: usize = 1024 * 1024;

/// The client call a case exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    List,
    Get,
    Create,
    Patch,
    Verify,
    Delete,
    Token,
}

const API_CALLS: [Call; 6] = [
    Call::List,
    Call::Get,
    Call::Create,
    Call::Patch,
    Call::Verify,
    Call::Delete,
];

/// How the body goes on the wire.
#[derive(Clone)]
enum Wire {
    /// A complete body with its `content-length`.
    Full(Bytes),
    /// `count` copies of `chunk`, chunked (no `content-length`).
    Chunked { chunk: Bytes, count: usize },
    /// A short body under a larger declared `content-length`: the connection ends early.
    LyingLength { body: Bytes, declared: usize },
}

impl Wire {
    fn len(&self) -> usize {
        match self {
            Wire::Full(b) => b.len(),
            Wire::Chunked { chunk, count } => chunk.len() * count,
            Wire::LyingLength { declared, .. } => *declared,
        }
    }
}

/// One scripted answer.
#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    wire: Wire,
}

fn json_answer(status: u16, body: impl Into<Bytes>) -> Answer {
    Answer {
        status,
        content_type: Some("application/json; charset=utf-8"),
        wire: Wire::Full(body.into()),
    }
}

/// One generated case.
struct Case {
    family: &'static str,
    /// The mutation put a planted secret into an ordinary field: a decoded value may then show it
    /// (it is the server's data), so only errors are checked for it.
    secret_moved: bool,
    label: String,
    call: Call,
    answer: Answer,
}

/// What the client must return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Ok,
    Decode,
    BodyTooLarge,
    Api(u16),
    Token(u16),
    CreateOutcomeUnknown,
    Transport,
    Other,
}

impl Outcome {
    fn of(err: &Error) -> Self {
        match err {
            Error::Decode { .. } => Self::Decode,
            Error::BodyTooLarge { .. } => Self::BodyTooLarge,
            Error::Api { status, .. } => Self::Api(*status),
            Error::Token { status, .. } => Self::Token(*status),
            Error::CreateOutcomeUnknown { .. } => Self::CreateOutcomeUnknown,
            Error::Transport { .. } => Self::Transport,
            _ => Self::Other,
        }
    }

    /// Variant name for the summary table.
    fn variant(self) -> &'static str {
        match self {
            Self::Ok => "Ok",
            Self::Decode => "Error::Decode",
            Self::BodyTooLarge => "Error::BodyTooLarge",
            Self::Api(_) => "Error::Api",
            Self::Token(_) => "Error::Token",
            Self::CreateOutcomeUnknown => "Error::CreateOutcomeUnknown",
            Self::Transport => "Error::Transport",
            Self::Other => "other",
        }
    }
}

/// Predicts the outcome from the answer, decoding the body with the client's own wire types.
fn oracle(call: Call, a: &Answer) -> Outcome {
    if matches!(a.wire, Wire::LyingLength { .. }) {
        // The request was sent and the answer cut off: a create may have happened.
        return if call == Call::Create {
            Outcome::CreateOutcomeUnknown
        } else {
            Outcome::Transport
        };
    }
    let success = (200..300).contains(&a.status);
    // 204 and 304 never carry a body on the wire.
    let body: Option<Vec<u8>> = match &a.wire {
        _ if a.status == 204 || a.status == 304 => Some(Vec::new()),
        w if w.len() > MAX_RESPONSE_BYTES => None,
        Wire::Full(b) => Some(b.to_vec()),
        Wire::Chunked { chunk, count } => Some(chunk.repeat(*count)),
        Wire::LyingLength { .. } => unreachable!(),
    };
    if call == Call::Token {
        return match (success, body) {
            (true, None) => Outcome::BodyTooLarge,
            (true, Some(b)) if serde_json::from_slice::<TokenResponse>(&b).is_ok() => Outcome::Ok,
            (true, Some(_)) => Outcome::Decode,
            (false, _) => Outcome::Token(a.status),
        };
    }
    if success {
        let Some(b) = body else {
            return if call == Call::Create {
                Outcome::CreateOutcomeUnknown
            } else {
                Outcome::BodyTooLarge
            };
        };
        let decodes = match call {
            Call::Delete => true,
            Call::Get | Call::Create | Call::Patch => serde_json::from_slice::<CustomDomain>(&b).is_ok(),
            Call::Verify => serde_json::from_slice::<VerifyResponse>(&b).is_ok(),
            Call::List => match serde_json::from_slice::<Value>(&b) {
                Ok(v) if v.is_array() => serde_json::from_value::<Vec<CustomDomain>>(v).is_ok(),
                Ok(v) => serde_json::from_value::<DomainPage>(v).is_ok(),
                Err(_) => false,
            },
            Call::Token => unreachable!(),
        };
        return if decodes { Outcome::Ok } else { Outcome::Decode };
    }
    match (call, a.status) {
        (Call::Get | Call::Delete, 404) => Outcome::Ok,
        // 5xx: the create may have happened. Statuses past 599 are not server errors to the client.
        (Call::Create, s) if (500..600).contains(&s) => Outcome::CreateOutcomeUnknown,
        (_, s) => Outcome::Api(s),
    }
}

// ---- the scripted server ----

#[derive(Clone)]
struct Script {
    api: Arc<Mutex<Answer>>,
    token: Arc<Mutex<Answer>>,
}

async fn handle(State(s): State<Script>, req: Request<Body>) -> Response {
    let answer = if req.uri().path() == "/oauth/token" {
        s.token.lock().unwrap().clone()
    } else {
        s.api.lock().unwrap().clone()
    };
    let mut b = Response::builder().status(StatusCode::from_u16(answer.status).unwrap());
    if let Some(ct) = answer.content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    match answer.wire {
        Wire::Full(bytes) => b.body(Body::from(bytes)).unwrap(),
        Wire::Chunked { chunk, count } => b
            .body(Body::from_stream(futures::stream::iter(
                (0..count).map(move |_| Ok::<_, Infallible>(chunk.clone())),
            )))
            .unwrap(),
        // A stream has no size of its own, so the declared length is what goes on the wire.
        Wire::LyingLength { body, declared } => b
            .header(header::CONTENT_LENGTH, declared)
            .body(Body::from_stream(futures::stream::iter([Ok::<_, Infallible>(
                body,
            )])))
            .unwrap(),
    }
}

fn valid_token() -> Value {
    json!({"access_token": TOKEN, "scope": "read:custom_domains create:custom_domains update:custom_domains delete:custom_domains",
           "expires_in": 86400, "token_type": "Bearer"})
}

async fn start() -> (String, Script) {
    let script = Script {
        api: Arc::new(Mutex::new(json_answer(200, "{}"))),
        token: Arc::new(Mutex::new(json_answer(200, valid_token().to_string()))),
    };
    let app = Router::new().fallback(handle).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, script)
}

fn client(url: &str) -> TenantClient {
    let mut cfg = TenantConfig::new(
        "malformed",
        "malformed.auth0.test",
        "client-id",
        Redacted::new(CLIENT_SECRET.into()),
    );
    cfg.management_api_url = Some(url.to_owned());
    cfg.allow_insecure = true;
    let unlimited = RateLimit {
        requests_per_second: 1e9,
        burst: 1_000_000,
    };
    cfg.rate_limit = unlimited;
    cfg.verify_limit = unlimited;
    cfg.request_timeout = Duration::from_secs(10);
    // One attempt per call: each case is one scripted answer, retries would only repeat it.
    cfg.retry = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    cfg.max_pause = Duration::from_millis(10);
    TenantClient::new(cfg, None).unwrap()
}

/// Runs `call`; the text is the Debug of an Ok value or the Display + Debug of an error.
async fn run(client: TenantClient, call: Call) -> (Outcome, String) {
    fn done<T: std::fmt::Debug>(r: Result<T, Error>) -> (Outcome, String) {
        match r {
            Ok(v) => (Outcome::Ok, format!("{v:?}")),
            Err(e) => (Outcome::of(&e), format!("{e}\n{e:?}")),
        }
    }
    match call {
        Call::List => done(client.list_domains().await),
        Call::Get => done(client.get_domain("cd_0123456789abcdef").await),
        Call::Create => done(
            client
                .create_domain(&CreateDomain {
                    domain: "login.example.com".into(),
                    type_: DomainType::SelfManagedCerts,
                    verification_method: None,
                    tls_policy: Some(TlsPolicy::Recommended),
                    custom_client_ip_header: None,
                    domain_metadata: BTreeMap::from([("k8s_owner".into(), "c/ns/n".into())]),
                    relying_party_identifier: None,
                })
                .await,
        ),
        Call::Patch => done(
            client
                .patch_domain(
                    "cd_0123456789abcdef",
                    &PatchDomain {
                        tls_policy: Some(TlsPolicy::Recommended),
                        ..PatchDomain::default()
                    },
                )
                .await,
        ),
        Call::Verify => done(client.verify_domain("cd_0123456789abcdef").await),
        Call::Delete => done(client.delete_domain("cd_0123456789abcdef").await),
        Call::Token => done(client.check_credentials().await),
    }
}

// ---- case generation ----

fn domain(with_key: bool) -> Value {
    let mut d = json!({
        "custom_domain_id": "cd_0123456789abcdef",
        "domain": "login.example.com",
        "primary": false,
        "is_default": false,
        "status": "ready",
        "type": "self_managed_certs",
        "origin_domain_name": "acme-cd-0123.edge.tenants.eu.auth0.com",
        "verification": {"methods": [{"name": "txt", "record": "rec-1", "domain": "_cf-custom-hostname.login.example.com"}],
                          "status": "verified", "error_msg": null, "last_verified_at": "2026-11-25T10:00:00Z"},
        "certificate": {"status": "provisioned", "certificate_authority": "letsencrypt", "renews_before": "2027-01-01"},
        "tls_policy": "recommended",
        "custom_client_ip_header": "true-client-ip",
        "domain_metadata": {"k8s_owner": "c/ns/n", "team": "id"},
        "relying_party_identifier": "example.com",
        // An unknown field carrying a secret: ignored when decoding, never echoed when not.
        "debug_access_token": TOKEN
    });
    if with_key {
        d["cname_api_key"] = json!(KEY);
    }
    d
}

/// The valid success body of a call.
fn valid_body(call: Call) -> Value {
    match call {
        Call::List => json!({"custom_domains": [domain(false), domain(false)]}),
        Call::Verify => domain(true),
        Call::Token => valid_token(),
        Call::Delete => json!({}),
        _ => domain(false),
    }
}

fn success_status(call: Call) -> u16 {
    match call {
        Call::Create => 201,
        _ => 200,
    }
}

type Path = Vec<Seg>;

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Every path to a value inside objects and arrays (not the root).
fn paths(v: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(Seg::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(Seg::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn path_text(p: &Path) -> String {
    p.iter()
        .map(|s| match s {
            Seg::Key(k) => format!(".{k}"),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect()
}

fn parent_mut<'a>(v: &'a mut Value, p: &Path) -> &'a mut Value {
    let mut cur = v;
    for s in &p[..p.len() - 1] {
        cur = match s {
            Seg::Key(k) => &mut cur[k.as_str()],
            Seg::Index(i) => &mut cur[*i],
        };
    }
    cur
}

fn removed(v: &Value, p: &Path) -> Value {
    let mut v = v.clone();
    let parent = parent_mut(&mut v, p);
    match p.last().unwrap() {
        Seg::Key(k) => {
            parent.as_object_mut().unwrap().remove(k);
        }
        Seg::Index(i) => {
            parent.as_array_mut().unwrap().remove(*i);
        }
    }
    v
}

fn replaced(v: &Value, p: &Path, with: Value) -> Value {
    let mut v = v.clone();
    let parent = parent_mut(&mut v, p);
    match p.last().unwrap() {
        Seg::Key(k) => parent[k.as_str()] = with,
        Seg::Index(i) => parent[*i] = with,
    }
    v
}

/// Values of the wrong type (and nulls) put in place of a field; the planted secret as a wrong-typed
/// value checks that parser messages never quote it.
fn wrong_values() -> Vec<(&'static str, Value)> {
    vec![
        ("null", Value::Null),
        ("true", json!(true)),
        ("0", json!(0)),
        ("-1", json!(-1)),
        ("1.5", json!(1.5)),
        (
            "u64 max + 1",
            serde_json::from_str("18446744073709551616").unwrap(),
        ),
        ("empty string", json!("")),
        ("planted secret string", json!(KEY)),
        ("empty list", json!([])),
        ("list of secret", json!([TOKEN])),
        ("empty object", json!({})),
        ("object", json!({"value": TOKEN})),
    ]
}

const HTML: &str = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>upstream auth0 said no</p></body></html>";

fn generate() -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut cases = Vec::new();
    let mut add = |family: &'static str, label: String, call: Call, answer: Answer| {
        cases.push(Case {
            family,
            secret_moved: label.contains("secret") || label.ends_with("= object"),
            label,
            call,
            answer,
        })
    };
    let domain_calls = [Call::Get, Call::Create, Call::Patch, Call::Verify];

    // Truncated JSON at every cut point of each valid body (compact JSON: no proper prefix parses).
    for call in [Call::Verify, Call::List, Call::Token] {
        let body = serde_json::to_vec(&valid_body(call)).unwrap();
        for cut in 0..body.len() {
            // The domain body (with its one-time key) is read by get, create, patch and verify:
            // rotate the cut points over them.
            let call = if call == Call::Verify {
                domain_calls[cut % domain_calls.len()]
            } else {
                call
            };
            add(
                "truncated",
                format!("{call:?} cut at {cut}/{}", body.len()),
                call,
                json_answer(success_status(call), body[..cut].to_vec()),
            );
        }
    }

    // Missing fields and wrong types, per field of each valid body.
    for call in [Call::Get, Call::Verify, Call::List, Call::Token] {
        let valid = valid_body(call);
        let mut all = Vec::new();
        paths(&valid, &mut Vec::new(), &mut all);
        for (i, p) in all.iter().enumerate() {
            let body = removed(&valid, p);
            // Spread the domain-body cases over every call that reads a domain.
            let c = if call == Call::Get {
                domain_calls[i % domain_calls.len()]
            } else {
                call
            };
            add(
                "missing-field",
                format!("{c:?} without {}", path_text(p)),
                c,
                json_answer(success_status(c), body.to_string()),
            );
            for (j, (what, v)) in wrong_values().into_iter().enumerate() {
                let c = if call == Call::Get {
                    domain_calls[(i + j) % domain_calls.len()]
                } else {
                    call
                };
                add(
                    if what == "null" { "null" } else { "wrong-type" },
                    format!("{c:?} {} = {what}", path_text(p)),
                    c,
                    json_answer(success_status(c), replaced(&valid, p, v).to_string()),
                );
            }
        }
    }
    // Token lifetimes at the edges of u64 (the refresh time must not overflow the clock).
    for expires in ["18446744073709551615", "10000000000000000000", "0", "-1", "1e400"] {
        let body = valid_token().to_string().replace("86400", expires);
        add(
            "wrong-type",
            format!("Token expires_in = {expires}"),
            Call::Token,
            json_answer(200, body),
        );
    }

    // Whole bodies of the wrong shape.
    for call in API_CALLS.iter().copied().chain([Call::Token]) {
        for (what, body) in [
            ("null", "null"),
            ("number", "42"),
            ("string", "\"cnamekey-PLANTED-9f3a61\""),
            ("empty object", "{}"),
            ("empty list", "[]"),
            ("list of null", "[null]"),
            (
                "object with secret only",
                r#"{"cname_api_key":"cnamekey-PLANTED-9f3a61","access_token":"x-PLANTED"}"#,
            ),
            ("trailing garbage", r#"{"custom_domain_id":"cd_1"} trailing"#),
            ("two documents", "{}{}"),
            ("BOM before JSON", "\u{feff}{}"),
        ] {
            add(
                "wrong-shape",
                format!("{call:?} body {what}"),
                call,
                json_answer(success_status(call), body.to_owned()),
            );
        }
        // Deeply nested arrays: the parser's recursion limit, not the stack, must stop it.
        add(
            "wrong-shape",
            format!("{call:?} nested 100000 deep"),
            call,
            json_answer(success_status(call), "[".repeat(100_000)),
        );
    }

    // Empty bodies, HTML pages and wrong content types.
    for call in API_CALLS.iter().copied().chain([Call::Token]) {
        add(
            "empty-2xx",
            format!("{call:?} 200 empty"),
            call,
            json_answer(200, ""),
        );
        add(
            "empty-2xx",
            format!("{call:?} 201 empty"),
            call,
            json_answer(201, ""),
        );
        add("empty-2xx", format!("{call:?} 204"), call, json_answer(204, ""));
        for status in [200, 400, 401, 403, 404, 409, 500, 502, 503, 504] {
            add(
                "html",
                format!("{call:?} {status} HTML page"),
                call,
                Answer {
                    status,
                    content_type: Some("text/html"),
                    wire: Wire::Full(Bytes::from_static(HTML.as_bytes())),
                },
            );
        }
        let valid = serde_json::to_vec(&valid_body(call)).unwrap();
        for ct in [
            Some("text/html"),
            Some("text/plain"),
            Some("application/xml"),
            None,
        ] {
            add(
                "content-type",
                format!("{call:?} valid body as {ct:?}"),
                call,
                Answer {
                    status: success_status(call),
                    content_type: ct,
                    wire: Wire::Full(valid.clone().into()),
                },
            );
        }
    }

    // Status codes docs/auth0-api.md does not list, with a valid body, an error body carrying planted
    // secrets, an error body of the wrong types, and no body.
    let unlisted = [
        202, 203, 206, 207, 226, 299, 300, 301, 302, 304, 305, 308, 402, 405, 406, 407, 408, 410, 411, 413,
        414, 415, 418, 420, 421, 422, 423, 424, 425, 426, 428, 431, 444, 451, 499, 501, 505, 507, 508, 509,
        510, 511, 520, 521, 522, 524, 598, 599, 600, 799, 999,
    ];
    for (i, status) in unlisted.into_iter().enumerate() {
        for (k, call) in API_CALLS.iter().copied().chain([Call::Token]).enumerate() {
            let body = match (i + k) % 4 {
                0 => serde_json::to_vec(&valid_body(call)).unwrap(),
                1 => json!({"statusCode": status, "error": "Odd", "message": "odd status", "errorCode": "odd",
                            "cname_api_key": KEY, "access_token": TOKEN})
                .to_string()
                .into_bytes(),
                2 => json!({"statusCode": "x", "message": 5, "errorCode": [KEY], "error_description": {"t": TOKEN}})
                    .to_string()
                    .into_bytes(),
                _ => Vec::new(),
            };
            add(
                "status",
                format!("{call:?} status {status}"),
                call,
                json_answer(status, body),
            );
        }
    }

    // 2xx with garbage: seeded random bytes (invalid UTF-8, NULs, control characters).
    for i in 0..120 {
        let call = API_CALLS.iter().copied().chain([Call::Token]).nth(i % 7).unwrap();
        let len = rng.random_range(1..2048);
        let mut garbage: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Never a valid JSON start by accident: a leading byte no JSON text begins with.
        garbage[0] = rng.random_range(0x80..=0xff);
        add(
            "garbage-2xx",
            format!("{call:?} {len} random bytes"),
            call,
            json_answer(success_status(call), garbage),
        );
    }

    // Seeded random mutations: a random field of a random body gets a random wrong value.
    for _ in 0..300 {
        let call = [
            Call::Get,
            Call::Create,
            Call::Patch,
            Call::Verify,
            Call::List,
            Call::Token,
        ][rng.random_range(0..6)];
        let valid = valid_body(call);
        let mut all = Vec::new();
        paths(&valid, &mut Vec::new(), &mut all);
        let p = &all[rng.random_range(0..all.len())];
        let values = wrong_values();
        let (what, v) = values[rng.random_range(0..values.len())].clone();
        add(
            "random-mutation",
            format!("{call:?} {} = {what}", path_text(p)),
            call,
            json_answer(success_status(call), replaced(&valid, p, v).to_string()),
        );
    }

    // Huge bodies: the client must stop reading at its limit and say so.
    let filler = Bytes::from(vec![b' '; MIB]);
    let mut big_json = b"{\"custom_domain_id\":\"cd_1\",\"pad\":\"".to_vec();
    big_json.resize(20 * MIB, b'a');
    big_json.extend_from_slice(b"\"}");
    let big_json = Bytes::from(big_json);
    for call in API_CALLS.iter().copied().chain([Call::Token]) {
        add(
            "huge",
            format!("{call:?} 20 MiB JSON with content-length"),
            call,
            json_answer(success_status(call), big_json.clone()),
        );
        add(
            "huge",
            format!("{call:?} 20 MiB chunked"),
            call,
            Answer {
                status: success_status(call),
                content_type: Some("application/json"),
                wire: Wire::Chunked {
                    chunk: filler.clone(),
                    count: 20,
                },
            },
        );
    }
    add(
        "huge",
        "Verify 1 GiB stream (bounded read)".into(),
        Call::Verify,
        Answer {
            status: 200,
            content_type: Some("application/json"),
            wire: Wire::Chunked {
                chunk: Bytes::from(vec![b'['; MIB]),
                count: 1024,
            },
        },
    );
    add(
        "huge",
        "Get 503 with a 20 MiB HTML error page".into(),
        Call::Get,
        Answer {
            status: 503,
            content_type: Some("text/html"),
            wire: Wire::Chunked {
                chunk: filler.clone(),
                count: 20,
            },
        },
    );
    add(
        "huge",
        "Token 401 with a 20 MiB body".into(),
        Call::Token,
        json_answer(401, big_json.clone()),
    );

    // The connection ends before the declared length.
    for call in API_CALLS.iter().copied().chain([Call::Token]) {
        add(
            "lying-length",
            format!("{call:?} 1000 bytes declared, 12 sent"),
            call,
            Answer {
                status: success_status(call),
                content_type: Some("application/json"),
                wire: Wire::LyingLength {
                    body: Bytes::from_static(b"{\"domain\":\"x"),
                    declared: 1000,
                },
            },
        );
    }
    cases
}

/// The process's peak resident set (`VmHWM`), where /proc has it.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_give_typed_errors_without_panics_or_secrets() {
    let cases = generate();
    let started = Instant::now();
    let (url, script) = start().await;
    let shared = client(&url);
    let mut failures = Vec::new();
    let mut by_family: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_outcome: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_call: BTreeMap<Call, usize> = BTreeMap::new();
    let mut panics = 0;
    for (n, case) in cases.iter().enumerate() {
        let want = oracle(case.call, &case.answer);
        let client = if case.call == Call::Token {
            // A fresh client has no cached token, so the token endpoint is asked.
            *script.token.lock().unwrap() = case.answer.clone();
            client(&url)
        } else {
            *script.token.lock().unwrap() = json_answer(200, valid_token().to_string());
            *script.api.lock().unwrap() = case.answer.clone();
            shared.clone()
        };
        // Spawned, so a panic in the client is caught and reported as this case's failure.
        let joined = tokio::spawn(run(client, case.call)).await;
        let (got, text) = match joined {
            Ok(r) => r,
            Err(e) if e.is_panic() => {
                panics += 1;
                failures.push(format!("#{n} [{}] {}: PANIC {e}", case.family, case.label));
                continue;
            }
            Err(e) => panic!("join: {e}"),
        };
        *by_family.entry(case.family).or_default() += 1;
        *by_outcome.entry(got.variant()).or_default() += 1;
        *by_call.entry(case.call).or_default() += 1;
        if got != want {
            failures.push(format!(
                "#{n} [{}] {}: want {want:?}, got {got:?}: {}",
                case.family,
                case.label,
                text.lines().next().unwrap_or_default()
            ));
        }
        if text.contains(MARKER) && (got != Outcome::Ok || !case.secret_moved) {
            failures.push(format!(
                "#{n} [{}] {}: a planted secret is in the result: {text}",
                case.family, case.label
            ));
        }
        if case.family == "truncated" && got != Outcome::Decode {
            failures.push(format!(
                "#{n} {}: truncated JSON must be Error::Decode",
                case.label
            ));
        }
    }
    let elapsed = started.elapsed();
    // The 1 GiB stream would lift the peak far past this if the client read bodies unbounded.
    if let Some(peak) = peak_rss_mib() {
        println!("peak RSS {peak} MiB");
        assert!(
            peak < 512,
            "peak RSS {peak} MiB: the client does not bound what it reads"
        );
    }
    println!("{} cases in {elapsed:.1?} ({panics} panics)", cases.len());
    println!("by family:  {by_family:?}");
    println!("by call:    {by_call:?}");
    println!("by outcome: {by_outcome:?}");
    assert!(cases.len() >= 1000, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
