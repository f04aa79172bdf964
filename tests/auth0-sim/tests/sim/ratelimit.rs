//! Rate limits: tenant bucket (Free tier by default), verify bucket, headers on every response,
//! storms.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::common::*;

fn h(headers: &HeaderMap, name: &str) -> i64 {
    headers.get(name).unwrap().to_str().unwrap().parse().unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn tenant_bucket_headers_and_429() {
    // 0.5 token/s so the bucket barely refills during the test.
    let e = env(fast_config().rate_limit(0.5, 4)).await;
    let mut remaining = Vec::new();
    for _ in 0..4 {
        let r = e.call(Method::GET, "/custom-domains", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(h(&r.headers, "x-ratelimit-limit"), 4);
        remaining.push(h(&r.headers, "x-ratelimit-remaining"));
        let reset = h(&r.headers, "x-ratelimit-reset");
        // Full again after (4 - remaining) tokens at 0.5/s.
        let missing = 4 - remaining.last().unwrap();
        assert!(
            (reset - now() - missing * 2).abs() <= 1,
            "reset {reset} now {} missing {missing}",
            now()
        );
    }
    assert_eq!(remaining, [3, 2, 1, 0]);
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_error(&r, 429, Some("too_many_requests"));
    assert_eq!(r.body["message"], "Global limit has been reached");
    assert_eq!(h(&r.headers, "x-ratelimit-remaining"), 0);
    assert!(h(&r.headers, "x-ratelimit-reset") >= now() + 7);
    let c = e.sim.control().counters();
    assert_eq!(c.rate_limited, 1);
    assert_eq!(c.count("GET /api/v2/custom-domains", 429), 1);
    // The token endpoint is not limited by the Management API bucket but reports it.
    let t = token(&e.http, &e.sim, "sim-client", "sim-secret").await;
    assert!(!t.is_empty());
    e.sim.control().refill_buckets();
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_eq!(
        (r.status.as_u16(), h(&r.headers, "x-ratelimit-remaining")),
        (200, 3)
    );
}

#[tokio::test]
async fn verify_has_its_own_bucket() {
    let e = env(fast_config().verify_limit(5, Duration::from_secs(60))).await;
    let d = e.create("v.example.com", "self_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    for i in 0..5 {
        let r = e.verify(id).await;
        assert_eq!(r.status, 200);
        assert_eq!(h(&r.headers, "x-ratelimit-limit"), 5);
        assert_eq!(h(&r.headers, "x-ratelimit-remaining"), 4 - i);
    }
    let r = e.verify(id).await;
    assert_error(&r, 429, Some("too_many_requests"));
    // 5 per 60 s: one token back after 12 s; full after 60 s.
    let reset = h(&r.headers, "x-ratelimit-reset");
    assert!((reset - now() - 60).abs() <= 2, "reset {reset}");
    // Other endpoints still work, with the tenant bucket's headers.
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(h(&r.headers, "x-ratelimit-limit"), 10_000);
}

#[tokio::test]
async fn storm_refuses_everything_for_a_while() {
    let e = env(fast_config()).await;
    e.sim.control().storm(Duration::from_millis(600));
    let r = e.call(Method::GET, "/custom-domains", None).await;
    assert_error(&r, 429, Some("too_many_requests"));
    assert!(h(&r.headers, "x-ratelimit-reset") >= now());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(e.call(Method::GET, "/custom-domains", None).await.status, 200);
}

#[tokio::test]
async fn default_tenant_bucket_is_the_free_tier() {
    let cfg = auth0_sim::SimConfig::default();
    assert_eq!((cfg.rate_limit.burst, cfg.rate_limit.per_second), (2, 2.0));
    let e = env(cfg).await;
    // Four calls back to back: the 2-token bucket refills 2 per second, so at least one is refused.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = e.call(Method::GET, "/custom-domains", None).await;
        assert_eq!(h(&r.headers, "x-ratelimit-limit"), 2);
        statuses.push(r.status.as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}
