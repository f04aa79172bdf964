//! What Auth0 should hold for a spec: the create body and the drift PATCH.

use std::collections::BTreeMap;

use crate::auth0::types::{self as wire, CreateDomain, Field, PatchDomain};
use crate::resources::custom_domain::{CustomDomainSpec, DomainType, OWNER_METADATA_KEY};

/// The `domain_metadata` Auth0 should hold: the spec's keys plus the ownership marker.
pub fn desired_metadata(spec: &CustomDomainSpec, marker: &str) -> BTreeMap<String, String> {
    let mut md = spec.metadata.clone();
    md.insert(OWNER_METADATA_KEY.to_owned(), marker.to_owned());
    md
}

fn wire_type(t: DomainType) -> wire::DomainType {
    match t {
        DomainType::Auth0ManagedCerts => wire::DomainType::Auth0ManagedCerts,
        DomainType::SelfManagedCerts => wire::DomainType::SelfManagedCerts,
    }
}

/// Body of `POST /custom-domains` for a spec, carrying the ownership `marker`.
pub fn create_body(spec: &CustomDomainSpec, marker: &str) -> CreateDomain {
    CreateDomain {
        domain: spec.domain.clone(),
        type_: wire_type(spec.type_),
        verification_method: match (spec.type_, spec.verification_method) {
            (DomainType::SelfManagedCerts, Some(_)) => Some(wire::VerificationMethodName::Txt),
            _ => None,
        },
        // Auth0's mTLS and MCD guides send tls_policy for both types (the contract marks it uncertain).
        tls_policy: Some(wire::TlsPolicy::Recommended),
        custom_client_ip_header: spec.custom_client_ip_header.map(|h| h.as_auth0().to_owned()),
        domain_metadata: desired_metadata(spec, marker),
        relying_party_identifier: spec.relying_party_identifier.clone(),
    }
}

/// The PATCH that brings `remote` in line with `spec` (empty when nothing differs).
///
/// Metadata is sent as the full intended map plus `null` for keys Auth0 has and the spec does not
/// (the contract leaves open whether omitted keys are kept). An unset `relyingPartyIdentifier` is
/// PATCHed to `null` only when Auth0 holds something other than its default (the domain itself).
pub fn drift_patch(spec: &CustomDomainSpec, remote: &wire::CustomDomain, marker: &str) -> PatchDomain {
    let mut patch = PatchDomain::default();
    if remote
        .tls_policy
        .as_ref()
        .is_some_and(|p| *p != wire::TlsPolicy::Recommended)
    {
        patch.tls_policy = Some(wire::TlsPolicy::Recommended);
    }
    let want_header = spec.custom_client_ip_header.map(|h| h.as_auth0());
    let have_header = remote
        .custom_client_ip_header
        .as_deref()
        .filter(|h| !h.is_empty());
    if want_header != have_header {
        patch.custom_client_ip_header = match want_header {
            Some(h) => Field::Value(h.to_owned()),
            None => Field::Null,
        };
    }
    let want_md = desired_metadata(spec, marker);
    if want_md != remote.domain_metadata {
        let mut md: BTreeMap<String, Option<String>> =
            want_md.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for key in remote.domain_metadata.keys() {
            md.entry(key.clone()).or_insert(None);
        }
        patch.domain_metadata = Some(md);
    }
    match (&spec.relying_party_identifier, &remote.relying_party_identifier) {
        (Some(want), have) if have.as_ref() != Some(want) => {
            patch.relying_party_identifier = Field::Value(want.clone());
        }
        (None, Some(have)) if !have.is_empty() && *have != remote.domain => {
            patch.relying_party_identifier = Field::Null;
        }
        _ => {}
    }
    patch
}

/// Names the fields a patch changes, for Events (no values).
pub(crate) fn describe(patch: &PatchDomain) -> String {
    let mut parts = Vec::new();
    if patch.tls_policy.is_some() {
        parts.push("tls_policy".to_owned());
    }
    if !patch.custom_client_ip_header.is_absent() {
        parts.push("custom_client_ip_header".to_owned());
    }
    if let Some(md) = &patch.domain_metadata {
        let removed: Vec<&str> = md
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
            .collect();
        if removed.is_empty() {
            parts.push("domain_metadata".to_owned());
        } else {
            parts.push(format!("domain_metadata (removing {})", removed.join(", ")));
        }
    }
    if !patch.relying_party_identifier.is_absent() {
        parts.push("relying_party_identifier".to_owned());
    }
    parts.join(", ")
}
