//! The key escrow: a Secret in the operator's namespace that holds a one-time `cname_api_key`
//! while the CustomDomain's own Secret cannot be written (admission webhook, quota, outage).
//!
//! Auth0 returns the key once; without the escrow it would live only in the process's memory
//! and die with it (a restart, a lost leader Lease). The escrow is written only after a write to
//! the target Secret failed, read back when a ready domain's Secret lacks its key, and deleted once
//! the target holds the key (docs/design.md#key-safety).

use std::collections::BTreeMap;

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, PostParams},
};

use super::{LABEL_CUSTOM_DOMAIN, LABEL_MANAGED_BY, MANAGER, SECRET_KEY_CNAME_API_KEY, secret::MANAGED_BY};
use crate::auth0::Redacted;
use crate::resources::custom_domain::CustomDomain;

/// Label telling escrow Secrets apart from the other Secrets the operator manages.
pub const LABEL_ESCROW_FOR: &str = "auth0-domain-operator.dev/escrow-for-namespace";
/// Annotation naming the Auth0 domain id the escrowed key belongs to: a key of a domain that was
/// since deleted and recreated must never be written over the new domain's key.
pub const ANNOTATION_DOMAIN_ID: &str = "auth0-domain-operator.dev/custom-domain-id";

/// Name of the escrow Secret of a resource: by uid, so a re-created resource of the same name
/// never picks up its predecessor's key.
pub fn name(cd: &CustomDomain) -> Option<String> {
    cd.metadata
        .uid
        .as_ref()
        .map(|uid| format!("auth0-key-escrow-{uid}"))
}

/// Writes the escrow copy of the key of Auth0 domain `domain_id`; returns `namespace/name`.
pub async fn store(
    api: &Api<Secret>,
    namespace: &str,
    cd: &CustomDomain,
    domain_id: &str,
    key: &Redacted<String>,
) -> Result<String, EscrowError> {
    let name = name(cd).ok_or(EscrowError::NoUid)?;
    let mut secret = Secret {
        data: Some(BTreeMap::from([(
            SECRET_KEY_CNAME_API_KEY.to_owned(),
            ByteString(key.expose().clone().into_bytes()),
        )])),
        type_: Some("Opaque".to_owned()),
        ..Default::default()
    };
    secret.metadata.name = Some(name.clone());
    secret.metadata.namespace = Some(namespace.to_owned());
    secret.metadata.labels = Some(BTreeMap::from([
        (LABEL_MANAGED_BY.to_owned(), MANAGED_BY.to_owned()),
        (LABEL_CUSTOM_DOMAIN.to_owned(), cd.name_any()),
        (LABEL_ESCROW_FOR.to_owned(), cd.namespace().unwrap_or_default()),
    ]));
    secret.metadata.annotations = Some(BTreeMap::from([(
        ANNOTATION_DOMAIN_ID.to_owned(),
        domain_id.to_owned(),
    )]));
    let params = PostParams {
        field_manager: Some(MANAGER.to_owned()),
        ..Default::default()
    };
    match api.create(&params, &secret).await {
        Ok(_) => {}
        // One key per domain: an existing escrow holds this same key (a retry after a crash).
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(source) => return Err(EscrowError::Kube(source)),
    }
    Ok(format!("{namespace}/{name}"))
}

/// The escrowed key of a resource's Auth0 domain `domain_id`, if there is one. An escrow written
/// for another domain id (the domain was recreated since) holds a dead key: it is not returned.
pub async fn load(
    api: &Api<Secret>,
    cd: &CustomDomain,
    domain_id: &str,
) -> Result<Option<Redacted<String>>, EscrowError> {
    let name = name(cd).ok_or(EscrowError::NoUid)?;
    let Some(secret) = api.get_opt(&name).await.map_err(EscrowError::Kube)? else {
        return Ok(None);
    };
    if !belongs_to(&secret, domain_id) {
        return Ok(None);
    }
    let key = secret
        .data
        .as_ref()
        .and_then(|d| d.get(SECRET_KEY_CNAME_API_KEY))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .filter(|k| !k.is_empty());
    Ok(key.map(Redacted::new))
}

/// Whether an escrow Secret holds the key of `domain_id` (escrows written before the annotation
/// existed carry none and are taken as this domain's: only one domain per resource had one then).
fn belongs_to(secret: &Secret, domain_id: &str) -> bool {
    secret
        .annotations()
        .get(ANNOTATION_DOMAIN_ID)
        .is_none_or(|id| id == domain_id)
}

/// Deletes the escrow copy once the target Secret holds the key (absent counts as done).
pub async fn discard(api: &Api<Secret>, cd: &CustomDomain) -> Result<(), EscrowError> {
    let Some(name) = name(cd) else {
        return Ok(());
    };
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(EscrowError::Kube(source)),
    }
}

/// Why the escrow could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EscrowError {
    /// The resource has no uid (never stored by an API server).
    #[error("the CustomDomain has no uid")]
    NoUid,
    /// The Kubernetes API refused or failed.
    #[error("escrow Secret: {0}")]
    Kube(#[source] kube::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escrow_of_another_domain_id_is_not_this_domains() {
        let mut s = Secret::default();
        assert!(
            belongs_to(&s, "cd_new"),
            "an escrow from before the annotation counts"
        );
        s.metadata.annotations = Some(BTreeMap::from([(
            ANNOTATION_DOMAIN_ID.to_owned(),
            "cd_old".to_owned(),
        )]));
        assert!(!belongs_to(&s, "cd_new"));
        assert!(belongs_to(&s, "cd_old"));
    }
}
