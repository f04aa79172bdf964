//! End-to-end scenarios against the Auth0 simulator answering like the real Management API
//! (upper-case method names, type-restricted fields, entitlement and plan refusals, 400 on a
//! verify of a verified domain, the Free tier's 2/2 tenant bucket and 5-per-minute verify bucket).
//!
//! Run one with `cargo test -p e2e --test auth0_real -- <name> --nocapture`. The 50-domain run at
//! the Free tier's limits takes about ten minutes and is ignored by default:
//! `cargo test -p e2e --test auth0_real -- --ignored fifty_self_managed_domains_at_free_tier_limits --nocapture`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use auth0_sim::Readings;
use e2e::error::{Error, Result, ensure};
use e2e::measure;
use e2e::resources::{self, Cond, condition, str_at};
use e2e::{World, wait::wait_for};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::DynamicObject;
use serde_json::{Value, json};

/// Longest wait for one step.
const STEP: Duration = Duration::from_secs(60);

const CREATE: &str = "POST /api/v2/custom-domains";
const VERIFY: &str = "POST /api/v2/custom-domains/{id}/verify";
const GET_ONE: &str = "GET /api/v2/custom-domains/{id}";

const ENTITLEMENT_TEXT: &str = "You reached the maximum number of custom domains for your account.";
const PLAN_TEXT: &str = "The account is not allowed to perform this operation.";

use e2e::resources::ready;

fn ready_cond(o: &DynamicObject) -> Cond {
    condition(o, "Ready").unwrap_or_default()
}

/// Sum of every status of one endpoint template.
fn calls_to(c: &auth0_sim::Counters, template: &str) -> u64 {
    c.calls.get(template).map(|m| m.values().sum()).unwrap_or(0)
}

/// Statuses of one endpoint template, for messages.
fn by_status(c: &auth0_sim::Counters, template: &str) -> BTreeMap<u16, u64> {
    c.calls.get(template).cloned().unwrap_or_default()
}

/// One Event about an object, from either Events API.
#[derive(Debug, Clone)]
struct SeenEvent {
    type_: String,
    reason: String,
    note: String,
}

/// Every Event (core/v1 and events.k8s.io/v1, any namespace) about the object of `kind` named
/// `name` (a namespaced one in the world's namespace; the cluster-scoped tenant's Events land in
/// whatever namespace the recorder picks).
async fn events_about(w: &World, kind: &str, name: &str) -> Result<Vec<SeenEvent>> {
    let kube_err = |action: &str| {
        let action = action.to_string();
        move |source| Error::Kube { action, source }
    };
    let in_scope = |ns: Option<&str>| kind == "Auth0Tenant" || ns.is_none_or(|ns| ns == w.ns);
    let mut out = Vec::new();
    let core: Api<CoreEvent> = Api::all(w.client.clone());
    for e in core
        .list(&ListParams::default())
        .await
        .map_err(kube_err("list core/v1 events"))?
        .items
    {
        let o = &e.involved_object;
        if o.kind.as_deref() == Some(kind)
            && o.name.as_deref() == Some(name)
            && in_scope(o.namespace.as_deref())
        {
            out.push(SeenEvent {
                type_: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                note: e.message.unwrap_or_default(),
            });
        }
    }
    let new: Api<NewEvent> = Api::all(w.client.clone());
    for e in new
        .list(&ListParams::default())
        .await
        .map_err(kube_err("list events.k8s.io/v1 events"))?
        .items
    {
        let Some(o) = e.regarding.as_ref() else { continue };
        if o.kind.as_deref() == Some(kind)
            && o.name.as_deref() == Some(name)
            && in_scope(o.namespace.as_deref())
        {
            out.push(SeenEvent {
                type_: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                note: e.note.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// The world's `Auth0Tenant` as JSON (status included).
async fn tenant_json(w: &World) -> Result<Value> {
    let out = w
        .kubectl
        .ok(&["get", "auth0tenant", &w.tenant, "-o", "json"], None)
        .await?;
    serde_json::from_str(&out.stdout)
        .map_err(|e| Error::Check(format!("auth0tenant JSON: {e}: {}", out.stdout)))
}

fn tenant_condition(t: &Value, type_: &str) -> Option<Value> {
    t.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .cloned()
}

/// The simulator's rendering of a domain as the API shows it (a no-op control edit answers it).
fn rendered(w: &World, id: &str) -> Result<Value> {
    w.sim()
        .control()
        .edit_domain(id, json!({}))
        .map_err(|e| Error::Check(format!("render {id}: {e}")))
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

// ---------------------------------------------------------------------------------------------
// 1. Method names in either case.

/// A self-managed domain (with `customClientIPHeader`) and an Auth0-managed one (with
/// `tlsPolicy`) to Ready, with the simulator naming the verification methods in upper case
/// (default) or lower case.
async fn both_types_to_ready(lowercase: bool) -> Result<()> {
    let readings = Readings {
        lowercase_method_names: lowercase,
        ..Readings::default()
    };
    let w = World::builder()
        .sim(|c| c.readings(readings).cert_delay(Duration::from_millis(300)))
        // The verify schedule starts empty; 60 per minute keeps the first turn a second away.
        .operator_arg("--verify-limit=60:60")
        .start()
        .await?;
    let case = if lowercase { "lower" } else { "upper" };
    ensure(
        w.sim().control().readings().lowercase_method_names == lowercase,
        || "the simulator's reading is not what the test set".into(),
    )?;
    let started = Instant::now();
    let sm = (
        "portal",
        "SelfManagedCerts",
        json!({"customClientIPHeader": "cf-connecting-ip"}),
    );
    let am = ("login", "Auth0ManagedCerts", json!({"tlsPolicy": "recommended"}));
    for (name, type_, extra) in [&sm, &am] {
        w.apply_json(&w.custom_domain(name, &w.domain(name), type_, extra.clone()))
            .await?;
    }
    let mut ids = BTreeMap::new();
    for (name, type_, _) in [&sm, &am] {
        let (recs, _) = w.publish_records(name, STEP).await?;
        let obj = w
            .get_cd(name)
            .await?
            .ok_or_else(|| Error::Check(format!("{name} vanished")))?;
        let id = id_of(&obj)?;
        let wire = rendered(&w, &id)?;
        let method = wire
            .pointer("/verification/methods/0/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let expected = match (*type_, lowercase) {
            ("SelfManagedCerts", false) => "TXT",
            ("SelfManagedCerts", true) => "txt",
            (_, false) => "CNAME",
            (_, true) => "cname",
        };
        ensure(method == expected, || {
            format!(
                "{case}-case run: the simulator names the method of {name} {method:?}, expected {expected:?}"
            )
        })?;
        println!(
            "{case}-case method names: {type_} {name}: Auth0 says method {method:?}; status asks for {:?}",
            recs.iter()
                .map(|r| format!("{} {} = {}", r.type_, r.name, r.value))
                .collect::<Vec<_>>()
        );
        ids.insert(name.to_string(), id);
    }
    for (name, _, _) in [&sm, &am] {
        w.wait_cd(name, "Ready", STEP, ready).await?;
    }
    println!(
        "{case}-case method names: both domains Ready {:.1}s after apply",
        started.elapsed().as_secs_f64()
    );

    // Each type-restricted field reached Auth0 on its own type only (the simulator refuses the
    // other combination with 400, so a Ready domain also proves the body was accepted).
    let control = w.sim().control();
    let sm_remote = control
        .domain_by_name(&w.domain(sm.0))
        .ok_or_else(|| Error::Check("self-managed domain not in the simulator".into()))?;
    let am_remote = control
        .domain_by_name(&w.domain(am.0))
        .ok_or_else(|| Error::Check("Auth0-managed domain not in the simulator".into()))?;
    ensure(
        sm_remote.stored.custom_client_ip_header.as_deref() == Some("cf-connecting-ip")
            && sm_remote.stored.tls_policy.is_none(),
        || {
            format!(
                "self-managed stored custom_client_ip_header {:?}, tls_policy {:?}",
                sm_remote.stored.custom_client_ip_header, sm_remote.stored.tls_policy
            )
        },
    )?;
    ensure(
        am_remote.stored.tls_policy.as_deref() == Some("recommended")
            && am_remote.stored.custom_client_ip_header.is_none(),
        || {
            format!(
                "Auth0-managed stored tls_policy {:?}, custom_client_ip_header {:?}",
                am_remote.stored.tls_policy, am_remote.stored.custom_client_ip_header
            )
        },
    )?;
    ensure(sm_remote.status == "ready" && am_remote.status == "ready", || {
        format!("sim status {} / {}", sm_remote.status, am_remote.status)
    })?;

    // The self-managed key is in its Secret.
    let issued = sm_remote
        .cname_api_key
        .clone()
        .ok_or_else(|| Error::Check("no key issued for the self-managed domain".into()))?;
    let secret = w
        .secret(&format!("{}-auth0-edge", sm.0))
        .await?
        .ok_or_else(|| Error::Check("edge Secret missing".into()))?;
    ensure(
        resources::secret_strings(&secret).get("cname-api-key") == Some(&issued),
        || "the Secret's cname-api-key differs from the issued key".into(),
    )?;

    let c = w.counters();
    ensure(c.count(CREATE, 201) == 2 && calls_to(&c, CREATE) == 2, || {
        format!("creates by status: {:?}", by_status(&c, CREATE))
    })?;
    ensure(c.rate_limited == 0, || format!("{} × 429", c.rate_limited))?;
    println!(
        "{}",
        measure::table(
            &format!("{case}-case method names: Auth0 calls, start → both Ready:"),
            &measure::calls_between(&auth0_sim::Counters::default(), &c)
        )
    );
    w.assert_no_leaks().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upper_case_method_names_reach_ready() -> Result<()> {
    both_types_to_ready(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lower_case_method_names_reach_ready() -> Result<()> {
    both_types_to_ready(true).await
}

// ---------------------------------------------------------------------------------------------
// 2. Cross-type fields refused at admission.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_type_fields_refused_at_admission() -> Result<()> {
    let w = World::start_default().await?;
    let cases = [
        (
            "selfmanaged-tls",
            "SelfManagedCerts",
            json!({"tlsPolicy": "recommended"}),
            "tlsPolicy is only valid for Auth0ManagedCerts",
        ),
        (
            "auth0managed-ip",
            "Auth0ManagedCerts",
            json!({"customClientIPHeader": "cf-connecting-ip"}),
            "customClientIPHeader is only valid for SelfManagedCerts",
        ),
    ];
    for (name, type_, extra, message) in &cases {
        let manifest = w.custom_domain(name, &w.domain(name), type_, extra.clone());
        let out = w.try_apply_yaml(&manifest.to_string()).await?;
        ensure(!out.success(), || {
            format!("kubectl apply of {type_} with {extra} succeeded: {}", out.stdout)
        })?;
        ensure(out.stderr.contains(message), || {
            format!(
                "kubectl apply of {type_} with {extra}: stderr lacks {message:?}:\n{}",
                out.stderr
            )
        })?;
        println!("admission refused {type_} with {extra}:\n  {}", out.stderr.trim());
    }
    // Give a (wrongly) admitted object time to reach Auth0.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (name, ..) in &cases {
        ensure(w.get_cd(name).await?.is_none(), || {
            format!("CustomDomain {name} exists after a refused apply")
        })?;
    }
    let c = w.counters();
    ensure(
        calls_to(&c, CREATE) == 0 && w.sim().control().domains().is_empty(),
        || {
            format!(
                "creates: {:?}, domains in Auth0: {}",
                by_status(&c, CREATE),
                w.sim().control().domains().len()
            )
        },
    )?;
    w.assert_no_leaks().await
}

// ---------------------------------------------------------------------------------------------
// 3. Entitlement.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlement_refusal_stalls_and_holds_the_tenant() -> Result<()> {
    let w = World::builder().sim(|c| c.max_domains(1)).start().await?;
    let first = "first";
    w.apply_json(&w.custom_domain(first, &w.domain(first), "SelfManagedCerts", json!({})))
        .await?;
    w.wait_cd(first, "a customDomainId", STEP, |o| {
        str_at(o, "/status/customDomainId").is_some()
    })
    .await?;
    let before = w.counters();
    ensure(before.count(CREATE, 201) == 1, || {
        format!(
            "creates before the second domain: {:?}",
            by_status(&before, CREATE)
        )
    })?;

    let second = "second";
    let applied = Instant::now();
    w.apply_json(&w.custom_domain(second, &w.domain(second), "SelfManagedCerts", json!({})))
        .await?;
    let obj = w
        .wait_cd(second, "Stalled/EntitlementExceeded", STEP, |o| {
            ready_cond(o).reason == "EntitlementExceeded"
                && condition(o, "Stalled").is_some_and(|c| c.status == "True")
        })
        .await?;
    let cond = ready_cond(&obj);
    println!(
        "entitlement: {second} Ready={} {} after {:.1}s: {}",
        cond.status,
        cond.reason,
        applied.elapsed().as_secs_f64(),
        cond.message
    );
    ensure(cond.status == "False", || format!("Ready is {}", cond.status))?;
    ensure(cond.message.contains(ENTITLEMENT_TEXT), || {
        format!("Ready message lacks Auth0's text: {}", cond.message)
    })?;
    let stalled = condition(&obj, "Stalled").unwrap_or_default();
    ensure(stalled.reason == "EntitlementExceeded", || {
        format!("Stalled reason {}", stalled.reason)
    })?;
    let refusal = obj.data.pointer("/status/createRefused").cloned();
    ensure(refusal.is_some(), || {
        format!("no status.createRefused: {}", resources::status_summary(&obj))
    })?;
    println!(
        "entitlement: status.createRefused = {}",
        refusal.unwrap_or_default()
    );

    let events = wait_for(
        "a Warning Event EntitlementExceeded",
        Duration::from_secs(15),
        || async {
            events_about(&w, "CustomDomain", second).await.ok().filter(|evs| {
                evs.iter()
                    .any(|e| e.type_ == "Warning" && e.reason == "EntitlementExceeded")
            })
        },
        String::new,
    )
    .await?;
    let warning = events
        .iter()
        .find(|e| e.type_ == "Warning" && e.reason == "EntitlementExceeded")
        .cloned()
        .unwrap_or_else(|| SeenEvent {
            type_: String::new(),
            reason: String::new(),
            note: String::new(),
        });
    ensure(warning.note.contains(ENTITLEMENT_TEXT), || {
        format!("Warning Event note lacks Auth0's text: {}", warning.note)
    })?;
    println!("entitlement: Warning Event: {}", warning.note);

    // ~20 s: the refused create is not sent again (at most two creates for this generation).
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(applied.elapsed())).await;
    let after_wait = w.counters();
    let second_creates = calls_to(&after_wait, CREATE) - calls_to(&before, CREATE);
    println!(
        "entitlement: {:.0}s after applying {second}: {second_creates} create call(s) for it, by status {:?}",
        applied.elapsed().as_secs_f64(),
        by_status(&after_wait, CREATE)
    );
    ensure((1..=2).contains(&second_creates), || {
        format!(
            "{second_creates} creates for {second} in {:.0}s (want 1..=2): {:?}",
            applied.elapsed().as_secs_f64(),
            by_status(&after_wait, CREATE)
        )
    })?;
    ensure(after_wait.count(CREATE, 201) == 1, || {
        format!("creates by status: {:?}", by_status(&after_wait, CREATE))
    })?;
    let still = w
        .get_cd(second)
        .await?
        .ok_or_else(|| Error::Check("second vanished".into()))?;
    ensure(ready_cond(&still).reason == "EntitlementExceeded", || {
        format!("{second} after 20 s: {}", resources::status_summary(&still))
    })?;

    // A third domain of the tenant is held without a call.
    let third = "third";
    let third_applied = Instant::now();
    w.apply_json(&w.custom_domain(third, &w.domain(third), "SelfManagedCerts", json!({})))
        .await?;
    let obj = w
        .wait_cd(third, "held by the tenant-wide refusal", STEP, |o| {
            ready_cond(o).reason == "EntitlementExceeded"
        })
        .await?;
    let cond = ready_cond(&obj);
    println!(
        "entitlement: {third} held after {:.1}s: Ready={} {}: {}",
        third_applied.elapsed().as_secs_f64(),
        cond.status,
        cond.reason,
        cond.message
    );
    // Let it run a few more reconciles.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let end = w.counters();
    ensure(calls_to(&end, CREATE) == calls_to(&after_wait, CREATE), || {
        format!(
            "{third} made create calls: before {:?}, after {:?}",
            by_status(&after_wait, CREATE),
            by_status(&end, CREATE)
        )
    })?;
    ensure(
        cond.status == "False" && cond.message.contains(ENTITLEMENT_TEXT),
        || format!("{third}'s Ready: {cond:?}"),
    )?;
    let obj = w
        .get_cd(third)
        .await?
        .ok_or_else(|| Error::Check("third vanished".into()))?;
    ensure(str_at(&obj, "/status/customDomainId").is_none(), || {
        format!("{third} has an id: {}", resources::status_summary(&obj))
    })?;
    println!(
        "{}",
        measure::table(
            "entitlement: Auth0 calls, whole scenario:",
            &measure::calls_between(&auth0_sim::Counters::default(), &end)
        )
    );
    w.assert_no_leaks().await
}

// ---------------------------------------------------------------------------------------------
// 4. Plan without custom domains.

/// A tenant whose plan has no custom domains: Auth0 answers 403 "The account is not allowed to
/// perform this operation." to every custom-domain call, the list included. Whatever call meets it
/// first, the domain must say `PlanRefused` with Auth0's text (a person has to change the plan), a
/// Warning Event must say so (on the domain or on the tenant), and the operator must not keep
/// POSTing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_refusal_is_reported() -> Result<()> {
    let w = World::builder()
        .sim(|c| c.custom_domains_plan(false))
        .start()
        .await?;
    let name = "app";
    let applied = Instant::now();
    w.apply_json(&w.custom_domain(name, &w.domain(name), "SelfManagedCerts", json!({})))
        .await?;
    // Look for 45 s (more than one tenant re-check) and report what the operator says.
    let mut seen: Vec<(f64, String)> = Vec::new();
    let mut last = None;
    while applied.elapsed() < Duration::from_secs(45) {
        if let Some(o) = w.get_cd(name).await? {
            let c = ready_cond(&o);
            let line = format!("Ready={} {}: {}", c.status, c.reason, c.message);
            if seen.last().map(|(_, l)| l) != Some(&line) {
                seen.push((applied.elapsed().as_secs_f64(), line));
            }
            if c.reason == "PlanRefused" {
                last = Some(o);
                break;
            }
            last = Some(o);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let tenant = tenant_json(&w).await?;
    let tenant_ready = tenant_condition(&tenant, "Ready").unwrap_or_default();
    let c = w.counters();
    println!("plan refused: CustomDomain {name}'s Ready over time:");
    for (t, l) in &seen {
        println!("  +{t:>5.1}s {l}");
    }
    println!("plan refused: Auth0Tenant Ready condition: {tenant_ready}");
    println!(
        "{}",
        measure::table(
            "plan refused: Auth0 calls:",
            &measure::calls_between(&auth0_sim::Counters::default(), &c)
        )
    );
    let mut events = events_about(&w, "CustomDomain", name).await?;
    for e in &events {
        println!(
            "plan refused: CustomDomain Event {} {}: {}",
            e.type_, e.reason, e.note
        );
    }
    let tenant_events = events_about(&w, "Auth0Tenant", &w.tenant).await?;
    for e in &tenant_events {
        println!(
            "plan refused: Auth0Tenant Event {} {}: {}",
            e.type_, e.reason, e.note
        );
    }
    events.extend(tenant_events);
    let obj = last.ok_or_else(|| Error::Check(format!("{name} never read")))?;
    for type_ in ["Stalled", "Reconciling"] {
        println!(
            "plan refused: CustomDomain {name} {type_}: {:?}",
            condition(&obj, type_)
        );
    }
    let cond = ready_cond(&obj);
    ensure(cond.reason == "PlanRefused" && cond.status == "False", || {
        format!(
            "after {:.0}s {name} is not PlanRefused: Ready={} {}: {:?}; tenant Ready: {tenant_ready}\n{}",
            applied.elapsed().as_secs_f64(),
            cond.status,
            cond.reason,
            cond.message,
            w.log_tail()
        )
    })?;
    ensure(cond.message.contains(PLAN_TEXT), || {
        format!("PlanRefused message lacks Auth0's text: {}", cond.message)
    })?;
    ensure(
        events
            .iter()
            .any(|e| e.type_ == "Warning" && e.reason == "PlanRefused"),
        || format!("no Warning Event PlanRefused on the domain or the tenant: {events:?}"),
    )?;
    ensure(calls_to(&c, CREATE) <= 2, || {
        format!("creates: {:?}", by_status(&c, CREATE))
    })?;
    w.assert_no_leaks().await
}

// ---------------------------------------------------------------------------------------------
// 5. Verify of a domain Auth0 already verified.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_of_already_verified_domain_reads_it_back() -> Result<()> {
    let w = World::builder()
        .operator_arg("--verify-limit=60:60")
        // No tenant-wide list refresh in between: the operator's copy stays the stale one.
        .resync("10m")
        .start()
        .await?;
    let name = "login";
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(name, &domain, "Auth0ManagedCerts", json!({})))
        .await?;
    // The operator has the domain and is waiting for DNS.
    let obj = w
        .wait_cd(name, "Verified=False AwaitingDns", STEP, |o| {
            condition(o, "Verified").is_some_and(|c| c.reason == "AwaitingDns")
        })
        .await?;
    let id = id_of(&obj)?;
    ensure(calls_to(&w.counters(), VERIFY) == 0, || {
        "verify before DNS".into()
    })?;

    // Behind the operator's back, Auth0 verifies it and issues the certificate.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let renews = now + 90 * 86_400;
    let iso = |secs: u64| {
        // Whole-second ISO 8601 without a date library: days since the epoch to a civil date.
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    };
    w.sim()
        .control()
        .edit_domain(
            &id,
            json!({
                "status": "ready",
                "verification": {"status": "verified", "last_verified_at": iso(now)},
                "certificate": {
                    "status": "provisioned",
                    "certificate_authority": "letsencrypt",
                    "renews_before": iso(renews),
                },
                "pending_check_at_ms": null,
                "fail_at_ms": null,
                "cert_ready_at_ms": null,
            }),
        )
        .map_err(|e| Error::Check(format!("edit {id}: {e}")))?;
    let before = w.counters();
    let (_, visible) = w.publish_records(name, STEP).await?;
    let obj = w.wait_cd(name, "Ready", STEP, ready).await?;
    println!(
        "verify-on-verified: Ready {:.1}s after the CNAME was published; certificate {:?}",
        visible.elapsed().as_secs_f64(),
        str_at(&obj, "/status/certificate/status")
    );
    // A little longer: no second verify follows.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = w.counters();
    println!(
        "{}",
        measure::table(
            "verify-on-verified: Auth0 calls, DNS published → Ready + 10 s:",
            &measure::calls_between(&before, &after)
        )
    );
    ensure(
        after.count(VERIFY, 400) == 1 && calls_to(&after, VERIFY) == 1,
        || {
            format!(
                "verify calls by status: {:?} (want exactly one 400)",
                by_status(&after, VERIFY)
            )
        },
    )?;
    ensure(measure::count_between(&before, &after, GET_ONE, 200) >= 1, || {
        format!(
            "no GET of the domain after the 400: {:?}",
            by_status(&after, GET_ONE)
        )
    })?;
    let still = w
        .get_cd(name)
        .await?
        .ok_or_else(|| Error::Check("vanished".into()))?;
    ensure(ready(&still), || resources::status_summary(&still))?;
    w.assert_no_leaks().await
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

// ---------------------------------------------------------------------------------------------
// 6. Fifty self-managed domains at the Free tier's limits.

/// What a domain said about its verify turn the first time it was seen waiting.
#[derive(Debug, Clone)]
struct Eta {
    /// Seconds after DNS was published.
    seen_at: f64,
    ahead: u64,
    /// The wait it announced, in seconds (minutes are rounded up by the operator).
    wait_secs: u64,
    text: String,
}

/// Parses "… N ahead, about M min" / "… N ahead, about S s".
fn parse_eta(message: &str) -> Option<(u64, u64)> {
    let (before, after) = message.split_once(" ahead, about ")?;
    let ahead = before.rsplit(' ').next()?.parse().ok()?;
    let mut parts = after.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?.trim_end_matches(|c: char| !c.is_alphabetic());
    match unit {
        "min" => Some((ahead, n * 60)),
        "s" => Some((ahead, n)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about 10 minutes: 50 verifies at Auth0's 5 per minute; run with `cargo test -p e2e --test auth0_real -- --ignored fifty_self_managed_domains_at_free_tier_limits --nocapture`"]
async fn fifty_self_managed_domains_at_free_tier_limits() -> Result<()> {
    const N: usize = 50;
    let mut w = World::builder()
        .sim(|c| c.rate_limit(2.0, 2).verify_limit(5, Duration::from_secs(60)))
        .without_operator()
        .start()
        .await?;
    // The world writes the tenant with a generous client-side budget; the Free tier's before the
    // operator starts, so its first request already runs under it.
    let tenants = Api::<DynamicObject>::all_with(w.client.clone(), &resources::tenant_resource());
    tenants
        .patch(
            &w.tenant,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"rateLimit": {"requestsPerSecond": 2, "burst": 2}}})),
        )
        .await
        .map_err(|source| Error::Kube {
            action: "patch the tenant's rateLimit".into(),
            source,
        })?;
    w.launch_operator(vec!["--verify-limit=5:60".into(), "--dns-recheck-max=5s".into()])?;
    w.wait_operator_started().await?;
    let start = Instant::now();

    let names: Vec<String> = (0..N).map(|i| format!("d{i:02}")).collect();
    let list = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": names
            .iter()
            .map(|n| w.custom_domain(n, &w.domain(n), "SelfManagedCerts", json!({})))
            .collect::<Vec<_>>(),
    });
    w.apply_json(&list).await?;

    // Wait until every domain names its TXT record, then publish all of them at once.
    let api = w.cd_api();
    let all_named = wait_for(
        "every domain to name its TXT record",
        Duration::from_secs(240),
        || async {
            let items = api.list(&ListParams::default()).await.ok()?.items;
            let named = items.iter().filter(|o| !resources::records(o).is_empty()).count();
            (named == N).then_some(())
        },
        String::new,
    )
    .await;
    if let Err(e) = all_named {
        return Err(Error::Check(format!("{e}\n{}", w.log_tail())));
    }
    let records_at = start.elapsed();
    for n in &names {
        w.publish_records(n, STEP).await?;
    }
    let published = Instant::now();
    println!(
        "free tier: all {N} domains created and named their records {:.1}s after apply; published",
        records_at.as_secs_f64()
    );

    let mut etas: BTreeMap<String, Eta> = BTreeMap::new();
    let mut ready_at: BTreeMap<String, f64> = BTreeMap::new();
    let mut budget_messages = 0u64;
    let deadline = Duration::from_secs(20 * 60);
    while ready_at.len() < N {
        if published.elapsed() > deadline {
            let missing: Vec<&String> = names.iter().filter(|n| !ready_at.contains_key(*n)).collect();
            return Err(Error::Check(format!(
                "{} of {N} domains not Ready {:.0}s after publishing: {missing:?}\n{}",
                missing.len(),
                published.elapsed().as_secs_f64(),
                w.log_tail()
            )));
        }
        let items = match api.list(&ListParams::default()).await {
            Ok(l) => l.items,
            Err(_) => Vec::new(),
        };
        let t = published.elapsed().as_secs_f64();
        for o in &items {
            let Some(n) = o.metadata.name.clone() else {
                continue;
            };
            if ready(o) {
                ready_at.entry(n).or_insert(t);
                continue;
            }
            if let Some(v) = condition(o, "Verified")
                && v.reason == "AwaitingVerifyBudget"
                && let Some((ahead, wait_secs)) = parse_eta(&v.message)
            {
                budget_messages += 1;
                etas.entry(n).or_insert(Eta {
                    seen_at: t,
                    ahead,
                    wait_secs,
                    text: v.message.clone(),
                });
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let all_ready = start.elapsed();
    let c = w.counters();

    // Every domain has its key in its Secret.
    let control = w.sim().control();
    let mut secrets_ok = 0;
    for n in &names {
        let remote = control
            .domain_by_name(&w.domain(n))
            .ok_or_else(|| Error::Check(format!("{n} not in the simulator")))?;
        let issued = remote
            .cname_api_key
            .ok_or_else(|| Error::Check(format!("no key issued for {n}")))?;
        let s = w
            .secret(&format!("{n}-auth0-edge"))
            .await?
            .ok_or_else(|| Error::Check(format!("Secret of {n} missing")))?;
        ensure(
            resources::secret_strings(&s).get("cname-api-key") == Some(&issued),
            || format!("Secret of {n} holds another key"),
        )?;
        secrets_ok += 1;
    }

    println!("free tier: {N} self-managed domains, tenant bucket 2/s burst 2, verify 5 per 60 s");
    println!(
        "free tier: apply → all Ready {:.1}s ({:.1} min); DNS published → all Ready {:.1}s; {secrets_ok} Secrets with the issued key",
        all_ready.as_secs_f64(),
        all_ready.as_secs_f64() / 60.0,
        published.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        measure::table(
            "free tier: Auth0 calls, whole run:",
            &measure::calls_between(&auth0_sim::Counters::default(), &c)
        )
    );
    for (endpoint, statuses) in &c.calls {
        println!("  {endpoint}: {statuses:?}");
    }
    println!(
        "free tier: {} × 429, {} AwaitingVerifyBudget readings with an ETA, {} domains showed one",
        c.rate_limited,
        budget_messages,
        etas.len()
    );
    println!("free tier: per domain (seconds after DNS was published): first ETA shown → actual Ready");
    let mut errors: Vec<f64> = Vec::new();
    for n in &names {
        let r = ready_at.get(n).copied().unwrap_or(f64::NAN);
        match etas.get(n) {
            Some(e) => {
                let predicted = e.seen_at + e.wait_secs as f64;
                errors.push(r - predicted);
                println!(
                    "  {n}: at +{:>5.1}s \"{} ahead, about {}\" → predicted ≤ +{predicted:>5.0}s, Ready at +{r:>5.1}s ({:+.0}s)",
                    e.seen_at,
                    e.ahead,
                    if e.wait_secs >= 90 {
                        format!("{} min", e.wait_secs / 60)
                    } else {
                        format!("{} s", e.wait_secs)
                    },
                    r - predicted
                );
            }
            None => println!("  {n}: no wait shown, Ready at +{r:>5.1}s"),
        }
    }
    if let Some(sample) = etas.values().next() {
        println!("free tier: a budget message as shown: {:?}", sample.text);
    }
    if !errors.is_empty() {
        let late = errors.iter().filter(|e| **e > 0.0).count();
        let worst = errors.iter().copied().fold(f64::MIN, f64::max);
        println!(
            "free tier: Ready later than the first ETA for {late} of {} domains (worst {worst:+.0}s)",
            errors.len()
        );
    }

    ensure(c.rate_limited == 0, || {
        format!("{} × 429: {:?}", c.rate_limited, c.calls)
    })?;
    ensure(!etas.is_empty(), || {
        "no domain ever showed AwaitingVerifyBudget with \"N ahead, about\"".into()
    })?;
    ensure(
        c.count(CREATE, 201) == N as u64 && calls_to(&c, CREATE) == N as u64,
        || format!("creates: {:?}", by_status(&c, CREATE)),
    )?;
    w.assert_no_leaks().await
}

#[test]
fn eta_parses_both_units() {
    assert_eq!(
        parse_eta(
            "TXT x = y is visible in DNS; waiting for the verify budget (5 per minute): 7 ahead, about 2 min"
        ),
        Some((7, 120))
    );
    assert_eq!(parse_eta("…: 0 ahead, about 12 s"), Some((0, 12)));
    assert_eq!(parse_eta("no turn"), None);
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(20_426), (2025, 12, 4));
}
