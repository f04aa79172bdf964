//! Errors of the test DNS server.

use std::{io, net::SocketAddr, path::PathBuf};

use crate::records::RecordKind;

/// Everything that can go wrong while starting or feeding the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The DNS sockets (UDP and TCP on one port) could not be bound.
    #[error("bind DNS server on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Why the socket refused.
        #[source]
        source: io::Error,
    },
    /// The HTTP control API could not be bound.
    #[error("bind control API on {addr}: {source}")]
    ControlBind {
        /// Address asked for.
        addr: SocketAddr,
        /// Why the socket refused.
        #[source]
        source: io::Error,
    },
    /// A record name that cannot be a DNS name (empty label, label over 63 bytes, ...).
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A record value that does not fit its type (e.g. `A` that is not an IPv4 address).
    #[error("invalid {kind} value {value:?}: {reason}")]
    InvalidValue {
        /// Record type the value was meant for.
        kind: RecordKind,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A record type this server does not hold.
    #[error("unknown record type {0:?} (expected A, AAAA, CNAME or TXT)")]
    UnknownKind(String),
    /// The zone file could not be read.
    #[error("read zone file {path}: {source}")]
    ZoneFileRead {
        /// Path of the zone file.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A zone file line could not be understood.
    #[error("zone file {path} line {line}: {reason}")]
    ZoneFileSyntax {
        /// Path of the zone file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line (wraps the record error).
        reason: String,
    },
}
