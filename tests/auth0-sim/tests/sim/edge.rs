//! The edge accepts proxied traffic only with the domain's key.

use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn edge_checks_key_and_echoes() {
    let e = env(fast_config()).await;
    let ready = e.ready_self_managed("edge.example.com").await;
    let key = ready["cname_api_key"].as_str().unwrap().to_string();
    let origin = ready["origin_domain_name"].as_str().unwrap().to_string();
    let other = e.ready_self_managed("other.example.com").await;
    let other_key = other["cname_api_key"].as_str().unwrap().to_string();
    e.create("pending.example.com", "self_managed_certs").await;
    let port = e.sim.edge_addr().port();

    // Like a proxy following Auth0's guide: SNI and Host of the origin.
    let ca = reqwest::Certificate::from_pem(e.sim.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .resolve(&origin, e.sim.edge_addr())
        .build()
        .unwrap();
    let resp = client
        .post(format!(
            "https://{origin}:{port}/authorize?client_id=abc&state=xyz"
        ))
        .header("cname-api-key", &key)
        .header("true-client-ip", "203.0.113.9")
        .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
        .header("cookie", "auth0=s1; did=d2")
        .header("user-agent", "edge-test")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["domain"], "edge.example.com");
    assert_eq!(b["method"], "POST");
    assert_eq!(b["path"], "/authorize");
    assert_eq!(b["query"], "client_id=abc&state=xyz");
    assert_eq!(b["host"], format!("{origin}:{port}"));
    assert_eq!(b["x_forwarded_for"], "203.0.113.9, 10.0.0.1");
    assert_eq!(b["headers"]["true-client-ip"][0], "203.0.113.9");
    assert_eq!(b["headers"]["user-agent"][0], "edge-test");
    assert_eq!(b["headers"]["cname-api-key"][0], "[redacted]");
    assert_eq!(b["cookies"]["auth0"], "s1");
    assert_eq!(b["cookies"]["did"], "d2");
    assert_eq!(b["body_length"], 5);
    assert!(b["remote_addr"].as_str().unwrap().starts_with("127.0.0.1:"));

    // Host of the custom domain itself, every method.
    let base = format!("https://127.0.0.1:{port}/x");
    let http = &e.http;
    for m in ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"] {
        let r = http
            .request(m.parse().unwrap(), &base)
            .header("host", "edge.example.com")
            .header("cname-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{m}");
    }
    let refused = [
        ("edge.example.com", None),
        ("edge.example.com", Some("wrong")),
        ("edge.example.com", Some(other_key.as_str())),
        ("pending.example.com", Some(key.as_str())),
    ];
    for (host, k) in refused {
        let mut req = http.get(&base).header("host", host);
        if let Some(k) = k {
            req = req.header("cname-api-key", k);
        }
        assert_eq!(req.send().await.unwrap().status(), 403, "{host} {k:?}");
    }
    let r = http
        .get(&base)
        .header("host", "unknown.example.com")
        .header("cname-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let c = e.sim.control().counters();
    assert_eq!((c.edge_accepted, c.edge_refused), (7, 5));
}
