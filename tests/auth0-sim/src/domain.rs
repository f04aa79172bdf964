//! The stored custom domain and how it is rendered on the wire.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `type` of a custom domain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DomainType {
    /// Auth0 provisions the certificate; verified by CNAME.
    Auth0ManagedCerts,
    /// The customer's reverse proxy terminates TLS; verified by TXT.
    SelfManagedCerts,
}

impl DomainType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth0ManagedCerts => "auth0_managed_certs",
            Self::SelfManagedCerts => "self_managed_certs",
        }
    }
}

/// `status` of a custom domain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Created, not verified yet.
    PendingVerification,
    /// Serving.
    Ready,
    /// Certificate failure.
    Failed,
}

impl DomainStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingVerification => "pending_verification",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

/// `verification` bookkeeping of an Auth0-managed domain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct VerificationState {
    /// `verified` | `pending` | `failed`.
    pub status: String,
    /// Why the last verification failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// ISO 8601 time (whole seconds) of the last successful verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified_at: Option<String>,
}

/// `certificate` of an Auth0-managed domain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct CertificateState {
    /// `provisioning` | `provisioned` | `provisioning_failed` | `renewing_failed`; absent while the
    /// domain waits for verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why provisioning failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// `letsencrypt` | `googletrust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// ISO 8601 renewal deadline (whole seconds), once provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_before: Option<String>,
}

impl CertificateState {
    /// The certificate of a domain waiting for verification: only its authority.
    pub fn waiting() -> Self {
        Self {
            certificate_authority: Some(CERTIFICATE_AUTHORITY.into()),
            ..Default::default()
        }
    }

    /// `status` as text (empty when absent).
    pub fn status_str(&self) -> &str {
        self.status.as_deref().unwrap_or_default()
    }
}

/// The certificate authority the simulator names.
pub const CERTIFICATE_AUTHORITY: &str = "letsencrypt";
/// `verification.error_msg` of a domain whose record was not found in time.
pub const DNS_RECORD_ISSUE: &str = "DNS Verification record issue.";
/// How long a provisioned certificate lasts before it must be renewed: 90 days.
pub const CERT_LIFETIME_MS: i64 = 90 * 86_400_000;

/// A custom domain as the simulator stores it (also the state-file format).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Domain {
    /// `cd_` + 16 alphanumerics.
    pub id: String,
    /// The hostname.
    pub domain: String,
    /// Certificate management type.
    #[serde(rename = "type")]
    pub kind: DomainType,
    /// Lifecycle status.
    pub status: DomainStatus,
    /// Deprecated `primary` flag (true for the first domain of the tenant).
    pub primary: bool,
    /// Where the CNAME (Auth0-managed) or the reverse proxy (self-managed) points.
    pub origin_domain_name: String,
    /// TXT value to publish (self-managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txt_record: Option<String>,
    /// Auth0-managed verification state (absent until the background job has seen the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationState>,
    /// Auth0-managed certificate state (absent until the background job has seen the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateState>,
    /// UNIX milliseconds when the certificate becomes `provisioned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_ready_at_ms: Option<i64>,
    /// UNIX milliseconds when the background job first looks at the domain (shows `pending`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_check_at_ms: Option<i64>,
    /// UNIX milliseconds when an unverified Auth0-managed domain turns `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_at_ms: Option<i64>,
    /// Injected certificate failure, applied when provisioning would finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_failure: Option<String>,
    /// `tls_policy` as sent (Auth0-managed responses show `recommended` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_policy: Option<String>,
    /// `custom_client_ip_header` (self-managed responses show `null` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_client_ip_header: Option<String>,
    /// `domain_metadata`.
    #[serde(default)]
    pub domain_metadata: BTreeMap<String, String>,
    /// `domain_metadata` was ever sent: then it is shown, as `{}` once every key is removed.
    #[serde(default)]
    pub metadata_set: bool,
    /// `relying_party_identifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_identifier: Option<String>,
    /// The one-time `cname_api_key` has been handed out (self-managed).
    #[serde(default)]
    pub key_issued: bool,
    /// Creation order.
    pub created_seq: u64,
    /// UNIX milliseconds of creation (`created_at`).
    #[serde(default)]
    pub created_ms: i64,
}

/// Name of the TXT record a self-managed domain is verified with.
pub fn txt_record_name(domain: &str) -> String {
    format!("_cf-custom-hostname.{domain}")
}

/// How a domain is being shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View<'a> {
    /// create, get, list, patch, default: with `is_default`.
    Plain,
    /// A verify answer: no `is_default`.
    Verify,
    /// The first successful verify of a self-managed domain: carries the key, no `is_default`.
    FirstVerify {
        /// The key, shown this once.
        cname_api_key: &'a str,
    },
}

/// What the uncertain readings change in a rendered domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Self-managed `origin_domain_name` only in the first successful verify.
    pub origin_only_in_first_verify: bool,
    /// Method names `cname`/`txt` instead of `CNAME`/`TXT`.
    pub lowercase_method_names: bool,
}

impl From<&crate::config::Readings> for RenderOptions {
    fn from(r: &crate::config::Readings) -> Self {
        Self {
            origin_only_in_first_verify: r.origin_only_in_first_verify,
            lowercase_method_names: r.lowercase_method_names,
        }
    }
}

impl Domain {
    /// Earliest pending timer (UNIX ms), if any.
    pub fn next_due_ms(&self) -> Option<i64> {
        [self.cert_ready_at_ms, self.pending_check_at_ms, self.fail_at_ms]
            .into_iter()
            .flatten()
            .min()
    }

    fn verified(&self) -> bool {
        self.verification.as_ref().is_some_and(|v| v.status == "verified")
    }

    /// Runs the timers that are due: the background job's first look (`pending`), the
    /// verification timeout (`failed`) and certificate provisioning. True when anything changed.
    pub fn advance(&mut self, now_ms: i64) -> bool {
        let before = (self.status, self.verification.clone(), self.certificate.clone());
        if self.pending_check_at_ms.is_some_and(|t| t <= now_ms) {
            self.pending_check_at_ms = None;
            if self.kind == DomainType::Auth0ManagedCerts {
                if self.verification.is_none() {
                    self.verification = Some(VerificationState {
                        status: "pending".into(),
                        ..Default::default()
                    });
                }
                if self.certificate.is_none() {
                    self.certificate = Some(CertificateState::waiting());
                }
            }
        }
        if self.fail_at_ms.is_some_and(|t| t <= now_ms) {
            self.fail_at_ms = None;
            if self.kind == DomainType::Auth0ManagedCerts
                && self.status == DomainStatus::PendingVerification
                && !self.verified()
            {
                self.status = DomainStatus::Failed;
                self.verification = Some(VerificationState {
                    status: "failed".into(),
                    error_msg: Some(DNS_RECORD_ISSUE.into()),
                    last_verified_at: None,
                });
                if self.certificate.is_none() {
                    self.certificate = Some(CertificateState::waiting());
                }
            }
        }
        if self.cert_ready_at_ms.is_some_and(|t| t <= now_ms) {
            self.cert_ready_at_ms = None;
            if let Some(cert) = self.certificate.as_mut()
                && cert.status_str() == "provisioning"
            {
                match self.cert_failure.take() {
                    Some(msg) => {
                        cert.status = Some("provisioning_failed".into());
                        cert.error_msg = Some(msg);
                        self.status = DomainStatus::Failed;
                    }
                    None => {
                        cert.status = Some("provisioned".into());
                        cert.error_msg = None;
                        cert.certificate_authority = Some(CERTIFICATE_AUTHORITY.into());
                        cert.renews_before = Some(iso_secs(now_ms + CERT_LIFETIME_MS));
                        self.status = DomainStatus::Ready;
                    }
                }
            }
        }
        before != (self.status, self.verification.clone(), self.certificate.clone())
    }

    /// The JSON object Auth0 answers with.
    pub fn render(&self, view: View<'_>, is_default: bool, opts: RenderOptions) -> Value {
        let mut obj = json!({
            "custom_domain_id": self.id,
            "domain": self.domain,
            "primary": self.primary,
            "status": self.status.as_str(),
            "type": self.kind.as_str(),
            "created_at": iso_ms(self.created_ms),
        });
        if view == View::Plain {
            obj["is_default"] = json!(is_default);
        }
        let name = |upper: &str| {
            if opts.lowercase_method_names {
                upper.to_ascii_lowercase()
            } else {
                upper.to_string()
            }
        };
        let mut verification = match self.kind {
            DomainType::Auth0ManagedCerts => json!({"methods": [{
                "name": name("CNAME"),
                "record": self.origin_domain_name,
                "domain": self.domain,
            }]}),
            DomainType::SelfManagedCerts => json!({"methods": [{
                "name": name("TXT"),
                "record": self.txt_record.clone().unwrap_or_default(),
                "domain": txt_record_name(&self.domain),
            }]}),
        };
        if let Some(v) = &self.verification {
            verification["status"] = json!(v.status);
            if let Some(m) = &v.error_msg {
                verification["error_msg"] = json!(m);
            }
            if let Some(t) = &v.last_verified_at {
                verification["last_verified_at"] = json!(t);
            }
        }
        obj["verification"] = verification;
        match self.kind {
            DomainType::Auth0ManagedCerts => {
                // Auth0-managed: the CNAME target is in the method; never `origin_domain_name`.
                obj["tls_policy"] = json!(self.tls_policy.as_deref().unwrap_or("recommended"));
                if let Some(cert) = &self.certificate {
                    obj["certificate"] = json!(cert);
                }
            }
            DomainType::SelfManagedCerts => {
                let show_origin = match view {
                    View::FirstVerify { .. } => true,
                    View::Plain | View::Verify => {
                        self.status == DomainStatus::Ready && !opts.origin_only_in_first_verify
                    }
                };
                if show_origin {
                    obj["origin_domain_name"] = json!(self.origin_domain_name);
                }
                obj["custom_client_ip_header"] = json!(self.custom_client_ip_header);
            }
        }
        if self.metadata_set || !self.domain_metadata.is_empty() {
            obj["domain_metadata"] = json!(self.domain_metadata);
        }
        if let Some(r) = &self.relying_party_identifier {
            obj["relying_party_identifier"] = json!(r);
        }
        if let View::FirstVerify { cname_api_key } = view {
            obj["cname_api_key"] = json!(cname_api_key);
        }
        obj
    }
}

/// ISO 8601 UTC text of UNIX milliseconds, with exactly three decimals (`created_at`).
pub fn iso_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// ISO 8601 UTC text of UNIX milliseconds in whole seconds (`last_verified_at`, `renews_before`).
pub fn iso_secs(ms: i64) -> String {
    jiff::Timestamp::from_second(ms.div_euclid(1000))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// UNIX milliseconds of an ISO 8601 text, if it parses.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// Current UNIX milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(iso_ms(1_769_586_907_000), "2026-01-28T07:55:07.000Z");
        assert_eq!(iso_ms(1_769_586_907_376), "2026-01-28T07:55:07.376Z");
        assert_eq!(iso_secs(1_769_586_907_999), "2026-01-28T07:55:07Z");
        assert_eq!(parse_iso_ms("2026-01-28T07:55:07.376Z"), Some(1_769_586_907_376));
    }
}
