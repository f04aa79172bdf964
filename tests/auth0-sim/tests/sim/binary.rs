//! The `auth0-sim` binary: flags, `--ready-file`, TLS via the written CA.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_writes_ready_file_and_serves_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let _child = Child(
        Command::new(env!("CARGO_BIN_EXE_auth0-sim"))
            .args(["--listen", "127.0.0.1:0", "--tls-dir"])
            .arg(dir.path().join("tls"))
            .args([
                "--client",
                "op:pw:read:custom_domains",
                "--control",
                "--rate-limit",
                "100:20",
                "--verify-limit",
                "50:1",
            ])
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "no ready file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    let url = info["url"].as_str().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"));
    assert!(info["edge"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(info["control"], format!("{url}/__sim"));
    let ca = std::fs::read(info["ca_file"].as_str().unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let tok: Value = http
        .post(format!("{url}/oauth/token"))
        .json(
            &json!({"grant_type":"client_credentials","client_id":"op","client_secret":"pw",
            "audience": format!("https://{}/api/v2/", info["tenant_domain"].as_str().unwrap())}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tok["scope"], "read:custom_domains");
    let r = http
        .get(format!("{url}/api/v2/custom-domains"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit"], "20");
}

#[test]
fn help_documents_every_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_auth0-sim"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--tls-dir",
        "--plain-http",
        "--client",
        "--tenant",
        "--dns-server",
        "--rate-limit",
        "--verify-limit",
        "--max-domains",
        "--edge-listen",
        "--state",
        "--control",
        "--seed",
        "--token-ttl",
        "--cert-delay",
        "--ready-file",
        "--verify-failure-400",
        "--no-pagination",
        "--metadata-replace",
        "--relaxed-type-fields",
        "--origin-only-in-first-verify",
        "--lowercase-method-names",
        "--no-custom-domains-plan",
        "--pending-check-ms",
        "--verification-timeout",
        "--recheck-interval",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn simulators_sharing_a_tls_dir_agree_on_one_ca() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (d, n) = (dir.path().to_path_buf(), names.clone());
            std::thread::spawn(move || auth0_sim::tls::prepare(&d, &n).unwrap().ca_pem)
        })
        .collect();
    let pems: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let on_disk = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    assert!(pems.iter().all(|p| *p == on_disk));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|f| f.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "only ca.pem and ca-key.pem remain: {left:?}");
}
