//! Errors of the harness. Test functions return `Result<(), Error>` so `?` reads naturally.

use std::path::PathBuf;

/// Everything that can go wrong while setting up or driving a world.
#[derive(thiserror::Error)]
pub enum Error {
    /// A simulator or server did not start.
    #[error("starting {what}: {message}")]
    Start {
        /// Which part.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The operator binary is missing.
    #[error(
        "operator binary not found at {0}: build it first with `cargo build --bin auth0-domain-operator` \
         (`make test` does), or set E2E_OPERATOR_BIN"
    )]
    OperatorBinaryMissing(PathBuf),
    /// File or process I/O failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Kubernetes API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// kubectl exited non-zero where success was expected.
    #[error("kubectl {args} exited with {code:?}\nstdout: {stdout}\nstderr: {stderr}")]
    Kubectl {
        /// The arguments.
        args: String,
        /// Exit code.
        code: Option<i32>,
        /// Its stdout.
        stdout: String,
        /// Its stderr.
        stderr: String,
    },
    /// A condition was not reached in time.
    #[error("timed out after {seconds:.1}s waiting for {what}\n{context}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: f64,
        /// Last observation and the operator log tail.
        context: String,
    },
    /// An HTTP request (edge, readiness) failed.
    #[error("HTTP {what}: {source}")]
    Http {
        /// Which request.
        what: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// An expectation of the test failed.
    #[error("{0}")]
    Check(String),
}

/// Shorthand for harness results.
pub type Result<T> = std::result::Result<T, Error>;

/// Fails with [`Error::Check`] unless `cond` holds.
pub fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::Check(message()))
    }
}

// A test returning `Err` prints it with `Debug`: show the readable message (with the operator log
// tail inside) rather than the struct dump.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
