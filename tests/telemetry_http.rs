//! `/metrics`, `/healthz`, `/readyz` over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth0_domain_operator::telemetry::http::{self, OPENMETRICS_CONTENT_TYPE, Readiness};
use auth0_domain_operator::telemetry::metrics::Metrics;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn endpoints_serve_metrics_health_and_readiness() {
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::new(&["custom_domain_watch", "leader"]);
    let (listener, addr) = http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(http::serve(listener, metrics.clone(), readiness.clone(), {
        let stop = stop.clone();
        async move { stop.cancelled().await }
    }));
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    {
        let _timer = metrics.reconcile_timer("custom_domain");
    }
    metrics.reconcile_error("custom_domain", "auth0_transient");
    metrics.auth0_request("default", "POST /custom-domains/{id}/verify", "200");
    metrics.auth0_ratelimited("default", "GET /custom-domains");
    metrics.auth0_ratelimit_wait("default", 1.5);
    metrics.set_custom_domains("default", [("Ready", 2), ("PendingVerification", 1)]);
    metrics.dns_lookup("visible");

    let resp = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], OPENMETRICS_CONTENT_TYPE);
    let body = resp.text().await.unwrap();
    for needle in [
        "# TYPE auth0_domain_operator_reconciles counter",
        r#"auth0_domain_operator_reconciles_total{controller="custom_domain"} 1"#,
        r#"auth0_domain_operator_reconcile_errors_total{controller="custom_domain",category="auth0_transient"} 1"#,
        "# TYPE auth0_domain_operator_reconcile_duration_seconds histogram",
        r#"auth0_domain_operator_reconcile_duration_seconds_bucket{le="+Inf",controller="custom_domain"} 1"#,
        r#"auth0_domain_operator_auth0_requests_total{tenant="default",endpoint="POST /custom-domains/{id}/verify",status="200"} 1"#,
        r#"auth0_domain_operator_auth0_ratelimited_total{tenant="default",endpoint="GET /custom-domains"} 1"#,
        r#"auth0_domain_operator_auth0_ratelimit_wait_seconds_sum{tenant="default"} 1.5"#,
        r#"auth0_domain_operator_custom_domains{tenant="default",state="Ready"} 2"#,
        r#"auth0_domain_operator_custom_domains{tenant="default",state="PendingVerification"} 1"#,
        r#"auth0_domain_operator_custom_domains{tenant="default",state="Failed"} 0"#,
        r#"auth0_domain_operator_dns_lookups_total{result="visible"} 1"#,
        "# EOF",
    ] {
        assert!(body.contains(needle), "missing {needle} in\n{body}");
    }

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.text().await.unwrap(),
        "waiting for: custom_domain_watch, leader\n"
    );
    readiness.set("custom_domain_watch", true);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.text().await.unwrap(), "waiting for: leader\n");
    readiness.set("leader", true);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Losing the lease makes the replica unready again.
    readiness.set("leader", false);
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );

    stop.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
