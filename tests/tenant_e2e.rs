//! `Auth0Tenant` end to end: the real operator binary against kube-sim, auth0-sim and test-dns
//! (through the `e2e` harness). Credentials rotation, namespace fences, the default domain, mTLS
//! endpoint aliases, entitlement, and two tenants where one is in a 429 storm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use auth0_domain_operator::auth0::{Redacted, TenantClient, TenantConfig};
use auth0_sim::{ClientSpec, Sim, SimConfig};
use e2e::World;
use e2e::resources::{self, condition, is_true, str_at};
use e2e::wait::wait_for;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(45);

fn tenants(w: &World) -> Api<DynamicObject> {
    Api::all_with(w.client.clone(), &resources::tenant_resource())
}

async fn tenant(w: &World, name: &str) -> DynamicObject {
    tenants(w).get(name).await.unwrap()
}

async fn patch_tenant(w: &World, name: &str, patch: Value) {
    tenants(w)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Waits until the Auth0Tenant `name` satisfies `pred`; returns it and the time it took.
async fn wait_tenant(
    w: &World,
    name: &str,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&DynamicObject) -> bool,
) -> (DynamicObject, Duration) {
    let start = Instant::now();
    let api = tenants(w);
    let obj = wait_for(
        &format!("tenant {name}: {what}"),
        timeout,
        || async {
            let t = api.get(name).await.ok()?;
            pred(&t).then_some(t)
        },
        || w.log_tail(),
    )
    .await;
    match obj {
        Ok(o) => (o, start.elapsed()),
        Err(e) => {
            let last = api.get(name).await.map(|t| t.data["status"].to_string());
            panic!("{e}\nlast tenant status: {last:?}");
        }
    }
}

fn cond_reason(obj: &DynamicObject, type_: &str) -> String {
    condition(obj, type_).map(|c| c.reason).unwrap_or_default()
}

async fn set_secret(w: &World, ns: &str, name: &str, client_secret: &str) {
    let api: Api<Secret> = Api::namespaced(w.client.clone(), ns);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"stringData": {"client_secret": client_secret}})),
    )
    .await
    .unwrap();
}

/// A Management API client of the world's simulator, as an outside tool (the dashboard) would use.
fn outside_client(w: &World) -> TenantClient {
    let mut cfg = TenantConfig::new(
        "outside",
        w.sim().tenant_domain(),
        format!("e2e-client-{}", w.tag),
        Redacted::new(w.client_secret.clone()),
    );
    cfg.management_api_url = Some(w.sim().url());
    cfg.extra_root_ca_pem = Some(w.sim().ca_pem());
    TenantClient::new(cfg, None).unwrap()
}

/// Creates a self-managed CustomDomain, publishes its records and waits for Ready.
async fn ready_domain(w: &World, name: &str, label: &str, extra: Value) -> DynamicObject {
    let domain = w.domain(label);
    w.apply_json(&w.custom_domain(name, &domain, "SelfManagedCerts", extra))
        .await
        .unwrap();
    w.publish_records(name, T).await.unwrap();
    w.wait_cd(name, "Ready", T, |o| is_true(o, "Ready"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_rotation_is_picked_up_without_restart() {
    let w = World::start_default().await.unwrap();
    wait_tenant(&w, &w.tenant, "Ready", T, |t| is_true(t, "Ready")).await;

    // A wrong secret: the tenant says what Auth0 answered, never the secret; domains wait.
    let wrong = "e2e-wrong-secret-0123456789abcdef";
    set_secret(&w, &w.ns, "auth0-credentials", wrong).await;
    let (t, took_bad) = wait_tenant(&w, &w.tenant, "Ready=False CredentialsRejected", T, |t| {
        cond_reason(t, "Ready") == "CredentialsRejected"
    })
    .await;
    let message = condition(&t, "Ready").unwrap().message;
    assert!(
        !message.contains(wrong) && !message.contains(&w.client_secret),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("401")
            || message.contains("access_denied")
            || message.contains("Unauthorized"),
        "{message}"
    );
    // Only a person can fix it: Stalled, so Flux and Argo CD report Failed instead of waiting.
    assert!(
        condition(&t, "Stalled").is_some_and(|c| c.status == "True" && c.reason == "CredentialsRejected"),
        "{:?}",
        t.data["status"]
    );
    assert!(condition(&t, "Reconciling").is_none(), "{:?}", t.data["status"]);
    // It names where the credentials live, so a person knows what to fix.
    assert!(
        message.contains(&format!(
            "Secret {}/auth0-credentials (keys client_id and client_secret)",
            w.ns
        )),
        "{message}"
    );
    let domain = w.domain("rot");
    w.apply_json(&w.custom_domain("rot", &domain, "SelfManagedCerts", json!({})))
        .await
        .unwrap();
    w.wait_cd("rot", "Reconciling TenantNotReady", T, |o| {
        condition(o, "Reconciling").is_some_and(|c| c.reason == "TenantNotReady")
    })
    .await
    .unwrap();
    assert!(w.sim().control().domain_by_name(&domain).is_none());

    // The right secret again: picked up from the Secret watch, well before the 30 s re-check.
    let fixed = Instant::now();
    set_secret(&w, &w.ns, "auth0-credentials", &w.client_secret.clone()).await;
    let (t, took_good) = wait_tenant(&w, &w.tenant, "Ready again", T, |t| is_true(t, "Ready")).await;
    assert!(condition(&t, "Stalled").is_none(), "{:?}", t.data["status"]);
    println!("rotation: bad secret seen in {took_bad:?}, good secret in {took_good:?}");
    assert!(took_good < Duration::from_secs(20), "took {took_good:?}");
    w.publish_records("rot", T).await.unwrap();
    w.wait_cd("rot", "Ready", T, |o| is_true(o, "Ready"))
        .await
        .unwrap();
    println!("rotation: domain Ready {:?} after the fix", fixed.elapsed());
    w.assert_no_leaks().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_namespaces_selector_fences_and_follows_labels() {
    let w = World::start_default().await.unwrap();
    patch_tenant(
        &w,
        &w.tenant,
        json!({"spec": {"allowedNamespaces": {"from": "Selector", "selector": {"matchLabels": {"auth0-tenant": "yes"}}}}}),
    )
    .await;
    wait_tenant(&w, &w.tenant, "Ready", T, |t| is_true(t, "Ready")).await;
    let before = w.counters();
    let domain = w.domain("fence");
    w.apply_json(&w.custom_domain("fence", &domain, "SelfManagedCerts", json!({})))
        .await
        .unwrap();
    w.wait_cd("fence", "TenantNotAllowed", T, |o| {
        condition(o, "Ready").is_some_and(|c| c.status == "False" && c.reason == "TenantNotAllowed")
    })
    .await
    .unwrap();
    // Give it a moment: still nothing sent to Auth0 for this domain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = e2e::measure::calls_between(&before, &w.counters());
    assert!(
        !calls
            .keys()
            .any(|k| k.starts_with("POST") && k.ends_with("/custom-domains")),
        "{calls:?}"
    );
    assert!(w.sim().control().domain_by_name(&domain).is_none());

    // Label the namespace in: no restart, the domain proceeds.
    let namespaces: Api<Namespace> = Api::all(w.client.clone());
    let label = |v: Option<&str>| json!({"metadata": {"labels": {"auth0-tenant": v}}});
    namespaces
        .patch(&w.ns, &PatchParams::default(), &Patch::Merge(label(Some("yes"))))
        .await
        .unwrap();
    let start = Instant::now();
    w.publish_records("fence", T).await.unwrap();
    w.wait_cd("fence", "Ready", T, |o| is_true(o, "Ready"))
        .await
        .unwrap();
    println!("fence: Ready {:?} after labelling the namespace", start.elapsed());
    assert!(w.sim().control().domain_by_name(&domain).is_some());

    // Label out again: refused again (the Auth0 domain stays).
    namespaces
        .patch(&w.ns, &PatchParams::default(), &Patch::Merge(label(None)))
        .await
        .unwrap();
    w.wait_cd("fence", "TenantNotAllowed again", T, |o| {
        cond_reason(o, "Ready") == "TenantNotAllowed"
    })
    .await
    .unwrap();

    // Issue-14 item 4: a refused resource never reached Auth0, so deleting it is released at once
    // (it used to requeue every 5 s forever and block namespace deletion).
    let never = w.domain("never");
    w.apply_json(&w.custom_domain("never", &never, "SelfManagedCerts", json!({})))
        .await
        .unwrap();
    w.wait_cd("never", "TenantNotAllowed", T, |o| {
        cond_reason(o, "Ready") == "TenantNotAllowed"
            && o.metadata
                .finalizers
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|f| f == "auth0-domain-operator.dev/cleanup")
    })
    .await
    .unwrap();
    let deleted = Instant::now();
    w.delete_cd("never").await.unwrap();
    let cds = w.cd_api();
    while cds.get_opt("never").await.unwrap().is_some() {
        assert!(
            deleted.elapsed() < Duration::from_secs(10),
            "a refused CustomDomain still held 10 s after its deletion:\n{}",
            w.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("refused namespace: deletion released in {:?}", deleted.elapsed());
    assert!(w.sim().control().domain_by_name(&never).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_domain_applied_reported_and_repaired() {
    let w = World::start_default().await.unwrap();
    // Both at once: the test has to wait out one 30 s resync later on.
    let (ra, rb) = tokio::join!(
        ready_domain(&w, "a", "a", json!({})),
        ready_domain(&w, "b", "b", json!({}))
    );
    assert!(is_true(&ra, "Ready") && is_true(&rb, "Ready"));
    let (a, b) = (w.domain("a"), w.domain("b"));
    // Two verified domains and no default: the tenant says email calls need the header.
    let (t, _) = wait_tenant(&w, &w.tenant, "NoDefaultDomain", T, |t| {
        cond_reason(t, "DefaultDomain") == "NoDefaultDomain"
    })
    .await;
    assert!(
        condition(&t, "DefaultDomain")
            .unwrap()
            .message
            .contains("auth0-custom-domain")
    );

    // A default that does not exist, then one that does.
    patch_tenant(
        &w,
        &w.tenant,
        json!({"spec": {"defaultCustomDomain": "missing.example.com"}}),
    )
    .await;
    wait_tenant(&w, &w.tenant, "DefaultDomainNotFound", T, |t| {
        cond_reason(t, "DefaultDomain") == "DefaultDomainNotFound"
    })
    .await;
    patch_tenant(&w, &w.tenant, json!({"spec": {"defaultCustomDomain": a}})).await;
    wait_tenant(&w, &w.tenant, "default a", T, |t| {
        str_at(t, "/status/defaultCustomDomain") == Some(a.as_str()) && is_true(t, "DefaultDomain")
    })
    .await;
    assert_eq!(outside_client(&w).get_default_domain().await.unwrap().domain, a);

    // Someone picks b in the dashboard: the next resync (30 s in this world) puts a back.
    outside_client(&w).set_default_domain(&b).await.unwrap();
    let start = Instant::now();
    wait_for(
        "default back to a",
        Duration::from_secs(50),
        || async {
            let d = outside_client(&w).get_default_domain().await.ok()?;
            (d.domain == a).then_some(())
        },
        || w.log_tail(),
    )
    .await
    .unwrap();
    println!("default domain: drift repaired after {:?}", start.elapsed());
    let t = tenant(&w, &w.tenant).await;
    assert_eq!(str_at(&t, "/status/defaultCustomDomain"), Some(a.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_endpoint_aliases_reach_the_tenant_and_the_domains() {
    let w = World::start_default().await.unwrap();
    let name = "mt";
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(
        name,
        &domain,
        "SelfManagedCerts",
        json!({"mtls": {"enabled": true}}),
    ))
    .await
    .unwrap();
    w.publish_records(name, T).await.unwrap();
    w.wait_cd(name, "Ready, aliases disabled", T, |o| {
        is_true(o, "Ready") && cond_reason(o, "MtlsAliases") == "MtlsAliasesDisabled"
    })
    .await
    .unwrap();

    patch_tenant(
        &w,
        &w.tenant,
        json!({"spec": {"mtls": {"enableEndpointAliases": true}}}),
    )
    .await;
    wait_tenant(&w, &w.tenant, "MtlsAliases True", T, |t| {
        is_true(t, "MtlsAliases")
    })
    .await;
    let settings = outside_client(&w).get_tenant_settings().await.unwrap();
    assert_eq!(settings.mtls.and_then(|m| m.enable_endpoint_aliases), Some(true));
    let alias = format!("mtls.{domain}");
    let cd = w
        .wait_cd(name, "mtlsAlias", T, |o| {
            str_at(o, "/status/mtlsAlias") == Some(alias.as_str()) && is_true(o, "MtlsAliases")
        })
        .await
        .unwrap();
    let secret_name = str_at(&cd, "/spec/secretName").map_or(format!("{name}-auth0-edge"), str::to_owned);
    let secret = wait_for(
        "Secret mtls-domain",
        T,
        || async {
            let s = w.secret(&secret_name).await.ok()??;
            resources::secret_strings(&s).get("mtls-domain").cloned()
        },
        || w.log_tail(),
    )
    .await
    .unwrap();
    assert_eq!(secret, alias);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlement_warns_and_refused_create_stalls() {
    let w = World::builder().sim(|s| s.max_domains(1)).start().await.unwrap();
    patch_tenant(&w, &w.tenant, json!({"spec": {"entitlement": 1}})).await;
    let d1 = w.domain("e1");
    w.apply_json(&w.custom_domain("e1", &d1, "SelfManagedCerts", json!({})))
        .await
        .unwrap();
    w.wait_cd("e1", "created", T, |o| {
        str_at(o, "/status/customDomainId").is_some()
    })
    .await
    .unwrap();
    let (t, _) = wait_tenant(&w, &w.tenant, "EntitlementExceeded", T, |t| {
        is_true(t, "EntitlementExceeded")
    })
    .await;
    assert_eq!(t.data.pointer("/status/customDomains/total"), Some(&json!(1)));
    let d2 = w.domain("e2");
    w.apply_json(&w.custom_domain("e2", &d2, "SelfManagedCerts", json!({})))
        .await
        .unwrap();
    let cd = w
        .wait_cd("e2", "Stalled EntitlementExceeded", T, |o| {
            condition(o, "Stalled").is_some_and(|c| c.status == "True" && c.reason == "EntitlementExceeded")
        })
        .await
        .unwrap();
    println!("entitlement: {}", condition(&cd, "Stalled").unwrap().message);
    let events = w.events_text().await.unwrap();
    assert!(events.contains("EntitlementExceeded"), "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_count_follows_creates_and_deletes_within_seconds() {
    // Resync far away: only the operator's own creates and deletes can move the count.
    let w = World::builder().resync("1h").start().await.unwrap();
    wait_tenant(&w, &w.tenant, "Ready", T, |t| is_true(t, "Ready")).await;
    let count = |t: &DynamicObject| t.data.pointer("/status/customDomains/total").cloned();
    let d = w.domain("cnt");
    w.apply_json(&w.custom_domain("cnt", &d, "SelfManagedCerts", json!({})))
        .await
        .unwrap();
    let (_, took) = wait_tenant(&w, &w.tenant, "DOMAINS 1", Duration::from_secs(15), |t| {
        count(t) == Some(json!(1))
    })
    .await;
    println!("count after create: {took:?}");
    w.delete_cd("cnt").await.unwrap();
    let (_, took) = wait_tenant(&w, &w.tenant, "DOMAINS 0", Duration::from_secs(15), |t| {
        count(t) == Some(json!(0))
    })
    .await;
    println!("count after delete: {took:?}");
    let table = w.kubectl(&["get", "auth0tenants"]).await.unwrap();
    assert!(
        table.stdout.lines().next().unwrap_or_default().contains("REASON"),
        "{}",
        table.stdout
    );
}

/// A second tenant on its own simulator, in the world's namespace.
async fn second_tenant(w: &World, name: &str) -> Sim {
    let secret = format!("b-secret-{}", w.tag);
    let client_id = format!("b-client-{}", w.tag);
    let mut cfg = SimConfig::default()
        .tenant(format!("b-{}", w.tag))
        .plain_http(true)
        .rate_limit(200.0, 200)
        .verify_limit(100, Duration::from_secs(60))
        .cert_delay(Duration::from_millis(300))
        .dns_server(w.dns().addr())
        .client(ClientSpec::new(&client_id, &secret));
    cfg.tenant_domain = Some(format!("b-{}.eu.auth0local.dev", w.tag));
    let sim = auth0_sim::start(cfg).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &w.ns);
    secrets
        .patch(
            &format!("{name}-credentials"),
            &PatchParams::apply("tenant-test").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("{name}-credentials")},
                "stringData": {"client_id": client_id, "client_secret": secret},
            })),
        )
        .await
        .unwrap();
    w.apply_json(&json!({
        "apiVersion": format!("{}/{}", resources::GROUP, resources::VERSION),
        "kind": "Auth0Tenant",
        "metadata": {"name": name},
        "spec": {
            "domain": sim.tenant_domain(),
            "managementApiUrl": sim.url(),
            "credentialsSecretRef": {"namespace": w.ns, "name": format!("{name}-credentials")},
            "rateLimit": {"requestsPerSecond": 100, "burst": 100},
            "resyncInterval": "30s",
        }
    }))
    .await
    .unwrap();
    sim
}

/// Tenant B's domain to Ready: create, publish records, wait.
async fn b_domain_ready(w: &World, tenant_b: &str, name: &str) -> Duration {
    let start = Instant::now();
    let mut cd = w.custom_domain(name, &w.domain(name), "SelfManagedCerts", json!({}));
    cd["spec"]["tenantRef"]["name"] = json!(tenant_b);
    w.apply_json(&cd).await.unwrap();
    w.publish_records(name, T).await.unwrap();
    w.wait_cd(name, "Ready", T, |o| is_true(o, "Ready"))
        .await
        .unwrap();
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_in_a_429_storm_does_not_slow_another() {
    let w = World::start_default().await.unwrap();
    wait_tenant(&w, &w.tenant, "A Ready", T, |t| is_true(t, "Ready")).await;
    let tenant_b = format!("b-{}", w.tag);
    let sim_b = second_tenant(&w, &tenant_b).await;
    let (_, b_tenant_ready) = wait_tenant(&w, &tenant_b, "B Ready", T, |t| is_true(t, "Ready")).await;
    let quiet = b_domain_ready(&w, &tenant_b, "bq").await;

    // Tenant A: 60 s of 429s, with work queued on it (more domains than the reconcile concurrency).
    w.sim().control().storm(Duration::from_secs(60));
    for i in 0..20 {
        let name = format!("a{i}");
        w.apply_json(&w.custom_domain(&name, &w.domain(&name), "SelfManagedCerts", json!({})))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stormy = b_domain_ready(&w, &tenant_b, "bs").await;
    let a_429 = w.counters().rate_limited;
    println!(
        "two tenants: tenant B Ready {b_tenant_ready:?} after create; B domain to Ready: {quiet:?} with A quiet, \
         {stormy:?} with A in a 429 storm (20 A domains queued, {a_429} 429s sent by A's simulator)"
    );
    assert!(
        stormy < quiet + Duration::from_secs(5),
        "B slowed by A's storm: {stormy:?} vs {quiet:?}"
    );
    w.sim().control().refill_buckets();
    sim_b.shutdown().await;
}
