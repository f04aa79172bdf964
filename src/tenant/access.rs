//! What an `Auth0Tenant` may point the operator at: which hosts receive the client secret, whether
//! `managementApiUrl` is honoured, and which namespaces credentials Secrets may live in.
//!
//! Auth0Tenants are cluster-scoped, but whoever may write one could otherwise make the operator
//! read any Secret in the cluster and send its value, as `client_secret`, to any host. These
//! checks run before the Secret is read and before any HTTP call; a refusal names only the spec
//! field, never whether a Secret or key exists.

use crate::resources::conditions::Reason;
use crate::resources::tenant::Auth0TenantSpec;

/// The public Auth0 cloud: `acme.auth0.com`, `acme.eu.auth0.com`, `acme.us.auth0.com`, …
pub const AUTH0_DOMAIN_SUFFIX: &str = "auth0.com";

/// Namespaces the operator reads credentials Secrets from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialsScope {
    /// Only these (the operator's own by default).
    Only(Vec<String>),
    /// Any namespace (`--allow-credentials-in-any-namespace`).
    Any,
}

impl CredentialsScope {
    /// Whether a Secret in `namespace` may be read as credentials.
    pub fn allows(&self, namespace: &str) -> bool {
        match self {
            Self::Only(list) => list.iter().any(|n| n == namespace),
            Self::Any => true,
        }
    }

    /// How the scope reads in a message.
    pub fn describe(&self) -> String {
        match self {
            Self::Only(list) => list.join(", "),
            Self::Any => "any namespace".to_owned(),
        }
    }
}

/// The operator's limits on Auth0Tenant specs (from its flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantPolicy {
    /// Host suffixes accepted besides `auth0.com` (`--extra-tenant-domain-suffix`), without a
    /// leading dot, lower-case.
    pub extra_domain_suffixes: Vec<String>,
    /// `--allow-custom-api-url`: honour `spec.managementApiUrl`.
    pub allow_custom_api_url: bool,
    /// Where credentials Secrets may live.
    pub credentials: CredentialsScope,
}

impl TenantPolicy {
    /// A policy with normalized suffixes (`.Example.COM.` → `example.com`; empty ones dropped).
    pub fn new(
        extra_domain_suffixes: &[String],
        allow_custom_api_url: bool,
        credentials: CredentialsScope,
    ) -> Self {
        let extra_domain_suffixes = extra_domain_suffixes
            .iter()
            .map(|s| s.trim().trim_matches('.').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        Self {
            extra_domain_suffixes,
            allow_custom_api_url,
            credentials,
        }
    }

    /// The first rule `spec` breaks, checked in the order a reader fixes them: host, URL,
    /// credentials namespace.
    pub fn vet(&self, spec: &Auth0TenantSpec) -> Result<(), Refusal> {
        if !self.domain_allowed(&spec.domain) {
            let mut accepted = vec![format!("*.{AUTH0_DOMAIN_SUFFIX}")];
            accepted.extend(self.extra_domain_suffixes.iter().map(|s| format!("*.{s}")));
            return Err(Refusal {
                reason: Reason::TenantDomainNotAllowed,
                message: format!(
                    "spec.domain {} is not an Auth0 host (accepted: {}); nothing was sent to it. For a private-cloud tenant, run the operator with --extra-tenant-domain-suffix",
                    spec.domain,
                    accepted.join(", ")
                ),
            });
        }
        if spec.management_api_url.is_some() && !self.allow_custom_api_url {
            return Err(Refusal {
                reason: Reason::ManagementApiUrlNotAllowed,
                message: "spec.managementApiUrl is set but the operator runs without --allow-custom-api-url; remove the field (the API is https://<spec.domain>) or start the operator with that flag".to_owned(),
            });
        }
        let ns = &spec.credentials_secret_ref.namespace;
        if !self.credentials.allows(ns) {
            return Err(Refusal {
                reason: Reason::CredentialsNamespaceNotAllowed,
                message: format!(
                    "spec.credentialsSecretRef.namespace {ns} is not a namespace the operator reads credentials from ({}); the Secret was not read. Keep the credentials Secret there, or widen it with --credentials-namespace",
                    self.credentials.describe()
                ),
            });
        }
        Ok(())
    }

    /// Whether `domain` is a host below `auth0.com` or an extra suffix (not the suffix itself).
    pub fn domain_allowed(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        std::iter::once(AUTH0_DOMAIN_SUFFIX)
            .chain(self.extra_domain_suffixes.iter().map(String::as_str))
            .any(|suffix| is_below(&domain, suffix))
    }
}

/// Whether `host` is `<label>(.<label>)*.<suffix>` with non-empty labels.
fn is_below(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .and_then(|head| head.strip_suffix('.'))
        .is_some_and(|head| !head.is_empty() && head.split('.').all(|l| !l.is_empty()))
}

/// Why a tenant spec is refused; the message is safe for status and Events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Condition reason.
    pub reason: Reason,
    /// Condition message.
    pub message: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(domain: &str, url: Option<&str>, ns: &str) -> Auth0TenantSpec {
        serde_json::from_value(serde_json::json!({
            "domain": domain,
            "managementApiUrl": url,
            "credentialsSecretRef": {"namespace": ns, "name": "creds"},
        }))
        .unwrap()
    }

    fn policy(extra: &[&str], url: bool, scope: CredentialsScope) -> TenantPolicy {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        TenantPolicy::new(&extra, url, scope)
    }

    fn only(ns: &str) -> CredentialsScope {
        CredentialsScope::Only(vec![ns.to_owned()])
    }

    #[test]
    fn domains() {
        let p = policy(&[".Private.Example.", ""], false, only("op"));
        assert_eq!(p.extra_domain_suffixes, vec!["private.example"]);
        for (domain, ok) in [
            ("acme.auth0.com", true),
            ("acme.eu.auth0.com", true),
            ("acme.us.auth0.com", true),
            ("ACME.EU.AUTH0.COM", true),
            ("auth0.com", false),
            (".auth0.com", false),
            ("acme..auth0.com", false),
            ("evilauth0.com", false),
            ("auth0.com.evil.example", false),
            ("acme.auth0.com.evil.example", false),
            ("attacker.example", false),
            ("127.0.0.1", false),
            ("tenant.private.example", true),
            ("private.example", false),
            ("tenant.notprivate.example", false),
        ] {
            assert_eq!(p.domain_allowed(domain), ok, "{domain}");
        }
    }

    #[test]
    fn vet_table() {
        let strict = policy(&[], false, only("op"));
        let open = policy(&["auth0local.dev"], true, CredentialsScope::Any);
        let url = Some("https://attacker.example");
        let bad_host = Some(Reason::TenantDomainNotAllowed);
        let bad_url = Some(Reason::ManagementApiUrlNotAllowed);
        let bad_ns = Some(Reason::CredentialsNamespaceNotAllowed);
        let two = policy(&[], true, CredentialsScope::Only(vec!["a".into(), "b".into()]));
        let cases: [(&TenantPolicy, Auth0TenantSpec, Option<Reason>); 8] = [
            (&strict, spec("acme.eu.auth0.com", None, "op"), None),
            (&strict, spec("attacker.example", None, "op"), bad_host),
            // The host is checked first: a bad host with a bad URL names the host.
            (&strict, spec("attacker.example", url, "kube-system"), bad_host),
            (&strict, spec("acme.auth0.com", url, "op"), bad_url),
            (&strict, spec("acme.auth0.com", None, "kube-system"), bad_ns),
            (&open, spec("t.eu.auth0local.dev", url, "kube-system"), None),
            (&open, spec("attacker.example", None, "op"), bad_host),
            (&two, spec("acme.auth0.com", url, "b"), None),
        ];
        for (p, s, want) in cases {
            assert_eq!(p.vet(&s).err().map(|r| r.reason), want, "{s:?}");
        }
    }

    #[test]
    fn refusals_do_not_tell_whether_the_secret_exists() {
        let p = policy(&[], false, only("op"));
        let r = p.vet(&spec("acme.auth0.com", None, "kube-system")).unwrap_err();
        assert!(r.message.contains("was not read"), "{}", r.message);
        assert!(!r.message.contains("creds"), "names the Secret: {}", r.message);
        assert!(!r.message.contains("not found"), "{}", r.message);
    }
}
