//! Control: injected 5xx, latency, dropped connections, drift behind the client's back, reset.

use std::time::{Duration, Instant};

use auth0_sim::Faults;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn injected_errors_latency_and_drops() {
    let e = env(fast_config()).await;
    e.sim.control().set_faults(Faults {
        error_rate: 1.0,
        error_status: Some(502),
        ..Faults::default()
    });
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_error(&r, 502, None);
    assert!(r.headers.contains_key("x-ratelimit-limit"));
    // Only the named endpoint.
    e.sim.control().set_faults(Faults {
        error_rate: 1.0,
        endpoint: Some("POST /api/v2/custom-domains/{id}/verify".into()),
        ..Faults::default()
    });
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 200);
    assert_eq!(e.verify("cd_0000000000000000").await.status, 503);
    e.sim.control().set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let t0 = Instant::now();
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    e.sim.control().set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let err = e
        .http
        .get(format!("{}/api/v2/custom-domains", e.sim.url()))
        .bearer_auth(&e.token)
        .send()
        .await;
    assert!(err.is_err(), "connection closed without a response");
    e.sim.control().clear_faults();
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 200);
    let c = e.sim.control().counters();
    assert_eq!((c.injected_errors, c.dropped), (2, 1));
    assert_eq!(c.count("GET /api/v2/custom-domains", 502), 1);
}

#[tokio::test]
async fn drift_behind_the_back() {
    let e = env(fast_config()).await;
    let d = e.create("drift.example.com", "self_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    e.sim
        .control()
        .edit_domain(
            id,
            json!({"custom_client_ip_header": "x-forwarded-for", "domain_metadata": {"owner": "someone-else"}}),
        )
        .unwrap();
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["domain_metadata"]["owner"], "someone-else");
    assert_eq!(got["custom_client_ip_header"], "x-forwarded-for");
    assert!(
        e.sim
            .control()
            .edit_domain(id, json!({"status": "bogus"}))
            .is_err()
    );
    e.sim.control().delete_domain(id).unwrap();
    assert_eq!(
        e.call(Method::GET, &format!("/custom-domains/{id}"), None)
            .await
            .status,
        404
    );
    e.create("another.example.com", "auth0_managed_certs").await;
    e.sim.control().reset();
    assert!(e.sim.control().domains().is_empty());
    assert_eq!(e.sim.control().counters().domains_created, 0);
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.body, json!([]));
}

#[tokio::test]
async fn http_control_api() {
    let e = env(fast_config()).await;
    let base = format!("{}/__sim", e.sim.url());
    e.ready_self_managed("ctl.example.com").await;
    let doms: Value = e
        .http
        .get(format!("{base}/domains"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doms[0]["domain"], "ctl.example.com");
    assert!(doms[0]["cname_api_key"].as_str().unwrap().len() >= 32);
    let r = e
        .http
        .post(format!("{base}/faults"))
        .json(&json!({"error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 503);
    e.http.delete(format!("{base}/faults")).send().await.unwrap();
    e.http
        .post(format!("{base}/storm"))
        .json(&json!({"seconds": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 429);
    e.http.post(format!("{base}/refill")).send().await.unwrap();
    e.http.post(format!("{base}/expire-tokens")).send().await.unwrap();
    assert_eq!(
        e.call(Method::GET, "/custom-domains", None).await.body["message"],
        "Invalid token"
    );
    let r: Value = e
        .http
        .put(format!("{base}/readings"))
        .json(&json!({"pagination": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["pagination"], false);
    let counters: Value = e
        .http
        .get(format!("{base}/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["keys_issued"], 1);
    assert_eq!(counters["calls"]["GET /api/v2/custom-domains"]["503"], 1);
    let id = doms[0]["custom_domain_id"].as_str().unwrap();
    assert_eq!(
        e.http
            .delete(format!("{base}/domains/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        e.http
            .post(format!("{base}/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    // Off unless asked for.
    let off = auth0_sim::start(fast_config().control(false)).await.unwrap();
    let r = client_for(&off)
        .get(format!("{}/__sim/counters", off.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    off.shutdown().await;
}
