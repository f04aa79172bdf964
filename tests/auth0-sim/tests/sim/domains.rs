//! Create, duplicates and validation, patch, default domain, settings, entitlement, delete,
//! concurrency.

use auth0_sim::Readings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn is_id(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 19 && s.starts_with("cd_") && s[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[tokio::test]
async fn create_per_type() {
    let e = env(fast_config()).await;
    let a = e.create("login.example.com", "auth0_managed_certs").await;
    assert!(is_id(&a["custom_domain_id"]), "{a}");
    assert_eq!(a["status"], "pending_verification");
    assert_eq!(a["type"], "auth0_managed_certs");
    assert_eq!(a["primary"], true);
    assert_eq!(a["is_default"], false);
    let id = a["custom_domain_id"].as_str().unwrap();
    let m = &a["verification"]["methods"][0];
    assert_eq!(m["name"], "CNAME");
    assert_eq!(m["domain"], "login.example.com");
    assert_eq!(
        m["record"],
        format!(
            "sim-tenant-cd-{}.edge.tenants.us.auth0.com",
            id[3..].to_ascii_lowercase()
        )
    );
    // Auth0-managed: never origin_domain_name; tls_policy even when not sent; no
    // verification.status and no certificate on create.
    assert!(a.get("origin_domain_name").is_none(), "{a}");
    assert_eq!(a["tls_policy"], "recommended");
    assert!(a.get("custom_client_ip_header").is_none());
    assert!(a["verification"].get("status").is_none(), "{a}");
    assert!(a.get("certificate").is_none(), "{a}");
    assert!(a.get("cname_api_key").is_none());
    assert!(a.get("domain_metadata").is_none(), "never set, not shown");
    let created = a["created_at"].as_str().unwrap();
    assert!(
        created.len() == 24 && created.ends_with('Z') && &created[19..20] == ".",
        "{created}"
    );

    let s = e.create("auth.example.org", "self_managed_certs").await;
    assert_eq!(s["primary"], false);
    let m = &s["verification"]["methods"][0];
    assert_eq!(m["name"], "TXT");
    assert_eq!(m["domain"], "_cf-custom-hostname.auth.example.org");
    assert!(m["record"].as_str().unwrap().len() >= 32);
    assert!(
        s.get("certificate").is_none()
            && s.get("origin_domain_name").is_none()
            && s.get("cname_api_key").is_none()
            && s.get("tls_policy").is_none()
    );
    assert_eq!(s["custom_client_ip_header"], Value::Null, "null until set");
    assert!(s["created_at"].is_string());
    assert_ne!(a["custom_domain_id"], s["custom_domain_id"]);

    let full = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(
                json!({"domain":"full.example.com","type":"self_managed_certs","verification_method":"txt",
                "custom_client_ip_header":"cf-connecting-ip",
                "domain_metadata":{"team":"id"},"relying_party_identifier":"example.com"}),
            ),
        )
        .await;
    assert_eq!(full.status, StatusCode::CREATED, "{}", full.body);
    assert!(full.body.get("tls_policy").is_none());
    assert_eq!(full.body["custom_client_ip_header"], "cf-connecting-ip");
    assert_eq!(full.body["domain_metadata"], json!({"team":"id"}));
    assert_eq!(full.body["relying_party_identifier"], "example.com");
    let got = e
        .call(
            Method::GET,
            &format!("/custom-domains/{}", s["custom_domain_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(got.body, s);
    assert_eq!(e.sim.control().counters().domains_created, 3);
    // Lower-case method names when switched (older tenants, the API schema).
    e.sim.control().set_readings(Readings {
        lowercase_method_names: true,
        ..Readings::default()
    });
    let got = e.call(Method::GET, &format!("/custom-domains/{id}"), None).await;
    assert_eq!(got.body["verification"]["methods"][0]["name"], "cname");
}

#[tokio::test]
async fn background_job_shows_pending_then_verification_times_out() {
    let e = env(fast_config()
        .pending_check_delay(std::time::Duration::from_millis(200))
        .verification_timeout(std::time::Duration::from_millis(600)))
    .await;
    let a = e.create("slow.example.com", "auth0_managed_certs").await;
    let path = format!("/custom-domains/{}", a["custom_domain_id"].as_str().unwrap());
    let got = e.call(Method::GET, &path, None).await.body;
    assert!(got["verification"].get("status").is_none(), "{got}");
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let got = e.call(Method::GET, &path, None).await.body;
    assert_eq!(got["verification"]["status"], "pending");
    assert_eq!(
        got["certificate"],
        json!({"certificate_authority": "letsencrypt"})
    );
    assert_eq!(got["status"], "pending_verification");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let got = e.call(Method::GET, &path, None).await.body;
    assert_eq!(got["status"], "failed");
    assert_eq!(got["verification"]["status"], "failed");
    assert_eq!(got["verification"]["error_msg"], "DNS Verification record issue.");
}

#[tokio::test]
async fn duplicates_and_bad_bodies() {
    let e = env(fast_config()).await;
    e.create("dup.example.com", "self_managed_certs").await;
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"dup.example.com","type":"auth0_managed_certs"})),
        )
        .await;
    assert_error(&r, 409, None);
    let meta11: serde_json::Map<String, Value> = (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let bad = [
        json!({"domain":"not a host","type":"self_managed_certs"}),
        json!({"domain":"*.example.com","type":"self_managed_certs"}),
        json!({"domain":"a_b.example.com","type":"self_managed_certs"}),
        json!({"domain":"a.example.com.","type":"self_managed_certs"}),
        json!({"domain":"ab","type":"self_managed_certs"}),
        json!({"domain":"a.example.com","type":"self_managed_certs","unknown":1}),
        json!({"domain":"a.example.com","type":"wrong"}),
        json!({"domain":"a.example.com"}),
        json!({"domain":"a.example.com","type":"auth0_managed_certs","tls_policy":"compatible"}),
        json!({"domain":"a.example.com","type":"self_managed_certs","custom_client_ip_header":"x-real-ip"}),
        json!({"domain":"a.example.com","type":"self_managed_certs","domain_metadata": meta11}),
        json!({"domain":"a.example.com","type":"self_managed_certs","domain_metadata":{"k":"x".repeat(256)}}),
        json!({"domain":"a.example.com","type":"self_managed_certs","domain_metadata":{"k":1}}),
        json!({"domain":"a.example.com","type":"self_managed_certs","verification_method":"cname"}),
        json!({"domain":42,"type":"self_managed_certs"}),
        json!(["not", "an", "object"]),
    ];
    for b in bad {
        let r = e.call(Method::POST, "/custom-domains", Some(b.clone())).await;
        assert_error(&r, 400, Some("invalid_body"));
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .starts_with("Payload validation error"),
            "{b}: {}",
            r.body
        );
    }
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"x.example.com","type":"wrong"})),
        )
        .await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("No enum match for: \"wrong\"")
    );
    // Malformed JSON.
    let resp = e
        .http
        .post(format!("{}/api/v2/custom-domains", e.sim.url()))
        .bearer_auth(&e.token)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["errorCode"], "invalid_body");
    // Per-type fields (the API's texts); the relaxed reading accepts them.
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"s.example.com","type":"self_managed_certs","tls_policy":"recommended"})),
        )
        .await;
    assert_error(&r, 400, Some("invalid_body"));
    assert_eq!(
        r.body["message"],
        "The 'tls_policy' cannot be set on self_managed domains"
    );
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"s.example.com","type":"auth0_managed_certs","custom_client_ip_header":"cf-connecting-ip"})),
        )
        .await;
    assert_eq!(
        r.body["message"],
        "The 'custom_client_ip_header' cannot be set on auth0_managed domains"
    );
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"s.example.com","type":"auth0_managed_certs","relying_party_identifier":"other.com"})),
        )
        .await;
    assert_eq!(
        r.body["message"],
        "The 'relying_party_identifier' must be equal to or a registrable domain suffix of the domain."
    );
    assert_eq!(e.sim.control().domains().len(), 1);
    e.sim.control().set_readings(Readings {
        strict_type_fields: false,
        ..Readings::default()
    });
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"s.example.com","type":"self_managed_certs","tls_policy":"recommended"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.body.get("tls_policy").is_none(),
        "never rendered on self-managed"
    );
    e.sim
        .control()
        .delete_domain(r.body["custom_domain_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(e.sim.control().domains().len(), 1);
}

#[tokio::test]
async fn patch_only_mutable_fields() {
    let e = env(fast_config()).await;
    let d = e.create("patch.example.com", "self_managed_certs").await;
    let path = format!("/custom-domains/{}", d["custom_domain_id"].as_str().unwrap());
    let r = e
        .call(
            Method::PATCH,
            &path,
            Some(json!({"custom_client_ip_header":"true-client-ip",
            "domain_metadata":{"a":"1","b":"2","c":"3"},"relying_party_identifier":"example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["custom_client_ip_header"], "true-client-ip");
    assert_eq!(r.body["domain_metadata"], json!({"a":"1","b":"2","c":"3"}));
    // null removes; omitted keys are kept (merge reading).
    let r = e
        .call(
            Method::PATCH,
            &path,
            Some(json!({"domain_metadata":{"a":null,"d":"4"},"relying_party_identifier":null})),
        )
        .await;
    assert_eq!(r.body["domain_metadata"], json!({"b":"2","c":"3","d":"4"}));
    assert!(r.body.get("relying_party_identifier").is_none());
    for bad in [
        json!({"domain":"other.example.com"}),
        json!({"type":"auth0_managed_certs"}),
        json!({"status":"ready"}),
        json!({"tls_policy":"compatible"}),
        json!({"tls_policy":"recommended"}),
        json!({"relying_party_identifier":"other.com"}),
        json!({"custom_domain_id":"cd_0000000000000000"}),
    ] {
        let r = e.call(Method::PATCH, &path, Some(bad.clone())).await;
        assert_error(&r, 400, Some("invalid_body"));
    }
    let eight: serde_json::Map<String, Value> = (0..8).map(|i| (format!("n{i}"), json!("v"))).collect();
    let r = e
        .call(Method::PATCH, &path, Some(json!({"domain_metadata": eight})))
        .await;
    assert_error(&r, 400, Some("invalid_body"));
    let got = e.call(Method::GET, &path, None).await;
    assert_eq!(got.body["domain"], "patch.example.com");
    assert_eq!(got.body["domain_metadata"], json!({"b":"2","c":"3","d":"4"}));
    // Replace reading.
    e.sim.control().set_readings(Readings {
        metadata_merge: false,
        ..Readings::default()
    });
    let r = e
        .call(Method::PATCH, &path, Some(json!({"domain_metadata":{"z":"9"}})))
        .await;
    assert_eq!(r.body["domain_metadata"], json!({"z":"9"}));
    let r = e
        .call(
            Method::PATCH,
            "/custom-domains/cd_0000000000000000",
            Some(json!({})),
        )
        .await;
    assert_error(&r, 404, Some("inexistent_custom_domain"));
}

#[tokio::test]
async fn default_domain() {
    let e = env(fast_config()).await;
    let canonical = e.sim.tenant_domain();
    let r = e.call(Method::GET, "/custom-domains/default", None).await;
    assert_eq!(r.body, json!({"domain": canonical}));
    let pending = e.create("pending.example.com", "self_managed_certs").await;
    let r = e
        .call(
            Method::PATCH,
            "/custom-domains/default",
            Some(json!({"domain":"pending.example.com"})),
        )
        .await;
    assert_error(&r, 400, Some("invalid_body"));
    assert_eq!(
        r.body["message"],
        "The domain must be verified before it can be set as default."
    );
    let r = e
        .call(
            Method::PATCH,
            "/custom-domains/default",
            Some(json!({"domain":"nowhere.example.com"})),
        )
        .await;
    assert_error(&r, 400, Some("invalid_body"));
    let ready = e.ready_self_managed("ready.example.com").await;
    let r = e
        .call(
            Method::PATCH,
            "/custom-domains/default",
            Some(json!({"domain":"ready.example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["is_default"], true);
    assert_eq!(r.body["custom_domain_id"], ready["custom_domain_id"]);
    let r = e.call(Method::GET, "/custom-domains/default", None).await;
    assert_eq!(r.body["domain"], "ready.example.com");
    let list = e.call(Method::GET, "/custom-domains", None).await.body;
    let flags: Vec<(String, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap().into(),
                d["is_default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("pending.example.com".into(), false),
            ("ready.example.com".into(), true)
        ]
    );
    let r = e
        .call(
            Method::PATCH,
            "/custom-domains/default",
            Some(json!({"domain": canonical})),
        )
        .await;
    assert_eq!(r.body, json!({"domain": canonical}));
    let r = e
        .call(
            Method::GET,
            &format!("/custom-domains/{}", ready["custom_domain_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.body["is_default"], false);
    let _ = pending;
}

#[tokio::test]
async fn tenant_settings_keep_mtls_aliases() {
    let e = env(fast_config()).await;
    let r = e.call(Method::GET, "/tenants/settings", None).await;
    assert_eq!(r.body["mtls"]["enable_endpoint_aliases"], false);
    assert_eq!(r.body["friendly_name"], "sim-tenant");
    let r = e
        .call(
            Method::PATCH,
            "/tenants/settings",
            Some(json!({"mtls":{"enable_endpoint_aliases":true},"friendly_name":"Acme"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mtls"]["enable_endpoint_aliases"], true);
    let r = e
        .call(
            Method::GET,
            "/tenants/settings?fields=mtls,friendly_name&include_fields=true",
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"mtls":{"enable_endpoint_aliases":true},"friendly_name":"Acme"})
    );
    // A patch of something else keeps mtls.
    e.call(
        Method::PATCH,
        "/tenants/settings",
        Some(json!({"support_email":"a@example.com"})),
    )
    .await;
    let r = e.call(Method::GET, "/tenants/settings", None).await;
    assert_eq!(r.body["mtls"]["enable_endpoint_aliases"], true);
    for bad in [
        json!({"mtls":{"enable_endpoint_aliases":"yes"}}),
        json!({"mtls":{"other":true}}),
        json!({"no_such_setting":1}),
        json!({"friendly_name": 5}),
    ] {
        let r = e.call(Method::PATCH, "/tenants/settings", Some(bad)).await;
        assert_error(&r, 400, Some("invalid_body"));
    }
}

#[tokio::test]
async fn entitlement_refuses_creates_past_max() {
    let e = env(fast_config().max_domains(2)).await;
    e.create("one.example.com", "self_managed_certs").await;
    e.create("two.example.com", "self_managed_certs").await;
    let r = e
        .call(
            Method::POST,
            "/custom-domains",
            Some(json!({"domain":"three.example.com","type":"self_managed_certs"})),
        )
        .await;
    assert_error(&r, 409, None);
    assert_eq!(
        r.body["message"],
        "You reached the maximum number of custom domains for your account."
    );
    assert_eq!(e.sim.control().domains().len(), 2);
}

#[tokio::test]
async fn plan_without_custom_domains_gets_403() {
    let e = env(fast_config().custom_domains_plan(false)).await;
    for (m, path) in [
        (Method::GET, "/custom-domains"),
        (Method::POST, "/custom-domains"),
        (Method::GET, "/custom-domains/default"),
        (Method::GET, "/custom-domains/cd_0000000000000000"),
    ] {
        let r = e
            .call(
                m,
                path,
                Some(json!({"domain":"x.example.com","type":"self_managed_certs"})),
            )
            .await;
        assert_error(&r, 403, None);
        assert_eq!(
            r.body["message"],
            "The account is not allowed to perform this operation."
        );
    }
    assert_eq!(e.call(Method::GET, "/tenants/settings", None).await.status, 200);
}

#[tokio::test]
async fn delete_then_404() {
    let e = env(fast_config()).await;
    let d = e.create("gone.example.com", "auth0_managed_certs").await;
    let path = format!("/custom-domains/{}", d["custom_domain_id"].as_str().unwrap());
    let r = e.call(Method::DELETE, &path, None).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    assert!(r.headers.contains_key("x-ratelimit-reset"));
    let r = e.call(Method::GET, &path, None).await;
    assert_error(&r, 404, Some("inexistent_custom_domain"));
    assert_eq!(
        r.body["message"],
        format!(
            "The custom domain {} does not exist",
            d["custom_domain_id"].as_str().unwrap()
        )
    );
    // DELETE again: 204 as well.
    let r = e.call(Method::DELETE, &path, None).await;
    assert_eq!(r.status, 204);
    let r = e.call(Method::POST, &format!("{path}/verify"), None).await;
    assert_error(&r, 404, Some("inexistent_custom_domain"));
    let r = e.call(Method::GET, "/custom-domains/not-an-id", None).await;
    assert_error(&r, 400, Some("invalid_uri"));
    // The name is free again.
    e.create("gone.example.com", "auth0_managed_certs").await;
}

#[tokio::test]
async fn fifty_concurrent_creates() {
    let e = std::sync::Arc::new(env(fast_config()).await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            e.call(
                Method::POST,
                "/custom-domains",
                Some(json!({"domain": format!("c{i}.example.com"), "type":"self_managed_certs"})),
            )
            .await
            .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(e.sim.control().domains().len(), 50);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            e.call(
                Method::POST,
                "/custom-domains",
                Some(json!({"domain": "same.example.com", "type":"self_managed_certs"})),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49);
    assert_eq!(e.sim.control().domains().len(), 51);
    let c = e.sim.control().counters();
    assert_eq!(c.count("POST /api/v2/custom-domains", 201), 51);
    assert_eq!(c.count("POST /api/v2/custom-domains", 409), 49);
}

#[tokio::test]
async fn test_endpoint() {
    let e = env(fast_config()).await;
    let p = e.create("t1.example.com", "self_managed_certs").await;
    let r = e
        .call(
            Method::POST,
            &format!("/custom-domains/{}/test", p["custom_domain_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_error(&r, 409, None);
    assert_eq!(r.body["message"], "The custom domain is not ready.");
    let r = e
        .call(Method::POST, "/custom-domains/cd_0000000000000000/test", None)
        .await;
    assert_error(&r, 404, Some("inexistent_custom_domain"));
    let ready = e.ready_self_managed("t2.example.com").await;
    let r = e
        .call(
            Method::POST,
            &format!(
                "/custom-domains/{}/test",
                ready["custom_domain_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(r.body["success"], true);
    assert!(r.body["message"].as_str().unwrap().contains("t2.example.com"));
}
