//! Multi-tenant safety, the CustomDomain side: what a team that may create CustomDomains in its
//! namespace cannot do to others, and faults that must lose nothing (docs/security.md, docs/design.md#secret-ownership).
//!
//! Each scenario plays the attack or the fault and checks the outcome: nothing touched, a status
//! and Event that say why, nothing leaked.

use std::time::Duration;

use auth0_sim::Readings;
use e2e::error::{Error, Result, ensure};
use e2e::resources::{self, condition, is_true};
use e2e::{World, wait::wait_for};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::DynamicObject;
use serde_json::{Value, json};

const STEP: Duration = Duration::from_secs(45);
const CREATE: &str = "POST /api/v2/custom-domains";
const VERIFY: &str = "POST /api/v2/custom-domains/{id}/verify";

use e2e::resources::ready;

fn stalled_with(reason: &'static str) -> impl Fn(&DynamicObject) -> bool {
    move |o| condition(o, "Stalled").is_some_and(|c| c.status == "True" && c.reason == reason)
}

async fn to_ready(w: &World, name: &str, extra: Value) -> Result<DynamicObject> {
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(name, &domain, "SelfManagedCerts", extra))
        .await?;
    w.publish_records(name, STEP).await?;
    w.wait_cd(name, "Ready", STEP, ready).await
}

fn key_of(secret: &Secret) -> Option<String> {
    resources::secret_strings(secret).get("cname-api-key").cloned()
}

/// Item 2: `spec.secretName` naming a Secret the operator did not make for this resource — a
/// person's Secret, or another CustomDomain's — is refused: nothing is written into it and
/// nothing is sent to Auth0; the first owner keeps its key and stays Ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_name_cannot_take_over_a_secret() -> Result<()> {
    let w = World::start_default().await?;
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &w.ns);

    // A person's Secret.
    let mut precious = Secret::default();
    precious.metadata.name = Some("precious".into());
    precious.string_data = Some([("tls.key".to_string(), "do-not-touch".to_string())].into());
    let precious = secrets
        .create(&PostParams::default(), &precious)
        .await
        .map_err(|e| Error::Check(format!("create precious: {e}")))?;
    let before = w.counters();
    let domain = w.domain("thief");
    w.apply_json(&w.custom_domain(
        "thief",
        &domain,
        "SelfManagedCerts",
        json!({"secretName": "precious"}),
    ))
    .await?;
    let obj = w
        .wait_cd(
            "thief",
            "Stalled SecretNotOwned",
            STEP,
            stalled_with("SecretNotOwned"),
        )
        .await?;
    println!(
        "person's Secret: {:?}",
        condition(&obj, "Stalled").map(|c| c.message)
    );
    // What a person sees: STATE says Stalled (never empty), REASON why, -o wide what to do.
    let out = w.kubectl(&["get", "acd", "thief", "-o", "wide"]).await?;
    ensure(out.success(), || format!("kubectl get: {}", out.stderr))?;
    println!("{}", out.stdout);
    let header = out.stdout.lines().next().unwrap_or_default();
    let row = out.stdout.lines().nth(1).unwrap_or_default();
    ensure(
        header.contains("STATE") && header.contains("REASON") && header.contains("MESSAGE"),
        || format!("columns: {header}"),
    )?;
    ensure(
        row.contains("Stalled") && row.contains("SecretNotOwned") && row.contains("spec.secretName"),
        || format!("kubectl get acd -o wide: {row}"),
    )?;
    let after = w.counters();
    ensure(after.total(CREATE) == before.total(CREATE), || {
        "a create was sent although the Secret is not the operator's".into()
    })?;
    let now = w
        .secret("precious")
        .await?
        .ok_or_else(|| Error::Check("precious gone".into()))?;
    ensure(
        now.metadata.resource_version == precious.metadata.resource_version,
        || format!("the person's Secret was written: {:?}", now.metadata),
    )?;

    // Two CustomDomains naming one Secret: the second is refused, the first keeps its key.
    let first = to_ready(&w, "first", json!({"secretName": "shared-edge"})).await?;
    ensure(ready(&first), || "first not Ready".into())?;
    let shared = w
        .secret("shared-edge")
        .await?
        .ok_or_else(|| Error::Check("no shared-edge".into()))?;
    let first_key = key_of(&shared).ok_or_else(|| Error::Check("first's key missing".into()))?;
    let domain2 = w.domain("second");
    let before = w.counters();
    w.apply_json(&w.custom_domain(
        "second",
        &domain2,
        "SelfManagedCerts",
        json!({"secretName": "shared-edge"}),
    ))
    .await?;
    let obj = w
        .wait_cd(
            "second",
            "Stalled SecretNotOwned",
            STEP,
            stalled_with("SecretNotOwned"),
        )
        .await?;
    let msg = condition(&obj, "Stalled").map(|c| c.message).unwrap_or_default();
    ensure(msg.contains("CustomDomain first"), || {
        format!("message does not name the owner: {msg}")
    })?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = w.counters();
    ensure(
        after.total(CREATE) == before.total(CREATE) && after.total(VERIFY) == before.total(VERIFY),
        || "the second CustomDomain reached Auth0".into(),
    )?;
    let shared = w
        .secret("shared-edge")
        .await?
        .ok_or_else(|| Error::Check("no shared-edge".into()))?;
    ensure(key_of(&shared).as_deref() == Some(first_key.as_str()), || {
        "the first CustomDomain's key was overwritten".into()
    })?;
    let first = w
        .get_cd("first")
        .await?
        .ok_or_else(|| Error::Check("first gone".into()))?;
    ensure(ready(&first), || {
        "the first CustomDomain is no longer Ready".into()
    })?;
    w.assert_no_leaks().await
}

/// Items 3 and 12: a tenant whose credentials stop working leaves Ready domains Ready (only
/// `TenantReachable=False` says so); a tenant that is gone keeps a created domain's finalizer with
/// a status naming the way out, and `deletionPolicy: Orphan` releases it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_outage_keeps_ready_and_a_gone_tenant_leaks_nothing_silently() -> Result<()> {
    let w = World::start_default().await?;
    let obj = to_ready(&w, "steady", json!({})).await?;
    let id = obj
        .data
        .pointer("/status/customDomainId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    // Wrong client secret: the tenant turns not ready, the domain keeps serving and stays Ready.
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &w.ns);
    let wrong = json!({"stringData": {"client_secret": "definitely-wrong"}});
    secrets
        .patch(
            "auth0-credentials",
            &PatchParams::default(),
            &Patch::Merge(&wrong),
        )
        .await
        .map_err(|e| Error::Check(format!("patch credentials: {e}")))?;
    let obj = w
        .wait_cd("steady", "TenantReachable=False", STEP, |o| {
            condition(o, "TenantReachable").is_some_and(|c| c.status == "False")
        })
        .await?;
    ensure(ready(&obj), || {
        format!(
            "Ready flipped during a tenant outage: {:?}",
            condition(&obj, "Ready")
        )
    })?;
    println!(
        "outage: {:?}",
        condition(&obj, "TenantReachable").map(|c| c.message)
    );
    let right = json!({"stringData": {"client_secret": w.client_secret}});
    secrets
        .patch(
            "auth0-credentials",
            &PatchParams::default(),
            &Patch::Merge(&right),
        )
        .await
        .map_err(|e| Error::Check(format!("restore credentials: {e}")))?;
    w.wait_cd("steady", "TenantReachable gone", STEP, |o| {
        ready(o) && condition(o, "TenantReachable").is_none()
    })
    .await?;

    // The tenant goes first (its finalizers, if any, removed by hand as a hurried admin would).
    let out = w
        .kubectl(&["delete", "auth0tenant", &w.tenant, "--wait=false"])
        .await?;
    ensure(out.success(), || format!("delete tenant: {}", out.stderr))?;
    let out = w
        .kubectl(&[
            "patch",
            "auth0tenant",
            &w.tenant,
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ])
        .await?;
    ensure(out.success() || out.stderr.contains("NotFound"), || {
        format!("clear tenant finalizers: {}", out.stderr)
    })?;
    let out = w.kubectl(&["delete", "acd", "steady", "--wait=false"]).await?;
    ensure(out.success(), || format!("delete acd: {}", out.stderr))?;
    let obj = w
        .wait_cd(
            "steady",
            "Stalled TenantNotFound while deleting",
            STEP,
            stalled_with("TenantNotFound"),
        )
        .await?;
    let msg = condition(&obj, "Stalled").map(|c| c.message).unwrap_or_default();
    ensure(
        msg.contains("deletionPolicy: Orphan") && msg.contains(&id),
        || format!("the message does not say how to release it: {msg}"),
    )?;
    ensure(
        w.sim().control().domain_by_name(&w.domain("steady")).is_some(),
        || "the Auth0 domain vanished".into(),
    )?;
    let out = w
        .kubectl(&[
            "patch",
            "acd",
            "steady",
            "--type=merge",
            "-p",
            r#"{"spec":{"deletionPolicy":"Orphan"}}"#,
        ])
        .await?;
    ensure(out.success(), || format!("set Orphan: {}", out.stderr))?;
    w.wait_cd_gone("steady", STEP).await?;
    ensure(
        w.sim().control().domain_by_name(&w.domain("steady")).is_some(),
        || "Orphan deleted the Auth0 domain".into(),
    )?;
    w.assert_no_leaks().await
}

/// Item 9: the Secret write fails after verify: the key goes to escrow, status says
/// `KeyPendingWrite` and where the key is, a Warning Event is published; a SIGKILL then loses
/// nothing: the restarted operator reads the escrow and writes the key once writes work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_secret_write_escrows_the_key_and_a_crash_loses_nothing() -> Result<()> {
    let mut w = World::start_default().await?;
    let Some(control) = w
        .kube_sim_or_skip("make Secret PATCHes fail")
        .map(|k| k.control().clone())
    else {
        return Ok(());
    };
    let name = "escrowed";
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(name, &domain, "SelfManagedCerts", json!({})))
        .await?;
    // Wait for the Secret (made before verify) and the record, then break Secret writes.
    wait_for(
        "the edge Secret before verify",
        STEP,
        || async { w.secret(&format!("{name}-auth0-edge")).await.ok().flatten() },
        || w.log_tail(),
    )
    .await?;
    control.add_fault(kube_sim::FaultRule {
        verb: Some("patch".into()),
        resource: Some("secrets".into()),
        status: Some(500),
        ..kube_sim::FaultRule::default()
    });
    w.publish_records(name, STEP).await?;
    let obj = w
        .wait_cd(name, "KeyPendingWrite", STEP, |o| {
            condition(o, "SecretStored").is_some_and(|c| c.reason == "KeyPendingWrite")
        })
        .await?;
    let msg = condition(&obj, "SecretStored")
        .map(|c| c.message)
        .unwrap_or_default();
    println!("key pending: {msg}");
    ensure(msg.contains("escrow Secret"), || {
        format!("status does not say where the key is: {msg}")
    })?;
    ensure(!is_true(&obj, "Ready"), || {
        "Ready while the key is not in the Secret".into()
    })?;
    let events = w.events_text().await?;
    ensure(events.contains("KeyPendingWrite"), || {
        "no KeyPendingWrite Event".into()
    })?;

    // Crash while the key is only in escrow, then writes work again.
    w.operator()?.kill()?;
    control.clear_faults();
    w.operator()?.restart()?;
    let obj = w.wait_cd(name, "Ready after restart", STEP * 2, ready).await?;
    let secret = w
        .secret(&format!("{name}-auth0-edge"))
        .await?
        .ok_or_else(|| Error::Check("edge Secret gone".into()))?;
    let key = key_of(&secret).ok_or_else(|| Error::Check("the key was lost".into()))?;
    let issued = w
        .sim()
        .control()
        .domain_by_name(&domain)
        .and_then(|d| d.cname_api_key.clone())
        .unwrap_or_default();
    ensure(key == issued, || {
        "the Secret holds another key than Auth0 issued".into()
    })?;
    ensure(
        resources::secret_strings(&secret).contains_key("origin-domain-name"),
        || "origin-domain-name missing".into(),
    )?;
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    wait_for(
        "the escrow copy deleted",
        STEP,
        || async {
            let gone = w.secret(&format!("auth0-key-escrow-{uid}")).await.ok()?.is_none();
            gone.then_some(())
        },
        || w.log_tail(),
    )
    .await?;
    ensure(w.counters().domains_created == 1, || {
        "the domain was recreated".into()
    })?;
    w.assert_no_leaks().await
}

/// Item 10: with Auth0 telling the origin only in the first verify answer, a key restored by
/// hand into a Secret without `origin-domain-name` is not Ready until the operator wrote the
/// origin back, and `status.originDomainName` stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_restored_by_hand_gets_its_origin_back() -> Result<()> {
    let readings = Readings {
        origin_only_in_first_verify: true,
        ..Readings::default()
    };
    let w = World::builder().sim(|c| c.readings(readings)).start().await?;
    let name = "restored";
    let obj = to_ready(&w, name, json!({})).await?;
    let origin = obj
        .data
        .pointer("/status/originDomainName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    ensure(!origin.is_empty(), || "no originDomainName in status".into())?;
    let secret_name = format!("{name}-auth0-edge");
    let secret = w
        .secret(&secret_name)
        .await?
        .ok_or_else(|| Error::Check("no Secret".into()))?;
    let key = key_of(&secret).ok_or_else(|| Error::Check("no key".into()))?;
    // A person restores the key into a Secret that has lost the origin.
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &w.ns);
    let strip = json!({"data": {"origin-domain-name": null}});
    secrets
        .patch(&secret_name, &PatchParams::default(), &Patch::Merge(&strip))
        .await
        .map_err(|e| Error::Check(format!("strip origin: {e}")))?;
    wait_for(
        "origin-domain-name written back",
        STEP,
        || async {
            let s = w.secret(&secret_name).await.ok()??;
            (resources::secret_strings(&s).get("origin-domain-name") == Some(&origin)).then_some(())
        },
        || w.log_tail(),
    )
    .await?;
    // A resync later (the list carries no origin now), status still knows it.
    let out = w
        .kubectl(&["annotate", "acd", name, "touch=1", "--overwrite"])
        .await?;
    ensure(out.success(), || format!("annotate: {}", out.stderr))?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let obj = w.wait_cd(name, "Ready", STEP, ready).await?;
    ensure(
        obj.data
            .pointer("/status/originDomainName")
            .and_then(Value::as_str)
            == Some(origin.as_str()),
        || "status.originDomainName disappeared".into(),
    )?;
    let s = w
        .secret(&secret_name)
        .await?
        .ok_or_else(|| Error::Check("no Secret".into()))?;
    ensure(key_of(&s).as_deref() == Some(key.as_str()), || {
        "the key changed".into()
    })?;
    w.assert_no_leaks().await
}

/// Item 13: Auth0 answers "already exists" to every create while the tenant's list does not show
/// the domain (the name is held by another tenant): two creates, then `Stalled AlreadyExists`,
/// and no further create or list storm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_held_elsewhere_costs_two_creates_then_stalls() -> Result<()> {
    let w = World::start_default().await?;
    w.sim().control().set_faults(auth0_sim::Faults {
        error_rate: 1.0,
        error_status: Some(409),
        endpoint: Some(CREATE.into()),
        ..auth0_sim::Faults::default()
    });
    let before = w.counters();
    let domain = w.domain("taken");
    w.apply_json(&w.custom_domain("taken", &domain, "SelfManagedCerts", json!({})))
        .await?;
    let obj = w
        .wait_cd(
            "taken",
            "Stalled AlreadyExists",
            STEP,
            stalled_with("AlreadyExists"),
        )
        .await?;
    println!(
        "held elsewhere: {:?}",
        condition(&obj, "Stalled").map(|c| c.message)
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = w.counters();
    let creates = after.total(CREATE) - before.total(CREATE);
    let lists = after.total("GET /api/v2/custom-domains") - before.total("GET /api/v2/custom-domains");
    println!("held elsewhere: {creates} creates, {lists} lists");
    ensure(creates == 2, || {
        format!("{creates} creates for a name held elsewhere (want 2)")
    })?;
    ensure(lists <= 4, || format!("{lists} lists for a name held elsewhere"))?;
    w.assert_no_leaks().await
}

/// Item 13: renaming `spec.secretName` of a Ready domain with `recreate-on-key-loss` moves the
/// key into the new Secret; the domain is not deleted or recreated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_the_secret_moves_the_key_and_recreates_nothing() -> Result<()> {
    let w = World::start_default().await?;
    let name = "renamed";
    to_ready(&w, name, json!({})).await?;
    let ann = "auth0-domain-operator.dev/recreate-on-key-loss=true";
    let out = w.kubectl(&["annotate", "acd", name, ann]).await?;
    ensure(out.success(), || format!("annotate: {}", out.stderr))?;
    let old = w
        .secret(&format!("{name}-auth0-edge"))
        .await?
        .ok_or_else(|| Error::Check("no Secret".into()))?;
    let key = key_of(&old).ok_or_else(|| Error::Check("no key".into()))?;
    let before = w.counters();
    let out = w
        .kubectl(&[
            "patch",
            "acd",
            name,
            "--type=merge",
            "-p",
            r#"{"spec":{"secretName":"edge-v2"}}"#,
        ])
        .await?;
    ensure(out.success(), || format!("rename: {}", out.stderr))?;
    let obj = w
        .wait_cd(name, "Ready with the new Secret", STEP, |o| {
            ready(o) && o.data.pointer("/status/secretRef/name").and_then(Value::as_str) == Some("edge-v2")
        })
        .await?;
    ensure(ready(&obj), || "not Ready".into())?;
    let moved = w
        .secret("edge-v2")
        .await?
        .ok_or_else(|| Error::Check("edge-v2 missing".into()))?;
    ensure(key_of(&moved).as_deref() == Some(key.as_str()), || {
        "the key was not moved".into()
    })?;
    let after = w.counters();
    ensure(
        after.total(CREATE) == before.total(CREATE)
            && after.total("DELETE /api/v2/custom-domains/{id}")
                == before.total("DELETE /api/v2/custom-domains/{id}"),
        || "the domain was deleted or recreated on a secretName edit".into(),
    )?;
    w.assert_no_leaks().await
}

/// Item 5: the operator restarts while the Auth0Tenant list fails: a CustomDomain being deleted
/// is not released ("domain left in place") and a Ready one does not flap to TenantNotFound; once
/// the list works, the deletion deletes the Auth0 domain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_before_the_tenant_list_acts_on_nothing() -> Result<()> {
    let mut w = World::start_default().await?;
    let Some(control) = w
        .kube_sim_or_skip("make the Auth0Tenant list fail")
        .map(|k| k.control().clone())
    else {
        return Ok(());
    };
    to_ready(&w, "live", json!({})).await?;
    to_ready(&w, "doomed", json!({})).await?;
    w.operator()?.kill()?;
    control.add_fault(kube_sim::FaultRule {
        verb: Some("list".into()),
        resource: Some("auth0tenants".into()),
        status: Some(500),
        ..kube_sim::FaultRule::default()
    });
    let out = w.kubectl(&["delete", "acd", "doomed", "--wait=false"]).await?;
    ensure(out.success(), || format!("delete: {}", out.stderr))?;
    w.operator()?.restart()?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let doomed = w.get_cd("doomed").await?;
    ensure(doomed.is_some(), || {
        "the deleting CustomDomain was released before the tenant was read".into()
    })?;
    ensure(
        w.sim().control().domain_by_name(&w.domain("doomed")).is_some(),
        || "the Auth0 domain went before the tenant was read".into(),
    )?;
    let live = w
        .get_cd("live")
        .await?
        .ok_or_else(|| Error::Check("live gone".into()))?;
    ensure(ready(&live) && condition(&live, "Stalled").is_none(), || {
        format!("the live domain flapped: {:?}", condition(&live, "Ready"))
    })?;
    control.clear_faults();
    w.wait_cd_gone("doomed", STEP).await?;
    ensure(
        w.sim().control().domain_by_name(&w.domain("doomed")).is_none(),
        || "the deletion left the Auth0 domain behind".into(),
    )?;
    w.assert_no_leaks().await
}

/// Item 11: child objects claim names (external-dns publishes the `DNSEndpoint`'s records, a DNS-01
/// issuer signs any name its zone holds). A namespace the tenant's `spec.allowedDomains` does not
/// give a name gets nothing for it: Stalled `DomainNotAllowed`, no create, no `DNSEndpoint`, no
/// `Certificate`; and a resource naming a domain another resource holds gets no child objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_claims_only_names_it_may_and_holds() -> Result<()> {
    let w = World::start_default().await?;
    w.apply_fixture_crd("external-dns", "crd/dnsendpoints.externaldns.k8s.io")
        .await?;
    w.apply_fixture_crd("cert-manager", "crd/certificates.cert-manager.io")
        .await?;
    let children =
        json!({"dnsEndpoint": {"enabled": true}, "certificate": {"issuerRef": {"name": "team-issuer"}}});
    let mine = w.domain("mine");
    let rules = json!({"spec": {"allowedDomains": [{"namespaceSelector": {}, "domains": [mine]}]}});
    w.kubectl
        .ok(
            &[
                "patch",
                "auth0tenant",
                &w.tenant,
                "--type=merge",
                "-p",
                &rules.to_string(),
            ],
            None,
        )
        .await?;
    let no_children = |name: &'static str| {
        let w = &w;
        async move {
            for (kind, child) in [
                (
                    "dnsendpoints.externaldns.k8s.io",
                    format!("{name}-auth0-verification"),
                ),
                ("certificates.cert-manager.io", format!("{name}-tls")),
            ] {
                ensure(w.get_json(kind, &child).await?.is_none(), || {
                    format!("{kind} {child} was made for {name}")
                })?;
            }
            Ok::<(), Error>(())
        }
    };

    // Another team's name: refused before anything is sent or made.
    w.apply_json(&w.custom_domain("grab", &w.domain("theirs"), "SelfManagedCerts", children.clone()))
        .await?;
    let obj = w
        .wait_cd(
            "grab",
            "Stalled DomainNotAllowed",
            STEP,
            stalled_with("DomainNotAllowed"),
        )
        .await?;
    let msg = condition(&obj, "Stalled").map(|c| c.message).unwrap_or_default();
    println!("refused claim: {msg}");
    ensure(msg.contains("spec.allowedDomains"), || {
        format!("the message does not name the rule: {msg}")
    })?;
    ensure(w.counters().domains_created == 0, || {
        "a domain was created for a name the namespace may not claim".into()
    })?;
    no_children("grab").await?;

    // The name it was given: created, both children made.
    w.apply_json(&w.custom_domain("mine", &mine, "SelfManagedCerts", children.clone()))
        .await?;
    w.wait_cd("mine", "ChildObjectsReady=True", STEP, |o| {
        is_true(o, "ChildObjectsReady")
    })
    .await?;

    // A second resource naming the domain the first holds: never touched, and no children.
    w.apply_json(&w.custom_domain("copy", &mine, "SelfManagedCerts", children))
        .await?;
    let obj = w
        .wait_cd(
            "copy",
            "Stalled OwnedElsewhere",
            STEP,
            stalled_with("OwnedElsewhere"),
        )
        .await?;
    let cond = condition(&obj, "ChildObjectsReady").unwrap_or_default();
    println!(
        "copy: ChildObjectsReady={} {}: {}",
        cond.status, cond.reason, cond.message
    );
    no_children("copy").await?;
    ensure(w.counters().domains_created == 1, || {
        "more than one domain was created".into()
    })?;
    w.assert_no_leaks().await
}
