//! The DNS gate against the real test DNS server over UDP/TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use auth0_domain_operator::auth0::types::CustomDomain;
use auth0_domain_operator::dns::{DnsAnswer, DnsChecker, DnsConfig, RecordKind, VerificationRecord};
use auth0_domain_operator::telemetry::metrics::Metrics;
use serde_json::json;
use test_dns::TestDns;

async fn setup() -> (TestDns, DnsChecker) {
    let dns = TestDns::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let checker = DnsChecker::new(&DnsConfig {
        nameservers: vec![dns.addr()],
        timeout: Duration::from_millis(300),
        attempts: 1,
    })
    .unwrap();
    (dns, checker)
}

fn self_managed() -> CustomDomain {
    serde_json::from_value(json!({
        "custom_domain_id": "cd_1", "domain": "login.example.com", "status": "pending_verification",
        "type": "self_managed_certs",
        "verification": {"methods": [{"name": "txt", "record": "Token-ABC", "domain": "_cf-custom-hostname.login.example.com"}]}
    }))
    .unwrap()
}

fn auth0_managed() -> CustomDomain {
    serde_json::from_value(json!({
        "custom_domain_id": "cd_2", "domain": "id.example.org", "status": "pending_verification",
        "type": "auth0_managed_certs",
        "verification": {"methods": [{"name": "cname", "record": "acme-cd-xyz.edge.tenants.eu.auth0.com"}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn txt_record_missing_then_visible_then_removed() {
    let (dns, checker) = setup().await;
    let records = VerificationRecord::from_domain(&self_managed());
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    assert_eq!(rec.kind, RecordKind::Txt);

    assert_eq!(checker.lookup(rec).await, DnsAnswer::Missing { seen: vec![] });
    dns.add_txt("_cf-custom-hostname.login.example.com", "something-else");
    assert_eq!(
        checker.lookup(rec).await,
        DnsAnswer::Missing {
            seen: vec!["something-else".into()]
        }
    );
    // Published: seen on the very next lookup (no cache), case-insensitively.
    dns.add_txt("_cf-custom-hostname.login.example.com", "token-abc");
    assert_eq!(checker.lookup(rec).await, DnsAnswer::Visible);
    dns.remove("_cf-custom-hostname.login.example.com", None);
    assert!(matches!(checker.lookup(rec).await, DnsAnswer::Missing { .. }));
    dns.shutdown().await;
}

#[tokio::test]
async fn cname_record_modulo_trailing_dot_and_case() {
    let (dns, checker) = setup().await;
    let rec = &VerificationRecord::from_domain(&auth0_managed())[0];
    assert_eq!(rec.kind, RecordKind::Cname);
    assert_eq!(rec.name, "id.example.org");
    assert!(matches!(checker.lookup(rec).await, DnsAnswer::Missing { .. }));
    dns.add_cname("id.example.org", "elsewhere.example.net");
    assert_eq!(
        checker.lookup(rec).await,
        DnsAnswer::Missing {
            seen: vec!["elsewhere.example.net.".into()]
        }
    );
    dns.remove("id.example.org", None);
    dns.add_cname("id.example.org", "ACME-cd-xyz.edge.tenants.eu.auth0.com.");
    assert_eq!(checker.lookup(rec).await, DnsAnswer::Visible);
    dns.shutdown().await;
}

#[tokio::test]
async fn servfail_and_timeouts_are_unresolvable_not_missing() {
    let (dns, checker) = setup().await;
    let rec = &VerificationRecord::from_domain(&self_managed())[0];
    dns.add_txt("_cf-custom-hostname.login.example.com", "Token-ABC");
    dns.servfail_next(5);
    assert!(
        matches!(checker.lookup(rec).await, DnsAnswer::Unresolvable(_)),
        "SERVFAIL"
    );
    dns.clear_faults();
    dns.set_delay(Duration::from_secs(2));
    let start = std::time::Instant::now();
    let answer = checker.lookup(rec).await;
    assert!(
        matches!(answer, DnsAnswer::Unresolvable(_)),
        "timeout: {answer:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "bounded by the resolver timeout"
    );
    dns.set_delay(Duration::ZERO);
    assert_eq!(checker.lookup(rec).await, DnsAnswer::Visible);
    dns.shutdown().await;
}

#[tokio::test]
async fn long_txt_values_split_into_strings_still_match() {
    let (dns, checker) = setup().await;
    let long = "x".repeat(300);
    let rec = VerificationRecord {
        kind: RecordKind::Txt,
        name: "long.example.com".into(),
        value: long.clone(),
    };
    dns.add_txt("long.example.com", &long);
    assert_eq!(checker.lookup(&rec).await, DnsAnswer::Visible);
    dns.shutdown().await;
}

#[tokio::test]
async fn lookups_are_counted_in_metrics() {
    let (dns, checker) = setup().await;
    let metrics = Arc::new(Metrics::new());
    let checker = checker.with_metrics(metrics.clone());
    let rec = &VerificationRecord::from_domain(&self_managed())[0];
    checker.lookup(rec).await;
    dns.add_txt("_cf-custom-hostname.login.example.com", "Token-ABC");
    assert_eq!(
        checker.lookup_all(std::slice::from_ref(rec)).await,
        DnsAnswer::Visible
    );
    let text = metrics.encode().unwrap();
    assert!(
        text.contains(r#"auth0_domain_operator_dns_lookups_total{result="missing"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"auth0_domain_operator_dns_lookups_total{result="visible"} 1"#),
        "{text}"
    );
    dns.shutdown().await;
}
