//! `validate_spec`: the CRD's admission rules again, in Rust, for clusters where the CRD was applied
//! without validation. Messages match the CRD's so users see the same advice either way.

use crate::resources::custom_domain::{
    CustomDomainSpec, DomainType, MAX_METADATA_KEY_LEN, MAX_METADATA_KEYS, MAX_METADATA_VALUE_LEN,
    OWNER_METADATA_KEY,
};

/// Checks a host name against the FQDN rule; `None` when fine, else what to change. Messages name
/// `spec.domain`; [`host_name_problem`] is the same check for other fields.
pub fn fqdn_problem(domain: &str) -> Option<String> {
    host_name_problem("spec.domain", domain)
}

/// Checks `value` of `field` against the FQDN rule of the CRD (`FQDN_PATTERN`): lower-case labels of
/// 1–63 letters, digits and inner hyphens, at least two, a top-level label starting with a letter
/// (so no IP address), at most 253 characters, no wildcard, no trailing dot.
pub fn host_name_problem(field: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return Some(format!(
            "{field} is empty: set it to a host name such as login.example.com"
        ));
    }
    if value.contains('*') {
        return Some(format!(
            "{field}: wildcard domains are not supported by Auth0: create one CustomDomain per host name"
        ));
    }
    if value.ends_with('.') {
        return Some(format!("{field}: remove the trailing dot"));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "{field} must be lower-case: write it in lower-case letters"
        ));
    }
    if value.len() > 253 {
        return Some(format!(
            "{field} is {} characters long; at most 253 are allowed",
            value.len()
        ));
    }
    let labels: Vec<&str> = value.split('.').collect();
    if labels.len() < 2 {
        return Some(format!(
            "{field} {value:?} is not a fully qualified name: use e.g. login.example.com"
        ));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Some(format!(
                "{field} {value:?} has a label of {} characters: each label needs 1 to 63",
                label.len()
            ));
        }
        let ok_chars = label
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if !ok_chars || label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "{field} {value:?} is not a valid host name: use letters, digits and inner hyphens only \
                 (no scheme, port or path; write an internationalised name in its xn-- punycode form)"
            ));
        }
    }
    if !labels
        .last()
        .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        return Some(format!(
            "{field} {value:?} is not a valid host name: the top-level domain must start with a letter (IP addresses are not accepted)"
        ));
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
        problems.push("spec.tenantRef.name is empty: name an Auth0Tenant or leave tenantRef out".to_owned());
    } else if !dns1123_subdomain(&spec.tenant_ref.name) {
        problems.push(format!(
            "spec.tenantRef.name {:?} is not an Auth0Tenant name: use lower-case letters, digits, '-' and '.'",
            spec.tenant_ref.name
        ));
    }
    let self_managed = spec.type_ == DomainType::SelfManagedCerts;
    if !self_managed && spec.verification_method.is_some() {
        problems.push("spec.verificationMethod is only valid for SelfManagedCerts: remove spec.verificationMethod (Auth0-managed domains are verified with a CNAME)".to_owned());
    }
    if !self_managed && spec.mtls.as_ref().is_some_and(|m| m.enabled) {
        problems.push(
            "spec.mtls: mTLS is only supported on SelfManagedCerts domains: remove spec.mtls or use type SelfManagedCerts"
                .to_owned(),
        );
    }
    if self_managed && spec.tls_policy.is_some() {
        problems.push("spec.tlsPolicy is only valid for Auth0ManagedCerts (Auth0 refuses it on self-managed domains, whose TLS your proxy terminates): remove spec.tlsPolicy".to_owned());
    }
    if !self_managed && spec.custom_client_ip_header.is_some() {
        problems.push("spec.customClientIPHeader is only valid for SelfManagedCerts (Auth0 refuses it on Auth0-managed domains, which it serves directly): remove spec.customClientIPHeader".to_owned());
    }
    if !self_managed && spec.certificate.as_ref().is_some_and(|c| c.issuer_ref.is_some()) {
        problems.push("spec.certificate.issuerRef is only valid for SelfManagedCerts (Auth0 issues the certificate of an Auth0-managed domain): remove spec.certificate.issuerRef".to_owned());
    }
    if spec.metadata.len() > MAX_METADATA_KEYS {
        problems.push(format!(
            "spec.metadata has more than {MAX_METADATA_KEYS} keys: remove keys (Auth0 allows 10 and the operator reserves k8s_owner)"
        ));
    }
    if spec.metadata.contains_key(OWNER_METADATA_KEY) {
        problems.push(
            "spec.metadata key k8s_owner is reserved for the operator's ownership marker: rename or remove it"
                .to_owned(),
        );
    }
    for (key, value) in &spec.metadata {
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_LEN {
            problems.push("spec.metadata keys must be 1 to 255 characters long: shorten the key".to_owned());
        }
        if value.chars().count() > MAX_METADATA_VALUE_LEN {
            problems.push(format!(
                "spec.metadata value of {key:?} is longer than {MAX_METADATA_VALUE_LEN} characters (Auth0's limit): shorten it"
            ));
        }
    }
    if let Some(name) = &spec.secret_name
        && !dns1123_subdomain(name)
    {
        problems.push(format!(
            "spec.secretName {name:?} is not a valid Secret name: use lower-case letters, digits, '-' and '.'"
        ));
    }
    if let Some(issuer) = spec.certificate.as_ref().and_then(|c| c.issuer_ref.as_ref())
        && (issuer.name.is_empty() || issuer.name.len() > 253)
    {
        problems.push(
            "spec.certificate.issuerRef.name must be 1 to 253 characters: name the cert-manager issuer"
                .to_owned(),
        );
    }
    if let Some(rp) = &spec.relying_party_identifier {
        if let Some(p) = host_name_problem("spec.relyingPartyIdentifier", rp) {
            problems.push(p);
        } else if spec.domain != *rp && !spec.domain.ends_with(&format!(".{rp}")) {
            problems.push(
                "spec.relyingPartyIdentifier must be spec.domain or a parent domain of it, e.g. example.com \
                 for login.example.com (passkeys only work for such a relying party)"
                    .to_owned(),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! The bad-input corpus (`tests/bad-input/corpus`, written by `tests/bad-input/gen.py`) against
    //! the operator's own re-check: every spec-level CustomDomain case the operator could read must
    //! be refused with a message naming the field.

    use super::*;
    use crate::resources::CustomDomain;
    use serde_json::Value;

    /// Cases the re-check cannot see: a change of an existing object needs the old one, unknown
    /// fields are dropped by decoding (the apiserver prunes them), object metadata is not the spec.
    const NOT_SPEC_LEVEL: [&str; 3] = ["immutable", "unknown-field", "object-meta"];
    /// Categories whose manifests may not decode at all (wrong JSON types, unknown enum values,
    /// missing required fields): the operator gets a typed decoding error, never a spec.
    const MAY_NOT_DECODE: [&str; 4] = ["wrong-type", "enum", "required", "metadata"];

    #[test]
    fn bad_input_corpus_is_refused_naming_the_field() {
        let dir = format!("{}/tests/bad-input/corpus", env!("CARGO_MANIFEST_DIR"));
        let index: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/index.json")).unwrap()).unwrap();
        let (mut refused, mut undecodable, mut failures) = (0, 0, Vec::new());
        for case in index["cases"].as_array().unwrap() {
            let category = case["category"].as_str().unwrap();
            if case["kind"] != "CustomDomain" || NOT_SPEC_LEVEL.contains(&category) {
                continue;
            }
            let file = case["file"].as_str().unwrap();
            let field = case["field"].as_str().unwrap();
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            let obj: Value = serde_yaml_ng::from_str(&text).unwrap();
            match serde_json::from_value::<CustomDomain>(obj) {
                Err(e) if MAY_NOT_DECODE.contains(&category) => {
                    assert!(!e.to_string().is_empty());
                    undecodable += 1;
                }
                Err(e) => failures.push(format!("{file}: does not decode ({e}) though {category} should")),
                Ok(cd) => match validate_spec(&cd.spec) {
                    Ok(()) => failures.push(format!("{file}: accepted by validate_spec")),
                    Err(problems) if problems.iter().any(|p| p.contains(field)) => refused += 1,
                    Err(problems) => failures.push(format!("{file}: {problems:?} does not name {field}")),
                },
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // 192 spec-level cases when written: 135 reach the re-check, 57 do not decode.
        eprintln!("bad-input corpus: {refused} refused by validate_spec, {undecodable} refused by decoding");
        assert!(refused >= 130, "only {refused} refused by validate_spec");
        assert!(refused + undecodable >= 190, "{refused} + {undecodable}");
    }

    #[test]
    fn punycode_and_parent_relying_party_are_fine() {
        assert_eq!(fqdn_problem("xn--lgin-5qa.example.com"), None);
        assert_eq!(fqdn_problem("a.b.c.example.co.uk"), None);
        assert!(fqdn_problem("10.0.0.1").is_some_and(|p| p.contains("top-level")));
        assert!(fqdn_problem("lögin.example.com").is_some_and(|p| p.contains("punycode")));
    }
}
