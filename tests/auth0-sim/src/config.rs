//! Simulator configuration: one field per CLI flag, with builder-style setters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// Every scope a default client gets: all custom-domain and tenant-settings scopes.
pub const DEFAULT_SCOPES: &[&str] = &[
    "read:custom_domains",
    "create:custom_domains",
    "update:custom_domains",
    "delete:custom_domains",
    "read:tenant_settings",
    "update:tenant_settings",
];

/// A machine-to-machine application allowed to get Management API tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSpec {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// Scopes of the client grant for the Management API.
    pub scopes: Vec<String>,
}

impl ClientSpec {
    /// A client with every default scope.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            secret: secret.into(),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Replaces the granted scopes.
    pub fn with_scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Parses `ID:SECRET[:scope,scope…]`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let mut parts = s.splitn(3, ':');
        let id = parts.next().unwrap_or_default();
        let secret = parts.next().unwrap_or_default();
        if id.is_empty() || secret.is_empty() {
            return Err(Error::Config(format!(
                "--client wants ID:SECRET[:scopes], got {id:?}:…"
            )));
        }
        let mut spec = Self::new(id, secret);
        if let Some(scopes) = parts.next() {
            spec.scopes = scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        Ok(spec)
    }
}

/// A token bucket: `rate` tokens per `per` refill, `burst` capacity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateSpec {
    /// Bucket size (`x-ratelimit-limit`).
    pub burst: u32,
    /// Tokens added per second.
    pub per_second: f64,
}

impl RateSpec {
    /// `RPS:BURST`, as `--rate-limit` takes it.
    pub fn parse_rps_burst(s: &str) -> Result<Self, Error> {
        let (rps, burst) = s
            .split_once(':')
            .ok_or_else(|| Error::Config(format!("rate limit wants RPS:BURST, got {s:?}")))?;
        let per_second: f64 = rps
            .parse()
            .map_err(|_| Error::Config(format!("bad RPS {rps:?}")))?;
        let burst: u32 = burst
            .parse()
            .map_err(|_| Error::Config(format!("bad BURST {burst:?}")))?;
        Self::checked(burst, per_second)
    }

    /// `N:PER_SECONDS` (N requests refilled every PER_SECONDS, burst N), as `--verify-limit` takes it.
    pub fn parse_n_per(s: &str) -> Result<Self, Error> {
        let (n, per) = s
            .split_once(':')
            .ok_or_else(|| Error::Config(format!("verify limit wants N:PER_SECONDS, got {s:?}")))?;
        let n: u32 = n.parse().map_err(|_| Error::Config(format!("bad N {n:?}")))?;
        let per: f64 = per
            .parse()
            .map_err(|_| Error::Config(format!("bad PER_SECONDS {per:?}")))?;
        if per <= 0.0 {
            return Err(Error::Config("PER_SECONDS must be positive".into()));
        }
        Self::checked(n, f64::from(n) / per)
    }

    fn checked(burst: u32, per_second: f64) -> Result<Self, Error> {
        if burst == 0 || per_second.is_nan() || per_second <= 0.0 {
            return Err(Error::Config("rate limits need a positive rate and burst".into()));
        }
        Ok(Self { burst, per_second })
    }
}

/// Switches for the behaviours no source settles. Each default is the reading of the
/// real recorded exchanges (`tests/auth0-sim/captures/`); the other reading is one switch away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readings {
    /// A verify that finds no record answers 400 instead of 200 with the domain unchanged.
    /// Default false (200, as recorded).
    pub verify_failure_400: bool,
    /// Checkpoint pagination (`take`/`from`) is offered. When false, `take`/`from` → 400
    /// `invalid_query_string` (as on tenants without MCD; auth0-cli PRs #1305/#1306).
    pub pagination: bool,
    /// PATCH `domain_metadata` merges (omitted keys kept, `null` removes). When false, the sent map
    /// replaces the stored one. Default true (recorded).
    pub metadata_merge: bool,
    /// `tls_policy` only for Auth0-managed and `custom_client_ip_header` only for self-managed
    /// domains; the other combination → 400. Default true (the API schema's 400 texts); false
    /// accepts both fields on both types (some guides send them so) and still renders per type.
    pub strict_type_fields: bool,
    /// Self-managed `origin_domain_name` only in the first successful verify response. Default
    /// false: it is shown on every read once the domain is ready (the read schemas carry it).
    pub origin_only_in_first_verify: bool,
    /// Answer 409 "operation in progress" to DELETE and test while an Auth0-managed certificate is
    /// still provisioning. Default false.
    pub conflict_while_provisioning: bool,
    /// `verification.methods[].name` in lower case (`cname`, `txt`), as the API schema and tenants
    /// recorded before mid-2025 have it. Default false: upper case, as every recent recording.
    pub lowercase_method_names: bool,
}

impl Default for Readings {
    fn default() -> Self {
        Self {
            verify_failure_400: false,
            pagination: true,
            metadata_merge: true,
            strict_type_fields: true,
            origin_only_in_first_verify: false,
            conflict_while_provisioning: false,
            lowercase_method_names: false,
        }
    }
}

/// Everything the simulator can be told at start.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Management API listener (`--listen`), port 0 allowed.
    pub listen: SocketAddr,
    /// Where `ca.pem`, `ca-key.pem` and the server certificates are written; a temporary directory
    /// when `None`. An existing CA in the directory is reused so clients keep trusting it.
    pub tls_dir: Option<PathBuf>,
    /// Serve plain HTTP instead of TLS (`--plain-http`), for both listeners.
    pub plain_http: bool,
    /// Clients allowed to get tokens.
    pub clients: Vec<ClientSpec>,
    /// Tenant name, used in origin names and the default `friendly_name`.
    pub tenant: String,
    /// Domain SDKs are given; the audience `https://{tenant_domain}/api/v2/` is accepted besides the
    /// request's Host. `None` = `127.0.0.1:PORT`.
    pub tenant_domain: Option<String>,
    /// Nameserver that verify asks (`--dns-server`); `None` = every lookup finds nothing.
    pub dns_server: Option<SocketAddr>,
    /// Timeout of one DNS query.
    pub dns_timeout: Duration,
    /// Tenant-wide Management API bucket.
    pub rate_limit: RateSpec,
    /// `verify`'s own bucket.
    pub verify_limit: RateSpec,
    /// Custom-domain entitlement: creates past it → 409.
    pub max_domains: usize,
    /// The plan includes custom domains; when false every custom-domain endpoint answers 403
    /// "The account is not allowed to perform this operation.".
    pub custom_domains_plan: bool,
    /// Edge (origin stand-in) listener; `None` = no edge.
    pub edge_listen: Option<SocketAddr>,
    /// State file; `None` = in memory only.
    pub state_file: Option<PathBuf>,
    /// Serve the `/__sim/` control API over HTTP (the in-process `Control` always works).
    pub control: bool,
    /// Seed of every random choice (ids, keys, fault injection).
    pub seed: u64,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// Delay between verification and certificate `provisioned` (Auth0-managed).
    pub cert_delay: Duration,
    /// Suffix of CNAME targets: `{tenant}-cd-{lower-cased id suffix}.edge.tenants.{origin_suffix}`
    /// (default `us.auth0.com`, i.e. region `us`).
    pub origin_suffix: String,
    /// Delay after create until Auth0's background job has looked at an Auth0-managed domain:
    /// from then on reads show `verification.status: "pending"` and
    /// `certificate: {"certificate_authority": "letsencrypt"}` (create never does).
    pub pending_check_delay: Duration,
    /// An Auth0-managed domain still unverified this long after create turns `failed`
    /// (`verification.status: "failed"`, "DNS Verification record issue.").
    pub verification_timeout: Duration,
    /// Interval of the background re-check of ready Auth0-managed domains' CNAMEs (a removed
    /// record turns `verification.status` to `failed`; `status` stays `ready`). Zero = off.
    pub recheck_interval: Duration,
    /// Behaviour switches for the uncertain readings.
    pub readings: Readings,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls_dir: None,
            plain_http: false,
            clients: vec![ClientSpec::new("sim-client", "sim-secret")],
            tenant: "sim-tenant".into(),
            tenant_domain: None,
            dns_server: None,
            dns_timeout: Duration::from_secs(2),
            // Auth0's Free tier: 2 burst, 2 per second.
            rate_limit: RateSpec {
                burst: 2,
                per_second: 2.0,
            },
            verify_limit: RateSpec {
                burst: 5,
                per_second: 5.0 / 60.0,
            },
            max_domains: 1000,
            custom_domains_plan: true,
            edge_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            state_file: None,
            control: true,
            seed: 1,
            token_ttl: Duration::from_secs(86_400),
            cert_delay: Duration::from_millis(200),
            origin_suffix: "us.auth0.com".into(),
            pending_check_delay: Duration::from_secs(10),
            verification_timeout: Duration::from_secs(72 * 3600),
            recheck_interval: Duration::from_secs(60),
            readings: Readings::default(),
        }
    }
}

impl SimConfig {
    /// Sets the listener.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Sets the TLS directory.
    pub fn tls_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tls_dir = Some(dir.into());
        self
    }
    /// Serves plain HTTP.
    pub fn plain_http(mut self, on: bool) -> Self {
        self.plain_http = on;
        self
    }
    /// Replaces the client list with one client.
    pub fn client(mut self, client: ClientSpec) -> Self {
        self.clients = vec![client];
        self
    }
    /// Adds a client.
    pub fn add_client(mut self, client: ClientSpec) -> Self {
        self.clients.push(client);
        self
    }
    /// Sets the tenant name.
    pub fn tenant(mut self, name: impl Into<String>) -> Self {
        self.tenant = name.into();
        self
    }
    /// Sets the DNS server verify asks.
    pub fn dns_server(mut self, addr: SocketAddr) -> Self {
        self.dns_server = Some(addr);
        self
    }
    /// Sets the tenant bucket.
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        self.rate_limit = RateSpec { burst, per_second };
        self
    }
    /// Sets verify's bucket: `n` per `per`.
    pub fn verify_limit(mut self, n: u32, per: Duration) -> Self {
        self.verify_limit = RateSpec {
            burst: n,
            per_second: f64::from(n) / per.as_secs_f64().max(1e-6),
        };
        self
    }
    /// Sets the entitlement.
    pub fn max_domains(mut self, n: usize) -> Self {
        self.max_domains = n;
        self
    }
    /// Sets (or disables) the edge listener.
    pub fn edge_listen(mut self, addr: Option<SocketAddr>) -> Self {
        self.edge_listen = addr;
        self
    }
    /// Sets the state file.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }
    /// Enables or disables the HTTP control API.
    pub fn control(mut self, on: bool) -> Self {
        self.control = on;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the token lifetime.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }
    /// Sets the certificate delay.
    pub fn cert_delay(mut self, delay: Duration) -> Self {
        self.cert_delay = delay;
        self
    }
    /// Sets whether the plan includes custom domains (false → 403 on every custom-domain call).
    pub fn custom_domains_plan(mut self, on: bool) -> Self {
        self.custom_domains_plan = on;
        self
    }
    /// Sets the delay until reads show `verification.status: "pending"` and the certificate.
    pub fn pending_check_delay(mut self, delay: Duration) -> Self {
        self.pending_check_delay = delay;
        self
    }
    /// Sets how long an Auth0-managed domain may stay unverified before it turns `failed`.
    pub fn verification_timeout(mut self, timeout: Duration) -> Self {
        self.verification_timeout = timeout;
        self
    }
    /// Sets the background re-check interval (zero = off).
    pub fn recheck_interval(mut self, interval: Duration) -> Self {
        self.recheck_interval = interval;
        self
    }
    /// Replaces the uncertain-behaviour switches.
    pub fn readings(mut self, readings: Readings) -> Self {
        self.readings = readings;
        self
    }
}
