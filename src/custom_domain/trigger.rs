//! Which changes to a `CustomDomain` wake its reconcile.
//!
//! The operator's own status writes (and its finalizer) are echoed back by the watch; reconciling
//! on each echo re-reads the Secret and DNS for nothing, and at 1,000 domains those echoes take
//! reconcile slots from domains that have Auth0 work to do. Only what a person or another
//! controller changes matters: the spec (`generation`), deletion and the operator's own
//! annotations (adopt, recreate-on-key-loss; the store keeps no others, see [`super::store`]).
//! Everything else is caught by the planned requeue. A tenant's health flip wakes that tenant's
//! domains ([`of_tenant`]), and no others.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use kube::Resource;
use kube::runtime::reflector::ObjectRef;

use super::store::StoredDomain;

/// The domains (of those the operator sees) that belong to `tenant`.
pub fn of_tenant(domains: &[Arc<StoredDomain>], tenant: &str) -> Vec<ObjectRef<StoredDomain>> {
    domains
        .iter()
        .filter(|cd| cd.spec.tenant_ref.name == tenant)
        .map(|cd| ObjectRef::from_obj(&**cd))
        .collect()
}

/// The predicate for `predicate_filter`: a hash of the fields whose change wakes a reconcile.
pub fn relevant_change(cd: &StoredDomain) -> Option<u64> {
    Some(stamp(cd))
}

/// The hash [`relevant_change`] compares, of any view of the object (metadata only): equal
/// stamps mean nobody changed what a reconcile reacts to. The object must be trimmed as the
/// store trims it (`super::store::trim`), or foreign annotations change the stamp.
pub fn stamp(obj: &impl Resource) -> u64 {
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut h);
    meta.annotations.hash(&mut h);
    h.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resources::CustomDomain;
    use kube::ResourceExt;

    /// The predicate of a whole object, as the watch decodes it into the store.
    fn hash(cd: &CustomDomain) -> Option<u64> {
        relevant_change(&StoredDomain::from(cd.clone()))
    }

    fn cd() -> CustomDomain {
        let mut cd = CustomDomain::new(
            "login",
            serde_json::from_value(
                serde_json::json!({"domain": "login.example.com", "type": "SelfManagedCerts"}),
            )
            .unwrap(),
        );
        cd.metadata.generation = Some(1);
        cd
    }

    #[test]
    fn status_and_finalizer_echoes_do_not_wake() {
        let base = cd();
        let mut echoed = base.clone();
        echoed.status = Some(Default::default());
        echoed.metadata.finalizers = Some(vec!["auth0-domain-operator.dev/cleanup".into()]);
        echoed.metadata.resource_version = Some("42".into());
        assert_eq!(hash(&base), hash(&echoed));
    }

    #[test]
    fn spec_deletion_and_annotations_wake() {
        let base = cd();
        let mut spec = base.clone();
        spec.metadata.generation = Some(2);
        let mut deleted = base.clone();
        deleted.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::now(),
        ));
        let mut annotated = base.clone();
        annotated
            .annotations_mut()
            .insert("auth0-domain-operator.dev/adopt".into(), "true".into());
        for other in [spec, deleted, annotated] {
            assert_ne!(hash(&base), hash(&other));
        }
    }

    #[test]
    fn a_tenant_flip_wakes_only_that_tenants_domains() {
        let mut a = cd();
        a.metadata.namespace = Some("team-a".into());
        let mut b = cd();
        b.metadata.name = Some("other".into());
        b.metadata.namespace = Some("team-b".into());
        b.spec.tenant_ref.name = "prod".into();
        let all = vec![Arc::new(StoredDomain::from(a)), Arc::new(StoredDomain::from(b))];
        let woken = of_tenant(&all, "prod");
        assert_eq!(woken.len(), 1);
        assert_eq!(woken[0].name, "other");
        assert_eq!(of_tenant(&all, "default").len(), 1);
        assert!(of_tenant(&all, "staging").is_empty());
    }
}
