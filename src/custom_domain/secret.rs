//! The edge Secret: `domain`, `origin-domain-name`, `mtls-domain` and the one-time `cname-api-key`.
//!
//! Written with JSON merge patches that name only the keys being set, so no write can drop a key
//! that is already stored (a server-side apply without the key would remove it).

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::plan::{SecretContent, SecretState};
use super::{
    LABEL_CUSTOM_DOMAIN, LABEL_MANAGED_BY, MANAGER, SECRET_KEY_CNAME_API_KEY, SECRET_KEY_DOMAIN,
    SECRET_KEY_MTLS_DOMAIN, SECRET_KEY_ORIGIN_DOMAIN_NAME,
};
use crate::auth0::Redacted;
use crate::resources::custom_domain::CustomDomain;

/// Value of the `app.kubernetes.io/managed-by` label.
pub const MANAGED_BY: &str = "auth0-domain-operator";

/// What a Secret holds, as the planner needs it.
pub fn state_of(secret: Option<&Secret>, origin: Option<&str>) -> SecretState {
    let Some(secret) = secret else {
        return SecretState::Absent;
    };
    let data = secret.data.as_ref();
    let get = |k: &str| data.and_then(|d| d.get(k)).map(|v| v.0.as_slice());
    SecretState::Present {
        has_key: get(SECRET_KEY_CNAME_API_KEY).is_some_and(|v| !v.is_empty()),
        origin_matches: match origin {
            None => true,
            Some(o) => get(SECRET_KEY_ORIGIN_DOMAIN_NAME) == Some(o.as_bytes()),
        },
    }
}

fn plain_data(content: &SecretContent) -> BTreeMap<&'static str, String> {
    let mut data = BTreeMap::new();
    data.insert(SECRET_KEY_DOMAIN, content.domain.clone());
    if let Some(o) = &content.origin_domain_name {
        data.insert(SECRET_KEY_ORIGIN_DOMAIN_NAME, o.clone());
    }
    if let Some(m) = &content.mtls_domain {
        data.insert(SECRET_KEY_MTLS_DOMAIN, m.clone());
    }
    data
}

fn labels(cd: &CustomDomain) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_owned(), MANAGED_BY.to_owned()),
        (LABEL_CUSTOM_DOMAIN.to_owned(), cd.name_any()),
    ])
}

fn b64(v: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// The `data` of a merge patch: the plain keys, plus the key when one is being stored.
fn encoded_data(content: &SecretContent, key: Option<&Redacted<String>>) -> BTreeMap<String, String> {
    let mut data: BTreeMap<String, String> = plain_data(content)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), b64(&v)))
        .collect();
    if let Some(key) = key {
        data.insert(SECRET_KEY_CNAME_API_KEY.to_owned(), b64(key.expose()));
    }
    data
}

/// Creates the Secret or merges the non-secret keys into it. Never touches `cname-api-key`.
/// `exists` is what the caller last saw (it picks the first call; either way the other follows
/// on 404/409). Returns the Secret as stored.
pub async fn ensure(
    api: &Api<Secret>,
    cd: &CustomDomain,
    content: &SecretContent,
    exists: bool,
) -> Result<Secret, kube::Error> {
    write(api, cd, content, None, exists).await
}

/// Writes the one-time key (and the rest) the moment it arrives; creates the Secret if it is gone.
/// Returns the Secret as stored.
pub async fn store_key(
    api: &Api<Secret>,
    cd: &CustomDomain,
    content: &SecretContent,
    key: &Redacted<String>,
) -> Result<Secret, kube::Error> {
    write(api, cd, content, Some(key), true).await
}

async fn write(
    api: &Api<Secret>,
    cd: &CustomDomain,
    content: &SecretContent,
    key: Option<&Redacted<String>>,
    exists: bool,
) -> Result<Secret, kube::Error> {
    if !exists {
        return create(api, cd, content, key).await;
    }
    let patch = json!({ "metadata": { "labels": labels(cd) }, "data": encoded_data(content, key) });
    match api
        .patch(&content.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(e)) if e.code == 404 => create(api, cd, content, key).await,
        other => other,
    }
}

async fn create(
    api: &Api<Secret>,
    cd: &CustomDomain,
    content: &SecretContent,
    key: Option<&Redacted<String>>,
) -> Result<Secret, kube::Error> {
    let mut data: BTreeMap<String, ByteString> = plain_data(content)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ByteString(v.into_bytes())))
        .collect();
    if let Some(key) = key {
        data.insert(
            SECRET_KEY_CNAME_API_KEY.to_owned(),
            ByteString(key.expose().clone().into_bytes()),
        );
    }
    let mut secret = Secret {
        data: Some(data),
        type_: Some("Opaque".to_owned()),
        ..Default::default()
    };
    secret.metadata.name = Some(content.name.clone());
    secret.metadata.namespace = cd.namespace();
    secret.metadata.labels = Some(labels(cd));
    secret.metadata.owner_references = cd.controller_owner_ref(&()).map(|o| vec![o]);
    let params = PostParams {
        field_manager: Some(MANAGER.to_owned()),
        ..Default::default()
    };
    match api.create(&params, &secret).await {
        // Created concurrently (another round or a restarted operator): merge into it instead.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = json!({ "metadata": { "labels": labels(cd) }, "data": encoded_data(content, key) });
            api.patch(&content.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
        }
        other => other,
    }
}

/// `deletionPolicy: Orphan`: drops the resource's ownerReference so the Secret outlives it.
pub async fn orphan(api: &Api<Secret>, cd: &CustomDomain, name: &str) -> Result<(), kube::Error> {
    let Some(secret) = api.get_opt(name).await? else {
        return Ok(());
    };
    let uid = cd.meta().uid.clone();
    let refs = secret.metadata.owner_references.clone().unwrap_or_default();
    let kept: Vec<_> = refs
        .iter()
        .filter(|r| Some(&r.uid) != uid.as_ref())
        .cloned()
        .collect();
    if kept.len() == refs.len() {
        return Ok(());
    }
    // resourceVersion makes this a compare-and-swap: a concurrent change gets a 409 and a retry.
    let patch = json!({
        "metadata": {
            "resourceVersion": secret.metadata.resource_version,
            "ownerReferences": kept,
        }
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn state_reads_key_and_origin() {
        assert_eq!(state_of(None, None), SecretState::Absent);
        let s = secret(&[("cname-api-key", "k"), ("origin-domain-name", "o.example")]);
        assert_eq!(
            state_of(Some(&s), Some("o.example")),
            SecretState::Present {
                has_key: true,
                origin_matches: true
            }
        );
        assert_eq!(
            state_of(Some(&s), Some("other.example")),
            SecretState::Present {
                has_key: true,
                origin_matches: false
            }
        );
        let empty_key = secret(&[("cname-api-key", "")]);
        assert_eq!(
            state_of(Some(&empty_key), None),
            SecretState::Present {
                has_key: false,
                origin_matches: true
            }
        );
    }
}
