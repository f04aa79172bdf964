//! `auth0-domain-operator check`: what a tenant's credentials can do and see, as a report.

use std::collections::BTreeMap;
use std::fmt;

use super::client::{CUSTOM_DOMAIN_SCOPES, TENANT_SETTINGS_SCOPES, TenantClient};
use super::error::Error;

/// Ownership-marker key in `domain_metadata` (docs/design.md#ownership).
pub const OWNER_KEY: &str = "k8s_owner";

/// One domain as the report lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainLine {
    /// Host name.
    pub domain: String,
    /// Auth0 id.
    pub id: String,
    /// Auth0 status.
    pub status: String,
    /// `auth0_managed_certs` / `self_managed_certs`.
    pub type_: String,
    /// The ownership marker, when set.
    pub owner: Option<String>,
    /// Whether it is the tenant default.
    pub is_default: bool,
}

/// What `check` found. Sections that failed carry the error text (never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantReport {
    /// Tenant name or domain, for the header.
    pub tenant: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Custom-domain scopes not granted.
    pub missing_scopes: Vec<&'static str>,
    /// Tenant-settings scopes not granted (needed only for `mtls`).
    pub missing_settings_scopes: Vec<&'static str>,
    /// The domains, or why they could not be listed.
    pub domains: Result<Vec<DomainLine>, String>,
    /// Whether checkpoint pagination worked.
    pub pagination: Option<bool>,
    /// The default domain, or why it could not be read.
    pub default_domain: Result<String, String>,
}

impl TenantReport {
    /// Number of domains per status.
    pub fn by_status(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        if let Ok(domains) = &self.domains {
            for d in domains {
                *counts.entry(d.status.as_str()).or_default() += 1;
            }
        }
        counts
    }

    /// True when the credentials can manage custom domains and the list worked.
    pub fn is_usable(&self) -> bool {
        self.missing_scopes.is_empty() && self.domains.is_ok()
    }
}

/// Tries the credentials, lists the domains and reads the default domain. Fails only when no
/// token can be obtained; later failures are recorded in the report.
pub async fn inspect(client: &TenantClient) -> Result<TenantReport, Error> {
    let creds = client.check_credentials().await?;
    let domains = client
        .list_domains()
        .await
        .map(|list| {
            let mut lines: Vec<DomainLine> = list
                .into_iter()
                .map(|d| DomainLine {
                    owner: d.domain_metadata.get(OWNER_KEY).cloned(),
                    domain: d.domain,
                    id: d.custom_domain_id,
                    status: d.status.to_string(),
                    type_: d.type_.to_string(),
                    is_default: d.is_default,
                })
                .collect();
            lines.sort_by(|a, b| a.domain.cmp(&b.domain));
            lines
        })
        .map_err(|e| e.to_string());
    let default_domain = client
        .get_default_domain()
        .await
        .map(|d| d.domain)
        .map_err(|e| e.to_string());
    Ok(TenantReport {
        tenant: client.name().to_string(),
        missing_scopes: creds.missing(&CUSTOM_DOMAIN_SCOPES),
        missing_settings_scopes: creds.missing(&TENANT_SETTINGS_SCOPES),
        scopes: creds.scopes,
        domains,
        pagination: client.supports_pagination(),
        default_domain,
    })
}

impl fmt::Display for TenantReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tenant {}: credentials accepted", self.tenant)?;
        writeln!(
            f,
            "  scopes: {}",
            if self.scopes.is_empty() {
                "(none reported)".into()
            } else {
                self.scopes.join(" ")
            }
        )?;
        if self.missing_scopes.is_empty() {
            writeln!(f, "  custom-domain scopes: all granted")?;
        } else {
            writeln!(
                f,
                "  MISSING custom-domain scopes: {}",
                self.missing_scopes.join(" ")
            )?;
        }
        if !self.missing_settings_scopes.is_empty() {
            writeln!(
                f,
                "  missing tenant-settings scopes (needed only for spec.mtls): {}",
                self.missing_settings_scopes.join(" ")
            )?;
        }
        match &self.default_domain {
            Ok(d) => writeln!(f, "  default domain: {d}")?,
            Err(e) => writeln!(f, "  default domain: unavailable ({e})")?,
        }
        match &self.domains {
            Err(e) => writeln!(f, "  custom domains: unavailable ({e})")?,
            Ok(domains) => {
                let pagination = match self.pagination {
                    Some(true) => "checkpoint pagination",
                    Some(false) => "plain list",
                    None => "list",
                };
                let counts: Vec<String> = self.by_status().iter().map(|(s, n)| format!("{n} {s}")).collect();
                writeln!(
                    f,
                    "  custom domains: {} ({}; {pagination})",
                    domains.len(),
                    counts.join(", ")
                )?;
                for d in domains {
                    writeln!(
                        f,
                        "    {:<40} {:<20} {:<22} {}{}",
                        d.domain,
                        d.status,
                        d.type_,
                        d.owner
                            .as_deref()
                            .map(|o| format!("owner={o}"))
                            .unwrap_or_else(|| "unmarked".into()),
                        if d.is_default { " (default)" } else { "" }
                    )?;
                }
            }
        }
        Ok(())
    }
}
