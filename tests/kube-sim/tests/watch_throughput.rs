//! Watch throughput and memory of the kube-sim binary at 10,000 objects.
//!
//! Not part of the normal test run:
//! `cargo test -p kube-sim --release --test watch_throughput -- --ignored --nocapture`
//! (`KUBE_SIM_BIN=target/release/kube-sim` measures a release server with a debug client).

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::core::ObjectMeta;
use kube::{Client, ResourceExt};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const OBJECTS: usize = 10_000;

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn watch_throughput_10k() -> TestResult {
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    let ready = dir.path().join("ready");
    // KUBE_SIM_BIN measures another build of the server (e.g. target/release/kube-sim).
    let bin = std::env::var("KUBE_SIM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kube-sim").to_string());
    let mut child = std::process::Command::new(bin)
        .args(["--plain-http", "--history", "20000", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--ready-file")
        .arg(&ready)
        .spawn()?;
    let pid = child.id();
    let started = Instant::now();
    while !ready.exists() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
    let client = Client::try_from(kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?)?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let (rss0, _) = rss_kib(pid);

    // One watch open while 10,000 objects are created by 16 concurrent writers.
    let rv = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let watch = api.watch(&WatchParams::default().timeout(290), &rv).await?;
    let t0 = Instant::now();
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let api = api.clone();
            tokio::spawn(async move {
                for i in (w..OBJECTS).step_by(16) {
                    let cm = ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(format!("cm-{i:05}")),
                            labels: Some([("bench".to_string(), "yes".to_string())].into()),
                            ..Default::default()
                        },
                        data: Some([("payload".to_string(), "x".repeat(200))].into()),
                        ..Default::default()
                    };
                    api.create(&PostParams::default(), &cm).await?;
                }
                Ok::<(), kube::Error>(())
            })
        })
        .collect();
    let mut received = 0usize;
    let mut s = std::pin::pin!(watch);
    while received < OBJECTS {
        match tokio::time::timeout(Duration::from_secs(60), s.try_next()).await?? {
            Some(WatchEvent::Added(_)) => received += 1,
            Some(_) => {}
            None => break,
        }
    }
    let live = t0.elapsed();
    for w in writers {
        w.await??;
    }
    assert_eq!(received, OBJECTS);

    // Initial events of a fresh watch (resourceVersion=0): 10,000 synthetic ADDED.
    let t1 = Instant::now();
    let mut s = std::pin::pin!(api.watch(&WatchParams::default().timeout(290), "0").await?);
    let mut initial = 0usize;
    while initial < OBJECTS {
        match tokio::time::timeout(Duration::from_secs(60), s.try_next()).await?? {
            Some(WatchEvent::Added(_)) => initial += 1,
            Some(_) => {}
            None => break,
        }
    }
    let replay = t1.elapsed();

    // Full list and paged list (kube-rs watcher pages by 500).
    let t2 = Instant::now();
    let all = api.list(&ListParams::default()).await?;
    let list_time = t2.elapsed();
    let t3 = Instant::now();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await?;
        pages += 1;
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    let paged_time = t3.elapsed();
    let (rss, hwm) = rss_kib(pid);
    println!("objects: {OBJECTS} ConfigMaps (~200 B payload), 16 concurrent writers, 1 watch");
    println!(
        "create + live watch delivery: {:.2}s ({:.0} events/s)",
        live.as_secs_f64(),
        OBJECTS as f64 / live.as_secs_f64()
    );
    println!(
        "fresh watch initial ADDED x{initial}: {:.2}s ({:.0} events/s)",
        replay.as_secs_f64(),
        initial as f64 / replay.as_secs_f64()
    );
    println!(
        "list {} items: {:.2}s; paged list ({pages} pages of 500): {:.2}s",
        all.items.len(),
        list_time.as_secs_f64(),
        paged_time.as_secs_f64()
    );
    println!(
        "kube-sim RSS: {} MiB at start, {} MiB now, peak {} MiB",
        rss0 / 1024,
        rss / 1024,
        hwm / 1024
    );
    assert_eq!(all.items.len(), OBJECTS);
    assert!(all.items.iter().all(|c| c.labels().contains_key("bench")));
    child.kill()?;
    child.wait()?;
    Ok(())
}
