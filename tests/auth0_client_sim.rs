//! TenantClient against the Auth0 simulator over real HTTPS (its CA trusted via
//! `extra_root_ca_pem`), with verification through the real test DNS server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use auth0_domain_operator::auth0::types::{
    CreateDomain, DomainStatus, DomainType, Field, PatchDomain, TenantMtls, TenantSettings,
    VerificationMethodName,
};
use auth0_domain_operator::auth0::{Error, RateLimit, Redacted, RetryPolicy, TenantClient, TenantConfig};
use auth0_domain_operator::dns::{DnsAnswer, DnsChecker, DnsConfig, VerificationRecord};
use auth0_domain_operator::telemetry::metrics::Metrics;
use auth0_sim::{ClientSpec, Faults, Readings, Sim, SimConfig};
use test_dns::TestDns;

struct World {
    dns: TestDns,
    sim: Sim,
    checker: DnsChecker,
}

async fn world(tweak: impl FnOnce(SimConfig) -> SimConfig) -> World {
    let dns = TestDns::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // The client below is configured for 200 req/s; the simulator's default is Auth0's Free tier.
    let cfg = tweak(SimConfig::default().dns_server(dns.addr()).rate_limit(200.0, 200));
    let sim = auth0_sim::start(cfg).await.unwrap();
    let checker = DnsChecker::new(&DnsConfig {
        nameservers: vec![dns.addr()],
        timeout: Duration::from_millis(500),
        attempts: 1,
    })
    .unwrap();
    World { dns, sim, checker }
}

fn config(sim: &Sim, secret: &str) -> TenantConfig {
    let mut cfg = TenantConfig::new(
        "sim",
        sim.tenant_domain(),
        "sim-client",
        Redacted::new(secret.into()),
    );
    cfg.management_api_url = Some(sim.url());
    cfg.extra_root_ca_pem = Some(sim.ca_pem());
    cfg.rate_limit = RateLimit {
        requests_per_second: 200.0,
        burst: 200,
    };
    cfg.verify_limit = RateLimit {
        requests_per_second: 100.0,
        burst: 100,
    };
    cfg.request_timeout = Duration::from_secs(2);
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
    cfg.max_pause = Duration::from_secs(3);
    cfg
}

fn client(sim: &Sim) -> TenantClient {
    TenantClient::new(config(sim, "sim-secret"), None).unwrap()
}

fn create(name: &str, type_: DomainType) -> CreateDomain {
    let mut md = BTreeMap::new();
    md.insert("k8s_owner".to_string(), format!("cluster/ns/{name}"));
    md.insert("team".to_string(), "identity".to_string());
    CreateDomain {
        domain: name.into(),
        type_,
        verification_method: None,
        tls_policy: None,
        custom_client_ip_header: None,
        domain_metadata: md,
        relying_party_identifier: None,
    }
}

#[tokio::test]
async fn self_managed_lifecycle_over_https() {
    let w = world(|c| c).await;
    let c = client(&w.sim);

    let check = c.check_credentials().await.unwrap();
    assert!(
        check
            .missing(&auth0_domain_operator::auth0::client::CUSTOM_DOMAIN_SCOPES)
            .is_empty(),
        "{check:?}"
    );

    let d = c
        .create_domain(&create("login.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap();
    assert_eq!(d.status, DomainStatus::PendingVerification);
    assert!(d.cname_api_key.is_none());
    assert_eq!(
        d.domain_metadata.get("k8s_owner").map(String::as_str),
        Some("cluster/ns/login.example.com")
    );
    let method = &d.verification_methods()[0];
    assert_eq!(method.name, VerificationMethodName::Txt);

    // The DNS gate sees nothing yet.
    let records = VerificationRecord::from_domain(&d);
    assert!(matches!(
        w.checker.lookup_all(&records).await,
        DnsAnswer::Missing { .. }
    ));
    w.dns.add_txt(&records[0].name, &records[0].value);
    assert_eq!(w.checker.lookup_all(&records).await, DnsAnswer::Visible);

    let verified = c.verify_domain(&d.custom_domain_id).await.unwrap();
    assert_eq!(verified.domain.status, DomainStatus::Ready);
    let key = verified
        .cname_api_key
        .clone()
        .expect("first verify returns the key");
    assert!(!key.expose().is_empty());
    assert!(!format!("{verified:?}").contains(key.expose().as_str()));
    // Auth0 refuses to verify a verified domain (so the key can never be fetched again).
    let again = c.verify_domain(&d.custom_domain_id).await.unwrap_err();
    assert_eq!(again.status(), Some(400), "{again:?}");
    assert_eq!(again.auth0_message(), Some("Custom domain already verified."));
    let read = c.get_domain(&d.custom_domain_id).await.unwrap().unwrap();
    assert_eq!(read.status, DomainStatus::Ready);
    assert!(read.cname_api_key.is_none(), "the key comes once");

    // Drift repair: metadata removal by null, rpId set then removed.
    let mut md = BTreeMap::new();
    md.insert(
        "k8s_owner".to_string(),
        Some("cluster/ns/login.example.com".to_string()),
    );
    md.insert("team".to_string(), None);
    let patched = c
        .patch_domain(
            &d.custom_domain_id,
            &PatchDomain {
                domain_metadata: Some(md),
                relying_party_identifier: Field::Value("example.com".into()),
                custom_client_ip_header: Field::Value("cf-connecting-ip".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!patched.domain_metadata.contains_key("team"));
    assert_eq!(patched.relying_party_identifier.as_deref(), Some("example.com"));
    let patched = c
        .patch_domain(
            &d.custom_domain_id,
            &PatchDomain {
                relying_party_identifier: Field::Null,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.relying_party_identifier, None);

    // Default domain and tenant settings.
    let default = c.get_default_domain().await.unwrap();
    assert!(!default.is_custom(), "{default:?}");
    let default = c.set_default_domain("login.example.com").await.unwrap();
    assert_eq!(default.domain, "login.example.com");
    assert!(
        c.get_domain(&d.custom_domain_id)
            .await
            .unwrap()
            .unwrap()
            .is_default
    );
    let settings = c
        .patch_tenant_settings(&TenantSettings {
            mtls: Some(TenantMtls {
                enable_endpoint_aliases: Some(true),
            }),
        })
        .await
        .unwrap();
    assert_eq!(settings.mtls.unwrap().enable_endpoint_aliases, Some(true));
    assert_eq!(
        c.get_tenant_settings()
            .await
            .unwrap()
            .mtls
            .unwrap()
            .enable_endpoint_aliases,
        Some(true)
    );

    // Lookup by name, then delete (twice: 404 counts as done).
    assert_eq!(
        c.find_domain("login.example.com")
            .await
            .unwrap()
            .unwrap()
            .custom_domain_id,
        d.custom_domain_id
    );
    c.delete_domain(&d.custom_domain_id).await.unwrap();
    c.delete_domain(&d.custom_domain_id).await.unwrap();
    assert!(c.get_domain(&d.custom_domain_id).await.unwrap().is_none());
    assert!(c.find_domain("login.example.com").await.unwrap().is_none());
    assert_eq!(w.sim.control().counters().tokens_issued, 1);
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn auth0_managed_domain_uses_cname() {
    let w = world(|c| c).await;
    let c = client(&w.sim);
    let d = c
        .create_domain(&create("id.example.org", DomainType::Auth0ManagedCerts))
        .await
        .unwrap();
    let records = VerificationRecord::from_domain(&d);
    assert_eq!(records[0].kind, auth0_domain_operator::dns::RecordKind::Cname);
    assert_eq!(records[0].name, "id.example.org");
    w.dns.add_cname("id.example.org", &records[0].value);
    assert_eq!(w.checker.lookup_all(&records).await, DnsAnswer::Visible);
    let v = c.verify_domain(&d.custom_domain_id).await.unwrap();
    assert!(v.cname_api_key.is_none(), "Auth0-managed domains have no key");
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn listing_pages_and_falls_back() {
    let w = world(|c| c).await;
    let c = client(&w.sim);
    for i in 0..205 {
        c.create_domain(&create(
            &format!("d{i:03}.example.com"),
            DomainType::SelfManagedCerts,
        ))
        .await
        .unwrap();
    }
    let all = c.list_domains().await.unwrap();
    assert_eq!(all.len(), 205);
    assert_eq!(c.supports_pagination(), Some(true));
    assert_eq!(c.request_counts()["GET /custom-domains"], 3);

    w.sim.control().set_readings(Readings {
        pagination: false,
        ..Readings::default()
    });
    let fresh = client(&w.sim);
    assert_eq!(fresh.list_domains().await.unwrap().len(), 205);
    assert_eq!(fresh.supports_pagination(), Some(false));
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn expired_token_is_refreshed_and_wrong_secret_refused() {
    let w = world(|c| c).await;
    let c = client(&w.sim);
    c.list_domains().await.unwrap();
    w.sim.control().expire_tokens();
    c.list_domains().await.unwrap();
    assert_eq!(w.sim.control().counters().tokens_issued, 2);

    let bad = TenantClient::new(config(&w.sim, "wrong-secret-value"), None).unwrap();
    let err = bad.list_domains().await.unwrap_err();
    assert!(matches!(err, Error::Token { status: 401, .. }), "{err:?}");
    assert!(err.is_auth());
    assert!(!format!("{err} {err:?} {bad:?}").contains("wrong-secret-value"));
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn scope_and_entitlement_refusals_are_permanent() {
    let w = world(|c| {
        c.client(ClientSpec::new("sim-client", "sim-secret").with_scopes(&["read:custom_domains"]))
            .max_domains(1)
    })
    .await;
    let c = client(&w.sim);
    let err = c
        .create_domain(&create("a.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.error_code(), Some("insufficient_scope"));
    assert!(err.is_auth() && !err.is_transient());
    w.sim.shutdown().await;

    let w2 = world(|c| c.max_domains(1)).await;
    let c = client(&w2.sim);
    c.create_domain(&create("a.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap();
    let err = c
        .create_domain(&create("b.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap_err();
    // Past the entitlement Auth0 answers 409 (not 403), with no errorCode.
    assert_eq!(err.status(), Some(409), "{err:?}");
    assert!(err.is_entitlement_refusal() && !err.is_transient(), "{err:?}");
    assert_eq!(
        err.auth0_message(),
        Some("You reached the maximum number of custom domains for your account.")
    );
    w2.sim.shutdown().await;

    // A plan without custom domains: 403, not a scope problem.
    let w3 = world(|c| c.custom_domains_plan(false)).await;
    let err = client(&w3.sim)
        .create_domain(&create("c.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap_err();
    assert!(
        err.is_plan_refusal() && !err.is_auth() && !err.is_transient(),
        "{err:?}"
    );
    assert_eq!(
        err.auth0_message(),
        Some("The account is not allowed to perform this operation.")
    );
    w3.sim.shutdown().await;
    w.dns.shutdown().await;
    w2.dns.shutdown().await;
    w3.dns.shutdown().await;
}

#[tokio::test]
async fn faults_retries_and_ambiguous_create() {
    let w = world(|c| c).await;
    let metrics = Arc::new(Metrics::new());
    let c = TenantClient::new(config(&w.sim, "sim-secret"), Some(metrics.clone())).unwrap();
    c.check_credentials().await.unwrap();

    // Half the list calls fail with 503: retries get through.
    w.sim.control().set_faults(Faults {
        error_rate: 0.5,
        endpoint: Some("GET /api/v2/custom-domains".into()),
        ..Faults::default()
    });
    for _ in 0..5 {
        c.list_domains().await.unwrap();
    }
    assert!(w.sim.control().counters().injected_errors > 0);

    // A create whose connection is dropped may have happened: not retried.
    w.sim.control().set_faults(Faults {
        drop_rate: 1.0,
        endpoint: Some("POST /api/v2/custom-domains".into()),
        ..Faults::default()
    });
    let err = c
        .create_domain(&create("drop.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap_err();
    assert!(err.is_create_ambiguous(), "{err:?}");
    assert_eq!(w.sim.control().counters().dropped, 1);

    // A create answered 503: same.
    w.sim.control().set_faults(Faults {
        error_rate: 1.0,
        endpoint: Some("POST /api/v2/custom-domains".into()),
        ..Faults::default()
    });
    let err = c
        .create_domain(&create("e.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap_err();
    assert!(err.is_create_ambiguous(), "{err:?}");
    w.sim.control().clear_faults();
    // The caller looks first.
    assert!(c.find_domain("e.example.com").await.unwrap().is_none());

    let text = metrics.encode().unwrap();
    assert!(
        text.contains(r#"endpoint="GET /custom-domains",status="503""#),
        "{text}"
    );
    assert!(
        text.contains(r#"endpoint="POST /custom-domains",status="error""#),
        "{text}"
    );
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn verify_budget_follows_the_rate_limit_headers() {
    // The simulator allows 2 verifies per 2 s; the client is told more, but slows down when
    // `x-ratelimit-remaining` hits 0, so it never meets a 429.
    let w = world(|c| c.verify_limit(2, Duration::from_secs(2))).await;
    let c = client(&w.sim);
    let d = c
        .create_domain(&create("v.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap();
    let start = std::time::Instant::now();
    for _ in 0..4 {
        c.verify_domain(&d.custom_domain_id).await.unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    let counters = w.sim.control().counters();
    assert_eq!(counters.rate_limited, 0, "{counters:?}");
    assert_eq!(counters.count("POST /api/v2/custom-domains/{id}/verify", 200), 4);
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

/// Timing-dependent: under `make test`'s parallel load on 2 cores one run in two saw a 429 after
/// the first second (a clean-clone rehearsal, 2026-12-06), so it is not part of the default run.
/// Run it alone: `cargo test --test auth0_client_sim -- --ignored two_clients`. The same property
/// is measured by `tests/bench/scale.py --mode two-clusters`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing-dependent under parallel load; run alone with --ignored"]
async fn two_clients_given_the_whole_budget_share_it() {
    // Two processes (say, two clusters' operators) each told the tenant's whole budget: 20 per
    // second, burst 40. Following Auth0's `x-ratelimit-remaining`, they stay under it together
    // after the first second.
    let w = world(|c| c.rate_limit(20.0, 40)).await;
    let shared = |secret: &str| {
        let mut cfg = config(&w.sim, secret);
        cfg.rate_limit = RateLimit {
            requests_per_second: 20.0,
            burst: 40,
        };
        TenantClient::new(cfg, None).unwrap()
    };
    let (a, b) = (shared("sim-secret"), shared("sim-secret"));
    a.check_credentials().await.unwrap();
    b.check_credentials().await.unwrap();
    let start = std::time::Instant::now();
    let spend = |c: TenantClient| {
        tokio::spawn(async move {
            let workers = (0..4).map(|_| {
                let c = c.clone();
                tokio::spawn(async move {
                    for _ in 0..30 {
                        c.list_domains().await.unwrap();
                    }
                })
            });
            for w in workers.collect::<Vec<_>>() {
                w.await.unwrap();
            }
            c
        })
    };
    let (ja, jb) = (spend(a), spend(b));
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(start.elapsed())).await;
    let in_first_second = w.sim.control().counters().rate_limited;
    let (a, b) = (ja.await.unwrap(), jb.await.unwrap());
    let counters = w.sim.control().counters();
    let after = counters.rate_limited - in_first_second;
    assert_eq!(after, 0, "429s after the first second: {after} ({counters:?})");
    assert_eq!(counters.count("GET /api/v2/custom-domains", 200), 240);
    assert!(
        a.budget().tenant_share() < 1.0 && b.budget().tenant_share() < 1.0,
        "each saw the other: {} {}",
        a.budget().tenant_share(),
        b.budget().tenant_share()
    );
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn a_429_storm_is_waited_out() {
    let w = world(|c| c).await;
    let metrics = Arc::new(Metrics::new());
    let c = TenantClient::new(config(&w.sim, "sim-secret"), Some(metrics.clone())).unwrap();
    c.check_credentials().await.unwrap();
    w.sim.control().storm(Duration::from_millis(1200));
    let start = std::time::Instant::now();
    c.list_domains().await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    let counters = w.sim.control().counters();
    assert!(counters.rate_limited >= 1, "{counters:?}");
    let text = metrics.encode().unwrap();
    assert!(
        text.contains(r#"auth0_ratelimited_total{tenant="sim",endpoint="GET /custom-domains"}"#),
        "{text}"
    );
    // A 429 on the tenant bucket halves the share the client spends, and the metric says so.
    let share: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(r#"auth0_domain_operator_auth0_rate_share{tenant="sim"} "#))
        .unwrap_or_else(|| panic!("no rate share in\n{text}"))
        .parse()
        .unwrap();
    assert!(
        (share - c.budget().tenant_share()).abs() < 1e-9 && share < 1.0,
        "{share} vs {}",
        c.budget().tenant_share()
    );
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

/// Measurement, not a check: `cargo test --test auth0_client_sim -- --ignored --nocapture measure`.
#[tokio::test]
#[ignore]
async fn measure_list_of_1000_domains() {
    let w = world(|c| c.rate_limit(5000.0, 5000)).await;
    let mut cfg = config(&w.sim, "sim-secret");
    cfg.rate_limit = RateLimit {
        requests_per_second: 5000.0,
        burst: 5000,
    };
    let c = TenantClient::new(cfg, None).unwrap();
    let start = std::time::Instant::now();
    for i in 0..1000 {
        c.create_domain(&create(
            &format!("m{i:04}.example.com"),
            DomainType::SelfManagedCerts,
        ))
        .await
        .unwrap();
    }
    let create_time = start.elapsed();
    let start = std::time::Instant::now();
    let all = c.list_domains().await.unwrap();
    let list_time = start.elapsed();
    assert_eq!(all.len(), 1000);
    println!(
        "1000 sequential creates: {create_time:?} ({:?}/create); paged list of 1000: {list_time:?}; requests: {:?}",
        create_time / 1000,
        c.request_counts()
    );
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}

#[tokio::test]
async fn check_reports_scopes_domains_and_default() {
    let w = world(|c| {
        c.client(ClientSpec::new("sim-client", "sim-secret").with_scopes(&[
            "read:custom_domains",
            "create:custom_domains",
            "update:custom_domains",
            "delete:custom_domains",
        ]))
    })
    .await;
    let c = client(&w.sim);
    c.create_domain(&create("b.example.com", DomainType::SelfManagedCerts))
        .await
        .unwrap();
    let mut unmarked = create("a.example.com", DomainType::Auth0ManagedCerts);
    unmarked.domain_metadata.clear();
    c.create_domain(&unmarked).await.unwrap();
    let report = auth0_domain_operator::auth0::check::inspect(&c).await.unwrap();
    assert!(report.is_usable());
    assert_eq!(
        report.missing_settings_scopes,
        vec!["read:tenant_settings", "update:tenant_settings"]
    );
    assert_eq!(report.by_status().get("pending_verification"), Some(&2));
    assert_eq!(report.default_domain.as_deref().unwrap(), w.sim.tenant_domain());
    let text = report.to_string();
    assert!(
        text.contains("custom domains: 2 (2 pending_verification; checkpoint pagination)"),
        "{text}"
    );
    assert!(
        text.contains("a.example.com") && text.contains("unmarked"),
        "{text}"
    );
    assert!(text.contains("owner=cluster/ns/b.example.com"), "{text}");
    assert!(!text.contains("sim-secret"));
    w.sim.shutdown().await;
    w.dns.shutdown().await;
}
