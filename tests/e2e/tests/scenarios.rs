//! End-to-end scenarios: the real operator binary, real kubectl, the simulators.
//!
//! Each test has its own world (ephemeral ports) and bounded waits; run with
//! `cargo test -p e2e --test scenarios -- --nocapture` to see the measurements.

use std::time::{Duration, Instant};

use e2e::error::{Error, Result, ensure};
use e2e::measure;
use e2e::resources::{self, ADOPT_ANNOTATION, FINALIZER, condition, is_true, str_at};
use e2e::{World, wait::wait_for};
use kube::core::DynamicObject;
use serde_json::{Value, json};

/// Longest wait for one step.
const STEP: Duration = Duration::from_secs(45);

const CREATE: &str = "POST /api/v2/custom-domains";
const VERIFY: &str = "POST /api/v2/custom-domains/{id}/verify";
const PATCH: &str = "PATCH /api/v2/custom-domains/{id}";
const DELETE: &str = "DELETE /api/v2/custom-domains/{id}";

use e2e::resources::ready;

/// The ownership marker the operator writes for CustomDomain `name`: cluster, namespace, name, uid.
async fn marker_of(w: &World, name: &str) -> Result<String> {
    let obj = w
        .get_cd(name)
        .await?
        .ok_or_else(|| Error::Check(format!("CustomDomain {name} missing")))?;
    Ok(format!(
        "{}/{}/{name}/{}",
        w.cluster_id,
        w.ns,
        obj.metadata.uid.unwrap_or_default()
    ))
}

/// Applies a CustomDomain, publishes the records its status asks for and waits for Ready.
/// Returns the Ready object, the time from DNS visible to Ready and the Auth0 calls it took.
async fn to_ready(w: &World, name: &str, type_: &str, extra: Value) -> Result<DynamicObject> {
    let before = w.counters();
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(name, &domain, type_, extra))
        .await?;
    let (records, visible) = w.publish_records(name, STEP).await?;
    let obj = w.wait_cd(name, "Ready", STEP, ready).await?;
    let dns_to_ready = visible.elapsed();
    let calls = measure::calls_between(&before, &w.counters());
    println!(
        "{}",
        measure::table(
            &format!("Auth0 calls for {type_} {domain}, apply → Ready:"),
            &calls
        )
    );
    println!(
        "{type_} {domain}: DNS record {:?} visible → Ready in {:.2}s",
        records
            .iter()
            .map(|r| format!("{} {}", r.type_, r.name))
            .collect::<Vec<_>>(),
        dns_to_ready.as_secs_f64()
    );
    Ok(obj)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_reports_ready_on_readyz() -> Result<()> {
    let mut w = World::builder().without_operator().start().await?;
    w.launch_operator(Vec::new())?;
    w.wait_operator_ready().await
}

fn id_of(o: &DynamicObject) -> Result<String> {
    str_at(o, "/status/customDomainId")
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Check(format!(
                "no status.customDomainId: {}",
                resources::status_summary(o)
            ))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_managed_to_ready_with_key_in_secret_accepted_by_edge() -> Result<()> {
    let mut w = World::builder().default_dns_recheck().start().await?;
    let name = "app";
    let domain = w.domain(name);
    // kubectl wait is started before the domain exists is Ready; it must return 0 once it is.
    let kubectl = w.kubectl.clone();
    let ns = w.ns.clone();
    let waiter = tokio::spawn(async move {
        // Give apply a head start: `kubectl wait` on a missing object fails at once.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        kubectl
            .run(
                &[
                    "-n",
                    &ns,
                    "wait",
                    "--for=condition=Ready",
                    "acd/app",
                    "--timeout=60s",
                ],
                None,
            )
            .await
    });
    let obj = to_ready(&w, name, "SelfManagedCerts", json!({"metadata": {"team": "e2e"}})).await?;
    let id = id_of(&obj)?;

    let remote = w
        .sim()
        .control()
        .domain_by_name(&domain)
        .ok_or_else(|| Error::Check(format!("{domain} not in the simulator")))?;
    ensure(remote.custom_domain_id == id, || {
        format!("status id {id} vs sim {}", remote.custom_domain_id)
    })?;
    ensure(remote.status == "ready", || {
        format!("sim status {}", remote.status)
    })?;
    let issued = remote
        .cname_api_key
        .clone()
        .ok_or_else(|| Error::Check("the simulator issued no key".into()))?;

    let secret_name = format!("{name}-auth0-edge");
    let secret = w
        .secret(&secret_name)
        .await?
        .ok_or_else(|| Error::Check(format!("Secret {secret_name} missing")))?;
    let data = resources::secret_strings(&secret);
    ensure(data.get("cname-api-key") == Some(&issued), || {
        "Secret cname-api-key differs from the issued key".into()
    })?;
    ensure(data.get("domain") == Some(&domain), || {
        format!("Secret domain {:?}", data.get("domain"))
    })?;
    ensure(
        data.get("origin-domain-name") == Some(&remote.origin_domain_name),
        || {
            format!(
                "Secret origin-domain-name {:?} vs {}",
                data.get("origin-domain-name"),
                remote.origin_domain_name
            )
        },
    )?;
    let owners = secret.metadata.owner_references.clone().unwrap_or_default();
    ensure(
        owners.iter().any(|o| o.kind == "CustomDomain" && o.name == name),
        || format!("Secret owners {owners:?}"),
    )?;
    ensure(
        str_at(&obj, "/status/secretRef/name") == Some(secret_name.as_str()),
        || "status.secretRef.name".into(),
    )?;

    // The key opens the edge; a wrong one does not.
    let ok = w.edge_request(&domain, &issued).await?;
    ensure(ok == 200, || format!("edge answered {ok} with the stored key"))?;
    let bad = w.edge_request(&domain, "not-the-key").await?;
    ensure(bad == 403, || format!("edge answered {bad} with a wrong key"))?;

    let out = waiter
        .await
        .map_err(|e| Error::Check(format!("kubectl wait task: {e}")))??;
    ensure(out.success(), || {
        format!("kubectl wait exited {:?}: {}", out.code, out.stderr)
    })?;

    let c = w.counters();
    ensure(c.count(CREATE, 201) == 1, || {
        format!("creates: {:?}", c.calls.get(CREATE))
    })?;
    ensure(c.keys_issued == 1, || format!("keys issued {}", c.keys_issued))?;

    // Graceful shutdown on SIGTERM.
    let status = w.operator()?.terminate(Duration::from_secs(15)).await?;
    ensure(status.success(), || {
        format!("operator exited {status} after SIGTERM")
    })?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth0_managed_to_ready_with_cname() -> Result<()> {
    let w = World::builder().default_dns_recheck().start().await?;
    let name = "login";
    let domain = w.domain(name);
    let obj = to_ready(&w, name, "Auth0ManagedCerts", json!({})).await?;
    let recs = resources::records(&obj);
    let remote = w
        .sim()
        .control()
        .domain_by_name(&domain)
        .ok_or_else(|| Error::Check(format!("{domain} not in the simulator")))?;
    ensure(
        recs.iter()
            .any(|r| r.type_ == "CNAME" && r.name == domain && r.value == remote.origin_domain_name),
        || format!("records {recs:?} vs origin {}", remote.origin_domain_name),
    )?;
    ensure(remote.status == "ready", || {
        format!("sim status {}", remote.status)
    })?;
    ensure(
        str_at(&obj, "/status/certificate/status") == Some("provisioned"),
        || format!("certificate: {}", resources::status_summary(&obj)),
    )?;
    let out = w
        .kubectl(&["wait", "--for=condition=Ready", "acd/login", "--timeout=10s"])
        .await?;
    ensure(out.success(), || format!("kubectl wait: {}", out.stderr))?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_dns_names_the_record_and_costs_no_verify_call() -> Result<()> {
    let w = World::start_default().await?;
    let name = "gate";
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(name, &domain, "SelfManagedCerts", json!({})))
        .await?;
    let obj = w
        .wait_cd(name, "records and a Ready=False message", STEP, |o| {
            !resources::records(o).is_empty() && condition(o, "Ready").is_some_and(|c| c.status == "False")
        })
        .await?;
    let rec = resources::records(&obj)
        .into_iter()
        .next()
        .ok_or_else(|| Error::Check("no record".into()))?;
    // Let the burst of lookups from the first reconciles settle, then wait for a timed re-check:
    // the gate has then looked at DNS over a stretch of time, still without calling verify.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = w.dns().queries_for(&rec.name);
    let since = Instant::now();
    wait_for(
        "a timed DNS re-check of the missing record",
        Duration::from_secs(20),
        || async { (w.dns().queries_for(&rec.name) > settled).then_some(()) },
        || {
            format!(
                "queries for {}: {}\n{}",
                rec.name,
                w.dns().queries_for(&rec.name),
                w.log_tail()
            )
        },
    )
    .await?;
    let obj = w.get_cd(name).await?.ok_or_else(|| Error::Check("gone".into()))?;
    let messages: Vec<String> = ["Ready", "Verified"]
        .iter()
        .filter_map(|t| condition(&obj, t).map(|c| c.message))
        .chain(str_at(&obj, "/status/verification/errorMessage").map(str::to_string))
        .collect();
    ensure(messages.iter().any(|m| m.contains(&rec.name)), || {
        format!("no status message names {}: {messages:?}", rec.name)
    })?;
    let c = w.counters();
    ensure(c.total(VERIFY) == 0, || {
        format!("verify called while DNS was missing: {:?}", c.calls.get(VERIFY))
    })?;
    println!(
        "DNS gate: {} lookups of {} (a re-check {:.1}s after the first burst), 0 verify calls",
        w.dns().queries_for(&rec.name),
        rec.name,
        since.elapsed().as_secs_f64() + 1.0
    );

    let (_, visible) = w.publish_records(name, STEP).await?;
    w.wait_cd(name, "Ready after the record appears", STEP, ready)
        .await?;
    println!(
        "DNS gate: record visible → Ready in {:.2}s",
        visible.elapsed().as_secs_f64()
    );
    ensure(w.counters().total(VERIFY) >= 1, || {
        "Ready without a verify call".into()
    })?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_edit_is_patched() -> Result<()> {
    let w = World::start_default().await?;
    let name = "edit";
    let domain = w.domain(name);
    to_ready(
        &w,
        name,
        "SelfManagedCerts",
        json!({"metadata": {"team": "a", "gone": "x"}}),
    )
    .await?;
    let before = w.counters();
    let edited = w.custom_domain(
        name,
        &domain,
        "SelfManagedCerts",
        json!({"metadata": {"team": "b", "env": "prod"}, "customClientIPHeader": "cf-connecting-ip"}),
    );
    w.apply_json(&edited).await?;
    let stored = wait_for(
        "the simulator to hold the edited fields",
        STEP,
        || async {
            let d = w.sim().control().domain_by_name(&domain)?;
            let s = serde_json::to_value(&d.stored).ok()?;
            let md = s.get("domain_metadata")?;
            let ok = md.get("team") == Some(&json!("b"))
                && md.get("env") == Some(&json!("prod"))
                && md.get("gone").is_none_or(Value::is_null)
                && s.get("custom_client_ip_header") == Some(&json!("cf-connecting-ip"));
            ok.then_some(s)
        },
        || {
            format!(
                "sim: {:?}\n{}",
                w.sim().control().domain_by_name(&domain).map(|d| d.stored),
                w.log_tail()
            )
        },
    )
    .await?;
    // The simulator stores the change before it counts the call (the count is taken as the answer
    // leaves), so the store can show the edit a moment before the counters do.
    let patches = wait_for(
        "the simulator to count the PATCH",
        STEP,
        || async {
            let n = measure::count_between(&before, &w.counters(), PATCH, 200);
            (n >= 1).then_some(n)
        },
        || "no PATCH seen".into(),
    )
    .await?;
    println!(
        "spec edit: {patches} PATCH call(s); stored metadata {}",
        stored["domain_metadata"]
    );
    let marker = marker_of(&w, name).await?;
    ensure(
        stored["domain_metadata"].get("k8s_owner").and_then(Value::as_str) == Some(marker.as_str()),
        || format!("ownership marker lost: {}", stored["domain_metadata"]),
    )?;
    w.wait_cd(name, "Ready for the new generation", STEP, ready)
        .await?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_auth0_is_repaired() -> Result<()> {
    let w = World::start_default().await?;
    let name = "drift";
    let domain = w.domain(name);
    let obj = to_ready(
        &w,
        name,
        "SelfManagedCerts",
        json!({"metadata": {"team": "a"}, "customClientIPHeader": "x-forwarded-for"}),
    )
    .await?;
    let id = id_of(&obj)?;
    let marker = marker_of(&w, name).await?;
    w.sim()
        .control()
        .edit_domain(
            &id,
            json!({"domain_metadata": {"team": "dashboard", "k8s_owner": marker}, "custom_client_ip_header": "true-client-ip"}),
        )
        .map_err(|e| Error::Check(format!("edit in sim: {e}")))?;
    let started = Instant::now();
    wait_for(
        "drift to be repaired in the simulator",
        Duration::from_secs(55),
        || async {
            let d = w.sim().control().domain_by_name(&domain)?;
            let s = serde_json::to_value(&d.stored).ok()?;
            (s["domain_metadata"]["team"] == json!("a")
                && s["custom_client_ip_header"] == json!("x-forwarded-for")
                && s["domain_metadata"]["k8s_owner"] == json!(marker))
            .then_some(())
        },
        || {
            format!(
                "sim: {:?}\n{}",
                w.sim().control().domain_by_name(&domain).map(|d| d.stored),
                w.log_tail()
            )
        },
    )
    .await?;
    println!(
        "drift repaired {:.1}s after the edit (resyncInterval 30s)",
        started.elapsed().as_secs_f64()
    );
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_deletion_is_reported_and_recreated() -> Result<()> {
    let w = World::start_default().await?;
    let name = "gone";
    let domain = w.domain(name);
    let obj = to_ready(&w, name, "Auth0ManagedCerts", json!({})).await?;
    let old = id_of(&obj)?;
    let old_records = resources::records(&obj);
    w.sim()
        .control()
        .delete_domain(&old)
        .map_err(|e| Error::Check(format!("delete in sim: {e}")))?;
    let started = Instant::now();
    // Detection waits for the domain's next resync (30 s here).
    let recreated = w
        .wait_cd(
            name,
            "a new customDomainId with its records",
            Duration::from_secs(50),
            |o| {
                str_at(o, "/status/customDomainId").is_some_and(|id| id != old)
                    && !resources::records(o).is_empty()
                    && resources::records(o) != old_records
            },
        )
        .await?;
    let reported_in_status = condition(&recreated, "Ready").is_some_and(|c| c.reason == "RemoteDeleted");
    let events = w.events_text().await?;
    let reported_in_events = events.contains("RemoteDeleted");
    println!(
        "remote deletion: recreated {:.1}s after the deletion; Ready reason then {:?}; RemoteDeleted Event: {reported_in_events}",
        started.elapsed().as_secs_f64(),
        condition(&recreated, "Ready").map(|c| c.reason)
    );
    ensure(reported_in_status || reported_in_events, || {
        "neither status nor an Event reported RemoteDeleted".into()
    })?;
    // The new domain has a new origin: publish its CNAME, then it becomes Ready again.
    w.publish_records(name, STEP).await?;
    let new_obj = w.wait_cd(name, "Ready again", STEP, ready).await?;
    let new = id_of(&new_obj)?;
    ensure(new != old, || "same id after recreation".into())?;
    let remote = w.sim().control().domain_by_name(&domain);
    ensure(remote.as_ref().is_some_and(|d| d.custom_domain_id == new), || {
        format!(
            "sim holds {:?}, status says {new}",
            remote.map(|d| d.custom_domain_id)
        )
    })?;
    ensure(w.counters().domains_created == 2, || {
        "expected exactly one recreation".into()
    })?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_policy_delete_removes_domain_and_secret() -> Result<()> {
    let w = World::start_default().await?;
    let name = "del";
    let domain = w.domain(name);
    let obj = to_ready(&w, name, "SelfManagedCerts", json!({})).await?;
    ensure(
        obj.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER),
        || "no finalizer".into(),
    )?;
    let secret_name = format!("{name}-auth0-edge");
    ensure(w.secret(&secret_name).await?.is_some(), || {
        "no Secret before delete".into()
    })?;
    let before = w.counters();
    let out = w
        .kubectl(&["delete", "acd", name, "--wait=true", "--timeout=45s"])
        .await?;
    ensure(out.success(), || {
        format!("kubectl delete: {} {}", out.stdout, out.stderr)
    })?;
    w.wait_cd_gone(name, STEP).await?;
    ensure(w.sim().control().domain_by_name(&domain).is_none(), || {
        "domain still in Auth0".into()
    })?;
    ensure(
        measure::count_between(&before, &w.counters(), DELETE, 204) == 1,
        || "no DELETE call".into(),
    )?;
    wait_for(
        "the Secret to be garbage-collected",
        Duration::from_secs(20),
        || async {
            w.secret(&secret_name)
                .await
                .ok()
                .and_then(|s| s.is_none().then_some(()))
        },
        || w.log_tail(),
    )
    .await?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_policy_orphan_keeps_domain_and_secret() -> Result<()> {
    let w = World::start_default().await?;
    let name = "orphan";
    let domain = w.domain(name);
    to_ready(&w, name, "SelfManagedCerts", json!({"deletionPolicy": "Orphan"})).await?;
    let secret_name = format!("{name}-auth0-edge");
    let before = w.counters();
    w.delete_cd(name).await?;
    w.wait_cd_gone(name, STEP).await?;
    ensure(w.sim().control().domain_by_name(&domain).is_some(), || {
        "orphaned domain deleted in Auth0".into()
    })?;
    ensure(w.counters().total(DELETE) == before.total(DELETE), || {
        "DELETE called for Orphan".into()
    })?;
    // Give GC a moment to (wrongly) act on a remaining ownerReference.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let secret = w
        .secret(&secret_name)
        .await?
        .ok_or_else(|| Error::Check("the key Secret was deleted with an Orphan domain".into()))?;
    let owners = secret.metadata.owner_references.clone().unwrap_or_default();
    ensure(owners.is_empty(), || format!("Secret still owned: {owners:?}"))?;
    ensure(
        resources::secret_strings(&secret).contains_key("cname-api-key"),
        || "key missing".into(),
    )?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmarked_domain_stalls_then_is_adopted_with_the_annotation() -> Result<()> {
    let w = World::start_default().await?;
    let name = "legacy";
    let domain = w.domain(name);
    let existing = w
        .create_remote_domain(&domain, "auth0_managed_certs", json!({"owner": "terraform"}))
        .await?;
    let existing_id = existing["custom_domain_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let before = w.counters();
    w.apply_json(&w.custom_domain(name, &domain, "Auth0ManagedCerts", json!({})))
        .await?;
    let obj = w
        .wait_cd(name, "Stalled AlreadyExists", STEP, |o| {
            condition(o, "Stalled").is_some_and(|c| c.status == "True" && c.reason == "AlreadyExists")
        })
        .await?;
    println!(
        "unmarked: Stalled message: {:?}",
        condition(&obj, "Stalled").map(|c| c.message)
    );
    let after = w.counters();
    ensure(
        measure::count_between(&before, &after, CREATE, 201) == 0
            && after.total(PATCH) == before.total(PATCH),
        || {
            format!(
                "the operator changed an unmarked domain: {:?}",
                measure::calls_between(&before, &after)
            )
        },
    )?;
    let ann = format!("{ADOPT_ANNOTATION}=true");
    let out = w.kubectl(&["annotate", "acd", name, &ann]).await?;
    ensure(out.success(), || format!("annotate: {}", out.stderr))?;
    // Adoption is the tenant owner's decision: the annotation alone changes nothing in Auth0.
    let obj = w
        .wait_cd(name, "Stalled AdoptionNotAllowed", STEP, |o| {
            condition(o, "Stalled").is_some_and(|c| c.status == "True" && c.reason == "AdoptionNotAllowed")
        })
        .await?;
    println!(
        "adopt without the tenant's consent: {:?}",
        condition(&obj, "Stalled").map(|c| c.message)
    );
    ensure(w.counters().total(PATCH) == before.total(PATCH), || {
        "the annotation alone PATCHed the unmarked domain".into()
    })?;
    let consent = json!({"spec": {"adoption": {"namespaceSelector": {}, "domains": [domain]}}}).to_string();
    let out = w
        .kubectl(&["patch", "auth0tenant", &w.tenant, "--type=merge", "-p", &consent])
        .await?;
    ensure(out.success(), || format!("patch tenant: {}", out.stderr))?;
    let marker = marker_of(&w, name).await?;
    wait_for(
        "the ownership marker on the adopted domain",
        STEP,
        || async {
            let d = w.sim().control().domain_by_name(&domain)?;
            let s = serde_json::to_value(&d.stored).ok()?;
            (s["domain_metadata"]["k8s_owner"] == json!(marker)).then_some(())
        },
        || w.log_tail(),
    )
    .await?;
    w.publish_records(name, STEP).await?;
    let obj = w.wait_cd(name, "Ready after adoption", STEP, ready).await?;
    ensure(id_of(&obj)? == existing_id, || {
        format!("adopted id {:?} vs {existing_id}", id_of(&obj))
    })?;
    ensure(w.counters().domains_created == 1, || {
        "a second domain was created".into()
    })?;
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_create_and_status_write_resumes_without_duplicate() -> Result<()> {
    let mut w = World::start_default().await?;
    let name = "crash";
    let domain = w.domain(name);
    // The finalizer is present from the start, so the first write the operator needs after the
    // create is the status write; kube-sim holds every CustomDomain patch for 20 s, so the kill
    // below lands between Auth0's answer and the status write.
    let held = w
        .kube_sim_or_skip("hold status writes with injected latency")
        .map(|k| k.control().clone());
    if let Some(c) = &held {
        c.add_fault(kube_sim::FaultRule {
            verb: Some("patch".into()),
            resource: Some("customdomains".into()),
            latency_ms: 20_000,
            ..kube_sim::FaultRule::default()
        });
    }
    let mut cd = w.custom_domain(name, &domain, "SelfManagedCerts", json!({}));
    cd["metadata"]["finalizers"] = json!([FINALIZER]);
    w.apply_json(&cd).await?;
    wait_for(
        "the simulator to count the create",
        STEP,
        || async { (w.counters().count(CREATE, 201) >= 1).then_some(()) },
        || w.log_tail(),
    )
    .await?;
    w.operator()?.kill()?;
    if let Some(c) = &held {
        c.clear_faults();
        let obj = w.get_cd(name).await?.ok_or_else(|| Error::Check("gone".into()))?;
        ensure(str_at(&obj, "/status/customDomainId").is_none(), || {
            "status was written before the kill: the scenario did not hit its window".into()
        })?;
    }
    w.operator()?.restart()?;
    w.wait_operator_started().await?;
    w.publish_records(name, STEP).await?;
    let obj = w.wait_cd(name, "Ready after the restart", STEP, ready).await?;
    let c = w.counters();
    let same_name = w
        .sim()
        .control()
        .domains()
        .iter()
        .filter(|d| d.domain == domain)
        .count();
    println!(
        "crash recovery: domains created {}, with this name {same_name}, create calls {:?}",
        c.domains_created,
        c.calls.get(CREATE)
    );
    ensure(c.domains_created == 1 && same_name == 1, || {
        "duplicate domain after the restart".into()
    })?;
    let remote = w
        .sim()
        .control()
        .domain_by_name(&domain)
        .ok_or_else(|| Error::Check("no domain".into()))?;
    ensure(id_of(&obj)? == remote.custom_domain_id, || {
        "status id differs from Auth0".into()
    })?;
    let key = remote.cname_api_key.unwrap_or_default();
    let secret = w
        .secret(&format!("{name}-auth0-edge"))
        .await?
        .ok_or_else(|| Error::Check("no Secret".into()))?;
    ensure(
        resources::secret_strings(&secret).get("cname-api-key") == Some(&key),
        || "key not stored".into(),
    )?;
    w.assert_no_leaks().await
}

/// Waits until `kubectl get KIND NAME` says NotFound.
async fn wait_kubectl_gone(w: &World, kind: &str, name: &str) -> Result<()> {
    wait_for(
        &format!("{kind} {name} to be deleted"),
        STEP,
        || async { matches!(w.get_json(kind, name).await, Ok(None)).then_some(()) },
        || w.log_tail(),
    )
    .await
}

fn owned_by(obj: &Value, cd: &DynamicObject) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|owners| {
            owners.iter().any(|o| {
                o.get("kind").and_then(Value::as_str) == Some("CustomDomain")
                    && o.get("uid").and_then(Value::as_str) == cd.metadata.uid.as_deref()
                    && o.get("controller").and_then(Value::as_bool) == Some(true)
            })
        })
}

/// The optional children through the running operator: the external-dns `DNSEndpoint` (the
/// verification TXT record the status names, plus the `mtls.` alias as a CNAME to the domain)
/// and the cert-manager `Certificate` (domain and alias), owned by the CustomDomain and reported
/// by `ChildObjectsReady`; a missing CRD is a clear condition that does not block `Ready`;
/// switching the DNSEndpoint off deletes it; deleting the CustomDomain garbage-collects the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_dns_endpoint_and_certificate_through_the_operator() -> Result<()> {
    let w = World::start_default().await?;
    w.apply_fixture_crd("external-dns", "crd/dnsendpoints.externaldns.k8s.io")
        .await?;
    let out = w
        .kubectl(&[
            "patch",
            "auth0tenant",
            &w.tenant,
            "--type=merge",
            "-p",
            // The tenant's owner allows the ClusterIssuer the domains below name.
            r#"{"spec":{"mtls":{"enableEndpointAliases":true},"allowedClusterIssuers":["letsencrypt"]}}"#,
        ])
        .await?;
    ensure(out.success(), || format!("patch tenant: {}", out.stderr))?;

    // cert-manager is not installed yet: a clear condition, and the domain still becomes Ready.
    let lone = "nocert";
    let issuer = json!({"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}});
    w.apply_json(&w.custom_domain(
        lone,
        &w.domain(lone),
        "SelfManagedCerts",
        json!({"certificate": issuer}),
    ))
    .await?;
    w.publish_records(lone, STEP).await?;
    let obj = w
        .wait_cd(lone, "Ready with ChildObjectsReady=False", STEP, |o| {
            ready(o)
                && condition(o, "ChildObjectsReady")
                    .is_some_and(|c| c.status == "False" && c.reason == "ChildCrdNotInstalled")
        })
        .await?;
    let cond = condition(&obj, "ChildObjectsReady").unwrap_or_default();
    ensure(
        cond.message
            .contains("cert-manager Certificate CRD is not installed"),
        || format!("ChildObjectsReady message: {}", cond.message),
    )?;
    println!(
        "CRD missing: ChildObjectsReady=False ChildCrdNotInstalled: {}",
        cond.message
    );
    let events = w.events_text().await?;
    ensure(events.contains("ChildCrdNotInstalled"), || {
        "no Warning Event with reason ChildCrdNotInstalled".into()
    })?;

    // Both CRDs installed: a self-managed mTLS domain with both children.
    w.apply_fixture_crd("cert-manager", "crd/certificates.cert-manager.io")
        .await?;
    let name = "edge";
    let domain = w.domain(name);
    let alias = format!("mtls.{domain}");
    w.apply_json(&w.custom_domain(
        name,
        &domain,
        "SelfManagedCerts",
        json!({"dnsEndpoint": {"enabled": true}, "certificate": issuer, "mtls": {"enabled": true}}),
    ))
    .await?;
    let obj = w
        .wait_cd(name, "ChildObjectsReady=True", STEP, |o| {
            is_true(o, "ChildObjectsReady") && !resources::records(o).is_empty()
        })
        .await?;
    let cond = condition(&obj, "ChildObjectsReady").unwrap_or_default();
    ensure(cond.reason == "ChildObjectsApplied", || {
        format!("ChildObjectsReady reason {}", cond.reason)
    })?;
    let txt = resources::records(&obj)
        .into_iter()
        .find(|r| r.type_.eq_ignore_ascii_case("TXT"))
        .ok_or_else(|| Error::Check("status names no TXT record".into()))?;

    let de_name = format!("{name}-auth0-verification");
    let de = w
        .get_json("dnsendpoints.externaldns.k8s.io", &de_name)
        .await?
        .ok_or_else(|| Error::Check(format!("DNSEndpoint {de_name} missing")))?;
    let endpoints = de
        .pointer("/spec/endpoints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |dns: &str, kind: &str, target: &str| {
        endpoints.iter().any(|e| {
            e.get("dnsName").and_then(Value::as_str) == Some(dns)
                && e.get("recordType").and_then(Value::as_str) == Some(kind)
                && e.pointer("/targets/0").and_then(Value::as_str) == Some(target)
        })
    };
    ensure(has(&txt.name, "TXT", txt.value.trim_matches('"')), || {
        format!(
            "DNSEndpoint lacks TXT {} = {}: {endpoints:?}",
            txt.name, txt.value
        )
    })?;
    ensure(has(&alias, "CNAME", &domain), || {
        format!("DNSEndpoint lacks CNAME {alias} -> {domain}: {endpoints:?}")
    })?;
    ensure(endpoints.len() == 2, || format!("endpoints: {endpoints:?}"))?;
    ensure(owned_by(&de, &obj), || {
        format!(
            "DNSEndpoint owners: {:?}",
            de.pointer("/metadata/ownerReferences")
        )
    })?;

    let cert_name = format!("{name}-tls");
    let cert = w
        .get_json("certificates.cert-manager.io", &cert_name)
        .await?
        .ok_or_else(|| Error::Check(format!("Certificate {cert_name} missing")))?;
    ensure(
        cert.pointer("/spec/dnsNames") == Some(&json!([domain, alias])),
        || format!("Certificate dnsNames: {:?}", cert.pointer("/spec/dnsNames")),
    )?;
    ensure(
        cert.pointer("/spec/secretName").and_then(Value::as_str) == Some(cert_name.as_str()),
        || format!("Certificate secretName: {:?}", cert.pointer("/spec/secretName")),
    )?;
    ensure(owned_by(&cert, &obj), || {
        format!(
            "Certificate owners: {:?}",
            cert.pointer("/metadata/ownerReferences")
        )
    })?;
    println!(
        "children: DNSEndpoint {de_name} ({} endpoints: TXT {}, CNAME {alias} -> {domain}), Certificate {cert_name} {:?}",
        endpoints.len(),
        txt.name,
        cert.pointer("/spec/dnsNames")
    );

    w.publish_records(name, STEP).await?;
    w.wait_cd(name, "Ready", STEP, |o| {
        ready(o) && is_true(o, "ChildObjectsReady")
    })
    .await?;

    // Switching the DNSEndpoint off deletes it; the Certificate stays.
    let out = w
        .kubectl(&[
            "patch",
            "acd",
            name,
            "--type=merge",
            "-p",
            r#"{"spec":{"dnsEndpoint":{"enabled":false}}}"#,
        ])
        .await?;
    ensure(out.success(), || format!("patch dnsEndpoint off: {}", out.stderr))?;
    wait_kubectl_gone(&w, "dnsendpoints.externaldns.k8s.io", &de_name).await?;
    w.wait_cd(name, "Ready after switching the DNSEndpoint off", STEP, |o| {
        ready(o) && is_true(o, "ChildObjectsReady")
    })
    .await?;
    ensure(
        w.get_json("certificates.cert-manager.io", &cert_name)
            .await?
            .is_some(),
        || "the Certificate went with the DNSEndpoint".into(),
    )?;

    // Deleting the CustomDomain garbage-collects its Certificate.
    let out = w
        .kubectl(&["delete", "acd", name, "--wait=true", "--timeout=45s"])
        .await?;
    ensure(out.success(), || format!("kubectl delete: {}", out.stderr))?;
    w.wait_cd_gone(name, STEP).await?;
    wait_kubectl_gone(&w, "certificates.cert-manager.io", &cert_name).await?;
    w.assert_no_leaks().await
}
