//! `validate_spec`: the CRD's admission rules again, in Rust, for clusters where the CRD was applied
//! without validation. Messages match the CRD's so users see the same advice either way.

use crate::resources::custom_domain::{
    CustomDomainSpec, DomainType, MAX_METADATA_KEY_LEN, MAX_METADATA_KEYS, MAX_METADATA_VALUE_LEN,
    OWNER_METADATA_KEY,
};

/// Checks a host name against the FQDN rule; `None` when fine, else what to change.
pub fn fqdn_problem(domain: &str) -> Option<String> {
    if domain.is_empty() {
        return Some("domain is empty: set spec.domain to a host name such as login.example.com".to_owned());
    }
    if domain.starts_with('*') || domain.contains('*') {
        return Some(
            "wildcard domains are not supported by Auth0: create one CustomDomain per host name".to_owned(),
        );
    }
    if domain.ends_with('.') {
        return Some("remove the trailing dot from domain".to_owned());
    }
    if domain.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("domain must be lower-case: write it in lower-case letters".to_owned());
    }
    if domain.len() > 253 {
        return Some(format!(
            "domain is {} characters long; at most 253 are allowed",
            domain.len()
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some(format!(
            "domain {domain:?} is not a fully qualified name: use e.g. login.example.com"
        ));
    }
    for label in labels {
        if label.is_empty() || label.len() > 63 {
            return Some(format!(
                "domain {domain:?} has a label of {} characters: each label needs 1 to 63",
                label.len()
            ));
        }
        let ok_chars = label
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if !ok_chars || label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "domain {domain:?} is not a valid host name: use letters, digits and inner hyphens only"
            ));
        }
    }
    None
}

fn dns1123_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Re-checks every admission rule of `CustomDomainSpec` (except immutability, which needs the old
/// object). `Err` lists what to change.
pub fn validate_spec(spec: &CustomDomainSpec) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if let Some(p) = fqdn_problem(&spec.domain) {
        problems.push(p);
    }
    if spec.tenant_ref.name.is_empty() {
        problems.push("tenantRef.name is empty: name an Auth0Tenant or leave tenantRef out".to_owned());
    }
    let self_managed = spec.type_ == DomainType::SelfManagedCerts;
    if !self_managed && spec.verification_method.is_some() {
        problems.push("verificationMethod is only valid for SelfManagedCerts: remove spec.verificationMethod (Auth0-managed domains are verified with a CNAME)".to_owned());
    }
    if !self_managed && spec.mtls.as_ref().is_some_and(|m| m.enabled) {
        problems.push(
            "mTLS is only supported on SelfManagedCerts domains: remove spec.mtls or use type SelfManagedCerts"
                .to_owned(),
        );
    }
    if !self_managed && spec.certificate.as_ref().is_some_and(|c| c.issuer_ref.is_some()) {
        problems.push("certificate.issuerRef is only valid for SelfManagedCerts (Auth0 issues the certificate of an Auth0-managed domain): remove spec.certificate.issuerRef".to_owned());
    }
    if spec.metadata.len() > MAX_METADATA_KEYS {
        problems.push(format!(
            "metadata has more than {MAX_METADATA_KEYS} keys: remove keys (Auth0 allows 10 and the operator reserves k8s_owner)"
        ));
    }
    if spec.metadata.contains_key(OWNER_METADATA_KEY) {
        problems.push(
            "metadata key k8s_owner is reserved for the operator's ownership marker: rename or remove it"
                .to_owned(),
        );
    }
    for (key, value) in &spec.metadata {
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_LEN {
            problems.push("metadata keys must be 1 to 255 characters long: shorten the key".to_owned());
        }
        if value.chars().count() > MAX_METADATA_VALUE_LEN {
            problems.push(format!(
                "metadata value of {key:?} is longer than {MAX_METADATA_VALUE_LEN} characters (Auth0's limit): shorten it"
            ));
        }
    }
    if let Some(name) = &spec.secret_name
        && !dns1123_subdomain(name)
    {
        problems.push(format!(
            "secretName {name:?} is not a valid Secret name: use lower-case letters, digits, '-' and '.'"
        ));
    }
    if let Some(rp) = &spec.relying_party_identifier
        && (rp.is_empty() || rp.len() > 253)
    {
        problems.push("relyingPartyIdentifier must be 1 to 253 characters: fix or remove it".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
