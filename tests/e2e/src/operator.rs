//! The operator as a child process: start, SIGKILL, SIGTERM, restart, log access.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A launched operator process whose stdout and stderr go to one log file.
#[derive(Debug)]
pub struct Operator {
    bin: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    log_path: PathBuf,
    child: Option<Child>,
    /// Byte offset in the log where the current process's output starts.
    log_start: u64,
    starts: u32,
}

impl Operator {
    /// Launches `bin args…` with `envs` (inherited `AUTH0_DOMAIN_OPERATOR_*` variables removed so
    /// the flags given here are the whole configuration), appending output to `log_path`.
    pub fn spawn(
        bin: &Path,
        args: Vec<String>,
        envs: Vec<(String, String)>,
        log_path: PathBuf,
    ) -> Result<Self> {
        let mut op = Self {
            bin: bin.to_path_buf(),
            args,
            envs,
            log_path,
            child: None,
            log_start: 0,
            starts: 0,
        };
        op.start()?;
        Ok(op)
    }

    fn start(&mut self) -> Result<()> {
        let io = |action, source| Error::Io {
            action,
            path: self.log_path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| io("open", e))?;
        self.log_start = file.metadata().map(|m| m.len()).unwrap_or(0);
        let err = file.try_clone().map_err(|e| io("clone", e))?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args).stdin(Stdio::null()).stdout(file).stderr(err);
        for (k, _) in std::env::vars() {
            if k.starts_with("AUTH0_DOMAIN_OPERATOR_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|source| Error::Io {
            action: "spawn",
            path: self.bin.clone(),
            source,
        })?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// Process id of the running operator.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How many times the process was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// Whether the process has exited (and how), without waiting.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL, then reap. No cleanup code of the operator runs.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            c.wait().map_err(|source| Error::Io {
                action: "wait for",
                path: self.bin.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// SIGTERM (graceful shutdown) and wait up to `timeout` for the exit status; SIGKILL after.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            return Err(Error::Check("operator is not running".into()));
        };
        let pid = child.id().to_string();
        // `kill` keeps the crate free of unsafe signal code.
        let sent = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .map_err(|source| Error::Io {
                action: "run kill -TERM for",
                path: self.bin.clone(),
                source,
            })?;
        if !sent.success() {
            return Err(Error::Check(format!("kill -TERM {pid} failed: {sent}")));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Timeout {
                    what: "operator exit after SIGTERM".into(),
                    seconds: timeout.as_secs_f64(),
                    context: self.log_tail(30),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the running process (SIGKILL) if any and starts a new one with the same flags.
    pub fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.start()
    }

    /// Path of the log file (all starts).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log (all starts).
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Log of the current process only.
    pub fn current_log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| {
                let start = usize::try_from(self.log_start).unwrap_or(0).min(b.len());
                String::from_utf8_lossy(&b[start..]).into_owned()
            })
            .unwrap_or_default()
    }

    /// The last `n` lines of the log, labelled, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(n);
        format!(
            "--- operator log tail ({} of {} lines, {}) ---\n{}",
            lines.len() - from,
            lines.len(),
            self.log_path.display(),
            lines[from..].join("\n")
        )
    }

    /// Address of `/metrics` `/healthz` `/readyz` of the current process, from its
    /// "serving /metrics…" log line (the operator binds `127.0.0.1:0`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.current_log().lines().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let fields = v.get("fields")?;
            let msg = fields.get("message")?.as_str()?;
            if !msg.starts_with("serving /metrics") {
                return None;
            }
            fields.get("addr")?.as_str()?.parse().ok()
        })
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
