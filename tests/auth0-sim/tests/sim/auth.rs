//! Token endpoint and scopes.

use std::time::Duration;

use auth0_sim::{ClientSpec, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn token_success_json_and_form() {
    let e = env(fast_config()).await;
    let aud = format!("https://{}/api/v2/", e.sim.tenant_domain());
    let r = e
        .http
        .post(format!("{}/oauth/token", e.sim.url()))
        .json(&json!({"grant_type":"client_credentials","client_id":"sim-client","client_secret":"sim-secret","audience":aud}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-ratelimit-limit"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 86_400);
    assert_eq!(b["access_token"].as_str().unwrap().split('.').count(), 3);
    assert!(b["scope"].as_str().unwrap().contains("create:custom_domains"));
    let r = e
        .http
        .post(format!("{}/oauth/token", e.sim.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
            ("audience", aud.as_str()),
            ("scope", "read:custom_domains"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["scope"], "read:custom_domains");
    // The Host-derived audience (localhost) is accepted too.
    let port = e.sim.url().rsplit(':').next().unwrap().to_string();
    let r = e
        .http
        .post(format!("https://localhost:{port}/oauth/token"))
        .json(
            &json!({"grant_type":"client_credentials","client_id":"sim-client","client_secret":"sim-secret",
            "audience": format!("https://localhost:{port}/api/v2/")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn token_error(e: &Env, body: Value) -> (u16, Value) {
    let r = e
        .http
        .post(format!("{}/oauth/token", e.sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn token_errors() {
    let e = env(fast_config()).await;
    let aud = format!("https://{}/api/v2/", e.sim.tenant_domain());
    let (s, b) = token_error(&e, json!({"grant_type":"client_credentials","client_id":"sim-client","client_secret":"nope","audience":aud})).await;
    assert_eq!(
        (s, b["error"].as_str(), b["error_description"].as_str()),
        (401, Some("access_denied"), Some("Unauthorized"))
    );
    let (s, b) = token_error(
        &e,
        json!({"grant_type":"client_credentials","client_id":"who","client_secret":"x","audience":aud}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("access_denied")));
    let (s, b) = token_error(&e, json!({"grant_type":"client_credentials","client_id":"sim-client","client_secret":"sim-secret","audience":"https://other/api/v2/"})).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("access_denied")));
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Client is not authorized to access \"https://other/api/v2/\"")
    );
    let (s, b) = token_error(
        &e,
        json!({"client_id":"sim-client","client_secret":"sim-secret","audience":aud}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn bad_missing_and_expired_tokens_get_401() {
    let e = env(fast_config().token_ttl(Duration::from_secs(1))).await;
    let r = e.call_as("garbage", Method::GET, "/custom-domains", None).await;
    assert_error(&r, 401, None);
    assert_eq!(r.body["message"], "Invalid token");
    assert_eq!(r.body["attributes"], json!({"error": "Invalid token"}));
    assert!(
        r.headers.contains_key("x-ratelimit-remaining"),
        "rate headers on every response"
    );
    let resp = e
        .http
        .get(format!("{}/api/v2/custom-domains", e.sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let b: Value = resp.json().await.unwrap();
    // Auth0 says "Invalid token" for a missing, bad or expired token alike.
    assert_eq!(b["message"], "Invalid token");
    // Natural expiry (exp is in whole seconds).
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_error(&r, 401, None);
    assert_eq!(r.body["message"], "Invalid token");
}

#[tokio::test]
async fn control_expires_all_tokens() {
    let e = env(fast_config()).await;
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 200);
    e.sim.control().expire_tokens();
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_eq!(r.body["message"], "Invalid token");
    let fresh = token(&e.http, &e.sim, "sim-client", "sim-secret").await;
    assert_eq!(
        e.call_as(&fresh, Method::GET, "/custom-domains", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn every_endpoint_checks_its_scope() {
    let all = auth0_sim::config::DEFAULT_SCOPES;
    let mut cfg = fast_config();
    for s in all {
        let rest: Vec<&str> = all.iter().copied().filter(|x| x != s).collect();
        cfg = cfg.add_client(ClientSpec::new(format!("no-{s}"), "pw").with_scopes(&rest));
    }
    let e = env(cfg).await;
    let id = e.create("scope.example.com", "self_managed_certs").await["custom_domain_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: Vec<(Method, String, &str, Option<Value>)> = vec![
        (Method::GET, "/custom-domains".into(), "read:custom_domains", None),
        (
            Method::POST,
            "/custom-domains".into(),
            "create:custom_domains",
            Some(json!({"domain":"x.example.com","type":"self_managed_certs"})),
        ),
        (
            Method::GET,
            format!("/custom-domains/{id}"),
            "read:custom_domains",
            None,
        ),
        (
            Method::PATCH,
            format!("/custom-domains/{id}"),
            "update:custom_domains",
            Some(json!({})),
        ),
        (
            Method::DELETE,
            format!("/custom-domains/{id}"),
            "delete:custom_domains",
            None,
        ),
        (
            Method::POST,
            format!("/custom-domains/{id}/verify"),
            "create:custom_domains",
            None,
        ),
        (
            Method::POST,
            format!("/custom-domains/{id}/test"),
            "read:custom_domains",
            None,
        ),
        (
            Method::GET,
            "/custom-domains/default".into(),
            "read:custom_domains",
            None,
        ),
        (
            Method::PATCH,
            "/custom-domains/default".into(),
            "update:custom_domains",
            Some(json!({"domain":"x"})),
        ),
        (
            Method::GET,
            "/tenants/settings".into(),
            "read:tenant_settings",
            None,
        ),
        (
            Method::PATCH,
            "/tenants/settings".into(),
            "update:tenant_settings",
            Some(json!({})),
        ),
    ];
    for (method, path, scope, body) in cases {
        let t = token(&e.http, &e.sim, &format!("no-{scope}"), "pw").await;
        let r = e.call_as(&t, method.clone(), &path, body).await;
        assert_error(&r, 403, Some("insufficient_scope"));
        assert_eq!(
            r.body["message"],
            format!("Insufficient scope, expected any of: {scope}"),
            "{method} {path}"
        );
    }
    // The domain is untouched by the refused calls.
    assert_eq!(
        e.call(Method::GET, &format!("/custom-domains/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn plain_http_when_asked() {
    let sim = auth0_sim::start(SimConfig::default().plain_http(true))
        .await
        .unwrap();
    assert!(sim.url().starts_with("http://"));
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.url()))
        .json(
            &json!({"grant_type":"client_credentials","client_id":"sim-client","client_secret":"sim-secret",
            "audience": format!("https://{}/api/v2/", sim.tenant_domain())}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sim.shutdown().await;
}
