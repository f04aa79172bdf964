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
        // Each type takes only its own field; Auth0 answers 400 to the other
        // (docs/auth0-api.md#fields-by-type).
        tls_policy: match spec.type_ {
            DomainType::Auth0ManagedCerts => spec.tls_policy.map(|_| wire::TlsPolicy::Recommended),
            DomainType::SelfManagedCerts => None,
        },
        custom_client_ip_header: match spec.type_ {
            DomainType::SelfManagedCerts => spec.custom_client_ip_header.map(|h| h.as_auth0().to_owned()),
            DomainType::Auth0ManagedCerts => None,
        },
        domain_metadata: desired_metadata(spec, marker),
        relying_party_identifier: spec.relying_party_identifier.clone(),
    }
}

/// The PATCH that brings `remote` in line with `spec` (empty when nothing differs).
///
/// Metadata is sent as the full intended map plus `null` for keys Auth0 has and the spec does not
/// (right whether Auth0 merges or replaces the map, docs/auth0-api.md#patch-body). An unset
/// `relyingPartyIdentifier` is PATCHed to `null` only when Auth0 holds something other than its
/// default (the domain itself).
pub fn drift_patch(spec: &CustomDomainSpec, remote: &wire::CustomDomain, marker: &str) -> PatchDomain {
    let mut patch = PatchDomain::default();
    // Only the field of the domain's own type is compared: Auth0 refuses the other one (400).
    match spec.type_ {
        DomainType::Auth0ManagedCerts => {
            if remote
                .tls_policy
                .as_ref()
                .is_some_and(|p| *p != wire::TlsPolicy::Recommended)
            {
                patch.tls_policy = Some(wire::TlsPolicy::Recommended);
            }
        }
        DomainType::SelfManagedCerts => {
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
        }
    }
    let want_md = desired_metadata(spec, marker);
    if remote.domain_metadata != want_md {
        patch.domain_metadata = Some(metadata_patch(&want_md, &remote.domain_metadata));
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

/// Most `domain_metadata` properties one request may carry (Auth0 counts `null` removals too).
pub const MAX_METADATA_PATCH_KEYS: usize = 10;

/// The `domain_metadata` of a PATCH: the full intended map plus `null` for each key to remove.
///
/// When that would exceed [`MAX_METADATA_PATCH_KEYS`], removals go first, together with the
/// ownership marker and as many intended keys as fit; the next round sends the rest. This is safe
/// under both readings of PATCH (merge or replace): the domain never holds more than 10 keys and is
/// never left without its marker.
fn metadata_patch(
    want: &BTreeMap<String, String>,
    have: &wire::Metadata,
) -> BTreeMap<String, Option<String>> {
    let removals: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    let mut md: BTreeMap<String, Option<String>> = BTreeMap::new();
    if want.len() + removals.len() <= MAX_METADATA_PATCH_KEYS {
        md.extend(want.iter().map(|(k, v)| (k.clone(), Some(v.clone()))));
        md.extend(removals.into_iter().map(|k| (k.clone(), None)));
        return md;
    }
    if let Some(marker) = want.get(OWNER_METADATA_KEY) {
        md.insert(OWNER_METADATA_KEY.to_owned(), Some(marker.clone()));
    }
    let room = MAX_METADATA_PATCH_KEYS - md.len();
    md.extend(removals.into_iter().take(room).map(|k| (k.clone(), None)));
    for (k, v) in want {
        if md.len() >= MAX_METADATA_PATCH_KEYS {
            break;
        }
        md.entry(k.clone()).or_insert_with(|| Some(v.clone()));
    }
    md
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// What Auth0 holds after a metadata PATCH, under each reading (docs/auth0-api.md#patch-body).
    fn apply(
        have: &BTreeMap<String, String>,
        patch: &BTreeMap<String, Option<String>>,
        merge: bool,
    ) -> BTreeMap<String, String> {
        let mut out = if merge { have.clone() } else { BTreeMap::new() };
        for (k, v) in patch {
            match v {
                Some(v) => {
                    out.insert(k.clone(), v.clone());
                }
                None => {
                    out.remove(k);
                }
            }
        }
        out
    }

    #[test]
    fn metadata_converges_within_the_key_limit_under_merge_and_replace() {
        let mut want = map(&[("k8s_owner", "c1/ns/n")]);
        for i in 0..9 {
            want.insert(format!("mine{i}"), "v".into());
        }
        let starts = [
            // Adopting a domain full of dashboard keys.
            (0..10)
                .map(|i| (format!("foreign{i}"), "x".to_owned()))
                .collect::<BTreeMap<_, _>>(),
            // Ours, plus keys someone added in the dashboard.
            {
                let mut m = want.clone();
                m.retain(|k, _| k.as_str() < "mine7");
                m.insert("dash1".into(), "x".into());
                m.insert("dash2".into(), "x".into());
                m
            },
            map(&[("a", "1")]),
        ];
        for merge in [true, false] {
            for start in &starts {
                let mut have = start.clone();
                let mut rounds = 0;
                while have != want {
                    let patch = metadata_patch(&want, &have.clone().into());
                    assert!(patch.len() <= MAX_METADATA_PATCH_KEYS, "{patch:?}");
                    assert_eq!(patch.get(OWNER_METADATA_KEY), Some(&Some("c1/ns/n".to_owned())));
                    have = apply(&have, &patch, merge);
                    assert!(
                        have.len() <= MAX_METADATA_PATCH_KEYS,
                        "Auth0 would hold {} keys",
                        have.len()
                    );
                    assert_eq!(have.get(OWNER_METADATA_KEY).map(String::as_str), Some("c1/ns/n"));
                    rounds += 1;
                    assert!(
                        rounds <= 3,
                        "no convergence (merge={merge}) from {start:?}: {have:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn small_changes_go_in_one_body_with_nulls() {
        let want = map(&[("k8s_owner", "m"), ("a", "1")]);
        let have = map(&[("k8s_owner", "m"), ("a", "0"), ("old", "x")]);
        let patch = metadata_patch(&want, &have.into());
        assert_eq!(patch.get("old"), Some(&None));
        assert_eq!(patch.get("a"), Some(&Some("1".into())));
        assert_eq!(patch.len(), 3);
    }
}
