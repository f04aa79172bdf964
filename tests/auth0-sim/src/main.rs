//! `auth0-sim`: runs the Auth0 Management API simulator until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use auth0_sim::{ClientSpec, RateSpec, Readings, SimConfig};
use clap::Parser;

/// Auth0 Management API simulator: custom domains, tenant settings, rate limits, edge origin.
///
/// Clients trust the generated CA through `--tls-dir`/ca.pem (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS,
/// REQUESTS_CA_BUNDLE). SDKs get `tenant_domain` from the ready file as their `domain`.
#[derive(Parser, Debug)]
#[command(name = "auth0-sim", version)]
struct Cli {
    /// Management API listener (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory for ca.pem and ca-key.pem (an existing CA is reused; several instances may share it).
    /// Default: a temp dir.
    #[arg(long, conflicts_with = "plain_http")]
    tls_dir: Option<PathBuf>,
    /// Serve plain HTTP instead of TLS (API and edge).
    #[arg(long)]
    plain_http: bool,
    /// Client allowed to get tokens: ID:SECRET[:scope,scope…] (repeatable). Default scopes: all
    /// custom-domain and tenant-settings scopes. Default client: sim-client:sim-secret.
    #[arg(long = "client")]
    clients: Vec<String>,
    /// Tenant name (origin names, friendly_name).
    #[arg(long, default_value = "sim-tenant")]
    tenant: String,
    /// Domain SDKs use and the canonical domain (default 127.0.0.1:PORT). Audience
    /// https://<this>/api/v2/ is accepted besides https://<request Host>/api/v2/.
    #[arg(long)]
    tenant_domain: Option<String>,
    /// Nameserver verify queries over UDP (TCP on truncation). Without it every verify fails.
    #[arg(long)]
    dns_server: Option<SocketAddr>,
    /// Timeout of one DNS query in milliseconds.
    #[arg(long, default_value_t = 2000)]
    dns_timeout_ms: u64,
    /// Tenant-wide Management API bucket: RPS:BURST (default: Auth0's Free tier, 2 per second, burst 2).
    #[arg(long, default_value = "2:2")]
    rate_limit: String,
    /// Verify's own bucket: N:PER_SECONDS (burst N, N refilled per PER_SECONDS).
    #[arg(long, default_value = "5:60")]
    verify_limit: String,
    /// Custom-domain entitlement; creates past it get 409.
    #[arg(long, default_value_t = 1000)]
    max_domains: usize,
    /// The plan has no custom domains: every custom-domain endpoint answers 403.
    #[arg(long)]
    no_custom_domains_plan: bool,
    /// Edge (origin stand-in) listener for self-managed domains.
    #[arg(long, default_value = "127.0.0.1:0")]
    edge_listen: SocketAddr,
    /// Disable the edge listener.
    #[arg(long)]
    no_edge: bool,
    /// State file (atomic writes); a restart with it loses nothing, issued keys included.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Serve the control API under /__sim/.
    #[arg(long)]
    control: bool,
    /// Seed of ids, keys and fault injection.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Lifetime of access tokens in seconds.
    #[arg(long, default_value_t = 86_400)]
    token_ttl: u64,
    /// Delay from CNAME verification to certificate `provisioned` (Auth0-managed), milliseconds.
    #[arg(long, default_value_t = 2000)]
    cert_delay: u64,
    /// CNAME target suffix: {tenant}-cd-{lower-cased id suffix}.edge.tenants.{suffix}.
    #[arg(long, default_value = "us.auth0.com")]
    origin_suffix: String,
    /// Milliseconds after create until reads of an Auth0-managed domain show
    /// verification.status "pending" and the certificate authority.
    #[arg(long, default_value_t = 10_000)]
    pending_check_ms: u64,
    /// Seconds an Auth0-managed domain may stay unverified before it turns failed.
    #[arg(long, default_value_t = 72 * 3600)]
    verification_timeout: u64,
    /// Seconds between background re-checks of ready Auth0-managed domains' CNAMEs (0 = off).
    #[arg(long, default_value_t = 60)]
    recheck_interval: u64,
    /// Write {"url","tenant_domain","edge","ca_file","control"} here once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// (uncertain) A verify that finds no record answers 400 instead of 200 + pending.
    #[arg(long)]
    verify_failure_400: bool,
    /// (uncertain) Refuse take/from (checkpoint pagination) with 400, as tenants without MCD do.
    #[arg(long)]
    no_pagination: bool,
    /// (uncertain) PATCH domain_metadata replaces the map instead of merging omitted keys.
    #[arg(long)]
    metadata_replace: bool,
    /// (uncertain) Accept tls_policy on self-managed and custom_client_ip_header on Auth0-managed
    /// domains (default: 400 with the API's texts).
    #[arg(long)]
    relaxed_type_fields: bool,
    /// Accepted for old scripts; the type rule is the default now.
    #[arg(long, hide = true)]
    strict_type_fields: bool,
    /// (uncertain) Show a self-managed origin_domain_name only in the first successful verify
    /// response (default: on every read once ready).
    #[arg(long)]
    origin_only_in_first_verify: bool,
    /// (uncertain) verification.methods[].name in lower case (cname, txt), as older tenants.
    #[arg(long)]
    lowercase_method_names: bool,
    /// (uncertain) DELETE and test answer 409 while an Auth0-managed certificate is provisioning.
    #[arg(long)]
    conflict_while_provisioning: bool,
}

impl Cli {
    fn config(&self) -> anyhow::Result<SimConfig> {
        let clients = if self.clients.is_empty() {
            vec![ClientSpec::new("sim-client", "sim-secret")]
        } else {
            self.clients
                .iter()
                .map(|c| ClientSpec::parse(c))
                .collect::<Result<_, _>>()?
        };
        Ok(SimConfig {
            listen: self.listen,
            tls_dir: self.tls_dir.clone(),
            plain_http: self.plain_http,
            clients,
            tenant: self.tenant.clone(),
            tenant_domain: self.tenant_domain.clone(),
            dns_server: self.dns_server,
            dns_timeout: Duration::from_millis(self.dns_timeout_ms),
            rate_limit: RateSpec::parse_rps_burst(&self.rate_limit)?,
            verify_limit: RateSpec::parse_n_per(&self.verify_limit)?,
            max_domains: self.max_domains,
            custom_domains_plan: !self.no_custom_domains_plan,
            edge_listen: (!self.no_edge).then_some(self.edge_listen),
            state_file: self.state.clone(),
            control: self.control,
            seed: self.seed,
            token_ttl: Duration::from_secs(self.token_ttl),
            cert_delay: Duration::from_millis(self.cert_delay),
            origin_suffix: self.origin_suffix.clone(),
            pending_check_delay: Duration::from_millis(self.pending_check_ms),
            verification_timeout: Duration::from_secs(self.verification_timeout),
            recheck_interval: Duration::from_secs(self.recheck_interval),
            readings: Readings {
                verify_failure_400: self.verify_failure_400,
                pagination: !self.no_pagination,
                metadata_merge: !self.metadata_replace,
                strict_type_fields: !self.relaxed_type_fields,
                origin_only_in_first_verify: self.origin_only_in_first_verify,
                conflict_while_provisioning: self.conflict_while_provisioning,
                lowercase_method_names: self.lowercase_method_names,
            },
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = cli.config()?;
    let control = cfg.control;
    let sim = auth0_sim::start(cfg).await.context("starting auth0-sim")?;
    if let Some(path) = &cli.ready_file {
        let ready = serde_json::json!({
            "url": sim.url(),
            "tenant_domain": sim.tenant_domain(),
            "edge": (!cli.no_edge).then(|| sim.edge_addr().to_string()),
            "ca_file": sim.ca_file(),
            "control": control.then(|| format!("{}/__sim", sim.url())),
        });
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&ready)?)
            .with_context(|| format!("write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}
