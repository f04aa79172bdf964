//! Wire structs of the Auth0 Management API custom-domain contract
//! (docs/auth0-api.md#the-domain-object, docs/auth0-api.md#verification).
//!
//! Reading is tolerant: unknown fields are ignored, unknown enum values are kept as `Other(..)`,
//! `null` and absent are treated alike. Writing is strict: `None` fields are not sent.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::redact::Redacted;

/// Declares a string enum that keeps unknown wire values as `Other(String)`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know (kept verbatim).
            Other(String),
        }

        impl $name {
            /// The value as Auth0 spells it on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            // ASCII case-insensitive: real tenants answer `CNAME`/`TXT` where the schema and older
            // tenants say `cname`/`txt` (docs/auth0-api.md#method-names).
            fn from(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($wire) {
                    return Self::$variant;
                })+
                Self::Other(s.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Ok(Self::from(s.as_str()))
            }
        }
    };
}

wire_enum!(
    /// `status` of a custom domain.
    DomainStatus {
        /// Created, waiting for the DNS record and a verify.
        PendingVerification => "pending_verification",
        /// Verified (and, for Auth0-managed, certificate provisioned).
        Ready => "ready",
        /// Verification or certificate failed.
        Failed => "failed",
        /// Older API spelling of a not-yet-verified domain.
        Pending => "pending",
        /// Older API status of a disabled domain.
        Disabled => "disabled",
    }
);

impl Default for DomainStatus {
    // A domain object without `status` is unusual; treat it as unknown rather than failing the read.
    fn default() -> Self {
        Self::Other(String::new())
    }
}

wire_enum!(
    /// `type` of a custom domain (who manages the certificate).
    DomainType {
        /// Auth0 provisions the certificate; CNAME verification.
        Auth0ManagedCerts => "auth0_managed_certs",
        /// The customer's reverse proxy terminates TLS; TXT verification.
        SelfManagedCerts => "self_managed_certs",
    }
);

wire_enum!(
    /// `verification.methods[].name`: which DNS record type to publish.
    VerificationMethodName {
        /// A CNAME at the custom domain pointing at `record`.
        Cname => "cname",
        /// A TXT record at `domain` with value `record`.
        Txt => "txt",
    }
);

wire_enum!(
    /// `verification.status` (Auth0-managed domains).
    VerificationStatus {
        /// DNS verified.
        Verified => "verified",
        /// Not verified yet.
        Pending => "pending",
        /// The last verification attempt failed (see `error_msg`).
        Failed => "failed",
    }
);

wire_enum!(
    /// `certificate.status` (Auth0-managed domains).
    CertificateStatus {
        /// Being issued.
        Provisioning => "provisioning",
        /// Issued and served.
        Provisioned => "provisioned",
        /// Issuance failed (see `error_msg`).
        ProvisioningFailed => "provisioning_failed",
        /// Renewal failed (see `error_msg`).
        RenewingFailed => "renewing_failed",
    }
);

wire_enum!(
    /// `certificate.certificate_authority`.
    CertificateAuthority {
        /// Let's Encrypt.
        Letsencrypt => "letsencrypt",
        /// Google Trust Services.
        Googletrust => "googletrust",
    }
);

wire_enum!(
    /// `tls_policy`; `recommended` is the only value the API still accepts on write.
    TlsPolicy {
        /// The current TLS policy.
        Recommended => "recommended",
        /// Legacy policy, refused on write by current tenants.
        Compatible => "compatible",
    }
);

/// One entry of `verification.methods`: the DNS record Auth0 asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationMethod {
    /// Record type (`CNAME` or `TXT` on current tenants, lower case on older ones).
    pub name: VerificationMethodName,
    /// The value to publish (CNAME target or TXT text).
    pub record: String,
    /// The record name (TXT); absent for CNAME, which lives at the custom domain itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// The `verification` block of a domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Records Auth0 checks.
    #[serde(default, deserialize_with = "null_as_default")]
    pub methods: Vec<VerificationMethod>,
    /// Verification status (Auth0-managed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VerificationStatus>,
    /// Why the last verification failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// ISO 8601 time of the last verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified_at: Option<String>,
}

/// The `certificate` block of an Auth0-managed domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Certificate status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CertificateStatus>,
    /// Why issuance or renewal failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// Which CA issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<CertificateAuthority>,
    /// ISO 8601 time before which it is renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_before: Option<String>,
}

/// A custom domain as the Management API returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomDomain {
    /// `cd_` + 16 alphanumerics.
    pub custom_domain_id: String,
    /// The host name.
    pub domain: String,
    /// Deprecated upstream; still returned.
    #[serde(default, deserialize_with = "null_as_default")]
    pub primary: bool,
    /// Whether this is the tenant's default domain (MCD).
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
    /// Lifecycle status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: DomainStatus,
    /// Certificate management type.
    #[serde(rename = "type")]
    pub type_: DomainType,
    /// Where the CNAME or the reverse proxy points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_domain_name: Option<String>,
    /// DNS verification state and the records to publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Certificate state (Auth0-managed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// TLS policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_policy: Option<TlsPolicy>,
    /// Header carrying the client IP (`""` and absent both mean none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_client_ip_header: Option<String>,
    /// `domain_metadata`; `null` values are dropped when reading.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub domain_metadata: Metadata,
    /// Passkeys relying-party id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_identifier: Option<String>,
    /// Only in the response of the first successful verify of a self-managed domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname_api_key: Option<Redacted<String>>,
}

impl CustomDomain {
    /// Gives back the spare room of its lists: read from JSON, a one-record list holds room for
    /// four (about 220 B of the 1 KB a domain costs in a tenant's cached list).
    pub fn shrink_to_fit(&mut self) {
        if let Some(v) = self.verification.as_mut() {
            v.methods.shrink_to_fit();
        }
    }

    /// The verification methods (empty when Auth0 sent none).
    pub fn verification_methods(&self) -> &[VerificationMethod] {
        self.verification
            .as_ref()
            .map(|v| v.methods.as_slice())
            .unwrap_or(&[])
    }
}

/// Body of `POST /custom-domains`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateDomain {
    /// The host name.
    pub domain: String,
    /// Certificate management type.
    #[serde(rename = "type")]
    pub type_: DomainType,
    /// `txt` (self-managed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<VerificationMethodName>,
    /// TLS policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_policy: Option<TlsPolicy>,
    /// Header carrying the client IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_client_ip_header: Option<String>,
    /// Metadata, including the ownership marker.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub domain_metadata: BTreeMap<String, String>,
    /// Passkeys relying-party id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_identifier: Option<String>,
}

/// A PATCH field with three states: not sent, sent as `null` (remove), sent with a value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not sent; Auth0 keeps the current value.
    #[default]
    Absent,
    /// Sent as `null`; Auth0 removes the value.
    Null,
    /// Sent with this value.
    Value(T),
}

impl<T> Field<T> {
    /// True when the field is not sent (used by `skip_serializing_if`).
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Absent is skipped by `skip_serializing_if`; if it is serialized anyway, `null` is the
            // closest honest encoding.
            Self::Absent | Self::Null => serializer.serialize_none(),
            Self::Value(v) => serializer.serialize_some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    // Only called when the key is present (absent keys come from `#[serde(default)]`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Self::Null,
            Some(v) => Self::Value(v),
        })
    }
}

/// Body of `PATCH /custom-domains/{id}`: only the four mutable fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PatchDomain {
    /// New TLS policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_policy: Option<TlsPolicy>,
    /// New client-IP header; `Null` removes it.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub custom_client_ip_header: Field<String>,
    /// The full intended metadata map; a `None` value is sent as `null` and removes the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_metadata: Option<BTreeMap<String, Option<String>>>,
    /// New relying-party id; `Null` removes it.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub relying_party_identifier: Field<String>,
}

impl PatchDomain {
    /// True when the patch would send no field at all.
    pub fn is_empty(&self) -> bool {
        self.tls_policy.is_none()
            && self.custom_client_ip_header.is_absent()
            && self.domain_metadata.is_none()
            && self.relying_party_identifier.is_absent()
    }
}

/// Result of `POST /custom-domains/{id}/verify`: the domain, with the one-time key split out.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyResponse {
    /// The domain after the verification attempt (its `cname_api_key` is always `None`).
    pub domain: CustomDomain,
    /// The `cname_api_key`, present only on the first successful verify of a self-managed domain.
    pub cname_api_key: Option<Redacted<String>>,
    /// An earlier attempt of this verify got no answer (timeout, dropped connection) and was
    /// retried. If the domain is now ready without a key, the key was in the lost answer: report
    /// it as lost rather than waiting for it.
    pub earlier_attempt_lost: bool,
    /// Verifies Auth0's verify bucket had left after this one (`x-ratelimit-remaining` of an
    /// answer that came from that bucket); `None` when the answer did not say.
    pub verifies_left: Option<u64>,
}

impl From<CustomDomain> for VerifyResponse {
    fn from(mut domain: CustomDomain) -> Self {
        let cname_api_key = domain.cname_api_key.take().filter(|k| !k.expose().is_empty());
        Self {
            domain,
            cname_api_key,
            earlier_attempt_lost: false,
            verifies_left: None,
        }
    }
}

impl<'de> Deserialize<'de> for VerifyResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CustomDomain::deserialize(deserializer).map(Self::from)
    }
}

/// One page of `GET /custom-domains?take=N&from=ID`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainPage {
    /// Domains on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_domains: Vec<CustomDomain>,
    /// Checkpoint of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `GET /custom-domains/default`: the default custom domain, or `{"domain": <canonical>}` when none
/// is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefaultDomain {
    /// The default domain's host name (the tenant's canonical domain when no default is set).
    pub domain: String,
    /// Set when the default is a custom domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain_id: Option<String>,
    /// Status of the default custom domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DomainStatus>,
}

impl DefaultDomain {
    /// True when a custom domain (not the canonical tenant domain) is the default.
    pub fn is_custom(&self) -> bool {
        self.custom_domain_id.is_some()
    }
}

/// Body of `PATCH /custom-domains/default`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDefaultDomain {
    /// A verified custom domain or the tenant's canonical domain.
    pub domain: String,
}

/// `mtls` block of the tenant settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMtls {
    /// Advertise `mtls.<custom domain>` aliases in OIDC discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_endpoint_aliases: Option<bool>,
}

/// The parts of `GET/PATCH /tenants/settings` this operator reads or writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// mTLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<TenantMtls>,
}

/// Deserializes `null` as the type's default (Auth0 sometimes sends `null` for empty values).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A domain's `domain_metadata`: its pairs sorted by key. Every domain the operator made carries
/// the ownership marker, and a tenant snapshot holds each domain for as long as it lives; a
/// `BTreeMap` allocates room for eleven pairs even for that one (about half a kilobyte a domain),
/// a list only what it holds. Auth0 allows ten keys, so a lookup by scanning costs nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(Vec<(String, String)>);

impl Metadata {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The pairs, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `key` (in order), replacing its value.
    pub fn insert(&mut self, key: String, value: String) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl FromIterator<(String, String)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        // Through a BTreeMap: sorted, and a repeated key keeps its last value, as in a map.
        let mut list: Vec<_> = pairs
            .into_iter()
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        list.shrink_to_fit();
        Self(list)
    }
}

impl From<BTreeMap<String, String>> for Metadata {
    fn from(map: BTreeMap<String, String>) -> Self {
        map.into_iter().collect()
    }
}

impl<const N: usize> From<[(String, String); N]> for Metadata {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl PartialEq<BTreeMap<String, String>> for Metadata {
    fn eq(&self, other: &BTreeMap<String, String>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Reads `domain_metadata`, tolerating a `null` map and `null` values (dropped).
impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Option::<BTreeMap<String, Option<String>>>::deserialize(deserializer)?;
        Ok(raw
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn self_managed_json() -> serde_json::Value {
        json!({
            "custom_domain_id": "cd_0123456789abcdef",
            "domain": "login.example.com",
            "primary": false,
            "is_default": null,
            "status": "pending_verification",
            "type": "self_managed_certs",
            "origin_domain_name": "acme-cd-abc.edge.tenants.eu.auth0.com",
            "verification": {"methods": [{"name": "txt", "record": "abc123", "domain": "_cf-custom-hostname.login.example.com"}]},
            "tls_policy": "recommended",
            "custom_client_ip_header": "true-client-ip",
            "domain_metadata": {"k8s_owner": "c/ns/n", "gone": null},
            "some_future_field": {"x": 1}
        })
    }

    #[test]
    fn reads_a_domain_tolerantly() {
        let d: CustomDomain = serde_json::from_value(self_managed_json()).unwrap();
        assert_eq!(d.status, DomainStatus::PendingVerification);
        assert_eq!(d.type_, DomainType::SelfManagedCerts);
        assert!(!d.is_default);
        assert_eq!(d.domain_metadata.len(), 1);
        assert_eq!(d.domain_metadata.get("k8s_owner").unwrap(), "c/ns/n");
        let m = &d.verification_methods()[0];
        assert_eq!(m.name, VerificationMethodName::Txt);
        assert_eq!(m.domain.as_deref(), Some("_cf-custom-hostname.login.example.com"));
        assert!(d.cname_api_key.is_none());
    }

    #[test]
    fn metadata_is_a_sorted_map_that_drops_nulls() {
        let md: Metadata =
            serde_json::from_value(json!({"team": "a", "k8s_owner": "c/ns/n", "gone": null})).unwrap();
        assert_eq!(md.keys().collect::<Vec<_>>(), ["k8s_owner", "team"]);
        assert_eq!(
            serde_json::to_value(&md).unwrap(),
            json!({"k8s_owner": "c/ns/n", "team": "a"})
        );
        let as_map = BTreeMap::from([
            ("team".to_owned(), "a".to_owned()),
            ("k8s_owner".to_owned(), "c/ns/n".to_owned()),
        ]);
        assert_eq!(md, as_map);
        assert_eq!(Metadata::from(as_map.clone()), md);
        let mut edited = md.clone();
        edited.insert("b".into(), "1".into());
        edited.insert("team".into(), "z".into());
        assert_eq!(edited.keys().collect::<Vec<_>>(), ["b", "k8s_owner", "team"]);
        assert_eq!(edited.get("team").map(String::as_str), Some("z"));
        assert_ne!(edited, as_map);
        assert!(
            serde_json::from_value::<Metadata>(json!(null))
                .unwrap()
                .is_empty()
        );
        let last_wins: Metadata = [("k".to_owned(), "1".to_owned()), ("k".to_owned(), "2".to_owned())].into();
        assert_eq!(last_wins.get("k").map(String::as_str), Some("2"));
        assert_eq!(last_wins.len(), 1);
    }

    #[test]
    fn reads_real_capture_shapes() {
        // As recorded from a real tenant in 2026: upper-case method names, `created_at`, no
        // `certificate` or `verification.status` on create, `custom_client_ip_header: null`.
        let managed: CustomDomain = serde_json::from_value(json!({
            "custom_domain_id": "cd_FSaA14h9TtkgyFOz", "domain": "login.example.com", "primary": false,
            "is_default": false, "status": "pending_verification", "type": "auth0_managed_certs",
            "verification": {"methods": [{"name": "CNAME", "record": "acme-cd-fsaa14h9ttkgyfoz.edge.tenants.us.auth0.com", "domain": "login.example.com"}]},
            "tls_policy": "recommended", "domain_metadata": {"key": "value"}, "created_at": "2026-01-28T07:55:07.376Z"
        }))
        .unwrap();
        assert_eq!(
            managed.verification_methods()[0].name,
            VerificationMethodName::Cname
        );
        let own: CustomDomain = serde_json::from_value(json!({
            "custom_domain_id": "cd_WnMYNzbzlAEewTHL", "domain": "login.example.com", "primary": false,
            "is_default": false, "status": "pending_verification", "type": "self_managed_certs",
            "verification": {"methods": [{"name": "TXT", "record": "d25acff6-575d-4c27-af40-02f3880a0c4c", "domain": "_cf-custom-hostname.login.example.com"}]},
            "custom_client_ip_header": null, "created_at": "2026-01-27T13:59:53.172Z"
        }))
        .unwrap();
        assert_eq!(own.verification_methods()[0].name, VerificationMethodName::Txt);
        assert_eq!(VerificationMethodName::from("Txt"), VerificationMethodName::Txt);
        assert_eq!(DomainStatus::from("READY"), DomainStatus::Ready);
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let mut v = self_managed_json();
        v["status"] = json!("suspended_by_robot");
        v["type"] = json!("quantum_certs");
        let d: CustomDomain = serde_json::from_value(v).unwrap();
        assert_eq!(d.status, DomainStatus::Other("suspended_by_robot".into()));
        assert_eq!(serde_json::to_value(&d).unwrap()["type"], json!("quantum_certs"));
    }

    #[test]
    fn verify_response_splits_out_the_key_and_hides_it() {
        let mut v = self_managed_json();
        v["status"] = json!("ready");
        v["cname_api_key"] = json!("super-secret-key");
        let r: VerifyResponse = serde_json::from_value(v).unwrap();
        assert_eq!(r.cname_api_key.as_ref().unwrap().expose(), "super-secret-key");
        assert!(r.domain.cname_api_key.is_none());
        assert!(!format!("{r:?}").contains("super-secret-key"));
    }

    #[test]
    fn patch_serializes_removals_as_null_and_skips_absent() {
        let mut md = BTreeMap::new();
        md.insert("keep".to_string(), Some("v".to_string()));
        md.insert("drop".to_string(), None);
        let p = PatchDomain {
            domain_metadata: Some(md),
            relying_party_identifier: Field::Null,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"domain_metadata": {"keep": "v", "drop": null}, "relying_party_identifier": null})
        );
        assert_eq!(serde_json::to_value(PatchDomain::default()).unwrap(), json!({}));
        assert!(PatchDomain::default().is_empty());
        let back: PatchDomain = serde_json::from_value(json!({"relying_party_identifier": null})).unwrap();
        assert_eq!(back.relying_party_identifier, Field::Null);
        assert!(back.custom_client_ip_header.is_absent());
    }

    #[test]
    fn create_skips_unset_fields() {
        let c = CreateDomain {
            domain: "a.example.com".into(),
            type_: DomainType::Auth0ManagedCerts,
            verification_method: None,
            tls_policy: None,
            custom_client_ip_header: None,
            domain_metadata: BTreeMap::new(),
            relying_party_identifier: None,
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"domain": "a.example.com", "type": "auth0_managed_certs"})
        );
    }

    #[test]
    fn default_domain_canonical_and_custom() {
        let canon: DefaultDomain = serde_json::from_value(json!({"domain": "acme.eu.auth0.com"})).unwrap();
        assert!(!canon.is_custom());
        let custom: DefaultDomain = serde_json::from_value(self_managed_json()).unwrap();
        assert!(custom.is_custom());
    }

    #[test]
    fn tenant_settings_round_trip() {
        let s: TenantSettings =
            serde_json::from_value(json!({"friendly_name": "x", "mtls": {"enable_endpoint_aliases": true}}))
                .unwrap();
        assert_eq!(s.mtls.unwrap().enable_endpoint_aliases, Some(true));
        let p = TenantSettings {
            mtls: Some(TenantMtls {
                enable_endpoint_aliases: Some(false),
            }),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"mtls": {"enable_endpoint_aliases": false}})
        );
    }
}
