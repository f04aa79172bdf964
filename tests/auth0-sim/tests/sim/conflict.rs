//! Endpoints that build user-facing URLs or send email need to know the custom domain once the
//! tenant has several verified ones (`auth0-custom-domain` header, or a default domain).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/auth0|1"),
    ("PATCH", "/users/auth0|1"),
    ("POST", "/jobs/verification-email"),
    ("POST", "/tickets/email-verification"),
    ("POST", "/tickets/password-change"),
    ("POST", "/organizations/org_1/invitations"),
    ("POST", "/guardian/enrollments/ticket"),
];

impl Env {
    async fn call_with_domain(&self, method: &str, path: &str, header: Option<&str>, body: Value) -> Resp {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v2{path}", self.sim.url()))
            .bearer_auth(&self.token);
        if let Some(h) = header {
            req = req.header("auth0-custom-domain", h);
        }
        if method != Method::GET {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }
}

#[tokio::test]
async fn several_verified_domains_need_the_header() {
    let e = env(fast_config()).await;
    let body = json!({"email": "a@example.com", "user_id": "auth0|1"});
    // One verified domain: no ambiguity.
    e.ready_self_managed("one.example.com").await;
    for (m, p) in ENDPOINTS {
        let r = e.call_with_domain(m, p, None, body.clone()).await;
        assert!(r.status.is_success(), "{m} {p}: {} {}", r.status, r.body);
    }
    e.ready_self_managed("two.example.com").await;
    for (m, p) in ENDPOINTS {
        let r = e.call_with_domain(m, p, None, body.clone()).await;
        assert_error(&r, 409, Some("custom_domain_conflict"));
        assert_eq!(
            r.body["message"],
            "The tenant has multiple verified custom domains."
        );
        let r = e
            .call_with_domain(m, p, Some("two.example.com"), body.clone())
            .await;
        assert!(r.status.is_success(), "{m} {p}: {} {}", r.status, r.body);
    }
    // The domain in the body instead of the header: refused.
    let r = e
        .call_with_domain(
            "POST",
            "/tickets/password-change",
            None,
            json!({"domain": "two.example.com"}),
        )
        .await;
    assert_error(&r, 400, Some("invalid_body"));
    assert_eq!(
        r.body["message"],
        "Payload validation error: 'Additional properties not allowed: domain'."
    );
    // A pending domain in the header is not a verified one.
    e.create("pending.example.com", "self_managed_certs").await;
    let r = e
        .call_with_domain(
            "POST",
            "/tickets/password-change",
            Some("pending.example.com"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A default domain makes the header optional.
    let r = e
        .call(
            Method::PATCH,
            "/custom-domains/default",
            Some(json!({"domain": "one.example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = e
        .call_with_domain("POST", "/tickets/password-change", None, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.body["ticket"]
            .as_str()
            .unwrap()
            .starts_with("https://one.example.com/")
    );
}
