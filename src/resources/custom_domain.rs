//! `CustomDomain` (`auth0.domain-operator.dev/v1alpha1`): one Auth0 custom domain, namespaced.

// The derive takes several `printcolumn(type_ = ...)` entries, which clippy mistakes for duplicates.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest number of user metadata keys: Auth0 allows 10 and the operator reserves one (`k8s_owner`).
pub const MAX_METADATA_KEYS: usize = 9;
/// Longest metadata value Auth0 accepts.
pub const MAX_METADATA_VALUE_LEN: usize = 255;
/// Longest metadata key the operator accepts (Auth0 publishes no key limit; this mirrors the value limit).
pub const MAX_METADATA_KEY_LEN: usize = 255;
/// The `domain_metadata` key that carries the operator's ownership marker (`docs/design.md#ownership`).
pub const OWNER_METADATA_KEY: &str = "k8s_owner";
/// Annotation that lets the operator adopt an existing, unmarked Auth0 domain.
pub const ADOPT_ANNOTATION: &str = "auth0-domain-operator.dev/adopt";
/// Annotation that lets the operator delete and recreate a domain whose `cname_api_key` was lost.
pub const RECREATE_ON_KEY_LOSS_ANNOTATION: &str = "auth0-domain-operator.dev/recreate-on-key-loss";

/// Lower-case FQDN: labels of 1–63 characters, at least two labels, no wildcard, no trailing dot,
/// and a top-level label that starts with a letter (so IP addresses are refused). Internationalised
/// names are written in their punycode form (`xn--…`), as Auth0 validates an ASCII host name.
pub const FQDN_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$";
/// CEL rule: `self` is a host name of the [`FQDN_PATTERN`] shape. CEL strings unescape `\\`, hence
/// the doubled backslashes.
pub fn host_name_rule() -> String {
    format!("self.matches('{}')", FQDN_PATTERN.replace('\\', r"\\"))
}
/// CEL rule of `spec.domain`'s shape: [`host_name_rule`], except for the mistakes with their own
/// message (wildcard, trailing dot, upper case).
fn domain_shape_rule() -> String {
    format!(
        "self.contains('*') || self.endsWith('.') || self.matches('[A-Z]') || {}",
        host_name_rule()
    )
}
/// [`FQDN_PATTERN`], optionally after `*.` (a whole subtree of names).
pub fn wildcard_host_pattern() -> String {
    format!(r"^(\*\.)?{}", FQDN_PATTERN.trim_start_matches('^'))
}
/// What a person is told when `spec.domain` is not a host name (the CRD's CEL message).
pub const DOMAIN_SHAPE_MESSAGE: &str = "spec.domain must be a lower-case host name like login.example.com: letters, digits and inner hyphens, labels of 1 to 63 characters joined by dots, ending in a top-level domain that starts with a letter (no scheme, port, path, IP address or wildcard; write an internationalised name in its xn-- punycode form)";
/// DNS-1123 subdomain (the form of a Secret name).
pub const DNS1123_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// An Auth0 custom domain managed from Kubernetes.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "auth0.domain-operator.dev",
    version = "v1alpha1",
    kind = "CustomDomain",
    plural = "customdomains",
    namespaced,
    status = "CustomDomainStatus",
    shortname = "acd",
    category = "auth0",
    doc = "An Auth0 custom domain (Auth0 Multiple Custom Domains) reconciled by auth0-domain-operator.",
    // The name is the value of the `auth0-domain-operator.dev/custom-domain` label on the Secret
    // and child objects, and label values stop at 63 characters.
    validation = Rule::new("size(self.metadata.name) <= 63").message("metadata.name of a CustomDomain may have at most 63 characters (it labels the Secret and child objects it owns): choose a shorter name"),
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Verified",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Verified\")].status"
    ),
    printcolumn(
        name = "Certificate",
        type_ = "string",
        json_path = ".status.certificate.status"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    // Why it is (not) Ready, in one word; `-o wide` adds the sentence that says what to do.
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
#[x_kube(
    validation = Rule::new("self.type == 'SelfManagedCerts' || !has(self.verificationMethod)")
        .message("verificationMethod is only valid for SelfManagedCerts: remove spec.verificationMethod (Auth0-managed domains are verified with a CNAME)"),
    validation = Rule::new("self.type == 'SelfManagedCerts' || !has(self.mtls) || !self.mtls.enabled")
        .message("mTLS is only supported on SelfManagedCerts domains: remove spec.mtls or use type SelfManagedCerts"),
    validation = Rule::new("self.type == 'SelfManagedCerts' || !has(self.certificate) || !has(self.certificate.issuerRef)")
        .message("certificate.issuerRef is only valid for SelfManagedCerts (Auth0 issues the certificate of an Auth0-managed domain): remove spec.certificate.issuerRef"),
    // Auth0 answers 400 to these (docs/auth0-api.md#fields-by-type): refused here, with the fix.
    validation = Rule::new("self.type == 'Auth0ManagedCerts' || !has(self.tlsPolicy)")
        .message("tlsPolicy is only valid for Auth0ManagedCerts (Auth0 refuses it on self-managed domains, whose TLS your proxy terminates): remove spec.tlsPolicy")
        .field_path(".tlsPolicy"),
    validation = Rule::new("self.type == 'SelfManagedCerts' || !has(self.customClientIPHeader)")
        .message("customClientIPHeader is only valid for SelfManagedCerts (Auth0 refuses it on Auth0-managed domains, which it serves directly): remove spec.customClientIPHeader")
        .field_path(".customClientIPHeader"),
    // `field_path`: reported under the field to change rather than under `spec`.
    validation = Rule::new("!has(self.relyingPartyIdentifier) || self.domain == self.relyingPartyIdentifier || self.domain.endsWith('.' + self.relyingPartyIdentifier)")
        .message("spec.relyingPartyIdentifier must be spec.domain or a parent domain of it, e.g. example.com for login.example.com (passkeys only work for such a relying party)")
        .field_path(".relyingPartyIdentifier"),
)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainSpec {
    /// The Auth0Tenant (cluster-scoped) this domain belongs to. Defaults to the tenant named `default`.
    /// Immutable: the Auth0 domain lives in one tenant.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.tenantRef is immutable: the domain exists in its tenant; create a new CustomDomain for another tenant"))]
    pub tenant_ref: TenantRef,

    /// The custom domain, a lower-case fully qualified domain name such as `login.example.com`:
    /// no wildcard, no trailing dot, at most 253 characters, each label at most 63. Immutable.
    // The schema `pattern` is [`FQDN_PATTERN`]; its error quotes a regular expression, so a CEL rule
    // says the same in words. The common mistakes get their own message and are left out of that
    // rule, so each is explained once.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = FQDN_PATTERN)
    )]
    #[x_kube(
        validation = Rule::new("self == oldSelf").message("domain is immutable: create a new CustomDomain to use a different domain"),
        validation = Rule::new("!self.contains('*')").message("wildcard domains are not supported by Auth0: create one CustomDomain per host name"),
        validation = Rule::new("!self.endsWith('.')").message("remove the trailing dot from domain"),
        validation = Rule::new("!self.matches('[A-Z]')").message("domain must be lower-case: write it in lower-case letters"),
        validation = Rule::new(domain_shape_rule()).message(DOMAIN_SHAPE_MESSAGE),
    )]
    pub domain: String,

    /// How TLS certificates are handled: `Auth0ManagedCerts` (Auth0 issues the certificate, verified
    /// with a CNAME) or `SelfManagedCerts` (your reverse proxy terminates TLS, verified with a TXT
    /// record). Immutable.
    #[serde(rename = "type")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("type is immutable: create a new CustomDomain to change the certificate type"))]
    pub type_: DomainType,

    /// Verification method sent to Auth0; only `TXT`, and only for `SelfManagedCerts`. The record to
    /// publish always comes from Auth0's answer (see `status.verification.records`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<VerificationMethod>,

    /// TLS policy of an `Auth0ManagedCerts` domain; `recommended` (the only value Auth0 still accepts,
    /// and what Auth0 applies when unset). Auth0 refuses it on `SelfManagedCerts` domains, whose TLS
    /// your proxy terminates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_policy: Option<TlsPolicy>,

    /// `SelfManagedCerts` only: the HTTP header that carries the end-user IP from your proxy to Auth0;
    /// unset means none. Auth0 refuses it on `Auth0ManagedCerts` domains.
    #[serde(
        default,
        rename = "customClientIPHeader",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_client_ip_header: Option<ClientIpHeader>,

    /// Key/value metadata sent to Auth0 as `domain_metadata`: at most 9 keys (Auth0 allows 10 and the
    /// operator reserves `k8s_owner`), values at most 255 characters. A removed key is removed in Auth0 too.
    // The key count and value length are schema limits (`maxProperties`, `maxLength`): they also
    // bound the CEL cost estimate of the key rules below, which a real apiserver checks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "metadata_schema")]
    #[x_kube(
        validation = Rule::new("!('k8s_owner' in self)").message("metadata key k8s_owner is reserved for the operator's ownership marker: rename or remove it"),
        validation = Rule::new("self.all(k, size(k) >= 1 && size(k) <= 255)").message("metadata keys must be 1 to 255 characters long: shorten the key"),
    )]
    pub metadata: BTreeMap<String, String>,

    /// Relying party identifier for passkeys (`relying_party_identifier`); unset leaves Auth0's default
    /// (the domain itself). Must be the domain or a parent domain of it. Removing it removes it in Auth0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(host_name_rule()).message("spec.relyingPartyIdentifier must be a lower-case host name such as example.com (no scheme, port or path)"))]
    pub relying_party_identifier: Option<String>,

    /// Name of the Secret (same namespace) that receives `cname-api-key`, `origin-domain-name` and
    /// `domain` for the edge proxy. Defaults to `<metadata.name>-auth0-edge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub secret_name: Option<String>,

    /// mTLS for this domain (SelfManagedCerts only): also serve `mtls.<domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<DomainMtls>,

    /// What deleting this resource does in Auth0: `Delete` (default) deletes the Auth0 domain;
    /// `Orphan` leaves it, and keeps the key Secret (it may hold the only copy of the key).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Also emit an external-dns `DNSEndpoint` with the verification record (TXT records need
    /// external-dns `--managed-record-types=TXT`). The operator still checks DNS before verifying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_endpoint: Option<DnsEndpointSpec>,

    /// cert-manager certificate for the edge proxy (SelfManagedCerts only), written to `<name>-tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSpec>,
}

fn metadata_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": MAX_METADATA_KEYS,
        "additionalProperties": { "type": "string", "maxLength": MAX_METADATA_VALUE_LEN },
    })
}

/// Reference to a cluster-scoped `Auth0Tenant`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantRef {
    /// Name of the Auth0Tenant. Defaults to `default`.
    #[serde(default = "default_tenant_name")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = DNS1123_SUBDOMAIN_PATTERN)
    )]
    pub name: String,
}

fn default_tenant_name() -> String {
    "default".to_owned()
}

impl Default for TenantRef {
    fn default() -> Self {
        Self {
            name: default_tenant_name(),
        }
    }
}

/// Certificate handling of a custom domain (Auth0's `type`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DomainType {
    /// Auth0 obtains and renews the certificate (`auth0_managed_certs`).
    Auth0ManagedCerts,
    /// Your reverse proxy holds the certificate (`self_managed_certs`).
    SelfManagedCerts,
}

impl DomainType {
    /// The value Auth0's API uses.
    pub fn as_auth0(self) -> &'static str {
        match self {
            Self::Auth0ManagedCerts => "auth0_managed_certs",
            Self::SelfManagedCerts => "self_managed_certs",
        }
    }
}

/// Verification method for SelfManagedCerts: only `TXT`. The record to publish comes from Auth0.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum VerificationMethod {
    /// A TXT record (Auth0's `txt`).
    #[serde(rename = "TXT")]
    Txt,
}

/// TLS policy of the domain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TlsPolicy {
    /// Auth0's recommended policy (TLS 1.2+).
    #[serde(rename = "recommended")]
    Recommended,
}

impl TlsPolicy {
    /// The value Auth0's API uses.
    pub fn as_auth0(self) -> &'static str {
        match self {
            Self::Recommended => "recommended",
        }
    }
}

/// Header that carries the end-user IP from your proxy to Auth0; unset means none.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ClientIpHeader {
    /// `true-client-ip` (Akamai, Cloudflare Enterprise).
    #[serde(rename = "true-client-ip")]
    TrueClientIp,
    /// `cf-connecting-ip` (Cloudflare).
    #[serde(rename = "cf-connecting-ip")]
    CfConnectingIp,
    /// `x-forwarded-for`.
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    /// `x-azure-clientip` (Azure Front Door).
    #[serde(rename = "x-azure-clientip")]
    XAzureClientIp,
}

impl ClientIpHeader {
    /// The header name, as Auth0's API spells it.
    pub fn as_auth0(self) -> &'static str {
        match self {
            Self::TrueClientIp => "true-client-ip",
            Self::CfConnectingIp => "cf-connecting-ip",
            Self::XForwardedFor => "x-forwarded-for",
            Self::XAzureClientIp => "x-azure-clientip",
        }
    }

    /// Parses Auth0's spelling; `None` for anything else (including the empty string).
    pub fn from_auth0(value: &str) -> Option<Self> {
        [
            Self::TrueClientIp,
            Self::CfConnectingIp,
            Self::XForwardedFor,
            Self::XAzureClientIp,
        ]
        .into_iter()
        .find(|h| h.as_auth0() == value)
    }
}

/// What happens in Auth0 when the resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the Auth0 domain (and the Secret with the resource).
    #[default]
    Delete,
    /// Keep the Auth0 domain and the key Secret.
    Orphan,
}

/// mTLS settings of one domain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainMtls {
    /// Serve mTLS traffic on `mtls.<domain>` (requires the tenant's `mtls.enableEndpointAliases`).
    #[serde(default)]
    pub enabled: bool,
}

/// external-dns integration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsEndpointSpec {
    /// Emit a `DNSEndpoint` (`externaldns.k8s.io/v1alpha1`) holding the verification record.
    #[serde(default)]
    pub enabled: bool,
}

/// cert-manager integration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// Issuer for a cert-manager `Certificate` covering the domain (and `mtls.<domain>` with mTLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_ref: Option<IssuerRef>,
}

/// A cert-manager issuer reference.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    /// Name of the Issuer or ClusterIssuer.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `Issuer` (default, same namespace) or `ClusterIssuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// API group of the issuer (default `cert-manager.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Observed state of a `CustomDomain`, written by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainStatus {
    /// Auth0's id of the domain (`cd_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain_id: Option<String>,
    /// Auth0's status of the domain: Pending, PendingVerification, Ready, Failed or Disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DomainState>,
    /// One word for the STATE column: where the domain is, never empty once reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Whether this is the tenant's default custom domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Auth0's `primary` flag (deprecated upstream; informational only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Where the CNAME (Auth0-managed) or the reverse proxy (self-managed) points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_domain_name: Option<String>,
    /// The mTLS alias host (`mtls.<domain>`) when `spec.mtls.enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_alias: Option<String>,
    /// The DNS record to publish and what the operator saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationStatus>,
    /// Certificate state (Auth0-managed domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateStatus>,
    /// The Secret holding the edge proxy's key and origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When Auth0's state was last read: moves with every other status change, and at least
    /// hourly while nothing changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_at: Option<Time>,
    /// Set when Auth0 refused the create of this generation: no create is sent again before
    /// `retryAfter`, or, without it, before the spec changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_refused: Option<CreateRefusal>,
    /// Set when this resource adopted an existing Auth0 domain: until that domain's key has been
    /// in the Secret, the operator neither deletes nor recreates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<AdoptionRecord>,
    /// Ready, Verified, CertificateReady, SecretStored, Reconciling, Stalled (and MtlsAliases,
    /// ChildObjectsReady, TenantReachable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// An adoption of an existing Auth0 domain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdoptionRecord {
    /// When the operator took the domain over.
    pub adopted_at: Time,
    /// The domain's `cname-api-key` has been in the Secret since (always true for Auth0-managed
    /// domains, which have none): from then on the domain is handled like one this resource made.
    #[serde(default)]
    pub key_in_secret: bool,
}

/// A create Auth0 refused (kept in status so a restart does not send it again).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRefusal {
    /// The `metadata.generation` whose create was refused.
    pub generation: i64,
    /// When one more create is tried (refusals the tenant can leave: plan, entitlement, a name held
    /// by another tenant); absent: only after the spec changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<Time>,
}

/// The STATE column: Auth0's status when it tells the whole story, otherwise what the operator
/// sees (a verified Auth0-managed domain whose certificate is being issued is `Provisioning`, not
/// `PendingVerification` next to `VERIFIED=True`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    /// No Auth0 domain yet: the create is under way.
    Creating,
    /// No Auth0 domain yet and nothing to do until something else changes (tenant, snapshot).
    Waiting,
    /// Auth0 `pending`.
    Pending,
    /// Auth0 waits for the DNS record to verify the domain.
    PendingVerification,
    /// Verified; Auth0 is issuing the certificate.
    Provisioning,
    /// Auth0 `ready`.
    Ready,
    /// Auth0 `failed`.
    Failed,
    /// Auth0 `disabled`.
    Disabled,
    /// Needs a person (the REASON column says why).
    Stalled,
    /// Being deleted.
    Deleting,
}

/// Auth0's status of a custom domain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DomainState {
    /// Auth0 `pending` (older API versions).
    Pending,
    /// Auth0 `pending_verification`: the DNS record is not verified yet.
    PendingVerification,
    /// Auth0 `ready`.
    Ready,
    /// Auth0 `failed`.
    Failed,
    /// Auth0 `disabled`.
    Disabled,
}

impl DomainState {
    /// Maps Auth0's wire status; `None` for values this version does not know.
    pub fn from_auth0(status: &str) -> Option<Self> {
        match status {
            "pending" => Some(Self::Pending),
            "pending_verification" => Some(Self::PendingVerification),
            "ready" => Some(Self::Ready),
            "failed" => Some(Self::Failed),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// Verification state of a domain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationStatus {
    /// Auth0's verification status (`pending`, `verified`, `failed`) when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The records Auth0 asks for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<VerificationRecordStatus>,
    /// What is wrong: the record missing or different in DNS, or Auth0's verification error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When Auth0 last verified the domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified_at: Option<String>,
    /// Whether the operator's last DNS lookup before verification saw the record (absent when it
    /// did not look, e.g. DNS preflight off, or once Auth0 verified the domain without it seeing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_observed: Option<bool>,
    /// While the domain waits for its turn in Auth0's verify budget (`AwaitingVerifyBudget`): the
    /// time its verify is due, to the second. A fixed time, unlike the message's "about 7 min".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_expected_at: Option<Time>,
}

/// One DNS record to publish.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRecordStatus {
    /// Record type: `CNAME` or `TXT`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Record name (the host to create it at).
    pub name: String,
    /// Record value.
    pub value: String,
}

/// Certificate state of an Auth0-managed domain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// Auth0's certificate status: provisioning, provisioned, provisioning_failed, renewing_failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Auth0's certificate error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Issuing authority (letsencrypt, googletrust).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// When the certificate must be renewed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_before: Option<String>,
}

/// Reference to the edge Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Secret name (same namespace).
    pub name: String,
}

impl CustomDomain {
    /// The edge Secret's name: `spec.secretName` or `<name>-auth0-edge`.
    pub fn secret_name(&self) -> String {
        match &self.spec.secret_name {
            Some(name) => name.clone(),
            None => format!("{}-auth0-edge", self.metadata.name.as_deref().unwrap_or_default()),
        }
    }

    /// Whether annotation `key` is set to `"true"`.
    pub fn annotation_is_true(&self, key: &str) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .is_some_and(|v| v == "true")
    }
}
