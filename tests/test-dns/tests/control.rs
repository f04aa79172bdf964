//! The HTTP control API, the zone file and the `test-dns` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{resolver, start, txt};
use serde_json::{Value, json};
use test_dns::{FaultStatus, RecordEntry, StatsSnapshot};

async fn control(dns: &test_dns::TestDns) -> String {
    let addr = dns.serve_control("127.0.0.1:0".parse().unwrap()).await.unwrap();
    format!("http://{addr}")
}

#[tokio::test]
async fn records_over_http_are_served_over_dns() {
    let dns = start().await;
    let base = control(&dns).await;
    let http = reqwest::Client::new();
    let r = resolver(dns.addr());

    let created = http
        .put(format!("{base}/records"))
        .json(&json!({"name": "_cf-custom-hostname.Login.Example.com.", "type": "txt", "value": "tok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let entry: RecordEntry = created.json().await.unwrap();
    assert_eq!(entry.name, "_cf-custom-hostname.login.example.com");
    http.put(format!("{base}/records"))
        .json(&json!({"name": "login.example.com", "type": "CNAME", "value": "edge.auth0.test"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(
        txt(&r, "_cf-custom-hostname.login.example.com.").await.unwrap(),
        vec!["tok"]
    );

    let listed: Vec<RecordEntry> = http
        .get(format!("{base}/records"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].value, "edge.auth0.test");

    let removed: Value = http
        .delete(format!(
            "{base}/records?name=_cf-custom-hostname.login.example.com&type=TXT"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(removed, json!({"removed": 1}));
    assert!(
        txt(&r, "_cf-custom-hostname.login.example.com.")
            .await
            .unwrap_err()
            .is_nx_domain()
    );

    let removed: Value = http
        .delete(format!("{base}/records"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(removed, json!({"removed": 1}));
    assert!(dns.records().is_empty());
    dns.shutdown().await;
}

#[tokio::test]
async fn bad_records_are_refused_with_400() {
    let dns = start().await;
    let base = control(&dns).await;
    let http = reqwest::Client::new();
    for body in [
        json!({"name": "a.test", "type": "MX", "value": "x"}),
        json!({"name": "a.test", "type": "A", "value": "not-an-ip"}),
        json!({"name": "a..test", "type": "TXT", "value": "x"}),
        json!({"name": "a.test", "type": "CNAME", "value": "b..test"}),
    ] {
        let response = http
            .put(format!("{base}/records"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    }
    assert!(dns.records().is_empty());
    dns.shutdown().await;
}

#[tokio::test]
async fn faults_and_stats_over_http() {
    let dns = start().await;
    let base = control(&dns).await;
    let http = reqwest::Client::new();
    dns.add_txt("f.example.com", "v");
    let r = resolver(dns.addr());

    let status: FaultStatus = http
        .post(format!("{base}/faults"))
        .json(&json!({"servfail_next": 1, "delay_ms": 20, "drop_next": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((status.servfail_next, status.delay_ms), (1, 20));
    assert!(txt(&r, "f.example.com.").await.is_err());
    assert_eq!(txt(&r, "f.example.com.").await.unwrap(), vec!["v"]);

    let status: FaultStatus = http
        .post(format!("{base}/faults"))
        .json(&json!({"servfail_for_ms": 60_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(status.servfail_remaining_ms > 50_000);
    assert!(txt(&r, "f.example.com.").await.is_err());
    let cleared: FaultStatus = http
        .delete(format!("{base}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared, FaultStatus::default());
    let refused = http
        .post(format!("{base}/faults"))
        .json(&json!({"servfail_nxt": 1}))
        .send()
        .await
        .unwrap();
    assert!(
        refused.status().is_client_error(),
        "unknown fault fields are refused"
    );

    let stats: StatsSnapshot = http
        .get(format!("{base}/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats.queries, 3);
    assert_eq!(stats.servfail, 2);
    assert_eq!(stats.by_name.get("f.example.com"), Some(&3));
    assert_eq!(stats.records, 1);
    let log: Vec<Value> = http
        .get(format!("{base}/queries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["outcome"], "servfail");
    assert_eq!(log[1]["type"], "TXT");
    let reset = http.delete(format!("{base}/stats")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(dns.queries(), 0);
    dns.shutdown().await;
}

/// Waits (bounded) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn zone_file_is_loaded_and_reloaded_without_touching_api_records() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("zone.txt");
    std::fs::write(
        &zone,
        "# test zone\nz.example.com TXT \"first value\"\nz.example.com A 127.0.0.9\n",
    )
    .unwrap();
    let dns = start().await;
    dns.add_txt("api.example.com", "kept");
    assert_eq!(dns.watch_zone_file(&zone, Duration::from_millis(50)).unwrap(), 2);
    let r = resolver(dns.addr());
    assert_eq!(txt(&r, "z.example.com.").await.unwrap(), vec!["first value"]);

    std::fs::write(&zone, "z.example.com TXT second\nnew.example.com TXT added\n").unwrap();
    eventually("zone reload", async || {
        txt(&r, "new.example.com.").await.is_ok_and(|v| v == ["added"])
    })
    .await;
    assert_eq!(txt(&r, "z.example.com.").await.unwrap(), vec!["second"]);
    assert!(
        r.ipv4_lookup("z.example.com.")
            .await
            .unwrap_err()
            .is_no_records_found(),
        "A record gone with the old zone"
    );
    assert_eq!(txt(&r, "api.example.com.").await.unwrap(), vec!["kept"]);

    // A broken version keeps the previous records.
    std::fs::write(&zone, "broken.example.com A nope\n").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(txt(&r, "new.example.com.").await.unwrap(), vec!["added"]);
    dns.shutdown().await;
}

#[tokio::test]
async fn zone_file_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("zone.txt");
    std::fs::write(&zone, "ok.test TXT fine\nbad.test AAAA 1.2.3.4\n").unwrap();
    let dns = start().await;
    let error = dns.load_zone_file(&zone).unwrap_err().to_string();
    assert!(error.contains("line 2"), "{error}");
    assert!(dns.load_zone_file(&dir.path().join("missing")).is_err());
    assert!(dns.records().is_empty());
    dns.shutdown().await;
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_ready(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

#[tokio::test]
async fn binary_writes_ready_file_and_is_controlled_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let zone = dir.path().join("zone.txt");
    std::fs::write(&zone, "zoned.example.com TXT from-file\n").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_test-dns"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--control-listen",
            "127.0.0.1:0",
            "--ttl",
            "1",
        ])
        .arg("--zone-file")
        .arg(&zone)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Killed(child);
    let mut info = None;
    eventually("ready file", async || {
        info = read_ready(&ready);
        info.is_some()
    })
    .await;
    let info = info.unwrap();
    let dns_addr: std::net::SocketAddr = info["dns"].as_str().unwrap().parse().unwrap();
    let base = info["control"].as_str().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"));

    let r = resolver(dns_addr);
    assert_eq!(txt(&r, "zoned.example.com.").await.unwrap(), vec!["from-file"]);
    let http = reqwest::Client::new();
    http.put(format!("{base}/records"))
        .json(&json!({"name": "http.example.com", "type": "A", "value": "10.1.2.3"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let raw = common::raw_tcp(dns_addr, "http.example.com.", hickory_proto::rr::RecordType::A).await;
    assert_eq!(raw.answers.len(), 1);
    assert_eq!(raw.answers[0].ttl, 1, "--ttl applies");
    let stats: StatsSnapshot = http
        .get(format!("{base}/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((stats.queries, stats.tcp), (2, 1));
}
