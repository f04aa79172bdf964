//! What the operator keeps of each `CustomDomain` in memory.
//!
//! The reflector store holds every CustomDomain the operator watches (10,000 at the scale the
//! benches run), and it was the operator's largest allocation. It keeps a [`StoredDomain`]: the
//! metadata and the spec, which is all that routes a change to its reconcile and picks the
//! tenant. The status (conditions, records; about two thirds of a Ready object's memory) is not
//! kept: a reconcile reads the object fresh before it plans, which also means it never plans on a
//! status older than its own last write.
//!
//! Metadata the operator never reads goes too: managedFields, labels (GitOps tools add several)
//! and every annotation outside the operator's own prefix (`kubectl apply`'s copy of the whole
//! manifest among them). A `BTreeMap` with a single entry allocates a whole node (about half a
//! kilobyte for `String` pairs), so a map left empty is dropped, not kept.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserialize;

use crate::resources::{CustomDomain, CustomDomainSpec};

/// A `CustomDomain` as the controller's store keeps it: trimmed metadata and the spec, no status.
/// Decoded through [`CustomDomain`], so an object that does not fit the CRD's type is refused
/// here exactly as before.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "CustomDomain")]
pub struct StoredDomain {
    /// Metadata, trimmed by [`trim`].
    pub metadata: ObjectMeta,
    /// The spec as the watch last saw it.
    pub spec: CustomDomainSpec,
}

impl From<CustomDomain> for StoredDomain {
    fn from(mut cd: CustomDomain) -> Self {
        trim(&mut cd);
        Self {
            metadata: cd.metadata,
            spec: cd.spec,
        }
    }
}

impl Resource for StoredDomain {
    type DynamicType = ();
    type Scope = <CustomDomain as Resource>::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        CustomDomain::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        CustomDomain::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        CustomDomain::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        CustomDomain::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Prefix of the annotations the operator reads (`auth0-domain-operator.dev/adopt`, …).
pub const OWN_ANNOTATION_PREFIX: &str = "auth0-domain-operator.dev/";

/// Drops what no reconcile reads; applied to each object before the store keeps it.
pub fn trim(cd: &mut CustomDomain) {
    let meta = &mut cd.metadata;
    meta.managed_fields = None;
    meta.labels = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.retain(|key, _| key.starts_with(OWN_ANNOTATION_PREFIX));
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resources::custom_domain::{ADOPT_ANNOTATION, RECREATE_ON_KEY_LOSS_ANNOTATION};
    use kube::ResourceExt;

    #[test]
    fn the_operators_own_annotations_stay() {
        for key in [ADOPT_ANNOTATION, RECREATE_ON_KEY_LOSS_ANNOTATION] {
            assert!(key.starts_with(OWN_ANNOTATION_PREFIX), "{key}");
        }
        let mut cd: CustomDomain = serde_json::from_value(serde_json::json!({
            "apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
            "metadata": {
                "name": "login", "namespace": "shop",
                "labels": {"app.kubernetes.io/instance": "shop"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "auth0-domain-operator.dev/adopt": "true",
                },
                "managedFields": [{"manager": "kubectl", "operation": "Update"}],
            },
            "spec": {"domain": "login.example.com", "type": "SelfManagedCerts"},
        }))
        .unwrap();
        trim(&mut cd);
        assert!(cd.annotation_is_true(ADOPT_ANNOTATION));
        assert_eq!(cd.metadata.annotations.as_ref().unwrap().len(), 1);
        assert_eq!(cd.metadata.labels, None);
        assert_eq!(cd.metadata.managed_fields, None);

        cd.metadata.annotations.as_mut().unwrap().clear();
        cd.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("other/x".into(), "1".into());
        trim(&mut cd);
        assert_eq!(
            cd.metadata.annotations, None,
            "an emptied map is dropped, not kept"
        );
    }

    #[test]
    fn the_store_keeps_metadata_and_spec_and_refuses_what_the_crd_would() {
        let stored: StoredDomain = serde_json::from_value(serde_json::json!({
            "apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
            "metadata": {
                "name": "login", "namespace": "shop", "generation": 3,
                "finalizers": ["auth0-domain-operator.dev/cleanup"],
                "labels": {"app.kubernetes.io/instance": "shop"},
                "managedFields": [{"manager": "kubectl", "operation": "Update"}],
            },
            "spec": {"domain": "login.example.com", "type": "SelfManagedCerts", "tenantRef": {"name": "prod"}},
            "status": {"customDomainId": "cd_1", "conditions": [{"type": "Ready", "status": "True",
                "reason": "Ready", "message": "m", "lastTransitionTime": "2026-12-07T00:00:00Z"}]},
        }))
        .unwrap();
        assert_eq!(stored.spec.tenant_ref.name, "prod");
        assert_eq!(stored.spec.domain, "login.example.com");
        assert_eq!(stored.metadata.generation, Some(3));
        assert_eq!(stored.finalizers(), ["auth0-domain-operator.dev/cleanup"]);
        assert_eq!(
            (stored.metadata.labels, stored.metadata.managed_fields),
            (None, None)
        );
        assert_eq!(StoredDomain::kind(&()), "CustomDomain");
        assert_eq!(StoredDomain::plural(&()), "customdomains");

        let bad = serde_json::from_value::<StoredDomain>(serde_json::json!({
            "apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
            "metadata": {"name": "login", "namespace": "shop"},
            "spec": {"domain": 7, "type": "SelfManagedCerts"},
        }));
        assert!(
            bad.is_err(),
            "an object the CRD's type refuses is refused by the store too"
        );
    }
}
