//! Command line: `run` (default), `crd [--write]`, `check`, `version`; global `--log-format`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

pub use crate::telemetry::logging::LogFormat;

/// Prefix of every environment variable the operator reads.
pub const ENV_PREFIX: &str = "AUTH0_DOMAIN_OPERATOR_";

/// Kubernetes operator that manages Auth0 custom domains.
#[derive(Parser, Debug, Clone, PartialEq)]
#[command(name = "auth0-domain-operator", version, about)]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "AUTH0_DOMAIN_OPERATOR_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// What to do (default: `run`).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Flags of `run`, accepted without the word `run` too.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the controllers (the default).
    Run(RunArgs),
    /// Print the CRDs as YAML, or rewrite `crds/` with `--write`.
    Crd(CrdArgs),
    /// Try a tenant's credentials and print what they can see.
    Check(CheckArgs),
    /// Print the version (and git commit when known).
    Version,
}

impl Cli {
    /// The chosen command: `run` with the top-level flags when no subcommand was given. Run flags
    /// before another subcommand are an error rather than silently ignored.
    pub fn command_or_run(&self) -> Result<Command, clap::Error> {
        let Some(command) = &self.command else {
            return Ok(Command::Run(self.run.clone()));
        };
        // The flags as they would be without any on the command line (environment applies equally).
        let untouched = Cli::try_parse_from(["auth0-domain-operator"])?.run;
        if self.run != untouched && !matches!(command, Command::Run(_)) {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::ArgumentConflict,
                "run flags were given before another subcommand: put them after `run`, or drop them\n",
            ));
        }
        Ok(command.clone())
    }
}

/// Flags of `run`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct RunArgs {
    /// Identity of this cluster in the ownership marker (`<cluster-id>/<namespace>/<name>`);
    /// default: the UID of the `kube-system` namespace.
    #[arg(long, env = "AUTH0_DOMAIN_OPERATOR_CLUSTER_ID")]
    pub cluster_id: Option<String>,

    /// DNS servers for the verification-record check (`ip` or `ip:port`, comma-separated);
    /// default: the system resolver configuration.
    #[arg(long, value_delimiter = ',', env = "AUTH0_DOMAIN_OPERATOR_DNS_NAMESERVERS")]
    pub dns_nameservers: Vec<String>,

    /// Verify only once DNS shows the record (`false` for split-horizon DNS).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, default_missing_value = "true", num_args = 0..=1, env = "AUTH0_DOMAIN_OPERATOR_DNS_PREFLIGHT")]
    pub dns_preflight: bool,

    /// Longest wait between DNS re-checks of a missing record (backoff starts at 5s). 20s keeps
    /// "Ready within half a minute of publishing" at the 95th percentile with 1,000 domains (at
    /// 30s the bench measured 34.8 s); a lookup costs no Management API call.
    #[arg(long, default_value = "20s", value_parser = parse_duration_arg, env = "AUTH0_DOMAIN_OPERATOR_DNS_RECHECK_MAX")]
    pub dns_recheck_max: Duration,

    /// Allow `http://` Management API URLs (tests and sandboxes only).
    #[arg(
        long,
        default_value_t = false,
        env = "AUTH0_DOMAIN_OPERATOR_ALLOW_INSECURE_AUTH0"
    )]
    pub allow_insecure_auth0: bool,

    /// Tenant host suffixes accepted besides `auth0.com` (private-cloud tenants), comma-separated,
    /// e.g. `auth0.example.net`: an Auth0Tenant's `spec.domain` must be a host below one of them.
    #[arg(
        long,
        value_delimiter = ',',
        env = "AUTH0_DOMAIN_OPERATOR_EXTRA_TENANT_DOMAIN_SUFFIX"
    )]
    pub extra_tenant_domain_suffix: Vec<String>,

    /// Honour `spec.managementApiUrl` of Auth0Tenants (simulators, proxies); without it a tenant
    /// setting one is refused, so the client secret only ever goes to `https://<spec.domain>`.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, default_missing_value = "true", num_args = 0..=1, env = "AUTH0_DOMAIN_OPERATOR_ALLOW_CUSTOM_API_URL")]
    pub allow_custom_api_url: bool,

    /// Namespaces credentials Secrets may live in, comma-separated (default: the operator's own,
    /// from `POD_NAMESPACE`, else `--namespace`, else the kubeconfig's namespace).
    #[arg(
        long,
        value_delimiter = ',',
        env = "AUTH0_DOMAIN_OPERATOR_CREDENTIALS_NAMESPACE"
    )]
    pub credentials_namespace: Vec<String>,

    /// Read credentials Secrets from any namespace (also needs cluster-wide Secret list/watch).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, default_missing_value = "true", num_args = 0..=1, env = "AUTH0_DOMAIN_OPERATOR_ALLOW_CREDENTIALS_IN_ANY_NAMESPACE")]
    pub allow_credentials_in_any_namespace: bool,

    /// Watch the edge Secrets the operator writes, so a deleted one is rewritten at once (needs
    /// Secret list/watch where CustomDomains are: cluster-wide without `--namespace`). Off: a
    /// deleted Secret is noticed at the next resync or CustomDomain change.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, default_missing_value = "true", num_args = 0..=1, env = "AUTH0_DOMAIN_OPERATOR_WATCH_SECRETS")]
    pub watch_secrets: bool,

    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(
        long,
        default_value = "0.0.0.0:8080",
        env = "AUTH0_DOMAIN_OPERATOR_METRICS_ADDR"
    )]
    pub metrics_addr: SocketAddr,

    /// Take a `coordination.k8s.io` Lease before reconciling (for more than one replica).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, default_missing_value = "true", num_args = 0..=1, env = "AUTH0_DOMAIN_OPERATOR_LEADER_ELECTION")]
    pub leader_election: bool,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        default_value = "auth0-domain-operator",
        env = "AUTH0_DOMAIN_OPERATOR_LEASE_NAME"
    )]
    pub lease_name: String,

    /// Namespace of the leader-election Lease (default: the pod's namespace, else `default`).
    #[arg(long, env = "AUTH0_DOMAIN_OPERATOR_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// How many CustomDomains reconcile at once, over all tenants (one tenant holds at most 12).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..), env = "AUTH0_DOMAIN_OPERATOR_CONCURRENCY")]
    pub concurrency: u16,

    /// Watch only this namespace's CustomDomains (default: all namespaces).
    #[arg(long, env = "AUTH0_DOMAIN_OPERATOR_NAMESPACE")]
    pub namespace: Option<String>,

    /// Budget of `POST /custom-domains/{id}/verify` per tenant as `COUNT:SECONDS` (burst COUNT,
    /// COUNT per SECONDS). Auth0 allows 5:60; change it only for simulators and benchmarks.
    #[arg(long, default_value = "5:60", value_parser = parse_verify_limit, env = "AUTH0_DOMAIN_OPERATOR_VERIFY_LIMIT")]
    pub verify_limit: (u32, Duration),
}

/// Parses `COUNT:SECONDS`.
pub fn parse_verify_limit(text: &str) -> Result<(u32, Duration), String> {
    let (n, secs) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected COUNT:SECONDS, e.g. 5:60"))?;
    let n: u32 = n.parse().map_err(|e| format!("{text:?}: {e}"))?;
    let secs: f64 = secs.parse().map_err(|e| format!("{text:?}: {e}"))?;
    if n == 0 || !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("{text:?}: COUNT and SECONDS must be positive"));
    }
    Ok((n, Duration::from_secs_f64(secs)))
}

/// Flags of `crd`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct CrdArgs {
    /// Rewrite the files in the `crds/` directory instead of printing.
    #[arg(long)]
    pub write: bool,

    /// Directory `--write` writes to.
    #[arg(long, default_value = "crds")]
    pub dir: PathBuf,
}

/// Flags of `check`: either an existing Auth0Tenant, or explicit credentials.
#[derive(Args, Debug, Clone, PartialEq)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["tenant", "domain"])))]
pub struct CheckArgs {
    /// Name of an Auth0Tenant in the cluster.
    #[arg(long, conflicts_with_all = ["domain", "client_id", "client_secret_file"])]
    pub tenant: Option<String>,

    /// Tenant domain, e.g. `acme.eu.auth0.com`.
    #[arg(long, requires_all = ["client_id", "client_secret_file"])]
    pub domain: Option<String>,

    /// Client id of the machine-to-machine application.
    #[arg(long)]
    pub client_id: Option<String>,

    /// File holding the client secret (a file, so the secret stays out of shell history and `ps`).
    #[arg(long)]
    pub client_secret_file: Option<PathBuf>,

    /// Management API base URL (default `https://<domain>`).
    #[arg(long)]
    pub management_api_url: Option<String>,

    /// Allow an `http://` Management API URL.
    #[arg(long, default_value_t = false)]
    pub allow_insecure_auth0: bool,
}

/// Parses `--dns-recheck-max` style durations: `30s`, `2m`, `1h`, `500ms`.
pub fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| format!("{text:?}: {e}"));
    }
    crate::resources::tenant::parse_duration(text).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    impl Cli {
        fn run_args(&self) -> RunArgs {
            match self.command_or_run().unwrap() {
                Command::Run(r) => r,
                other => panic!("expected run, got {other:?}"),
            }
        }
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("auth0-domain-operator").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn no_subcommand_means_run_with_defaults() {
        let cli = parse(&[]);
        let Command::Run(run) = cli.command_or_run().unwrap() else {
            panic!("expected run")
        };
        assert!(run.dns_preflight);
        assert_eq!(run.dns_recheck_max, Duration::from_secs(20));
        assert_eq!(run.metrics_addr, "0.0.0.0:8080".parse().unwrap());
        assert!(!run.leader_election);
        assert_eq!(run.concurrency, 64);
        assert_eq!(cli.log_format, LogFormat::Text);
    }

    #[test]
    fn run_flags_parse() {
        let cli = parse(&[
            "--log-format",
            "json",
            "run",
            "--dns-preflight=false",
            "--dns-nameservers",
            "127.0.0.1:5353,10.0.0.1",
            "--dns-recheck-max",
            "2m",
            "--leader-election",
            "--namespace",
            "team-a",
            "--cluster-id",
            "c1",
        ]);
        assert_eq!(cli.log_format, LogFormat::Json);
        let Some(Command::Run(run)) = cli.command else {
            panic!("expected run")
        };
        assert!(!run.dns_preflight);
        assert!(run.leader_election);
        assert_eq!(run.dns_nameservers, vec!["127.0.0.1:5353", "10.0.0.1"]);
        assert_eq!(run.dns_recheck_max, Duration::from_secs(120));
        assert_eq!(run.namespace.as_deref(), Some("team-a"));
        assert_eq!(run.cluster_id.as_deref(), Some("c1"));
    }

    #[test]
    fn run_flags_work_without_the_subcommand() {
        let cli = parse(&[
            "--namespace",
            "team-a",
            "--dns-preflight",
            "false",
            "--allow-insecure-auth0",
        ]);
        let Command::Run(run) = cli.command_or_run().unwrap() else {
            panic!("expected run")
        };
        assert_eq!(run.namespace.as_deref(), Some("team-a"));
        assert!(!run.dns_preflight);
        assert!(run.allow_insecure_auth0);
        assert!(!run.allow_custom_api_url && !run.allow_credentials_in_any_namespace && !run.watch_secrets);
        assert!(run.credentials_namespace.is_empty() && run.extra_tenant_domain_suffix.is_empty());
        let run = parse(&[
            "run",
            "--allow-custom-api-url",
            "--extra-tenant-domain-suffix",
            "a.example,b.example",
            "--credentials-namespace=ops",
        ])
        .run_args();
        assert!(run.allow_custom_api_url);
        assert_eq!(run.extra_tenant_domain_suffix, vec!["a.example", "b.example"]);
        assert_eq!(run.credentials_namespace, vec!["ops"]);
        // Top-level run flags do not mix with another subcommand.
        assert!(parse(&["--namespace", "a", "crd"]).command_or_run().is_err());
        assert!(parse(&["--log-format", "json", "crd"]).command_or_run().is_ok());
    }

    #[test]
    fn check_needs_a_target() {
        assert!(Cli::try_parse_from(["x", "check"]).is_err());
        assert!(Cli::try_parse_from(["x", "check", "--domain", "a.auth0.com"]).is_err());
        let cli = parse(&["check", "--tenant", "default"]);
        assert!(matches!(
            cli.command,
            Some(Command::Check(CheckArgs { tenant: Some(_), .. }))
        ));
    }

    #[test]
    fn crd_write_flag() {
        assert_eq!(
            parse(&["crd", "--write"]).command,
            Some(Command::Crd(CrdArgs {
                write: true,
                dir: "crds".into()
            }))
        );
        assert!(parse_duration_arg("500ms").is_ok_and(|d| d == Duration::from_millis(500)));
        assert!(parse_duration_arg("soon").is_err());
    }
}
