//! List: plain array, checkpoint pagination, q, fields, sort.

use auth0_sim::Readings;
use reqwest::Method;
use serde_json::Value;

use crate::common::*;

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn list_pages_query_and_projection() {
    let e = env(fast_config()).await;
    for n in [
        "d.example.com",
        "b.example.com",
        "e.example.com",
        "a.example.com",
        "c.example.com",
    ] {
        e.create(n, "self_managed_certs").await;
    }
    e.ready_self_managed("f.example.com").await;
    let all = e.call(Method::GET, "/custom-domains", None).await.body;
    assert_eq!(
        names(&all),
        ["a", "b", "c", "d", "e", "f"].map(|s| format!("{s}.example.com")),
        "sorted by domain, as recorded"
    );
    let sorted = e
        .call(Method::GET, "/custom-domains?sort=domain:1", None)
        .await
        .body;
    assert_eq!(
        names(&sorted),
        ["a", "b", "c", "d", "e", "f"].map(|s| format!("{s}.example.com"))
    );

    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &from {
            Some(f) => format!("/custom-domains?take=4&from={f}"),
            None => "/custom-domains?take=4".to_string(),
        };
        let page = e.call(Method::GET, &q, None).await.body;
        pages += 1;
        seen.extend(names(&page["custom_domains"]));
        match page.get("next") {
            Some(n) => from = Some(n.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, names(&sorted));

    let q = e
        .call(Method::GET, "/custom-domains?q=domain:c.example.com", None)
        .await
        .body;
    assert_eq!(names(&q), ["c.example.com"]);
    let q = e
        .call(Method::GET, "/custom-domains?q=status:ready", None)
        .await
        .body;
    assert_eq!(names(&q), ["f.example.com"]);
    let q = e
        .call(
            Method::GET,
            "/custom-domains?q=status%3Apending_verification%20AND%20domain%3A%22a.example.com%22",
            None,
        )
        .await
        .body;
    assert_eq!(names(&q), ["a.example.com"]);
    let f = e
        .call(
            Method::GET,
            "/custom-domains?fields=domain,status&include_fields=true",
            None,
        )
        .await
        .body;
    let keys: Vec<&String> = f[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["domain", "status"]);
    let f = e
        .call(
            Method::GET,
            "/custom-domains?fields=verification&include_fields=false",
            None,
        )
        .await
        .body;
    assert!(f[0].get("verification").is_none() && f[0].get("domain").is_some());

    for bad in [
        "/custom-domains?page=1",
        "/custom-domains?per_page=5",
        "/custom-domains?sort=status:1",
        "/custom-domains?q=nosuchfield:x",
        "/custom-domains?take=0",
        "/custom-domains?include_fields=maybe",
        "/custom-domains?take=2&from=cd_0000000000000000",
    ] {
        let r = e.call(Method::GET, bad, None).await;
        assert_error(&r, 400, Some("invalid_query_string"));
    }
    e.sim.control().set_readings(Readings {
        pagination: false,
        ..Readings::default()
    });
    let r = e.call(Method::GET, "/custom-domains?take=2", None).await;
    assert_error(&r, 400, Some("invalid_query_string"));
    assert_eq!(
        names(&e.call(Method::GET, "/custom-domains", None).await.body).len(),
        6
    );
}

#[tokio::test]
async fn deleted_checkpoint_still_resolves() {
    let e = env(fast_config()).await;
    for n in ["a", "b", "c", "d"] {
        e.create(&format!("{n}.example.com"), "self_managed_certs").await;
    }
    let page = e.call(Method::GET, "/custom-domains?take=2", None).await.body;
    let next = page["next"].as_str().unwrap().to_string();
    assert!(!next.starts_with("cd_"), "an opaque cursor, not an id: {next}");
    let c = e.sim.control().domain_by_name("c.example.com").unwrap();
    e.sim.control().delete_domain(&c.custom_domain_id).unwrap();
    let page = e
        .call(Method::GET, &format!("/custom-domains?take=2&from={next}"), None)
        .await
        .body;
    assert_eq!(names(&page["custom_domains"]), ["d.example.com"]);
    assert!(page.get("next").is_none());
}
