//! Errors of starting and running the simulator (not the HTTP error bodies: see `api_error`).

/// Why the simulator could not start or persist.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is malformed.
    #[error("configuration: {0}")]
    Config(String),
    /// Binding a listener failed.
    #[error("bind {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: std::net::SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was done.
        action: &'static str,
        /// Which file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Generating or loading certificates failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The state file is not valid.
    #[error("state file {path}: {source}")]
    State {
        /// Which file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}
