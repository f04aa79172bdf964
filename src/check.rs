//! `auth0-domain-operator check`: builds a tenant client from an `Auth0Tenant` (and its
//! credentials Secret) or from explicit flags, prints [`crate::auth0::check`]'s report plus the
//! tenant-wide settings and a checklist of what the operator needs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::auth0::{
    Redacted, TenantClient, TenantConfig,
    check::{AccessFailure, TenantReport, inspect},
    client::READ_TENANT_SETTINGS,
};
use crate::cli::CheckArgs;
use crate::resources::tenant::Auth0Tenant;

/// What `check` found beyond [`TenantReport`]: the mTLS setting and whether the spec wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extras {
    /// `mtls.enable_endpoint_aliases`, or why it could not be read.
    pub mtls_aliases: Result<bool, String>,
    /// `spec.mtls` is set on the Auth0Tenant (so `update:tenant_settings` is needed).
    pub mtls_managed: bool,
    /// `spec.defaultCustomDomain`, when checking an Auth0Tenant.
    pub wanted_default: Option<String>,
}

/// Runs `check`: the text to print and whether everything needed is there.
pub async fn run(args: &CheckArgs) -> anyhow::Result<(String, bool)> {
    let (cfg, mtls_managed, wanted_default) = match &args.tenant {
        Some(name) => from_cluster(name, args.allow_insecure_auth0).await?,
        None => (from_flags(args)?, false, None),
    };
    let tenant = cfg.name.clone();
    let client = TenantClient::new(cfg, None).context("building the Management API client")?;
    let report = match inspect(&client).await {
        Ok(report) => report,
        Err(failure) => return Ok(render_failure(&tenant, &failure, mtls_managed)),
    };
    let mtls_aliases = if report.scopes.iter().any(|s| s == READ_TENANT_SETTINGS) {
        client
            .get_tenant_settings()
            .await
            .map(|s| s.mtls.and_then(|m| m.enable_endpoint_aliases).unwrap_or(false))
            .map_err(|e| e.to_string())
    } else {
        Err("read:tenant_settings not granted".to_owned())
    };
    let extras = Extras {
        mtls_aliases,
        mtls_managed,
        wanted_default,
    };
    Ok(render(&report, &extras))
}

/// The report, the ownership summary and the checklist; `true` when nothing needed is missing.
pub fn render(report: &TenantReport, extras: &Extras) -> (String, bool) {
    let mut out = report.to_string();
    if let Ok(domains) = &report.domains {
        let mut by_cluster: BTreeMap<&str, usize> = BTreeMap::new();
        let mut unmarked = 0usize;
        for d in domains {
            match d.owner.as_deref() {
                // `<cluster-id>/<namespace>/<name>`: the cluster is everything before the last two parts.
                Some(o) => *by_cluster.entry(cluster_of(o)).or_default() += 1,
                None => unmarked += 1,
            }
        }
        let _ = writeln!(
            out,
            "  ownership markers: {} marked, {unmarked} unmarked",
            domains.len() - unmarked
        );
        for (cluster, n) in &by_cluster {
            let _ = writeln!(out, "    cluster {cluster}: {n}");
        }
    }
    match &extras.mtls_aliases {
        Ok(on) => {
            let _ = writeln!(out, "  mtls.enable_endpoint_aliases: {on}");
        }
        Err(e) => {
            let _ = writeln!(out, "  mtls.enable_endpoint_aliases: unknown ({e})");
        }
    }
    // (what, ok, word when not ok, detail): a missing grant is MISSING, a call that failed FAILED.
    let mut rows: Vec<(&str, bool, &str, String)> = vec![
        ("credentials", true, "", "token issued".to_owned()),
        (
            "custom-domain scopes",
            report.missing_scopes.is_empty(),
            "MISSING",
            if report.missing_scopes.is_empty() {
                "read/create/update/delete:custom_domains".to_owned()
            } else {
                format!("missing {}", report.missing_scopes.join(" "))
            },
        ),
        (
            "list custom domains",
            report.domains.is_ok(),
            "FAILED",
            match &report.domains {
                Ok(d) => format!("{} domains", d.len()),
                Err(e) => e.clone(),
            },
        ),
        (
            "default domain",
            report.default_domain.is_ok(),
            "FAILED",
            match &report.default_domain {
                Ok(d) => match &extras.wanted_default {
                    Some(w) if w != d => format!("{d} (spec wants {w}; the operator will apply it)"),
                    _ => d.clone(),
                },
                Err(e) => e.clone(),
            },
        ),
    ];
    let settings_ok = !extras.mtls_managed || report.missing_settings_scopes.is_empty();
    rows.push((
        "tenant-settings scopes",
        settings_ok,
        "MISSING",
        match (extras.mtls_managed, report.missing_settings_scopes.is_empty()) {
            (_, true) => "read/update:tenant_settings".to_owned(),
            (true, false) => format!(
                "missing {} (spec.mtls is set)",
                report.missing_settings_scopes.join(" ")
            ),
            (false, false) => format!(
                "not needed (no spec.mtls); not granted: {}",
                report.missing_settings_scopes.join(" ")
            ),
        },
    ));
    let _ = writeln!(out, "\n  {:<24} {:<9} DETAIL", "NEEDED", "RESULT");
    for (what, ok, not_ok, detail) in &rows {
        let _ = writeln!(
            out,
            "  {what:<24} {:<9} {detail}",
            if *ok { "ok" } else { not_ok }
        );
    }
    let ok = rows.iter().all(|(_, ok, _, _)| *ok);
    (out, ok)
}

/// No token: the failure once (headline, then the error in the checklist) and the checklist with
/// every scope and list row unknown, since nothing could be asked. Always `false`.
pub fn render_failure(tenant: &str, failure: &AccessFailure, mtls_managed: bool) -> (String, bool) {
    let mut out = format!("tenant {tenant}: {}\n", failure.headline());
    let unknown = "could not ask (no token)";
    let settings = if mtls_managed {
        "read/update:tenant_settings (spec.mtls is set): could not ask (no token)"
    } else {
        "not needed (no spec.mtls)"
    };
    let rows = [
        ("credentials", failure.result_word(), failure.detail()),
        (
            "custom-domain scopes",
            "unknown",
            "read/create/update/delete:custom_domains: could not ask (no token)",
        ),
        ("list custom domains", "unknown", unknown),
        ("default domain", "unknown", unknown),
        ("tenant-settings scopes", "unknown", settings),
    ];
    let _ = writeln!(out, "\n  {:<24} {:<9} DETAIL", "NEEDED", "RESULT");
    for (what, result, detail) in rows {
        let _ = writeln!(out, "  {what:<24} {result:<9} {detail}");
    }
    (out, false)
}

fn cluster_of(owner: &str) -> &str {
    let mut parts = owner.rsplitn(3, '/');
    let _name = parts.next();
    let _ns = parts.next();
    parts.next().unwrap_or(owner)
}

fn cli_config(mut cfg: TenantConfig, url: Option<String>, insecure: bool) -> TenantConfig {
    cfg.management_api_url = url;
    cfg.allow_insecure = insecure;
    // A command line wants an answer, not a long wait behind a rate limit, and one attempt per
    // call so a failure is reported once, as it happened, instead of after retry warnings.
    cfg.max_pause = Duration::from_secs(10);
    cfg.request_timeout = Duration::from_secs(15);
    cfg.retry.max_attempts = 1;
    cfg
}

fn from_flags(args: &CheckArgs) -> anyhow::Result<TenantConfig> {
    let (Some(domain), Some(id), Some(file)) = (&args.domain, &args.client_id, &args.client_secret_file)
    else {
        bail!("--domain needs --client-id and --client-secret-file");
    };
    let secret = std::fs::read_to_string(file)
        .with_context(|| format!("reading the client secret from {}", file.display()))?;
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        bail!("{} is empty", file.display());
    }
    Ok(cli_config(
        TenantConfig::new(domain.clone(), domain.clone(), id.clone(), Redacted::new(secret)),
        args.management_api_url.clone(),
        args.allow_insecure_auth0,
    ))
}

async fn from_cluster(name: &str, insecure: bool) -> anyhow::Result<(TenantConfig, bool, Option<String>)> {
    let client = kube::Client::try_default()
        .await
        .context("connecting to Kubernetes (KUBECONFIG or in-cluster config)")?;
    let tenant = Api::<Auth0Tenant>::all(client.clone())
        .get_opt(name)
        .await
        .with_context(|| format!("reading Auth0Tenant {name}"))?
        .with_context(|| format!("Auth0Tenant {name} not found"))?;
    let spec = &tenant.spec;
    let r = &spec.credentials_secret_ref;
    let secret = Api::<Secret>::namespaced(client, &r.namespace)
        .get_opt(&r.name)
        .await
        .with_context(|| format!("reading Secret {}/{}", r.namespace, r.name))?
        .with_context(|| format!("credentials Secret {}/{} not found", r.namespace, r.name))?;
    let value = |key: &str| {
        crate::tenant::runtime::secret_text(&secret, key)
            .with_context(|| format!("Secret {}/{} lacks key {key}", r.namespace, r.name))
    };
    let id = value(&r.client_id_key)?;
    let secret_value = value(&r.client_secret_key)?;
    let cfg = cli_config(
        TenantConfig::new(name, spec.domain.clone(), id, Redacted::new(secret_value)),
        spec.management_api_url.clone(),
        insecure,
    );
    Ok((cfg, spec.mtls.is_some(), spec.default_custom_domain.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth0::check::DomainLine;

    fn report(missing: Vec<&'static str>, missing_settings: Vec<&'static str>) -> TenantReport {
        let line = |d: &str, owner: Option<&str>| DomainLine {
            domain: d.into(),
            id: "cd_0000000000000001".into(),
            status: "ready".into(),
            type_: "self_managed_certs".into(),
            owner: owner.map(Into::into),
            is_default: false,
        };
        TenantReport {
            tenant: "t".into(),
            scopes: vec!["read:custom_domains".into()],
            missing_scopes: missing,
            missing_settings_scopes: missing_settings,
            domains: Ok(vec![
                line("a.example.com", Some("c1/team-a/a")),
                line("b.example.com", Some("c1/team-b/b")),
                line("c.example.com", Some("c2/x/c")),
                line("d.example.com", None),
            ]),
            pagination: Some(true),
            default_domain: Ok("t.eu.auth0.com".into()),
        }
    }

    #[test]
    fn checklist_and_ownership() {
        let extras = Extras {
            mtls_aliases: Ok(true),
            mtls_managed: false,
            wanted_default: None,
        };
        let (text, ok) = render(&report(vec![], vec!["update:tenant_settings"]), &extras);
        assert!(ok, "{text}");
        assert!(text.contains("3 marked, 1 unmarked"), "{text}");
        assert!(
            text.contains("cluster c1: 2") && text.contains("cluster c2: 1"),
            "{text}"
        );
        assert!(text.contains("mtls.enable_endpoint_aliases: true"), "{text}");
        // Settings scopes become needed once spec.mtls is set.
        let managed = Extras {
            mtls_managed: true,
            ..extras.clone()
        };
        let (text, ok) = render(&report(vec![], vec!["update:tenant_settings"]), &managed);
        assert!(!ok && text.contains("MISSING"), "{text}");
        let (text, ok) = render(&report(vec!["delete:custom_domains"], vec![]), &extras);
        assert!(!ok && text.contains("missing delete:custom_domains"), "{text}");
    }

    #[test]
    fn a_failed_list_is_failed_not_missing_and_its_error_is_printed_once() {
        let mut r = report(vec![], vec![]);
        r.domains = Err("Auth0 GET /custom-domains answered 503: down".into());
        let extras = Extras {
            mtls_aliases: Ok(false),
            mtls_managed: false,
            wanted_default: None,
        };
        let (text, ok) = render(&r, &extras);
        assert!(!ok, "{text}");
        assert_eq!(text.matches("answered 503").count(), 1, "{text}");
        let row = text
            .lines()
            .find(|l| l.contains("list custom domains"))
            .unwrap_or_default();
        assert!(row.contains("FAILED") && row.contains("answered 503"), "{text}");
    }

    #[test]
    fn failure_shows_the_checklist_with_unknown_scopes_and_the_error_once() {
        let failure = AccessFailure::CredentialsRefused(
            "Auth0 token request answered 401 access_denied: Unauthorized".into(),
        );
        let (text, ok) = render_failure("prod", &failure, true);
        assert!(!ok);
        assert!(text.starts_with("tenant prod: credentials refused"), "{text}");
        assert_eq!(text.matches("401 access_denied").count(), 1, "{text}");
        assert!(text.contains("NEEDED"), "{text}");
        for row in [
            "custom-domain scopes",
            "list custom domains",
            "default domain",
            "tenant-settings scopes",
        ] {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(row))
                .unwrap_or_default();
            assert!(line.contains("unknown"), "{row}: {text}");
        }
        assert!(text.contains("spec.mtls is set"), "{text}");
        let (text, _) = render_failure("prod", &failure, false);
        assert!(text.contains("not needed (no spec.mtls)"), "{text}");
    }

    #[test]
    fn cluster_is_the_marker_prefix() {
        assert_eq!(cluster_of("c1/ns/name"), "c1");
        assert_eq!(cluster_of("a/b/c/ns/name"), "a/b/c");
        assert_eq!(cluster_of("odd"), "odd");
    }
}
