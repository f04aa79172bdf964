//! Verify over real DNS and the once-only key (also across a restart), certificates, re-check.

use std::time::Duration;

use auth0_sim::Readings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn self_managed_key_exactly_once() {
    let e = env(fast_config()).await;
    let d = e.create("login.example.com", "self_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    let m = &d["verification"]["methods"][0];
    // Absent record: 200, still pending, no key.
    let r = e.verify(id).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "pending_verification");
    assert!(r.body.get("cname_api_key").is_none());
    assert!(
        e.dns.queries_for("_cf-custom-hostname.login.example.com") >= 1,
        "looked up over real DNS"
    );
    // Wrong value: still pending.
    e.dns.add_txt(m["domain"].as_str().unwrap(), "something-else");
    assert_eq!(e.verify(id).await.body["status"], "pending_verification");
    e.dns
        .add_txt(m["domain"].as_str().unwrap(), m["record"].as_str().unwrap());
    let r = e.verify(id).await;
    assert_eq!(r.body["status"], "ready", "{}", r.body);
    let key = r.body["cname_api_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 128);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    assert!(
        r.body.get("is_default").is_none(),
        "verify never shows is_default"
    );
    assert_eq!(
        r.body["origin_domain_name"]
            .as_str()
            .unwrap()
            .split(".edge.tenants.")
            .count(),
        2
    );
    // Never again: verify (400), get, list, patch.
    let again = e.verify(id).await;
    assert_error(&again, 400, None);
    assert_eq!(again.body["message"], "Custom domain already verified.");
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert!(got.get("cname_api_key").is_none());
    assert_eq!(
        got["origin_domain_name"], r.body["origin_domain_name"],
        "reads show the origin once ready"
    );
    assert_eq!(got["custom_client_ip_header"], Value::Null);
    let list = e.call(Method::GET, "/custom-domains", None).await.body;
    assert!(!list.to_string().contains(&key));
    let patched = e
        .call(
            Method::PATCH,
            &format!("/custom-domains/{id}"),
            Some(json!({"domain_metadata":{"a":"b"}})),
        )
        .await
        .body;
    assert!(!patched.to_string().contains(&key));
    // Control knows the key that was issued.
    let rec = e.sim.control().domain_by_name("login.example.com").unwrap();
    assert_eq!(rec.cname_api_key.as_deref(), Some(key.as_str()));
    assert_eq!(e.sim.control().counters().keys_issued, 1);
    // Removing the record later does not take readiness or re-issue anything.
    e.dns.remove(m["domain"].as_str().unwrap(), None);
    assert!(e.verify(id).await.body.get("cname_api_key").is_none());
    // The older reading: the origin only in the first verify.
    e.sim.control().set_readings(Readings {
        origin_only_in_first_verify: true,
        ..Readings::default()
    });
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert!(got.get("origin_domain_name").is_none());
}

#[tokio::test]
async fn concurrent_verifies_issue_one_key() {
    let e = std::sync::Arc::new(env(fast_config()).await);
    let d = e.create("race.example.com", "self_managed_certs").await;
    let m = &d["verification"]["methods"][0];
    e.dns
        .add_txt(m["domain"].as_str().unwrap(), m["record"].as_str().unwrap());
    let id = d["custom_domain_id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (e, id) = (e.clone(), id.clone());
        tasks.push(tokio::spawn(async move { e.verify(&id).await.body }));
    }
    let mut keys = 0;
    for t in tasks {
        let b = t.await.unwrap();
        if b.get("cname_api_key").is_some() {
            assert_eq!(b["status"], "ready");
            keys += 1;
        } else {
            assert_eq!(b["message"], "Custom domain already verified.", "{b}");
        }
    }
    assert_eq!(keys, 1);
    assert_eq!(e.sim.control().counters().keys_issued, 1);
}

#[tokio::test]
async fn failed_verify_answers_400_when_switched() {
    let e = env(fast_config().readings(Readings {
        verify_failure_400: true,
        ..Readings::default()
    }))
    .await;
    let d = e.create("nodns.example.com", "auth0_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    let r = e.verify(id).await;
    assert_error(&r, 400, Some("custom_domain_not_verified"));
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["status"], "pending_verification");
    assert!(
        got["verification"].get("status").is_none(),
        "a failed verify changes nothing: {got}"
    );
}

#[tokio::test]
async fn key_survives_restart_and_is_not_reissued() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let tls = dir.path().join("tls");
    let e = env(fast_config().state_file(&state).tls_dir(&tls)).await;
    let ready = e.ready_self_managed("persist.example.com").await;
    let key = ready["cname_api_key"].as_str().unwrap().to_string();
    let id = ready["custom_domain_id"].as_str().unwrap().to_string();
    e.create("pending.example.com", "auth0_managed_certs").await;
    let ca_before = e.sim.ca_pem();
    let Env { sim, dns, .. } = e;
    sim.shutdown().await;

    let sim = auth0_sim::start(
        fast_config()
            .state_file(&state)
            .tls_dir(&tls)
            .dns_server(dns.addr()),
    )
    .await
    .unwrap();
    assert_eq!(sim.ca_pem(), ca_before, "the CA is reused from the TLS directory");
    let http = client_for(&sim);
    let t = token(&http, &sim, "sim-client", "sim-secret").await;
    let e = Env {
        sim,
        dns,
        http,
        token: t,
    };
    let r = e.verify(&id).await;
    assert_error(&r, 400, None);
    assert!(
        r.body.get("cname_api_key").is_none(),
        "restart must not give a second chance"
    );
    assert_eq!(
        e.sim
            .control()
            .domain_by_name("persist.example.com")
            .unwrap()
            .cname_api_key
            .as_deref(),
        Some(key.as_str())
    );
    assert_eq!(e.sim.control().domains().len(), 2);
    let c = e.sim.control().counters();
    assert_eq!((c.keys_issued, c.domains_created), (1, 2));
    // The state file is complete JSON (atomic writes leave no temp files behind).
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|f| f.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(v["issued_keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn auth0_managed_certificate_lifecycle() {
    let e = env(fast_config().cert_delay(Duration::from_millis(300))).await;
    let d = e.create("cert.example.com", "auth0_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    // No record: 200 and the domain unchanged (no verification.status, no is_default).
    let r = e.verify(id).await;
    assert_eq!(r.status, 200);
    let mut created = d.clone();
    created.as_object_mut().unwrap().remove("is_default");
    assert_eq!(r.body, created);
    let target = d["verification"]["methods"][0]["record"].as_str().unwrap();
    e.dns.add_cname("cert.example.com", target);
    let r = e.verify(id).await;
    assert_eq!(r.body["verification"]["status"], "verified", "{}", r.body);
    let at = r.body["verification"]["last_verified_at"].as_str().unwrap();
    assert_eq!(at.len(), 20, "whole seconds: {at}");
    assert_eq!(r.body["certificate"]["status"], "provisioning");
    assert_eq!(r.body["status"], "pending_verification");
    assert!(r.body.get("cname_api_key").is_none());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["certificate"]["status"], "provisioned");
    assert_eq!(got["certificate"]["certificate_authority"], "letsencrypt");
    let renews: jiff::Timestamp = got["certificate"]["renews_before"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let days = (renews.as_second() - jiff::Timestamp::now().as_second()) as f64 / 86_400.0;
    assert!(
        (89.9..90.1).contains(&days),
        "renews_before = now + 90 days: {days}"
    );
    assert_eq!(got["certificate"]["renews_before"].as_str().unwrap().len(), 20);
    assert_eq!(got["status"], "ready");
    assert!(got.get("cname_api_key").is_none());
    assert!(got.get("origin_domain_name").is_none());
    // Verify again: already verified.
    let r = e.verify(id).await;
    assert_error(&r, 400, None);
    assert_eq!(r.body["message"], "Custom domain already verified.");
    // Background re-check: the CNAME goes away → verification failed, status stays ready.
    e.dns.remove("cert.example.com", None);
    e.sim.control().recheck().await;
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["verification"]["status"], "failed");
    assert_eq!(got["status"], "ready");
    e.dns.add_cname("cert.example.com", target);
    e.sim.control().recheck().await;
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["verification"]["status"], "verified");
    // Later failure to renew.
    e.sim.control().fail_certificate(id, "renewal failed").unwrap();
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["certificate"]["status"], "renewing_failed");
    assert_eq!(got["certificate"]["error_msg"], "renewal failed");
}

#[tokio::test]
async fn injected_provisioning_failure() {
    let e = env(fast_config().cert_delay(Duration::from_millis(100))).await;
    let d = e.create("badcert.example.com", "auth0_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    e.sim
        .control()
        .fail_certificate(id, "CAA record forbids issuance")
        .unwrap();
    e.dns.add_cname(
        "badcert.example.com",
        d["verification"]["methods"][0]["record"].as_str().unwrap(),
    );
    e.verify(id).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = e
        .call(Method::GET, &format!("/custom-domains/{id}"), None)
        .await
        .body;
    assert_eq!(got["certificate"]["status"], "provisioning_failed");
    assert_eq!(got["certificate"]["error_msg"], "CAA record forbids issuance");
    assert_eq!(got["status"], "failed");
}

#[tokio::test]
async fn dns_servfail_keeps_pending() {
    let e = env(fast_config()).await;
    let d = e.create("flaky.example.com", "self_managed_certs").await;
    let m = &d["verification"]["methods"][0];
    e.dns
        .add_txt(m["domain"].as_str().unwrap(), m["record"].as_str().unwrap());
    e.dns.servfail_next(1);
    let r = e.verify(d["custom_domain_id"].as_str().unwrap()).await;
    assert_eq!(r.body["status"], "pending_verification");
    let r = e.verify(d["custom_domain_id"].as_str().unwrap()).await;
    assert_eq!(r.body["status"], "ready");
    assert!(r.body["cname_api_key"].is_string());
}

#[tokio::test]
async fn background_recheck_runs_on_its_own() {
    let e = env(fast_config()
        .cert_delay(Duration::from_millis(10))
        .recheck_interval(Duration::from_millis(200)))
    .await;
    let d = e.create("bg.example.com", "auth0_managed_certs").await;
    let id = d["custom_domain_id"].as_str().unwrap();
    let target = d["verification"]["methods"][0]["record"].as_str().unwrap();
    e.dns.add_cname("bg.example.com", target);
    assert_eq!(e.verify(id).await.status, 200);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let path = format!("/custom-domains/{id}");
    assert_eq!(e.call(Method::GET, &path, None).await.body["status"], "ready");
    e.dns.remove("bg.example.com", None);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let got = e.call(Method::GET, &path, None).await.body;
    assert_eq!(got["verification"]["status"], "failed", "{got}");
    assert_eq!(got["status"], "ready");
}
