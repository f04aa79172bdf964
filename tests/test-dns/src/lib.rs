//! A small authoritative DNS server for tests, over real UDP and TCP.
//!
//! Tests add and remove TXT, CNAME, A and AAAA records at run time, inject faults (delay,
//! SERVFAIL bursts or windows, dropped queries) and count the queries that arrive. The same
//! controls exist over HTTP ([`control`]) for the `test-dns` binary, and records can come from
//! a watched zone file ([`zone_file`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), test_dns::Error> {
//! use std::time::Duration;
//! let dns = test_dns::TestDns::start("127.0.0.1:0".parse().unwrap()).await?;
//! dns.add_txt("_cf-custom-hostname.login.example.com", "token-1");
//! dns.servfail_next(2);
//! // ... point a resolver at dns.addr() ...
//! assert!(dns.queries_for("_cf-custom-hostname.login.example.com") <= 10);
//! dns.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Answers carry the AA flag, never RA. Unknown names get NXDOMAIN, known names without the
//! asked type get NOERROR/NODATA, both with a root SOA whose minimum is the TTL. A name with a
//! CNAME answers other types with the CNAME, followed through the held records.

pub mod control;
mod error;
mod faults;
mod records;
mod response;
mod server;
mod state;
mod stats;
pub mod zone_file;

pub use control::RecordInput;
pub use error::Error;
pub use faults::{FaultStatus, FaultUpdate};
pub use records::{RecordData, RecordEntry, RecordKind, normalize_name};
pub use server::{DEFAULT_TTL, TestDns};
pub use stats::{LoggedQuery, Outcome, StatsSnapshot, Transport};
