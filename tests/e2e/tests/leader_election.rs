//! Leader election end to end: two operator processes with `--leader-election` on one Lease; only
//! the holder reconciles (creates the domain in Auth0), and after it is SIGKILLed the standby
//! takes the Lease over and reconciles the next one. On a real cluster (`make test-kube-real`) the Lease lives where deploy/base's Role
//! allows it (`E2E_LEASE_NAMESPACE`), so this also checks that RBAC.

use std::time::{Duration, Instant};

use e2e::error::{Error, Result, ensure};
use e2e::resources::str_at;
use e2e::{Operator, World, wait::wait_for};
use kube::core::DynamicObject;
use serde_json::{Value, json};

const STEP: Duration = Duration::from_secs(45);

/// `spec.holderIdentity` of the Lease, if it exists.
async fn holder(w: &World, ns: &str, name: &str) -> Result<Option<String>> {
    let out = w
        .kubectl
        .run(&["-n", ns, "get", "lease", name, "-o", "json"], None)
        .await?;
    if !out.success() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Error::Check(format!("lease {ns}/{name} is not JSON: {e}")))?;
    Ok(v.pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// Waits until the second replica answers `/readyz` (a standby is ready once the Lease is decided).
async fn wait_ready(op: &mut Operator) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|source| Error::Http {
            what: "client".into(),
            source,
        })?;
    let start = Instant::now();
    loop {
        if let Some(status) = op.exited() {
            return Err(Error::Check(format!(
                "second operator exited ({status})\n{}",
                op.log_tail(40)
            )));
        }
        if let Some(addr) = op.metrics_addr()
            && http
                .get(format!("http://{addr}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        if start.elapsed() > STEP {
            return Err(Error::Check(format!(
                "second operator not ready in {STEP:?}\n{}",
                op.log_tail(40)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Applies a domain and waits until the leader has created it in Auth0 (status names its id); the
/// way to Ready after that is the other scenarios' business.
async fn apply_and_wait_created(w: &World, name: &str) -> Result<DynamicObject> {
    let domain = w.domain(name);
    w.apply_json(&w.custom_domain(name, &domain, "Auth0ManagedCerts", json!({})))
        .await?;
    w.wait_cd(name, "status.customDomainId", STEP, |o| {
        str_at(o, "/status/customDomainId").is_some()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_the_lease_when_the_leader_is_killed() -> Result<()> {
    let mut w = World::builder().without_operator().start().await?;
    let lease_ns = w.lease_namespace().await?;
    let lease = format!("e2e-{}", w.tag);
    let args = vec![
        "--leader-election".to_string(),
        format!("--lease-name={lease}"),
        format!("--lease-namespace={lease_ns}"),
        "--dns-recheck-max=5s".to_string(),
    ];
    w.launch_operator(args.clone())?;
    w.wait_operator_ready().await?;
    let leader_pid = w
        .operator()?
        .pid()
        .ok_or_else(|| Error::Check("first operator has no pid".into()))?;
    let mut standby = w.spawn_operator(args, "operator-standby.log")?;
    wait_ready(&mut standby).await?;
    let standby_pid = standby
        .pid()
        .ok_or_else(|| Error::Check("second operator has no pid".into()))?;

    let held = holder(&w, &lease_ns, &lease).await?;
    println!(
        "lease {lease_ns}/{lease}: holder {held:?} (leader pid {leader_pid}, standby pid {standby_pid})"
    );
    ensure(
        held.as_deref()
            .is_some_and(|h| h.ends_with(&format!("_{leader_pid}"))),
        || format!("lease holder {held:?} is not the first operator (pid {leader_pid})"),
    )?;
    apply_and_wait_created(&w, "le-first").await?;
    ensure(!standby.log().contains("le-first"), || {
        format!("the standby reconciled le-first:\n{}", standby.log_tail(20))
    })?;

    let killed = Instant::now();
    w.operator()?.kill()?;
    let suffix = format!("_{standby_pid}");
    wait_for(
        &format!("lease {lease_ns}/{lease} taken over by pid {standby_pid}"),
        Duration::from_secs(40),
        || async {
            holder(&w, &lease_ns, &lease)
                .await
                .ok()
                .flatten()
                .filter(|h| h.ends_with(&suffix))
        },
        || standby.log_tail(20),
    )
    .await?;
    println!(
        "standby took the lease over {:.1}s after the leader's SIGKILL",
        killed.elapsed().as_secs_f64()
    );
    apply_and_wait_created(&w, "le-second").await?;
    let _ = standby.kill();
    w.assert_no_leaks().await
}

/// Issue-14 item 9: a leader that loses its Lease while a one-time key is only in its memory (the
/// Secret write and the escrow write both failing) hands the key over before it exits: once
/// writes work again it stores the key (the Secret had none), and the next leader finds it there:
/// Ready, the same key Auth0 issued, one domain created, no escrow left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stepping_down_hands_over_a_key_it_could_not_write() -> Result<()> {
    let mut w = World::builder().without_operator().start().await?;
    let Some(control) = w
        .kube_sim_or_skip("fail Secret and Lease writes")
        .map(|k| k.control().clone())
    else {
        return Ok(());
    };
    let lease_ns = w.lease_namespace().await?;
    let args = vec![
        "--leader-election".to_string(),
        format!("--lease-name=e2e-{}", w.tag),
        format!("--lease-namespace={lease_ns}"),
        "--dns-recheck-max=5s".to_string(),
    ];
    w.launch_operator(args)?;
    w.wait_operator_ready().await?;
    let name = "handover";
    let domain = w.domain(name);
    let secret_name = format!("{name}-auth0-edge");
    w.apply_json(&w.custom_domain(name, &domain, "SelfManagedCerts", json!({})))
        .await?;
    wait_for(
        "the edge Secret before verify",
        STEP,
        || async { w.secret(&secret_name).await.ok().flatten() },
        || w.log_tail(),
    )
    .await?;
    // Neither the Secret nor the escrow can be written: the key is only in memory.
    for verb in ["patch", "create"] {
        control.add_fault(kube_sim::FaultRule {
            verb: Some(verb.into()),
            resource: Some("secrets".into()),
            status: Some(500),
            ..kube_sim::FaultRule::default()
        });
    }
    w.publish_records(name, STEP).await?;
    let obj = w
        .wait_cd(name, "KeyPendingWrite, only in memory", STEP, |o| {
            e2e::resources::condition(o, "SecretStored")
                .is_some_and(|c| c.reason == "KeyPendingWrite" && c.message.contains("ONLY"))
        })
        .await?;
    println!("{}", str_at(&obj, "/status/conditions").unwrap_or_default());
    // Then the Lease cannot be renewed: the leader steps down with the key in memory.
    control.add_fault(kube_sim::FaultRule {
        verb: Some("update".into()),
        resource: Some("leases".into()),
        status: Some(500),
        ..kube_sim::FaultRule::default()
    });
    let deadline = Instant::now() + STEP;
    loop {
        let op = w.operator()?;
        if op.log().contains("handing over cname-api-keys") {
            break;
        }
        if Instant::now() > deadline {
            return Err(Error::Check(format!(
                "the leader did not step down and hand over:\n{}",
                op.log_tail(40)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    control.clear_faults();
    loop {
        let op = w.operator()?;
        if let Some(status) = op.exited() {
            println!("old leader exited: {status}");
            break;
        }
        if Instant::now() > deadline + STEP {
            return Err(Error::Check(format!(
                "the old leader did not exit:\n{}",
                op.log_tail(40)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = w.operator()?.log();
    ensure(log.contains("cname-api-key stored before stepping down"), || {
        format!("the key was not stored during the hand-over:\n{}", w.log_tail())
    })?;
    let issued = w
        .sim()
        .control()
        .domain_by_name(&domain)
        .and_then(|d| d.cname_api_key.clone())
        .unwrap_or_default();
    let stored = w
        .secret(&secret_name)
        .await?
        .and_then(|s| e2e::resources::secret_strings(&s).get("cname-api-key").cloned());
    ensure(stored.as_deref() == Some(issued.as_str()), || {
        "the Secret does not hold the key Auth0 issued after the hand-over".into()
    })?;

    // The next leader (a restart, after the old Lease expired) finds the key where it belongs.
    w.operator()?.restart()?;
    let obj = w
        .wait_cd(
            name,
            "Ready under the next leader",
            STEP * 2,
            e2e::resources::ready,
        )
        .await?;
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    ensure(
        w.secret(&format!("auth0-key-escrow-{uid}")).await?.is_none(),
        || "an escrow copy was left behind".into(),
    )?;
    ensure(w.counters().domains_created == 1, || {
        "the domain was recreated".into()
    })?;
    w.assert_no_leaks().await
}
