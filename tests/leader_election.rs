//! Leader election against the in-process Kubernetes API simulator: one leader among many,
//! graceful hand-over, takeover after a kill (measured over 5 kills), 409 races, a stolen Lease
//! and an unreachable API server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use auth0_domain_operator::leader::{ElectionConfig, LeaderElector, Leadership, Role};
use auth0_domain_operator::telemetry::http::Readiness;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const NS: &str = "default";

async fn sim() -> Result<(kube_sim::KubeSim, Client), common::BoxError> {
    common::kube_sim().await
}

/// Short timing for the behaviour tests (the 5-kill measurement uses the defaults).
fn fast() -> ElectionConfig {
    ElectionConfig {
        lease_duration: Duration::from_secs(3),
        renew_interval: Duration::from_millis(500),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(200),
    }
}

fn elector(client: &Client, lease: &str, id: &str, cfg: ElectionConfig) -> LeaderElector {
    LeaderElector::new(client.clone(), NS, lease, id, cfg).unwrap()
}

/// Waits until `rx` shows `want`; returns how long that took.
async fn wait_role(rx: &mut watch::Receiver<Role>, want: Role, within: Duration) -> Duration {
    let start = Instant::now();
    let reached = tokio::time::timeout(within, rx.wait_for(|r| *r == want))
        .await
        .is_ok();
    assert!(reached, "no {want:?} within {within:?} (now {:?})", *rx.borrow());
    start.elapsed()
}

async fn lease(client: &Client, name: &str) -> Lease {
    Api::<Lease>::namespaced(client.clone(), NS)
        .get(name)
        .await
        .unwrap()
}

fn holder(l: &Lease) -> Option<String> {
    l.spec.as_ref().and_then(|s| s.holder_identity.clone())
}

#[tokio::test]
async fn one_of_two_leads_and_a_graceful_release_hands_over_within_2s() -> TestResult {
    let (_sim, client) = sim().await?;
    let (release_a, release_b) = (CancellationToken::new(), CancellationToken::new());
    let cfg = ElectionConfig::default();
    let (mut a, task_a) = elector(&client, "op", "a", cfg.clone()).spawn(release_a.clone());
    wait_role(&mut a, Role::Leader, Duration::from_secs(3)).await;
    let (mut b, task_b) = elector(&client, "op", "b", cfg).spawn(release_b.clone());
    wait_role(&mut b, Role::Standby, Duration::from_secs(3)).await;
    assert_eq!(*a.borrow(), Role::Leader);

    let l = lease(&client, "op").await;
    let spec = l.spec.clone().unwrap_or_default();
    assert_eq!(holder(&l).as_deref(), Some("a"));
    assert_eq!(spec.lease_duration_seconds, Some(12));
    assert_eq!(spec.lease_transitions, Some(0));
    assert!(spec.acquire_time.is_some() && spec.renew_time.is_some());

    let start = Instant::now();
    release_a.cancel();
    wait_role(&mut b, Role::Leader, Duration::from_secs(5)).await;
    let handover = start.elapsed();
    println!("graceful hand-over took {handover:?}");
    assert!(handover < Duration::from_secs(2), "hand-over took {handover:?}");
    task_a.await?;
    assert_eq!(*a.borrow(), Role::Standby, "a released, so it must not lead");

    let l = lease(&client, "op").await;
    assert_eq!(holder(&l).as_deref(), Some("b"));
    assert_eq!(l.spec.and_then(|s| s.lease_transitions), Some(1));
    release_b.cancel();
    task_b.await?;
    assert_eq!(
        holder(&lease(&client, "op").await),
        None,
        "b gave the Lease back too"
    );
    Ok(())
}

/// Five leader kills (task aborted: no release), each at a different point of the renew
/// cycle (4 s), in parallel on five Leases so the test takes one lease duration.
#[tokio::test]
async fn killed_leader_is_replaced_within_the_lease_duration_over_5_kills() -> TestResult {
    let (_sim, client) = sim().await?;
    let mut runs = Vec::new();
    for i in 0..5u64 {
        let client = client.clone();
        runs.push(tokio::spawn(async move {
            let name = format!("kill-{i}");
            let cfg = ElectionConfig::default();
            let (mut a, task_a) = elector(&client, &name, "a", cfg.clone()).spawn(CancellationToken::new());
            wait_role(&mut a, Role::Leader, Duration::from_secs(3)).await;
            let release_b = CancellationToken::new();
            let (mut b, task_b) = elector(&client, &name, "b", cfg).spawn(release_b.clone());
            wait_role(&mut b, Role::Standby, Duration::from_secs(3)).await;
            tokio::time::sleep(Duration::from_millis(300 + 800 * i)).await;
            task_a.abort();
            let killed = Instant::now();
            wait_role(&mut b, Role::Leader, Duration::from_secs(20)).await;
            let took = killed.elapsed();
            let l = lease(&client, &name).await;
            assert_eq!(holder(&l).as_deref(), Some("b"), "{name}");
            assert_eq!(l.spec.and_then(|s| s.lease_transitions), Some(1), "{name}");
            release_b.cancel();
            task_b.await.unwrap();
            took
        }));
    }
    let mut times = Vec::new();
    for r in runs {
        times.push(r.await?);
    }
    let secs: Vec<String> = times.iter().map(|t| format!("{:.2}s", t.as_secs_f64())).collect();
    println!("failover after kill (lease 12 s, renew 4 s): {}", secs.join(", "));
    for t in &times {
        // Never before the Lease can have expired (renewed at most 4 s before the kill) ...
        assert!(*t >= Duration::from_millis(7_500), "took over too early: {t:?}");
        // ... and right after it expired, within the 15 s the operator promises.
        assert!(*t <= Duration::from_millis(12_500), "took over too late: {t:?}");
    }
    Ok(())
}

#[tokio::test]
async fn conflicts_are_answered_by_rereading() -> TestResult {
    let (sim, client) = sim().await?;
    sim.control().conflict_next_writes(2);
    sim.control().clear_requests();
    let release = CancellationToken::new();
    let (mut a, task) = elector(&client, "conflicts", "a", fast()).spawn(release.clone());
    let took = wait_role(&mut a, Role::Leader, Duration::from_secs(2)).await;
    assert!(
        took < Duration::from_millis(500),
        "retries after 409 should be immediate: {took:?}"
    );
    let codes: Vec<(String, u16)> = sim
        .control()
        .requests()
        .into_iter()
        .filter(|r| r.resource == "leases")
        .map(|r| (r.verb, r.code))
        .collect();
    let conflicts = codes.iter().filter(|(_, c)| *c == 409).count();
    assert_eq!(conflicts, 2, "{codes:?}");
    // Every 409 is followed by a fresh read before the next write.
    for w in codes.windows(2) {
        if w[0].1 == 409 {
            assert_eq!(w[1].0, "get", "{codes:?}");
        }
    }
    assert_eq!(holder(&lease(&client, "conflicts").await).as_deref(), Some("a"));
    release.cancel();
    task.await?;
    Ok(())
}

#[tokio::test]
async fn racing_electors_never_lead_together() -> TestResult {
    let (_sim, client) = sim().await?;
    let release = CancellationToken::new();
    let mut groups = Vec::new();
    for l in 0..6 {
        let name = format!("race-{l}");
        let mut rxs = Vec::new();
        for e in 0..3 {
            let (rx, _task) = elector(&client, &name, &format!("e{e}"), fast()).spawn(release.clone());
            rxs.push(rx);
        }
        groups.push((name, rxs));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        for (name, rxs) in &groups {
            let leaders = rxs.iter().filter(|r| *r.borrow() == Role::Leader).count();
            assert!(leaders <= 1, "{name}: {leaders} leaders at once");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (name, rxs) in &groups {
        let leaders: Vec<usize> = (0..rxs.len())
            .filter(|i| *rxs[*i].borrow() == Role::Leader)
            .collect();
        assert_eq!(leaders.len(), 1, "{name}: exactly one leader");
        assert!(
            rxs.iter().all(|r| *r.borrow() != Role::Undecided),
            "{name}: all decided"
        );
        assert_eq!(
            holder(&lease(&client, name).await),
            Some(format!("e{}", leaders[0])),
            "{name}"
        );
    }
    release.cancel();
    Ok(())
}

#[tokio::test]
async fn a_stolen_lease_makes_the_leader_step_down_at_its_next_renewal() -> TestResult {
    let (_sim, client) = sim().await?;
    let release = CancellationToken::new();
    let (mut a, task) = elector(&client, "stolen", "a", fast()).spawn(release.clone());
    wait_role(&mut a, Role::Leader, Duration::from_secs(2)).await;

    let api = Api::<Lease>::namespaced(client.clone(), NS);
    let mut l = api.get("stolen").await?;
    let spec = l.spec.get_or_insert_with(Default::default);
    spec.holder_identity = Some("intruder".into());
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    spec.lease_duration_seconds = Some(30);
    api.replace("stolen", &PostParams::default(), &l).await?;

    let took = wait_role(&mut a, Role::Standby, Duration::from_secs(2)).await;
    println!("stolen lease noticed after {took:?}");
    assert!(
        took <= Duration::from_millis(800),
        "renew interval is 500 ms: {took:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(*a.borrow(), Role::Standby, "must not take a valid Lease back");
    release.cancel();
    task.await?;
    assert_eq!(
        holder(&api.get("stolen").await?).as_deref(),
        Some("intruder"),
        "release leaves others' Lease alone"
    );
    Ok(())
}

#[tokio::test]
async fn leader_steps_down_by_the_renew_deadline_when_the_api_fails() -> TestResult {
    let (sim, client) = sim().await?;
    let release = CancellationToken::new();
    let (mut a, task) = elector(&client, "outage", "a", fast()).spawn(release.clone());
    wait_role(&mut a, Role::Leader, Duration::from_secs(2)).await;
    let start = Instant::now();
    sim.control().add_fault(kube_sim::FaultRule {
        resource: Some("leases".into()),
        status: Some(503),
        ..Default::default()
    });
    wait_role(&mut a, Role::Standby, Duration::from_secs(4)).await;
    let took = start.elapsed();
    println!("stepped down {took:?} into the outage");
    assert!(
        took <= Duration::from_millis(2_100),
        "renew deadline is 2 s: {took:?}"
    );
    assert!(
        took >= Duration::from_millis(1_400),
        "must keep leading while renewals may still succeed: {took:?}"
    );
    sim.control().clear_faults();
    // Nobody else took the Lease, so it renews its own and leads again.
    wait_role(&mut a, Role::Leader, Duration::from_secs(2)).await;
    release.cancel();
    task.await?;
    Ok(())
}

#[tokio::test]
async fn leadership_drives_readiness_and_reports_loss() -> TestResult {
    let (_sim, client) = sim().await?;
    let ready_a = Readiness::new(&["watches"]);
    let a = Leadership::acquire(
        elector(&client, "wired", "a", fast()),
        &ready_a,
        &["watches"],
        std::future::pending(),
    )
    .await
    .expect("a leads");
    assert_eq!(
        ready_a.pending(),
        vec!["watches"],
        "a leader is ready once its watches synced"
    );

    let ready_b = Readiness::new(&["watches"]);
    let (rb, client_b) = (ready_b.clone(), client.clone());
    let b = tokio::spawn(async move {
        Leadership::acquire(
            elector(&client_b, "wired", "b", fast()),
            &rb,
            &["watches"],
            std::future::pending(),
        )
        .await
    });
    let start = Instant::now();
    while !ready_b.is_ready() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "standby not ready: {:?}",
            ready_b.pending()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!b.is_finished(), "b must wait while a leads");

    a.release().await;
    let mut b = tokio::time::timeout(Duration::from_secs(2), b)
        .await??
        .expect("b leads");
    assert_eq!(
        ready_b.pending(),
        vec!["watches"],
        "new leader waits for its watches again"
    );

    // Steal it: b must notice.
    let api = Api::<Lease>::namespaced(client.clone(), NS);
    let mut l = api.get("wired").await?;
    let spec = l.spec.get_or_insert_with(Default::default);
    spec.holder_identity = Some("intruder".into());
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    api.replace("wired", &PostParams::default(), &l).await?;
    tokio::time::timeout(Duration::from_secs(2), b.lost()).await?;

    // Stopping before the Lease is won returns None.
    let stop = tokio::time::sleep(Duration::from_millis(300));
    let c = Leadership::acquire(
        elector(&client, "wired", "c", fast()),
        &Readiness::new(&[]),
        &[],
        stop,
    )
    .await;
    assert!(c.is_none());
    b.release().await;
    Ok(())
}

/// One `auth0-domain-operator run --leader-election` process with its `/readyz` address.
struct Replica {
    name: &'static str,
    child: tokio::process::Child,
    readyz: String,
}

impl Replica {
    fn start(kubeconfig: &std::path::Path, name: &'static str, log_dir: &std::path::Path) -> Replica {
        // A free port for /readyz (bound and released: good enough on loopback in a test).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(log_dir.join(format!("{name}.log"))).unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth0-domain-operator"))
            .args([
                "run",
                "--leader-election",
                "--lease-namespace",
                NS,
                "--cluster-id",
                "leader-test",
            ])
            .args(["--dns-nameservers", "127.0.0.1:9", "--log-format", "text"])
            .arg(format!("--metrics-addr=127.0.0.1:{port}"))
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", name)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Replica {
            name,
            child,
            readyz: format!("http://127.0.0.1:{port}/readyz"),
        }
    }

    async fn wait_ready(&self, within: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(&self.readyz).await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                start.elapsed() < within,
                "{}: /readyz not ready within {within:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.id().unwrap().to_string();
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    }
}

/// Polls the Lease until `want` holds it; returns how long that took.
async fn wait_holder(client: &Client, name: &str, want: &str, within: Duration) -> Duration {
    let api = Api::<Lease>::namespaced(client.clone(), NS);
    let start = Instant::now();
    loop {
        if let Ok(Some(l)) = api.get_opt(name).await
            && holder(&l).as_deref() == Some(want)
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{want} does not hold {name} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two real operator processes: the standby is ready but idle, SIGTERM hands over within 2 s,
/// SIGKILL within the lease duration, and a leader whose Lease is taken exits non-zero.
#[tokio::test]
async fn two_operator_processes_fail_over() -> TestResult {
    let (sim, client) = sim().await?;
    let crds = Api::<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    >::all(client.clone());
    for (_, crd) in auth0_domain_operator::resources::crds() {
        crds.create(&PostParams::default(), &crd).await?;
    }
    let logs = tempfile::tempdir()?;
    let lease_name = "auth0-domain-operator";
    let kc = sim.kubeconfig_path().to_path_buf();

    let mut a = Replica::start(&kc, "op-a", logs.path());
    wait_holder(&client, lease_name, "op-a", Duration::from_secs(30)).await;
    a.wait_ready(Duration::from_secs(10)).await;
    // The leader's watches are open; from here on only a standby's would show up.
    sim.control().clear_requests();
    let b = Replica::start(&kc, "op-b", logs.path());
    b.wait_ready(Duration::from_secs(10)).await; // standby: ready once the Lease is decided
    tokio::time::sleep(Duration::from_millis(500)).await;
    let standby_work: Vec<_> = sim
        .control()
        .requests()
        .into_iter()
        .filter(|r| r.resource != "leases")
        .map(|r| format!("{} {} {}", r.verb, r.resource, r.user_agent))
        .collect();
    assert!(
        standby_work.is_empty(),
        "a standby must not watch or write: {standby_work:?}"
    );

    // Graceful: SIGTERM releases the Lease.
    a.signal("-TERM");
    let graceful = wait_holder(&client, lease_name, "op-b", Duration::from_secs(5)).await;
    let status = tokio::time::timeout(Duration::from_secs(10), a.child.wait()).await??;
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    println!("process hand-over after SIGTERM: {graceful:?}");
    assert!(graceful < Duration::from_secs(2), "{graceful:?}");
    b.wait_ready(Duration::from_secs(10)).await;

    // Crash: SIGKILL leaves the Lease to expire.
    let mut a2 = Replica::start(&kc, "op-a2", logs.path());
    a2.wait_ready(Duration::from_secs(10)).await;
    let mut b = b;
    b.signal("-KILL");
    let _ = b.child.wait().await;
    let crash = wait_holder(&client, lease_name, "op-a2", Duration::from_secs(20)).await;
    println!("process failover after SIGKILL: {crash:?}");
    assert!(crash < Duration::from_secs(15), "{crash:?}");

    // Lease taken away: the leader stops and exits non-zero.
    let api = Api::<Lease>::namespaced(client.clone(), NS);
    let mut l = api.get(lease_name).await?;
    let spec = l.spec.get_or_insert_with(Default::default);
    spec.holder_identity = Some("intruder".into());
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    spec.lease_duration_seconds = Some(60);
    api.replace(lease_name, &PostParams::default(), &l).await?;
    let start = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), a2.child.wait()).await??;
    println!(
        "leader exited {:?} after losing the Lease: {status:?}",
        start.elapsed()
    );
    assert!(!status.success(), "losing the Lease exits non-zero");
    assert_eq!(holder(&api.get(lease_name).await?).as_deref(), Some("intruder"));
    Ok(())
}
