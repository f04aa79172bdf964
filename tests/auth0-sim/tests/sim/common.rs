//! Shared fixtures: a simulator wired to a real test DNS server, and an HTTPS client trusting its CA.

use std::time::Duration;

use auth0_sim::{Sim, SimConfig};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use test_dns::TestDns;

pub struct Env {
    pub sim: Sim,
    pub dns: TestDns,
    pub http: reqwest::Client,
    pub token: String,
}

pub fn fast_config() -> SimConfig {
    SimConfig::default()
        .rate_limit(10_000.0, 10_000)
        .verify_limit(10_000, Duration::from_secs(1))
        .cert_delay(Duration::from_millis(300))
}

pub fn client_for(sim: &Sim) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(sim.ca_pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn env(cfg: SimConfig) -> Env {
    let dns = TestDns::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let sim = auth0_sim::start(cfg.dns_server(dns.addr())).await.unwrap();
    let http = client_for(&sim);
    let token = token(&http, &sim, "sim-client", "sim-secret").await;
    Env {
        sim,
        dns,
        http,
        token,
    }
}

pub async fn token(http: &reqwest::Client, sim: &Sim, id: &str, secret: &str) -> String {
    let resp = http
        .post(format!("{}/oauth/token", sim.url()))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": id,
            "client_secret": secret,
            "audience": format!("https://{}/api/v2/", sim.tenant_domain()),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Env {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.call_as(&self.token.clone(), method, path, body).await
    }

    pub async fn call_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/api/v2{path}", self.sim.url()))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn create(&self, domain: &str, kind: &str) -> Value {
        let r = self
            .call(
                Method::POST,
                "/custom-domains",
                Some(json!({"domain": domain, "type": kind})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    pub async fn verify(&self, id: &str) -> Resp {
        self.call(Method::POST, &format!("/custom-domains/{id}/verify"), None)
            .await
    }

    /// Creates a self-managed domain, publishes its TXT record and verifies it; returns the verify body.
    pub async fn ready_self_managed(&self, domain: &str) -> Value {
        let d = self.create(domain, "self_managed_certs").await;
        let m = &d["verification"]["methods"][0];
        self.dns
            .add_txt(m["domain"].as_str().unwrap(), m["record"].as_str().unwrap());
        let r = self.verify(d["custom_domain_id"].as_str().unwrap()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["status"], "ready", "{}", r.body);
        r.body
    }
}

pub fn assert_error(r: &Resp, status: u16, code: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["statusCode"], status, "{}", r.body);
    assert_eq!(
        r.body["error"],
        StatusCode::from_u16(status).unwrap().canonical_reason().unwrap()
    );
    assert!(
        r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
    match code {
        Some(c) => assert_eq!(r.body["errorCode"], c, "{}", r.body),
        None => assert!(r.body.get("errorCode").is_none(), "{}", r.body),
    }
}
