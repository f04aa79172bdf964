//! `auth0-domain-operator check`: the real binary, against auth0-sim directly (`--domain …`) and
//! through an `Auth0Tenant` in kube-sim (`--tenant`). Prints the output it checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;
use std::time::Duration;

use auth0_sim::{ClientSpec, SimConfig};
use e2e::World;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_auth0-domain-operator");

async fn run(args: &[&str], envs: &[(&str, String)]) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG").kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("check finished within 30 s")
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn check_with_explicit_credentials_reports_missing_scopes() {
    let full = ClientSpec::new("full-client", "full-secret-0123456789");
    let partial = ClientSpec::new("partial-client", "partial-secret-0123456789")
        .with_scopes(&["read:custom_domains", "create:custom_domains"]);
    let mut cfg = SimConfig::default()
        .tenant("check")
        .plain_http(true)
        .client(full)
        .add_client(partial);
    cfg.tenant_domain = Some("check.eu.auth0local.dev".into());
    let sim = auth0_sim::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = sim.url();
    let domain = sim.tenant_domain();
    let args = |id: &'static str, file: &std::path::Path| -> Vec<String> {
        [
            "check",
            "--domain",
            &domain,
            "--client-id",
            id,
            "--client-secret-file",
            &file.to_string_lossy(),
            "--management-api-url",
            &url,
            "--allow-insecure-auth0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    let good = dir.path().join("full");
    std::fs::write(&good, "full-secret-0123456789\n").unwrap();
    let a = args("full-client", &good);
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    println!(
        "--- check, full grant (exit {:?}) ---\n{}",
        out.status.code(),
        text(&out)
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("custom-domain scopes     ok"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("full-secret-0123456789"));

    let part = dir.path().join("partial");
    std::fs::write(&part, "partial-secret-0123456789").unwrap();
    let a = args("partial-client", &part);
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    println!(
        "--- check, partial grant (exit {:?}) ---\n{}",
        out.status.code(),
        text(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("MISSING"), "{}", text(&out));
    assert!(text(&out).contains("update:custom_domains"), "{}", text(&out));

    let bad = dir.path().join("bad");
    std::fs::write(&bad, "wrong-secret-0123456789").unwrap();
    let a = args("full-client", &bad);
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    println!(
        "--- check, wrong secret (exit {:?}) ---\n{}",
        out.status.code(),
        text(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("wrong-secret-0123456789"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_by_tenant_reads_the_auth0tenant_and_its_secret() {
    let w = World::builder().without_operator().start().await.unwrap();
    // Two domains: one marked by a cluster, one unmarked.
    w.create_remote_domain(
        &w.domain("marked"),
        "self_managed_certs",
        json!({"k8s_owner": "c1/team-a/marked"}),
    )
    .await
    .unwrap();
    w.create_remote_domain(&w.domain("plain"), "self_managed_certs", json!({}))
        .await
        .unwrap();
    let mut envs = vec![("KUBECONFIG", w.kubeconfig().to_string_lossy().into_owned())];
    if let Some(ca) = w.sim().ca_file() {
        envs.push(("SSL_CERT_FILE", ca.to_string_lossy().into_owned()));
    }
    let out = run(&["check", "--tenant", &w.tenant, "--allow-insecure-auth0"], &envs).await;
    println!(
        "--- check --tenant (exit {:?}) ---\n{}",
        out.status.code(),
        text(&out)
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("custom domains: 2"), "{t}");
    assert!(
        t.contains("1 marked, 1 unmarked") && t.contains("cluster c1: 1"),
        "{t}"
    );
    assert!(t.contains("mtls.enable_endpoint_aliases: false"), "{t}");
    assert!(!t.contains(&w.client_secret));

    let missing = run(&["check", "--tenant", "no-such-tenant"], &envs).await;
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("not found"), "{}", text(&missing));
}
