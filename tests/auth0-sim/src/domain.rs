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
    /// ISO 8601 time of the last successful verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified_at: Option<String>,
}

/// `certificate` of an Auth0-managed domain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CertificateState {
    /// `provisioning` | `provisioned` | `provisioning_failed` | `renewing_failed`.
    pub status: String,
    /// Why provisioning failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// `letsencrypt` | `googletrust`, once provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// ISO 8601 renewal deadline, once provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_before: Option<String>,
}

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
    /// Auth0-managed verification state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationState>,
    /// Auth0-managed certificate state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateState>,
    /// UNIX milliseconds when the certificate becomes `provisioned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_ready_at_ms: Option<i64>,
    /// Injected certificate failure, applied when provisioning would finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_failure: Option<String>,
    /// `tls_policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_policy: Option<String>,
    /// `custom_client_ip_header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_client_ip_header: Option<String>,
    /// `domain_metadata`.
    #[serde(default)]
    pub domain_metadata: BTreeMap<String, String>,
    /// `relying_party_identifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_identifier: Option<String>,
    /// The one-time `cname_api_key` has been handed out (self-managed).
    #[serde(default)]
    pub key_issued: bool,
    /// Creation order.
    pub created_seq: u64,
}

/// Name of the TXT record a self-managed domain is verified with.
pub fn txt_record_name(domain: &str) -> String {
    format!("_cf-custom-hostname.{domain}")
}

/// How a domain is being shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View<'a> {
    /// create, get, list, patch, later verify.
    Plain,
    /// The first successful verify of a self-managed domain: carries the key.
    FirstVerify {
        /// The key, shown this once.
        cname_api_key: &'a str,
    },
}

impl Domain {
    /// Moves an Auth0-managed certificate along once its delay has passed.
    pub fn advance(&mut self, now_ms: i64) {
        let Some(ready_at) = self.cert_ready_at_ms else {
            return;
        };
        if now_ms < ready_at {
            return;
        }
        self.cert_ready_at_ms = None;
        let Some(cert) = self.certificate.as_mut() else {
            return;
        };
        if cert.status != "provisioning" {
            return;
        }
        match self.cert_failure.take() {
            Some(msg) => {
                cert.status = "provisioning_failed".into();
                cert.error_msg = Some(msg);
                self.status = DomainStatus::Failed;
            }
            None => {
                cert.status = "provisioned".into();
                cert.error_msg = None;
                cert.certificate_authority = Some("letsencrypt".into());
                cert.renews_before = Some(iso_ms(now_ms + 60 * 86_400_000));
                self.status = DomainStatus::Ready;
            }
        }
    }

    /// The JSON object Auth0 answers with.
    pub fn render(&self, view: View<'_>, is_default: bool, origin_only_in_first_verify: bool) -> Value {
        let mut obj = json!({
            "custom_domain_id": self.id,
            "domain": self.domain,
            "primary": self.primary,
            "is_default": is_default,
            "status": self.status.as_str(),
            "type": self.kind.as_str(),
        });
        let show_origin = match (self.kind, view) {
            (DomainType::Auth0ManagedCerts, _) => true,
            (DomainType::SelfManagedCerts, View::FirstVerify { .. }) => true,
            (DomainType::SelfManagedCerts, View::Plain) => {
                self.status == DomainStatus::Ready && !origin_only_in_first_verify
            }
        };
        if show_origin {
            obj["origin_domain_name"] = json!(self.origin_domain_name);
        }
        let mut verification = match self.kind {
            DomainType::Auth0ManagedCerts => {
                json!({"methods": [{"name": "cname", "record": self.origin_domain_name}]})
            }
            DomainType::SelfManagedCerts => json!({"methods": [{
                "name": "txt",
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
        if let Some(cert) = &self.certificate {
            obj["certificate"] = json!(cert);
        }
        if let Some(p) = &self.tls_policy {
            obj["tls_policy"] = json!(p);
        }
        if let Some(h) = &self.custom_client_ip_header {
            obj["custom_client_ip_header"] = json!(h);
        }
        if !self.domain_metadata.is_empty() {
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

/// ISO 8601 UTC text of UNIX milliseconds.
pub fn iso_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Current UNIX milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
