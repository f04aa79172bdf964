//! Verification-record lookup: the DNS gate in front of `POST …/verify`.
//!
//! The record to look for always comes from the domain's `verification.methods` as Auth0 returned
//! them ([`VerificationRecord::from_domain`]); nothing here knows record names. [`DnsChecker`] asks
//! the configured nameservers (or the system's) with caching off, so a record published a moment
//! ago is seen on the next check.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tracing::debug;

use crate::auth0::types::{CustomDomain, VerificationMethod, VerificationMethodName};
use crate::telemetry::metrics::Metrics;

/// DNS record type Auth0 asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A TXT record (self-managed certificates).
    Txt,
    /// A CNAME record (Auth0-managed certificates).
    Cname,
}

impl RecordKind {
    /// `TXT` / `CNAME`, as users and external-dns write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Txt => "TXT",
            Self::Cname => "CNAME",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A DNS record the user must publish before Auth0 can verify the domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerificationRecord {
    /// Record type.
    pub kind: RecordKind,
    /// Owner name, without trailing dot.
    pub name: String,
    /// TXT text or CNAME target, as Auth0 returned it.
    pub value: String,
}

impl VerificationRecord {
    /// Builds the record for one verification method of `custom_domain`.
    ///
    /// CNAME lives at the custom domain itself (unless Auth0 names another owner). TXT lives at the
    /// method's `domain`; when Auth0 leaves that out, the custom domain itself is used (what an
    /// older Auth0 guide describes). Unknown method names give `None`.
    pub fn from_method(custom_domain: &str, method: &VerificationMethod) -> Option<Self> {
        let kind = match method.name {
            VerificationMethodName::Txt => RecordKind::Txt,
            VerificationMethodName::Cname => RecordKind::Cname,
            VerificationMethodName::Other(_) => return None,
        };
        let name = method
            .domain
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(custom_domain);
        Some(Self {
            kind,
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            value: method.record.clone(),
        })
    }

    /// All records of a domain's `verification.methods` this client understands.
    pub fn from_domain(domain: &CustomDomain) -> Vec<Self> {
        domain
            .verification_methods()
            .iter()
            .filter_map(|m| Self::from_method(&domain.domain, m))
            .collect()
    }

    /// A sentence naming the record, for status messages: `TXT record <name> with value "<v>"`.
    pub fn describe(&self) -> String {
        match self.kind {
            RecordKind::Txt => format!("TXT record {} with value \"{}\"", self.name, self.value),
            RecordKind::Cname => format!("CNAME record {} pointing to {}", self.name, self.value),
        }
    }

    /// Whether a value found in DNS satisfies this record.
    ///
    /// TXT: equal after trimming whitespace and surrounding quotes, ASCII case-insensitive.
    /// CNAME: equal modulo trailing dot and case.
    pub fn matches(&self, found: &str) -> bool {
        match self.kind {
            RecordKind::Txt => normalize_txt(found).eq_ignore_ascii_case(normalize_txt(&self.value)),
            RecordKind::Cname => normalize_host(found).eq_ignore_ascii_case(normalize_host(&self.value)),
        }
    }
}

fn normalize_txt(s: &str) -> &str {
    s.trim().trim_matches('"').trim()
}

fn normalize_host(s: &str) -> &str {
    s.trim().trim_end_matches('.')
}

/// What DNS says about a [`VerificationRecord`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsAnswer {
    /// The record is published with the expected value.
    Visible,
    /// The name does not exist, has no record of that type, or only other values (`seen`, for the
    /// status message; public DNS data, not secrets).
    Missing {
        /// Values found at the name (empty when none).
        seen: Vec<String>,
    },
    /// DNS could not answer (SERVFAIL, REFUSED, timeout, no nameserver reachable): neither proof
    /// of presence nor of absence.
    Unresolvable(String),
}

impl DnsAnswer {
    /// Bounded metric label: `visible`, `missing` or `unresolvable`.
    pub fn result_label(&self) -> &'static str {
        match self {
            Self::Visible => "visible",
            Self::Missing { .. } => "missing",
            Self::Unresolvable(_) => "unresolvable",
        }
    }

    /// True when the record is visible.
    pub fn is_visible(&self) -> bool {
        matches!(self, Self::Visible)
    }
}

/// Errors building the DNS checker.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A `--dns-nameservers` entry is neither `ip` nor `ip:port`.
    #[error("invalid nameserver {0:?}: expected ip or ip:port (IPv6 with port as [ip]:port)")]
    InvalidNameserver(String),
    /// The system resolver configuration could not be read.
    #[error("reading {path}: {source}")]
    SystemConfig {
        /// The file read.
        path: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The system resolver configuration names no nameserver.
    #[error("{0} names no nameserver; pass --dns-nameservers")]
    NoNameservers(&'static str),
    /// hickory refused the configuration.
    #[error("building the DNS resolver: {0}")]
    Build(String),
}

/// Parses `--dns-nameservers`: comma-separated `ip`, `ip:port` or `[ipv6]:port` (port 53 when
/// absent). An empty string gives an empty list (= system configuration).
pub fn parse_nameservers(s: &str) -> Result<Vec<SocketAddr>, DnsError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<SocketAddr>()
                .or_else(|_| p.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| DnsError::InvalidNameserver(p.to_string()))
        })
        .collect()
}

const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Reads `nameserver` lines of a resolv.conf text (port 53).
fn nameservers_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then_some(())?;
            // Drop an IPv6 zone id (`fe80::1%eth0`); hickory takes plain addresses.
            let addr = words.next()?.split('%').next()?;
            addr.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
        })
        .collect()
}

/// Settings of the DNS gate.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// Nameservers to ask; empty = the system's (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Attempts per query.
    pub attempts: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(3),
            attempts: 2,
        }
    }
}

/// Looks verification records up in DNS.
#[derive(Clone)]
pub struct DnsChecker {
    resolver: TokioResolver,
    metrics: Option<Arc<Metrics>>,
}

impl fmt::Debug for DnsChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsChecker").finish_non_exhaustive()
    }
}

impl DnsChecker {
    /// Builds a checker from `config` (reads `/etc/resolv.conf` when no nameserver is given).
    pub fn new(config: &DnsConfig) -> Result<Self, DnsError> {
        let servers = if config.nameservers.is_empty() {
            let text = std::fs::read_to_string(RESOLV_CONF).map_err(|source| DnsError::SystemConfig {
                path: RESOLV_CONF,
                source,
            })?;
            let found = nameservers_from_resolv_conf(&text);
            if found.is_empty() {
                return Err(DnsError::NoNameservers(RESOLV_CONF));
            }
            found
        } else {
            config.nameservers.clone()
        };
        let name_servers = servers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut opts = ResolverOpts::default();
        opts.timeout = config.timeout;
        opts.attempts = config.attempts;
        // No cache: the gate must see a record seconds after it is published, and a cached
        // NXDOMAIN would hide it for the zone's negative TTL.
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        opts.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        // Large TXT answers come back truncated over UDP; fall back to TCP.
        opts.try_tcp_on_error = true;
        let resolver = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts)
        .build()
        .map_err(|e| DnsError::Build(e.to_string()))?;
        Ok(Self {
            resolver,
            metrics: None,
        })
    }

    /// Counts every lookup in `dns_lookups_total{result}`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Looks `record` up and says whether the expected value is visible.
    pub async fn lookup(&self, record: &VerificationRecord) -> DnsAnswer {
        let answer = self.lookup_uncounted(record).await;
        debug!(kind = %record.kind, name = %record.name, result = answer.result_label(), "DNS gate lookup");
        if let Some(m) = &self.metrics {
            m.dns_lookup(answer.result_label());
        }
        answer
    }

    /// Looks every record up; `Visible` only when all are, else the first non-visible answer.
    pub async fn lookup_all(&self, records: &[VerificationRecord]) -> DnsAnswer {
        for record in records {
            let answer = self.lookup(record).await;
            if !answer.is_visible() {
                return answer;
            }
        }
        DnsAnswer::Visible
    }

    async fn lookup_uncounted(&self, record: &VerificationRecord) -> DnsAnswer {
        // Fully qualified so no search domain is appended.
        let fqdn = format!("{}.", record.name.trim_end_matches('.'));
        let record_type = match record.kind {
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Cname => RecordType::CNAME,
        };
        let lookup = match self.resolver.lookup(fqdn.as_str(), record_type).await {
            Ok(lookup) => lookup,
            Err(e) if e.is_no_records_found() => return DnsAnswer::Missing { seen: Vec::new() },
            Err(e) => return DnsAnswer::Unresolvable(describe_error(&e)),
        };
        let seen: Vec<String> = lookup
            .answers()
            .iter()
            .filter_map(|r| match (&r.data, record.kind) {
                (RData::TXT(txt), RecordKind::Txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>(),
                ),
                (RData::CNAME(target), RecordKind::Cname)
                    if r.name.to_ascii().eq_ignore_ascii_case(&fqdn) =>
                {
                    Some(target.0.to_ascii())
                }
                _ => None,
            })
            .collect();
        if seen.iter().any(|v| record.matches(v)) {
            DnsAnswer::Visible
        } else {
            DnsAnswer::Missing { seen }
        }
    }
}

fn describe_error(e: &NetError) -> String {
    match e {
        NetError::Timeout => "DNS query timed out".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn method(name: &str, record: &str, domain: Option<&str>) -> VerificationMethod {
        VerificationMethod {
            name: VerificationMethodName::from(name),
            record: record.into(),
            domain: domain.map(Into::into),
        }
    }

    #[test]
    fn records_come_from_the_methods() {
        let txt = VerificationRecord::from_method(
            "login.example.com",
            &method("txt", "abc", Some("_cf-custom-hostname.login.example.com")),
        )
        .unwrap();
        assert_eq!(txt.kind, RecordKind::Txt);
        assert_eq!(txt.name, "_cf-custom-hostname.login.example.com");
        let cname =
            VerificationRecord::from_method("login.example.com", &method("cname", "x.edge.auth0.com", None))
                .unwrap();
        assert_eq!(cname.name, "login.example.com");
        assert_eq!(
            cname.describe(),
            "CNAME record login.example.com pointing to x.edge.auth0.com"
        );
        assert!(VerificationRecord::from_method("a.b", &method("http", "x", None)).is_none());
    }

    #[test]
    fn matching_rules() {
        let txt = VerificationRecord {
            kind: RecordKind::Txt,
            name: "n".into(),
            value: "AbC".into(),
        };
        assert!(txt.matches("\"abc\""));
        assert!(txt.matches(" abc "));
        assert!(!txt.matches("abcd"));
        let cname = VerificationRecord {
            kind: RecordKind::Cname,
            name: "n".into(),
            value: "X.Example.com".into(),
        };
        assert!(cname.matches("x.example.com."));
        assert!(!cname.matches("y.example.com."));
    }

    #[test]
    fn parses_nameservers() {
        let got = parse_nameservers("127.0.0.1:5353, 10.0.0.1,[::1]:54").unwrap();
        assert_eq!(
            got,
            vec![
                "127.0.0.1:5353".parse().unwrap(),
                "10.0.0.1:53".parse().unwrap(),
                "[::1]:54".parse().unwrap()
            ]
        );
        assert!(parse_nameservers("").unwrap().is_empty());
        assert!(matches!(
            parse_nameservers("dns.google"),
            Err(DnsError::InvalidNameserver(_))
        ));
    }

    #[test]
    fn reads_resolv_conf() {
        let text =
            "# comment\nsearch example.com\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\n";
        assert_eq!(
            nameservers_from_resolv_conf(text),
            vec!["10.0.0.2:53".parse().unwrap(), "[fe80::1]:53".parse().unwrap()]
        );
    }
}
