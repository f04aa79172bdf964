//! Running the real `kubectl` against a world's cluster.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// `kubectl` bound to one kubeconfig and a private discovery cache.
#[derive(Debug, Clone)]
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache_dir: PathBuf,
}

/// What a kubectl run printed.
#[derive(Debug, Clone)]
pub struct KubectlOutput {
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl KubectlOutput {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Whether kubectl exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl Kubectl {
    /// kubectl from `KUBECTL` or `/usr/bin/kubectl` (else `kubectl` on PATH).
    pub fn new(kubeconfig: &Path, cache_dir: &Path) -> Self {
        let bin = std::env::var_os("KUBECTL").map(PathBuf::from).unwrap_or_else(|| {
            let p = PathBuf::from("/usr/bin/kubectl");
            if p.is_file() { p } else { PathBuf::from("kubectl") }
        });
        Self {
            bin,
            kubeconfig: kubeconfig.to_path_buf(),
            cache_dir: cache_dir.to_path_buf(),
        }
    }

    /// Runs `kubectl args…` (stdin from `input` when given) and returns what it printed, whatever
    /// the exit code.
    pub async fn run(&self, args: &[&str], input: Option<&str>) -> Result<KubectlOutput> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", &self.cache_dir)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let io = |action, source| Error::Io {
            action,
            path: self.bin.clone(),
            source,
        };
        let mut child = cmd.spawn().map_err(|e| io("spawn", e))?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(text.as_bytes())
                .await
                .map_err(|e| io("write stdin of", e))?;
            drop(stdin);
        }
        let out = child.wait_with_output().await.map_err(|e| io("wait for", e))?;
        Ok(KubectlOutput::from(out))
    }

    /// `kubectl args…` without an async runtime (for `Drop`), output discarded; whether it
    /// exited 0.
    pub fn run_blocking(&self, args: &[&str]) -> bool {
        std::process::Command::new(&self.bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", &self.cache_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `kubectl wait --for=condition=Established` on `crds`, retried while a CRD has no
    /// conditions yet: right after a create, a real API server serves it with `status.conditions`
    /// unset for a moment and kubectl then fails at once (".status.conditions accessor error")
    /// instead of waiting.
    pub async fn wait_established(&self, crds: &[&str]) -> Result<KubectlOutput> {
        let mut args = vec!["wait", "--for=condition=Established", "--timeout=30s"];
        args.extend_from_slice(crds);
        for _ in 0..20 {
            let out = self.run(&args, None).await?;
            if out.success() || !out.stderr.contains("accessor error") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        self.ok(&args, None).await
    }

    /// Like [`run`](Self::run) but fails unless kubectl exits 0.
    pub async fn ok(&self, args: &[&str], input: Option<&str>) -> Result<KubectlOutput> {
        let out = self.run(args, input).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(Error::Kubectl {
                args: args.join(" "),
                code: out.code,
                stdout: out.stdout,
                stderr: out.stderr,
            })
        }
    }
}
