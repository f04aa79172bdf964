//! `Auth0Tenant` (`auth0.domain-operator.dev/v1alpha1`): the connection to one Auth0 tenant, cluster-scoped.

// The derive takes several `printcolumn(type_ = ...)` entries, which clippy mistakes for duplicates.
#![allow(clippy::duplicated_attributes)]

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::custom_domain::{DNS1123_SUBDOMAIN_PATTERN, host_name_rule, wildcard_host_pattern};

/// Default tenant budget in requests per second: Auth0's Free tier, the lowest published limit
/// (2 per second, burst 2; docs/auth0-api.md#rate-limits). Raise it per tenant to the plan's limit.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 2;
/// Default burst (the Free tier's 2).
pub const DEFAULT_BURST: u32 = 2;
/// Default number of custom domains the plan includes (MCD GA base entitlement).
pub const DEFAULT_ENTITLEMENT: u32 = 20;
/// Default interval between re-reads of the tenant's domain list.
pub const DEFAULT_RESYNC_INTERVAL: &str = "10m";
/// Shortest accepted resync interval.
pub const MIN_RESYNC_INTERVAL: Duration = Duration::from_secs(30);
/// Pattern of `resyncInterval`: one or more `<number><s|m|h>` parts, e.g. `90s`, `10m`, `1h30m`.
pub const DURATION_PATTERN: &str = r"^([0-9]{1,5}(s|m|h)){1,3}$";

/// An Auth0 tenant whose custom domains this cluster manages.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "auth0.domain-operator.dev",
    version = "v1alpha1",
    kind = "Auth0Tenant",
    plural = "auth0tenants",
    status = "Auth0TenantStatus",
    shortname = "a0t",
    category = "auth0",
    doc = "The connection to one Auth0 tenant: Management API credentials, request budget and tenant-wide settings.",
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Domains",
        type_ = "integer",
        json_path = ".status.customDomains.total"
    ),
    printcolumn(name = "Default", type_ = "string", json_path = ".status.defaultCustomDomain"),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Message",
        type_ = "string",
        priority = 1,
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct Auth0TenantSpec {
    /// The tenant's Auth0 domain, e.g. `acme.eu.auth0.com`: a host below `auth0.com`, or below a
    /// suffix the operator accepts with `--extra-tenant-domain-suffix` (others are refused).
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(host_name_rule()).message("spec.domain must be the tenant's Auth0 host name, lower-case, such as acme.eu.auth0.com (no scheme, port, path, IP address or wildcard); set spec.managementApiUrl for another address"))]
    pub domain: String,

    /// Base URL of the Management API, overriding `https://<domain>`. Honoured only when the
    /// operator runs with `--allow-custom-api-url` (a tenant setting it is refused otherwise);
    /// plain `http://` also needs `--allow-insecure-auth0` (tests and sandboxes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?# ]+(/[^?# ]*)?$')").message("managementApiUrl must be an http(s) URL such as https://acme.eu.auth0.com, without query or fragment"))]
    pub management_api_url: Option<String>,

    /// The Secret holding the machine-to-machine application's credentials, in the operator's
    /// namespace unless the operator runs with `--credentials-namespace` (needs
    /// `read|create|update|delete:custom_domains`, plus `update:tenant_settings` for `mtls`).
    pub credentials_secret_ref: CredentialsSecretRef,

    /// Which namespaces may reference this tenant (default: all).
    #[serde(default)]
    pub allowed_namespaces: AllowedNamespaces,

    /// Request budget the operator may spend on this tenant's Management API.
    #[serde(default)]
    pub rate_limit: RateLimit,

    /// How often the tenant's domain list is re-read, e.g. `10m` (default), `90s`, `1h`; at least `30s`.
    #[serde(default = "default_resync_interval")]
    // At most three parts of at most five digits: the sum stays far below what a Go duration (and
    // CEL's `duration()`) can hold, so the minimum rule below never fails to evaluate.
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]{1,5}(s|m|h)){1,3}$"))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('30s')").message("resyncInterval must be at least 30s: each resync lists every domain of the tenant"))]
    pub resync_interval: String,

    /// The custom domain to make the tenant's default (Multiple Custom Domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(host_name_rule()).message("spec.defaultCustomDomain must be the host name of a verified custom domain, lower-case, such as login.example.com (no scheme, port, path, trailing dot or wildcard)"))]
    pub default_custom_domain: Option<String>,

    /// How many custom domains the tenant's plan includes (default 20); the tenant warns past it.
    #[serde(default = "default_entitlement")]
    #[schemars(range(min = 1, max = 100000), extend("format" = "int32"))]
    pub entitlement: u32,

    /// Tenant-wide mTLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<TenantMtls>,

    /// Which CustomDomains may adopt an existing Auth0 domain that no CustomDomain owns (one made
    /// in the dashboard or by Terraform). Absent (default): adoption is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<Adoption>,

    /// cert-manager ClusterIssuers a CustomDomain of this tenant may name in
    /// `spec.certificate.issuerRef` (default none: only Issuers in the CustomDomain's namespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_cluster_issuers: Vec<String>,

    /// Which namespaces may claim which domain names on this tenant: create or adopt them in
    /// Auth0, publish their DNS records and request their certificates. Empty (default): every
    /// namespace `allowedNamespaces` admits may claim any name; set it when teams share a tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_domains: Vec<DomainClaim>,
}

/// Domain names the namespaces a selector picks may claim.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainClaim {
    /// Namespaces this rule covers (label selector; `{}` selects every namespace).
    pub namespace_selector: LabelSelector,
    /// Names they may claim: exact host names, or `*.example.com` for any name below example.com.
    #[schemars(length(min = 1, max = 256))]
    pub domains: Vec<DomainPattern>,
}

/// Who may adopt existing, unowned Auth0 domains of a tenant.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Adoption {
    /// Namespaces whose CustomDomains may adopt (label selector; `{}` selects every namespace).
    pub namespace_selector: LabelSelector,
    /// Domains that may be adopted: exact host names, or `*.example.com` for any name below
    /// example.com.
    #[schemars(length(min = 1, max = 256))]
    pub domains: Vec<DomainPattern>,
}

/// A host name, or `*.` followed by one (every name below it).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct DomainPattern(
    #[schemars(
        length(min = 1, max = 255),
        regex(pattern = wildcard_host_pattern())
    )]
    pub String,
);

impl DomainPattern {
    /// Whether `domain` is this name, or below it for a `*.` pattern.
    pub fn matches(&self, domain: &str) -> bool {
        match self.0.strip_prefix("*.") {
            Some(parent) => domain
                .strip_suffix(parent)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            None => self.0 == domain,
        }
    }
}

fn default_resync_interval() -> String {
    DEFAULT_RESYNC_INTERVAL.to_owned()
}

fn default_entitlement() -> u32 {
    DEFAULT_ENTITLEMENT
}

/// Where the tenant's credentials live.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Namespace of the Secret.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: String,
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
    /// Key holding the client id (default `client_id`).
    #[serde(default = "default_client_id_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub client_id_key: String,
    /// Key holding the client secret (default `client_secret`).
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub client_secret_key: String,
}

fn default_client_id_key() -> String {
    "client_id".to_owned()
}

fn default_client_secret_key() -> String {
    "client_secret".to_owned()
}

/// Namespaces allowed to use a tenant.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("self.from != 'Selector' || has(self.selector)").message("allowedNamespaces.from is Selector: set allowedNamespaces.selector"))]
#[serde(rename_all = "camelCase")]
pub struct AllowedNamespaces {
    /// `All` (default) or `Selector` (namespaces matching `selector`).
    #[serde(default)]
    pub from: NamespacesFrom,
    /// Label selector on namespaces, used with `from: Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// How `allowedNamespaces` picks namespaces.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum NamespacesFrom {
    /// Every namespace.
    #[default]
    All,
    /// Namespaces matching the selector.
    Selector,
}

/// Request budget for one tenant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained requests per second (default 2: Auth0's Free tier, the lowest published limit).
    #[serde(default = "default_rps")]
    #[schemars(range(min = 1, max = 1000), extend("format" = "int32"))]
    pub requests_per_second: u32,
    /// Burst size (default 2, the Free tier's).
    #[serde(default = "default_burst")]
    #[schemars(range(min = 1, max = 10000), extend("format" = "int32"))]
    pub burst: u32,
}

fn default_rps() -> u32 {
    DEFAULT_REQUESTS_PER_SECOND
}

fn default_burst() -> u32 {
    DEFAULT_BURST
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            burst: DEFAULT_BURST,
        }
    }
}

/// Tenant mTLS settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantMtls {
    /// Sets tenant setting `mtls.enable_endpoint_aliases` (advertise `mtls.<domain>` aliases).
    #[serde(default)]
    pub enable_endpoint_aliases: bool,
}

/// Observed state of an `Auth0Tenant`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Auth0TenantStatus {
    /// `Ready`: credentials work and the Management API answers; entitlement warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Domain counts seen in the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domains: Option<DomainCounts>,
    /// The tenant's current default custom domain, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_custom_domain: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Counts of custom domains in a tenant.
// `format: int32` on each: schemars writes `uint32`, a format kube-apiserver warns it does not know.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainCounts {
    /// All custom domains in the tenant.
    #[schemars(extend("format" = "int32"))]
    pub total: u32,
    /// Domains with status `ready`.
    #[schemars(extend("format" = "int32"))]
    pub ready: u32,
    /// Domains waiting for verification or a certificate.
    #[schemars(extend("format" = "int32"))]
    pub pending: u32,
    /// Domains with status `failed`.
    #[schemars(extend("format" = "int32"))]
    pub failed: u32,
}

/// A `resyncInterval` that is not `<number><s|m|h>…`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration {0:?}: use <number><s|m|h> parts such as 90s, 10m or 1h30m")]
pub struct DurationError(pub String);

/// Parses the `resyncInterval` form (`1h30m`, `90s`): one or more `<digits><s|m|h>` parts.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let err = || DurationError(text.to_owned());
    let mut total: u64 = 0;
    let mut digits = String::new();
    if text.is_empty() {
        return Err(err());
    }
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit: u64 = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(err()),
        };
        let n: u64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
    }
    if !digits.is_empty() {
        return Err(err());
    }
    Ok(Duration::from_secs(total))
}

impl Auth0TenantSpec {
    /// The resync interval as a `Duration` (never shorter than [`MIN_RESYNC_INTERVAL`]).
    pub fn resync_interval(&self) -> Result<Duration, DurationError> {
        parse_duration(&self.resync_interval).map(|d| d.max(MIN_RESYNC_INTERVAL))
    }

    /// The Management API base URL: `managementApiUrl` or `https://<domain>`, without a trailing slash.
    pub fn api_base_url(&self) -> String {
        match &self.management_api_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}", self.domain),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        for bad in ["", "10", "m", "10x", "1.5h", "-1s", "10m5"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn adoptable_domains_match_names_and_subtrees() {
        let exact = DomainPattern("login.example.com".to_owned());
        assert!(exact.matches("login.example.com"));
        assert!(!exact.matches("a.login.example.com"));
        let below = DomainPattern("*.example.com".to_owned());
        assert!(below.matches("login.example.com"));
        assert!(below.matches("a.b.example.com"));
        assert!(!below.matches("example.com"));
        assert!(!below.matches("badexample.com"));
        assert!(!below.matches("login.example.com.evil.net"));
    }

    #[test]
    fn defaults_apply_when_fields_are_missing() {
        let spec: Auth0TenantSpec = serde_json::from_value(serde_json::json!({
            "domain": "acme.eu.auth0.com",
            "credentialsSecretRef": {"namespace": "auth0", "name": "creds"}
        }))
        .unwrap();
        assert_eq!(spec.resync_interval().unwrap(), Duration::from_secs(600));
        assert_eq!(
            spec.rate_limit,
            RateLimit {
                requests_per_second: 2,
                burst: 2
            }
        );
        assert_eq!(spec.entitlement, 20);
        assert_eq!(spec.allowed_namespaces.from, NamespacesFrom::All);
        assert_eq!(spec.credentials_secret_ref.client_id_key, "client_id");
        assert_eq!(spec.credentials_secret_ref.client_secret_key, "client_secret");
        assert_eq!(spec.api_base_url(), "https://acme.eu.auth0.com");
    }
}
