//! Multi-tenant safety, the tenant and cluster side: what a person who may write an Auth0Tenant,
//! or a broken object, can no longer do to the operator.
//!
//! * a tenant naming a non-Auth0 host, or a credentials Secret outside the operator's namespace,
//!   is refused before the Secret is read and before any connection (`TenantDomainNotAllowed`,
//!   `CredentialsNamespaceNotAllowed`), and the message does not tell whether the Secret exists;
//! * deleting a tenant while CustomDomains still need it keeps it (finalizer, `Deleting` /
//!   `DomainsRemain`, one Warning Event) until they are gone, and their Auth0 domains are deleted;
//! * a second `--namespace` operator (another namespace) sharing the cluster-scoped tenant leaves
//!   its status alone;
//! * a CustomDomain that does not decode is skipped and reported (Event, metric) while the others
//!   reach Ready.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::error::{Error, Result, ensure};
use e2e::resources::{self, condition, is_true};
use e2e::{World, wait::wait_for};
use kube::api::{Api, DeleteParams};
use kube::core::DynamicObject;
use serde_json::{Value, json};

/// Longest wait for one step.
const STEP: Duration = Duration::from_secs(45);

fn tenants(w: &World) -> Api<DynamicObject> {
    Api::all_with(w.client.clone(), &resources::tenant_resource())
}

/// A TCP listener standing in for an attacker's host: counts every connection made to it.
async fn attacker() -> Result<(String, Arc<AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Check(format!("bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Check(format!("addr: {e}")))?;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    Ok((format!("http://{addr}"), hits))
}

/// Waits for a tenant's condition `type_` to have `reason`; returns the tenant.
async fn wait_tenant_reason(w: &World, name: &str, type_: &str, reason: &str) -> Result<DynamicObject> {
    let api = tenants(w);
    wait_for(
        &format!("Auth0Tenant {name} {type_} reason {reason}"),
        STEP,
        || {
            let api = api.clone();
            async move {
                let t = api.get_opt(name).await.ok()??;
                condition(&t, type_).filter(|c| c.reason == reason).map(|_| t)
            }
        },
        || w.log_tail(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_pointing_elsewhere_is_refused_before_any_read_or_call() -> Result<()> {
    let mut w = World::builder().cluster_wide().start().await?;
    if w.kube_sim_or_skip("a cluster-wide operator").is_none() {
        return Ok(());
    }
    w.wait_operator_ready().await?;
    let (evil_url, hits) = attacker().await?;

    // A Secret in a namespace the operator does not read credentials from, holding a canary.
    let victim_ns = format!("victim-{}", w.tag);
    let canary = format!("canary-{}-do-not-send", w.tag);
    w.kubectl(&["create", "namespace", &victim_ns]).await?;
    w.kubectl(&[
        "-n",
        &victim_ns,
        "create",
        "secret",
        "generic",
        "db",
        "--from-literal=client_id=x",
        &format!("--from-literal=client_secret={canary}"),
    ])
    .await?;
    let tenant = |name: &str, domain: &str, ns: &str, secret: &str| {
        json!({
            "apiVersion": format!("{}/{}", resources::GROUP, resources::VERSION),
            "kind": "Auth0Tenant",
            "metadata": {"name": name},
            "spec": {
                "domain": domain,
                "managementApiUrl": evil_url,
                "credentialsSecretRef": {"namespace": ns, "name": secret},
            }
        })
    };
    let allowed_host = format!("x-{}.eu.auth0local.dev", w.tag);
    // 1. a host that is not Auth0's, with the operator's own (real) credentials;
    // 2. an Auth0-shaped host, credentials from another namespace (an existing Secret);
    // 3. the same with a Secret that does not exist: the message must read the same.
    let cases = [
        (
            format!("host-{}", w.tag),
            "attacker.example".to_string(),
            w.ns.clone(),
            "auth0-credentials",
        ),
        (
            format!("steal-{}", w.tag),
            allowed_host.clone(),
            victim_ns.clone(),
            "db",
        ),
        (
            format!("probe-{}", w.tag),
            allowed_host.clone(),
            victim_ns.clone(),
            "no-such-secret",
        ),
    ];
    for (name, domain, ns, secret) in &cases {
        w.apply_json(&tenant(name, domain, ns, secret)).await?;
    }
    let host = wait_tenant_reason(&w, &cases[0].0, "Ready", "TenantDomainNotAllowed").await?;
    let steal = wait_tenant_reason(&w, &cases[1].0, "Ready", "CredentialsNamespaceNotAllowed").await?;
    let probe = wait_tenant_reason(&w, &cases[2].0, "Ready", "CredentialsNamespaceNotAllowed").await?;
    for t in [&host, &steal, &probe] {
        let stalled = condition(t, "Stalled");
        ensure(stalled.as_ref().is_some_and(|c| c.status == "True"), || {
            format!("refused tenant not Stalled: {}", resources::status_summary(t))
        })?;
    }
    let (m_steal, m_probe) = (
        condition(&steal, "Ready").unwrap_or_default().message,
        condition(&probe, "Ready").unwrap_or_default().message,
    );
    println!(
        "refusals:\n  {}\n  {m_steal}",
        condition(&host, "Ready").unwrap_or_default().message
    );
    ensure(m_steal == m_probe, || {
        format!("the message tells an existing Secret from a missing one:\n  {m_steal}\n  {m_probe}")
    })?;
    // A CustomDomain of the refused tenant: nothing created anywhere.
    let cd = w.custom_domain("evil", &w.domain("evil"), "Auth0ManagedCerts", json!({}));
    let mut cd = cd;
    cd["spec"]["tenantRef"]["name"] = json!(cases[1].0);
    w.apply_json(&cd).await?;
    w.wait_cd("evil", "not ready", STEP, |o| {
        condition(o, "Ready").is_some_and(|c| c.status == "False")
    })
    .await?;
    // Two resyncs' worth of reconciles of the refused tenants.
    tokio::time::sleep(Duration::from_secs(3)).await;
    ensure(hits.load(Ordering::SeqCst) == 0, || {
        format!(
            "{} connection(s) reached the attacker's URL",
            hits.load(Ordering::SeqCst)
        )
    })?;
    let log = w.operator_log();
    let events = w.events_text().await?;
    ensure(!log.contains(&canary) && !events.contains(&canary), || {
        "the victim Secret's value appears in the operator log or Events".into()
    })?;
    ensure(w.sim().control().domains().is_empty(), || {
        "a domain was created through a refused tenant".into()
    })?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_tenant_first_waits_for_its_domains() -> Result<()> {
    let mut w = World::start_default().await?;
    w.wait_operator_ready().await?;
    let api = tenants(&w);
    // The operator puts its finalizer on the tenant.
    let tenant = w.tenant.clone();
    wait_for(
        "the tenant-in-use finalizer",
        STEP,
        || {
            let api = api.clone();
            let tenant = tenant.clone();
            async move {
                let t = api.get_opt(&tenant).await.ok()??;
                t.metadata
                    .finalizers
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|f| f == "auth0-domain-operator.dev/tenant-in-use")
                    .then_some(())
            }
        },
        || w.log_tail(),
    )
    .await?;

    // Two domains created in Auth0 (Auth0-managed: no DNS needed to get an Auth0 id).
    for name in ["first", "second"] {
        w.apply_json(&w.custom_domain(name, &w.domain(name), "Auth0ManagedCerts", json!({})))
            .await?;
    }
    for name in ["first", "second"] {
        w.wait_cd(name, "an Auth0 id", STEP, |o| {
            o.data.pointer("/status/customDomainId").is_some()
        })
        .await?;
    }
    ensure(w.sim().control().domains().len() == 2, || {
        "two domains in Auth0".into()
    })?;

    // `kubectl delete -f dir/` order: the tenant goes first.
    api.delete(&w.tenant, &DeleteParams::default())
        .await
        .map_err(|source| Error::Kube {
            action: "delete the tenant".into(),
            source,
        })?;
    let held = wait_tenant_reason(&w, &w.tenant, "Deleting", "DomainsRemain").await?;
    let deleting = condition(&held, "Deleting").unwrap_or_default();
    println!("tenant held: {}", deleting.message);
    ensure(held.metadata.deletion_timestamp.is_some(), || {
        "no deletionTimestamp".into()
    })?;
    ensure(
        deleting.message.contains("2 CustomDomain")
            && deleting.message.contains(&format!("{}/first", w.ns))
            && deleting.message.contains("deletionPolicy: Orphan"),
        || format!("message: {}", deleting.message),
    )?;
    ensure(is_true(&held, "Ready"), || {
        format!(
            "Ready changed while deleting: {}",
            resources::status_summary(&held)
        )
    })?;
    let events = w.events_text().await?;
    ensure(events.contains("DomainsRemain"), || {
        "no DomainsRemain Event".into()
    })?;

    // A restart whose CustomDomain list fails for a while: an empty store is not "no domain
    // left", so the tenant stays held (chaos found this one: the finalizer went with the restart).
    if let Some(control) = w
        .kube_sim_or_skip("fail list customdomains across a restart")
        .map(|k| k.control().clone())
    {
        control.add_fault(kube_sim::FaultRule {
            verb: Some("list".into()),
            resource: Some("customdomains".into()),
            status: Some(500),
            ..kube_sim::FaultRule::default()
        });
        w.operator()?.restart()?;
        tokio::time::sleep(Duration::from_secs(8)).await;
        let t = api.get_opt(&w.tenant).await.map_err(|source| Error::Kube {
            action: "read the tenant".into(),
            source,
        })?;
        ensure(t.is_some(), || {
            format!(
                "the tenant was released while its domains were not listed:\n{}",
                w.log_tail()
            )
        })?;
        control.clear_faults();
    }

    // The domains go (Delete policy): their Auth0 domains are deleted through the held tenant.
    for name in ["first", "second"] {
        w.delete_cd(name).await?;
    }
    for name in ["first", "second"] {
        w.wait_cd_gone(name, STEP).await?;
    }
    ensure(w.sim().control().domains().is_empty(), || {
        format!(
            "Auth0 domains left behind: {:?}",
            w.sim()
                .control()
                .domains()
                .iter()
                .map(|d| d.domain.clone())
                .collect::<Vec<_>>()
        )
    })?;
    // And then the tenant itself.
    let name = w.tenant.clone();
    wait_for(
        "the tenant to be gone",
        STEP,
        || {
            let api = api.clone();
            let name = name.clone();
            async move { matches!(api.get_opt(&name).await, Ok(None)).then_some(()) }
        },
        || w.log_tail(),
    )
    .await?;
    ensure(
        w.events_text().await?.matches("\"DomainsRemain\"").count() <= 2,
        || "DomainsRemain Event repeated".into(),
    )?;
    w.assert_no_leaks().await
}

/// Replaces the CustomDomain schema by one that accepts anything (a CRD applied without its
/// schema, or a version skew), so an object that does not fit the operator's type can be stored.
async fn permissive_customdomain_crd(w: &World) -> Result<()> {
    let patch = json!([{
        "op": "replace",
        "path": "/spec/versions/0/schema/openAPIV3Schema",
        "value": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    }]);
    w.kubectl(&[
        "patch",
        "crd",
        "customdomains.auth0.domain-operator.dev",
        "--type=json",
        "-p",
        &patch.to_string(),
    ])
    .await
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_domain_is_skipped_and_reported_while_the_others_reconcile() -> Result<()> {
    let mut w = World::builder().without_operator().start().await?;
    // The CRD is cluster-wide: on a shared real cluster the permissive schema would let the other
    // worlds' objects in unvalidated and undefaulted while it is in place.
    if w.kube_sim_or_skip("swapping the CustomDomain CRD's schema")
        .is_none()
    {
        return Ok(());
    }
    permissive_customdomain_crd(&w).await?;
    let mut broken = w.custom_domain("broken", &w.domain("broken"), "Auth0ManagedCerts", json!({}));
    // `type` is an enum of two strings; a number fits no CustomDomain.
    broken["spec"]["type"] = json!(42);
    broken["spec"]["note"] = json!("s3cr3t-note-in-the-broken-object");
    w.apply_json(&broken).await?;
    // The real schema back (stored objects are not re-validated, as on a real API server).
    let crd = e2e::binary::workspace_root().join("crds/customdomains.yaml");
    w.kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &crd.to_string_lossy(),
    ])
    .await?;
    let stored = w.get_cd("broken").await?;
    ensure(
        stored
            .as_ref()
            .and_then(|o| o.data.pointer("/spec/type"))
            .and_then(Value::as_i64)
            == Some(42),
        || "the broken object is not stored as written".into(),
    )?;

    w.launch_operator(vec!["--dns-recheck-max=5s".into()])?;
    w.wait_operator_ready().await?;
    w.apply_json(&w.custom_domain("good", &w.domain("good"), "Auth0ManagedCerts", json!({})))
        .await?;
    w.publish_records("good", STEP).await?;
    w.wait_cd("good", "Ready", STEP, |o| is_true(o, "Ready")).await?;

    let events = wait_for(
        "an UndecodableObject Event",
        STEP,
        || async {
            let text = w.events_text().await.ok()?;
            text.contains("UndecodableObject").then_some(text)
        },
        || w.log_tail(),
    )
    .await?;
    let event = events
        .lines()
        .find(|l| l.contains("UndecodableObject"))
        .unwrap_or_default()
        .to_string();
    println!("event: {event}");
    ensure(
        event.contains("\"broken\"") && event.contains("spec.type"),
        || format!("the Event does not name the object and field: {event}"),
    )?;
    let addr = w
        .operator()?
        .metrics_addr()
        .ok_or_else(|| Error::Check("no metrics address".into()))?;
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .map_err(|e| Error::Check(format!("metrics: {e}")))?
        .text()
        .await
        .map_err(|e| Error::Check(format!("metrics body: {e}")))?;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("auth0_domain_operator_undecodable_objects{kind=\"CustomDomain\"}"))
        .unwrap_or_default()
        .to_string();
    ensure(line.ends_with(" 1"), || format!("metric: {line:?}"))?;
    let log = w.operator_log();
    ensure(log.contains("skipping an object that does not decode"), || {
        "no log line for the broken object".into()
    })?;
    ensure(
        !log.contains("s3cr3t-note-in-the-broken-object")
            && !events.contains("s3cr3t-note-in-the-broken-object"),
        || "the broken object's content was logged".into(),
    )?;
    // The broken object is left alone (no finalizer, no status).
    let stored = w
        .get_cd("broken")
        .await?
        .ok_or_else(|| Error::Check("broken object gone".into()))?;
    ensure(stored.data.pointer("/status").is_none(), || {
        "status written on the broken object".into()
    })?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_namespaced_operator_leaves_the_shared_tenant_alone() -> Result<()> {
    let mut w = World::start_default().await?;
    w.wait_operator_ready().await?;
    let api = tenants(&w);
    let tenant = w.tenant.clone();
    wait_tenant_reason(&w, &tenant, "Ready", "TenantReady").await?;

    // On a real cluster its namespace would need deploy/base's credentials Role as well.
    if w.kube_sim_or_skip("a second operator in another namespace")
        .is_none()
    {
        return Ok(());
    }
    // Another team's operator in its own namespace; the tenant's credentials are not there.
    // (`e2e-` prefix: make test-deploy holds e2e- namespaces to the operator namespace's Role.)
    let other = format!("e2e-other-{}", w.tag);
    w.kubectl(&["create", "namespace", &other]).await?;
    let mut second = w.spawn_operator(
        vec![format!("--namespace={other}"), "--dns-recheck-max=5s".into()],
        "operator-other.log",
    )?;
    wait_for(
        "the second operator to serve /metrics",
        STEP,
        || std::future::ready(second.metrics_addr().map(|_| ())),
        || second.log_tail(20),
    )
    .await?;
    // Its tenant reconciles run at start: watch the tenant for a while.
    let until = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < until {
        let t = api.get(&tenant).await.map_err(|source| Error::Kube {
            action: "get the tenant".into(),
            source,
        })?;
        let ready = condition(&t, "Ready").unwrap_or_default();
        ensure(ready.status == "True" && ready.reason == "TenantReady", || {
            format!(
                "the second operator changed the tenant's status: {}\n{}",
                resources::status_summary(&t),
                second.log_tail(20)
            )
        })?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // It did look at the tenant (and refused to use it: the credentials are not in its namespace).
    wait_for(
        "the second operator's verdict on the tenant",
        STEP,
        || {
            std::future::ready(
                second
                    .log()
                    .contains("CredentialsNamespaceNotAllowed")
                    .then_some(()),
            )
        },
        || second.log_tail(20),
    )
    .await?;
    ensure(!second.log().contains(&w.client_secret), || {
        "client secret in the second log".into()
    })?;
    second.kill()?;
    w.assert_no_leaks().await
}

/// Item 7: `spec.managementApiUrl` is honoured only with the operator's `--allow-custom-api-url`:
/// without it the tenant is refused before its Secret is read or any connection is made (the
/// simulator issues no token); with it, the same tenant works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_management_api_url_needs_the_operators_opt_in() -> Result<()> {
    let mut w = World::builder().without_operator().start().await?;
    w.launch_operator(vec!["--allow-custom-api-url=false".into()])?;
    w.wait_operator_ready().await?;
    let tenant = w.tenant.clone();
    let t = wait_tenant_reason(&w, &tenant, "Ready", "ManagementApiUrlNotAllowed").await?;
    let msg = condition(&t, "Ready").unwrap_or_default().message;
    println!("refused: {msg}");
    ensure(msg.contains("--allow-custom-api-url"), || {
        format!("the message does not name the flag: {msg}")
    })?;
    ensure(w.counters().tokens_issued == 0, || {
        "a token was requested from a managementApiUrl the operator may not use".into()
    })?;
    w.operator()?.kill()?;
    w.launch_operator(vec![])?;
    wait_tenant_reason(&w, &tenant, "Ready", "TenantReady").await?;
    ensure(w.counters().tokens_issued > 0, || {
        "no token after the opt-in".into()
    })?;
    w.assert_no_leaks().await
}
