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
    // SSL_CERT_FILE only when a test passes it: the untrusted-CA case depends on its absence.
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("SSL_CERT_FILE")
        .kill_on_drop(true);
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
    assert!(text(&out).contains("credentials refused"), "{}", text(&out));
    sim.shutdown().await;
}

/// Row `what` of the checklist, e.g. `credentials  REFUSED  Auth0 token request answered 401 …`.
fn row<'a>(t: &'a str, what: &str) -> &'a str {
    t.lines()
        .find(|l| l.trim_start().starts_with(what))
        .unwrap_or_else(|| panic!("no row {what:?} in:\n{t}"))
}

/// The two failures a new user meets first, against a TLS simulator with its own CA (as in the
/// sandbox): a wrong secret and a CA the machine does not trust. Each says which it is, prints its
/// error once, and still shows the checklist with the scopes unknown.
#[tokio::test]
async fn check_separates_refused_credentials_from_an_untrusted_certificate() {
    let tls = tempfile::tempdir().unwrap();
    let mut cfg = SimConfig::default()
        .tenant("tls")
        .tls_dir(tls.path())
        .client(ClientSpec::new("tls-client", "tls-secret-0123456789"));
    cfg.tenant_domain = Some("tls.eu.auth0local.dev".into());
    let sim = auth0_sim::start(cfg).await.unwrap();
    let ca = sim.ca_file().expect("a TLS simulator has a CA file");
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good"), dir.path().join("bad"));
    std::fs::write(&good, "tls-secret-0123456789").unwrap();
    std::fs::write(&bad, "not-the-secret-987654321").unwrap();
    let url = sim.url();
    let domain = sim.tenant_domain();
    let check = |file: &std::path::Path| -> Vec<String> {
        [
            "check",
            "--domain",
            &domain,
            "--client-id",
            "tls-client",
            "--client-secret-file",
            &file.to_string_lossy(),
            "--management-api-url",
            &url,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let argv = |v: &[String]| v.iter().map(String::clone).collect::<Vec<_>>();
    let trusted = [("SSL_CERT_FILE", ca.to_string_lossy().into_owned())];

    // Wrong secret, CA trusted: Auth0 answered, and refused.
    let a = argv(&check(&bad));
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &trusted).await;
    let t = text(&out);
    println!(
        "--- check, wrong secret over TLS (exit {:?}) ---\n{t}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("credentials refused by Auth0"), "{t}");
    assert!(!t.contains("SSL_CERT_FILE") && !t.contains("unreachable"), "{t}");
    assert_eq!(t.matches("401").count(), 1, "the error is printed once:\n{t}");
    assert!(row(&t, "credentials").contains("REFUSED"), "{t}");
    assert!(row(&t, "custom-domain scopes").contains("unknown"), "{t}");
    assert!(row(&t, "list custom domains").contains("unknown"), "{t}");
    assert!(!t.contains("not-the-secret-987654321"), "{t}");

    // Right secret, CA not trusted: the certificate is the problem, and the fix is named.
    let a = argv(&check(&good));
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let t = text(&out);
    println!("--- check, untrusted CA (exit {:?}) ---\n{t}", out.status.code());
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(
            "the server's certificate is not trusted: set SSL_CERT_FILE to its CA (the sandbox prints it)"
        ),
        "{t}"
    );
    assert!(!t.contains("credentials refused"), "{t}");
    assert_eq!(
        t.matches("UnknownIssuer").count(),
        1,
        "the error is printed once:\n{t}"
    );
    assert!(row(&t, "credentials").contains("UNTRUSTED"), "{t}");
    assert!(row(&t, "custom-domain scopes").contains("unknown"), "{t}");
    assert!(
        !t.contains("WARN") && !t.contains("retrying"),
        "no retry noise:\n{t}"
    );

    // Both fixed: the checklist passes.
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), &trusted).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(row(&text(&out), "credentials").contains("ok"), "{}", text(&out));
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
