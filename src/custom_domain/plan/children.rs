//! Optional child objects of a `CustomDomain`: an external-dns `DNSEndpoint` with the verification
//! record (`spec.dnsEndpoint.enabled`) and a cert-manager `Certificate` for the edge proxy
//! (`spec.certificate.issuerRef`, self-managed only). Pure: the bodies to server-side apply (the
//! executor adds the ownerReference and applies them only when those CRDs are installed).

use serde_json::{Value, json};

use crate::auth0::types as wire;
use crate::dns::VerificationRecord;
use crate::resources::custom_domain::{CustomDomain, DomainType};

use super::mtls_alias;

/// external-dns's API version of `DNSEndpoint`.
pub const DNS_ENDPOINT_API_VERSION: &str = "externaldns.k8s.io/v1alpha1";
/// cert-manager's API version of `Certificate`.
pub const CERTIFICATE_API_VERSION: &str = "cert-manager.io/v1";
/// TTL of the published verification record, in seconds.
pub const DNS_ENDPOINT_TTL: i64 = 300;

fn name_of(cd: &CustomDomain) -> &str {
    cd.metadata.name.as_deref().unwrap_or_default()
}

/// Name of the `DNSEndpoint`: `<name>-auth0-verification`.
pub fn dns_endpoint_name(cd: &CustomDomain) -> String {
    format!("{}-auth0-verification", name_of(cd))
}

/// Name of the `Certificate` and of the TLS Secret it fills: `<name>-tls`.
pub fn certificate_name(cd: &CustomDomain) -> String {
    format!("{}-tls", name_of(cd))
}

fn labels(cd: &CustomDomain) -> Value {
    json!({
        super::super::LABEL_MANAGED_BY: super::super::MANAGER,
        super::super::LABEL_CUSTOM_DOMAIN: name_of(cd),
    })
}

/// The `DNSEndpoint` holding the records Auth0 asked for, when `spec.dnsEndpoint.enabled` and the
/// records are known (Auth0 names them in the domain's `verification.methods`). A TXT endpoint is
/// only published by external-dns running with `--managed-record-types=TXT`.
///
/// With `spec.mtls.enabled` it also holds the alias `mtls.<domain>` as a CNAME to `<domain>`: the
/// alias must reach the same edge proxy as the domain (which serves both names), wherever the
/// domain itself points.
pub fn dns_endpoint_object(cd: &CustomDomain, remote: Option<&wire::CustomDomain>) -> Option<Value> {
    if !cd.spec.dns_endpoint.as_ref().is_some_and(|d| d.enabled) {
        return None;
    }
    let records = VerificationRecord::from_domain(remote?);
    if records.is_empty() {
        return None;
    }
    let mut endpoints: Vec<Value> = records
        .iter()
        .map(|r| {
            // external-dns wants TXT targets unquoted; it adds the quotes itself.
            json!({"dnsName": r.name, "recordType": r.kind.as_str(), "recordTTL": DNS_ENDPOINT_TTL,
                   "targets": [r.value.trim_matches('"')]})
        })
        .collect();
    // mTLS is self-managed only (admission and plan::validate refuse it otherwise).
    if cd.spec.type_ == DomainType::SelfManagedCerts
        && let Some(alias) = mtls_alias(cd)
    {
        endpoints.push(json!({"dnsName": alias, "recordType": "CNAME",
                              "recordTTL": DNS_ENDPOINT_TTL, "targets": [cd.spec.domain]}));
    }
    Some(json!({
        "apiVersion": DNS_ENDPOINT_API_VERSION,
        "kind": "DNSEndpoint",
        "metadata": {"name": dns_endpoint_name(cd), "namespace": cd.metadata.namespace, "labels": labels(cd)},
        "spec": {"endpoints": endpoints},
    }))
}

/// The cert-manager `Certificate` for the edge proxy (domain, plus `mtls.<domain>` with mTLS),
/// when the domain is self-managed and `spec.certificate.issuerRef` is set.
pub fn certificate_object(cd: &CustomDomain) -> Option<Value> {
    if cd.spec.type_ != DomainType::SelfManagedCerts {
        return None;
    }
    let issuer = cd.spec.certificate.as_ref()?.issuer_ref.as_ref()?;
    let mut dns_names = vec![cd.spec.domain.clone()];
    dns_names.extend(mtls_alias(cd));
    Some(json!({
        "apiVersion": CERTIFICATE_API_VERSION,
        "kind": "Certificate",
        "metadata": {"name": certificate_name(cd), "namespace": cd.metadata.namespace, "labels": labels(cd)},
        "spec": {
            "secretName": certificate_name(cd),
            "dnsNames": dns_names,
            "issuerRef": {
                "name": issuer.name,
                "kind": issuer.kind.as_deref().unwrap_or("Issuer"),
                "group": issuer.group.as_deref().unwrap_or("cert-manager.io"),
            },
        },
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::resources::custom_domain::{CertificateSpec, DnsEndpointSpec, DomainMtls, IssuerRef};

    fn cd(type_: &str) -> CustomDomain {
        let mut cd = CustomDomain::new(
            "login",
            serde_json::from_value(json!({"domain": "login.example.com", "type": type_})).unwrap(),
        );
        cd.metadata.namespace = Some("team-a".into());
        cd
    }

    fn remote() -> wire::CustomDomain {
        serde_json::from_value(json!({
            "custom_domain_id": "cd_1", "domain": "login.example.com", "status": "pending_verification",
            "type": "self_managed_certs",
            "verification": {"methods": [{"name": "txt", "record": "abc", "domain": "_cf-custom-hostname.login.example.com"}]},
        }))
        .unwrap()
    }

    #[test]
    fn dns_endpoint_only_when_enabled_and_known() {
        let mut c = cd("SelfManagedCerts");
        assert_eq!(dns_endpoint_object(&c, Some(&remote())), None);
        c.spec.dns_endpoint = Some(DnsEndpointSpec { enabled: true });
        assert_eq!(dns_endpoint_object(&c, None), None, "records come from Auth0");
        let obj = dns_endpoint_object(&c, Some(&remote())).unwrap();
        assert_eq!(obj["metadata"]["name"], "login-auth0-verification");
        assert_eq!(obj["metadata"]["namespace"], "team-a");
        assert_eq!(
            obj["spec"]["endpoints"],
            json!([{"dnsName": "_cf-custom-hostname.login.example.com", "recordType": "TXT",
                    "recordTTL": 300, "targets": ["abc"]}])
        );
    }

    #[test]
    fn dns_endpoint_publishes_the_mtls_alias_as_cname_to_the_domain() {
        let mut c = cd("SelfManagedCerts");
        c.spec.dns_endpoint = Some(DnsEndpointSpec { enabled: true });
        c.spec.mtls = Some(DomainMtls { enabled: true });
        let obj = dns_endpoint_object(&c, Some(&remote())).unwrap();
        assert_eq!(
            obj["spec"]["endpoints"],
            json!([
                {"dnsName": "_cf-custom-hostname.login.example.com", "recordType": "TXT",
                 "recordTTL": 300, "targets": ["abc"]},
                {"dnsName": "mtls.login.example.com", "recordType": "CNAME",
                 "recordTTL": 300, "targets": ["login.example.com"]},
            ])
        );
        // Switched off: only the verification record.
        c.spec.mtls = Some(DomainMtls { enabled: false });
        let obj = dns_endpoint_object(&c, Some(&remote())).unwrap();
        assert_eq!(obj["spec"]["endpoints"].as_array().map(Vec::len), Some(1));
        // Never for an Auth0-managed domain, even if the spec slipped past admission.
        let mut am = c.clone();
        am.spec.type_ = DomainType::Auth0ManagedCerts;
        am.spec.mtls = Some(DomainMtls { enabled: true });
        let obj = dns_endpoint_object(&am, Some(&remote())).unwrap();
        assert!(!obj.to_string().contains("mtls.login.example.com"), "{obj}");
    }

    #[test]
    fn certificate_for_self_managed_with_issuer() {
        let mut c = cd("SelfManagedCerts");
        assert_eq!(certificate_object(&c), None);
        c.spec.certificate = Some(CertificateSpec {
            issuer_ref: Some(IssuerRef {
                name: "le".into(),
                kind: Some("ClusterIssuer".into()),
                group: None,
            }),
        });
        c.spec.mtls = Some(DomainMtls { enabled: true });
        let obj = certificate_object(&c).unwrap();
        assert_eq!(obj["spec"]["secretName"], "login-tls");
        assert_eq!(
            obj["spec"]["dnsNames"],
            json!(["login.example.com", "mtls.login.example.com"])
        );
        assert_eq!(
            obj["spec"]["issuerRef"],
            json!({"name": "le", "kind": "ClusterIssuer", "group": "cert-manager.io"})
        );
        let mut am = c.clone();
        am.spec.type_ = DomainType::Auth0ManagedCerts;
        assert_eq!(
            certificate_object(&am),
            None,
            "Auth0 issues Auth0-managed certificates"
        );
    }
}
