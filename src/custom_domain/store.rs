//! What the operator keeps of each `CustomDomain` in memory.
//!
//! The reflector store holds every CustomDomain the operator watches (10,000 at the scale the
//! benches run), and it is the operator's largest allocation. Metadata the operator never reads
//! goes before an object is stored: managedFields, labels (GitOps tools add several) and every
//! annotation outside the operator's own prefix (`kubectl apply`'s copy of the whole manifest among
//! them). A `BTreeMap` with a single entry allocates a whole node (about half a kilobyte for
//! `String` pairs), so a map left empty is dropped, not kept.

use crate::resources::CustomDomain;

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
}
