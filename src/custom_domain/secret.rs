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

use super::plan::{SecretContent, SecretOwner, SecretState};
use super::{
    LABEL_CUSTOM_DOMAIN, LABEL_MANAGED_BY, MANAGER, SECRET_KEY_CNAME_API_KEY, SECRET_KEY_DOMAIN,
    SECRET_KEY_MTLS_DOMAIN, SECRET_KEY_ORIGIN_DOMAIN_NAME,
};
use crate::auth0::Redacted;
use crate::resources::custom_domain::CustomDomain;

/// Value of the `app.kubernetes.io/managed-by` label.
pub const MANAGED_BY: &str = MANAGER;

/// What a Secret holds and whose it is, as the planner needs it.
pub fn state_of<'a>(secret: Option<&'a Secret>, cd: &CustomDomain) -> SecretState<'a> {
    let Some(secret) = secret else {
        return SecretState::Absent;
    };
    let data = secret.data.as_ref();
    let get = |k: &str| data.and_then(|d| d.get(k)).map(|v| v.0.as_slice());
    SecretState::Present {
        has_key: get(SECRET_KEY_CNAME_API_KEY).is_some_and(|v| !v.is_empty()),
        origin: get(SECRET_KEY_ORIGIN_DOMAIN_NAME)
            .and_then(|v| std::str::from_utf8(v).ok())
            .filter(|v| !v.is_empty()),
        owner: owner_of(secret, cd),
    }
}

/// Whose a Secret is: ours by controller ownerReference (uid), left for us by a predecessor of the
/// same name (labels and domain match, no controller), or someone else's.
fn owner_of<'a>(secret: &'a Secret, cd: &CustomDomain) -> SecretOwner<'a> {
    let controller = secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true));
    if let Some(r) = controller {
        if cd.metadata.uid.as_deref() == Some(r.uid.as_str()) {
            return SecretOwner::ThisResource;
        }
        return SecretOwner::Other {
            controller: Some((r.kind.as_str(), r.name.as_str())),
        };
    }
    let labels = secret.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let domain = secret
        .data
        .as_ref()
        .and_then(|d| d.get(SECRET_KEY_DOMAIN))
        .map(|v| v.0.as_slice());
    if label(LABEL_MANAGED_BY) == Some(MANAGED_BY)
        && label(LABEL_CUSTOM_DOMAIN) == cd.metadata.name.as_deref()
        && domain == Some(cd.spec.domain.as_bytes())
    {
        SecretOwner::Unclaimed
    } else {
        SecretOwner::Other { controller: None }
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
/// `current` is the Secret as last seen (it picks the first call; either way the other follows on
/// 404/409); one without our controller ownerReference (left by a predecessor) is claimed.
/// Returns the Secret as stored.
pub async fn ensure(
    api: &Api<Secret>,
    cd: &CustomDomain,
    content: &SecretContent,
    current: Option<&Secret>,
) -> Result<Secret, kube::Error> {
    if let Some(secret) = current
        && owner_of(secret, cd) == SecretOwner::Unclaimed
    {
        claim(api, cd, secret).await?;
    }
    write(api, cd, content, None, current.is_some()).await
}

/// Adds this resource as the controller of a Secret its predecessor left (compare-and-swap on
/// the resourceVersion: a concurrent change fails with 409 and the next round looks again).
async fn claim(api: &Api<Secret>, cd: &CustomDomain, secret: &Secret) -> Result<(), kube::Error> {
    let mut refs = secret.metadata.owner_references.clone().unwrap_or_default();
    refs.extend(cd.controller_owner_ref(&()));
    let patch = json!({
        "metadata": {
            "resourceVersion": secret.metadata.resource_version,
            "ownerReferences": refs,
        }
    });
    let name = secret.metadata.name.as_deref().unwrap_or_default();
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
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

/// What [`store_key_if_keyless`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeylessWrite {
    /// The key was written.
    Written,
    /// The Secret already holds a key (this one from an earlier write, or a newer one): untouched.
    AlreadyHeld,
    /// The Secret is not this resource's: untouched.
    NotOurs,
}

/// Writes the key only into a Secret of this resource that holds no key yet, as a compare-and-swap
/// on its resourceVersion: used when this process no longer leads, so a key written meanwhile by
/// the new leader (perhaps of a recreated domain) is never overwritten.
pub async fn store_key_if_keyless(
    api: &Api<Secret>,
    cd: &CustomDomain,
    content: &SecretContent,
    key: &Redacted<String>,
) -> Result<KeylessWrite, kube::Error> {
    let Some(current) = api.get_opt(&content.name).await? else {
        // Absent: a create cannot overwrite anything (409 if made meanwhile: the caller retries).
        let secret = create_body(cd, content, Some(key));
        let params = PostParams {
            field_manager: Some(MANAGER.to_owned()),
            ..Default::default()
        };
        return api.create(&params, &secret).await.map(|_| KeylessWrite::Written);
    };
    match state_of(Some(&current), cd) {
        SecretState::Present { has_key: true, .. } => return Ok(KeylessWrite::AlreadyHeld),
        SecretState::Present {
            owner: SecretOwner::ThisResource,
            ..
        } => {}
        _ => return Ok(KeylessWrite::NotOurs),
    }
    let patch = json!({
        "metadata": { "resourceVersion": current.metadata.resource_version, "labels": labels(cd) },
        "data": encoded_data(content, Some(key)),
    });
    api.patch(&content.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| KeylessWrite::Written)
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
    let secret = create_body(cd, content, key);
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

/// A new Secret of this resource, owned by it, with `content` (and the key, if given).
fn create_body(cd: &CustomDomain, content: &SecretContent, key: Option<&Redacted<String>>) -> Secret {
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
    secret
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

    fn cd(uid: &str) -> CustomDomain {
        let mut cd: CustomDomain = serde_json::from_value(serde_json::json!({
            "apiVersion": "auth0.domain-operator.dev/v1alpha1",
            "kind": "CustomDomain",
            "metadata": {"name": "login", "namespace": "team-a", "uid": uid},
            "spec": {"domain": "login.example.com", "type": "SelfManagedCerts", "tenantRef": {"name": "t"}}
        }))
        .unwrap();
        cd.metadata.uid = Some(uid.to_owned());
        cd
    }

    fn owned_by(mut s: Secret, uid: &str, name: &str) -> Secret {
        s.metadata.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "auth0.domain-operator.dev/v1alpha1".into(),
                kind: "CustomDomain".into(),
                name: name.into(),
                uid: uid.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
        ]);
        s
    }

    #[test]
    fn state_reads_key_and_origin() {
        let me = cd("uid-1");
        assert_eq!(state_of(None, &me), SecretState::Absent);
        let ours = |key: &str, origin: &str| {
            owned_by(
                secret(&[("cname-api-key", key), ("origin-domain-name", origin)]),
                "uid-1",
                "login",
            )
        };
        let present = |has_key, origin| SecretState::Present {
            has_key,
            origin,
            owner: SecretOwner::ThisResource,
        };
        let full = ours("k", "o.example");
        assert_eq!(state_of(Some(&full), &me), present(true, Some("o.example")));
        let empty = ours("", "");
        assert_eq!(state_of(Some(&empty), &me), present(false, None));
    }

    #[test]
    fn only_our_own_or_our_predecessors_secret_is_ours() {
        let me = cd("uid-1");
        let owner = |s: &Secret| match state_of(Some(s), &me) {
            SecretState::Present { owner, .. } => format!("{owner:?}"),
            SecretState::Absent => "absent".into(),
        };
        // Another CustomDomain's Secret (two resources naming one Secret).
        let theirs = owned_by(secret(&[("domain", "login.example.com")]), "uid-2", "other");
        assert_eq!(
            owner(&theirs),
            r#"Other { controller: Some(("CustomDomain", "other")) }"#
        );
        // A person's Secret: no owner, no labels.
        let persons = secret(&[("tls.crt", "x")]);
        assert_eq!(owner(&persons), "Other { controller: None }");
        // Left by a CustomDomain of the same name with deletionPolicy Orphan: claimable.
        let mut left = secret(&[("domain", "login.example.com"), ("cname-api-key", "k")]);
        left.metadata.labels = Some(labels(&me));
        assert_eq!(owner(&left), "Unclaimed");
        // Same labels but another domain's content: not ours to write into.
        let mut other_domain = secret(&[("domain", "www.example.com")]);
        other_domain.metadata.labels = Some(labels(&me));
        assert_eq!(owner(&other_domain), "Other { controller: None }");
    }
}
