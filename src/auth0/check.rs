//! `auth0-domain-operator check`: what a tenant's credentials can do and see, as a report.

use std::collections::BTreeMap;
use std::fmt;

use super::client::{CUSTOM_DOMAIN_SCOPES, TENANT_SETTINGS_SCOPES, TenantClient};
use super::error::{Error, TransportKind};
use crate::resources::custom_domain::OWNER_METADATA_KEY;

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

/// Why no token could be had, split by what a person does about it: fix the credentials, or fix
/// the path to the tenant (network, URL, trusted CA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessFailure {
    /// Auth0 answered and refused the client id/secret (or the audience).
    CredentialsRefused(String),
    /// TLS failed because the server's certificate chains to a CA this machine does not trust
    /// (a private CA, such as the sandbox's simulator).
    UntrustedCertificate(String),
    /// The tenant could not be reached or did not answer usefully (connection, timeout, other TLS
    /// failures, 5xx, an unusable URL).
    Unreachable(String),
    /// Auth0 answered 429: the tenant's rate limit is spent by other clients for now.
    RateLimited(String),
}

impl AccessFailure {
    /// Sorts a failed token request into the three cases.
    pub fn classify(error: &Error) -> Self {
        let text = error.to_string();
        match error {
            e if e.is_auth() => Self::CredentialsRefused(text),
            e if e.is_rate_limited() => Self::RateLimited(text),
            Error::Transport { kind, detail, .. }
                if *kind != TransportKind::Timeout && untrusted_issuer(detail) =>
            {
                Self::UntrustedCertificate(text)
            }
            _ => Self::Unreachable(text),
        }
    }

    /// One line saying what happened and what to do; the error text itself is in [`Self::detail`].
    pub fn headline(&self) -> &'static str {
        match self {
            Self::CredentialsRefused(_) => {
                "credentials refused by Auth0: check the client id and secret, and that the application is authorized for the Management API"
            }
            Self::UntrustedCertificate(_) => {
                "unreachable: the server's certificate is not trusted: set SSL_CERT_FILE to its CA (the sandbox prints it)"
            }
            Self::Unreachable(_) => {
                "unreachable or failing: check the domain (or managementApiUrl) and the network path to it"
            }
            Self::RateLimited(_) => {
                "rate-limited by Auth0 (429): other clients are spending the tenant's budget; try again in a minute"
            }
        }
    }

    /// The error as the client reported it (no secret: see [`Error`]).
    pub fn detail(&self) -> &str {
        match self {
            Self::CredentialsRefused(d)
            | Self::UntrustedCertificate(d)
            | Self::Unreachable(d)
            | Self::RateLimited(d) => d,
        }
    }

    /// Short word for the checklist's RESULT column.
    pub fn result_word(&self) -> &'static str {
        match self {
            Self::CredentialsRefused(_) => "REFUSED",
            Self::UntrustedCertificate(_) => "UNTRUSTED",
            Self::Unreachable(_) => "FAILED",
            Self::RateLimited(_) => "LIMITED",
        }
    }
}

/// rustls says `invalid peer certificate: UnknownIssuer` when no trusted root signs the chain.
fn untrusted_issuer(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("unknownissuer") || d.contains("unknown issuer") || d.contains("unknownca")
}

/// Tries the credentials, lists the domains and reads the default domain. Fails only when no
/// token can be obtained; later failures are recorded in the report.
pub async fn inspect(client: &TenantClient) -> Result<TenantReport, AccessFailure> {
    let creds = client
        .check_credentials()
        .await
        .map_err(|e| AccessFailure::classify(&e))?;
    let domains = client
        .list_domains()
        .await
        .map(|list| {
            let mut lines: Vec<DomainLine> = list
                .into_iter()
                .map(|d| DomainLine {
                    owner: d.domain_metadata.get(OWNER_METADATA_KEY).cloned(),
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
        // Errors are left to the checklist below the report, so each is printed once.
        match &self.default_domain {
            Ok(d) => writeln!(f, "  default domain: {d}")?,
            Err(_) => writeln!(f, "  default domain: unavailable (see the checklist)")?,
        }
        match &self.domains {
            Err(_) => writeln!(f, "  custom domains: unavailable (see the checklist)")?,
            Ok(domains) => {
                let pagination = match self.pagination {
                    Some(true) => "checkpoint pagination",
                    Some(false) => "plain list",
                    None => "list",
                };
                let counts: Vec<String> = self.by_status().iter().map(|(s, n)| format!("{n} {s}")).collect();
                let counts = if counts.is_empty() {
                    String::new()
                } else {
                    format!("{}; ", counts.join(", "))
                };
                writeln!(f, "  custom domains: {} ({counts}{pagination})", domains.len())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(kind: TransportKind, detail: &str) -> Error {
        Error::Transport {
            endpoint: "POST /oauth/token",
            kind,
            detail: detail.into(),
        }
    }

    fn token_error(status: u16, error: &str) -> Error {
        Error::Token {
            status,
            error: error.into(),
            description: "from the test".into(),
        }
    }

    #[test]
    fn token_failures_are_sorted_by_what_fixes_them() {
        let refused = AccessFailure::classify(&token_error(401, "access_denied"));
        assert!(
            matches!(refused, AccessFailure::CredentialsRefused(_)),
            "{refused:?}"
        );
        let tls = transport(
            TransportKind::Connect,
            "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer",
        );
        let f = AccessFailure::classify(&tls);
        assert!(matches!(f, AccessFailure::UntrustedCertificate(_)), "{f:?}");
        assert!(f.headline().contains("set SSL_CERT_FILE to its CA"));
        assert!(f.detail().contains("UnknownIssuer"));
        // A certificate for another name is not fixed by a CA bundle: reported as unreachable;
        // so is a refused connection and a token endpoint that is down.
        let unreachable = [
            transport(
                TransportKind::Connect,
                "invalid peer certificate: NotValidForName",
            ),
            transport(TransportKind::Connect, "tcp connect error: Connection refused"),
            token_error(503, "temporarily_unavailable"),
        ];
        for e in &unreachable {
            let f = AccessFailure::classify(e);
            assert!(matches!(f, AccessFailure::Unreachable(_)), "{e}: {f:?}");
        }
        // A rate-limited token request is neither refused credentials nor a path problem.
        let f = AccessFailure::classify(&token_error(429, "too_many_requests"));
        assert!(matches!(f, AccessFailure::RateLimited(_)), "{f:?}");
        assert_eq!(f.result_word(), "LIMITED");
    }
}
