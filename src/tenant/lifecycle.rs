//! Pure decisions about an `Auth0Tenant`'s life: its finalizer (a tenant stays while CustomDomains
//! still need its client to delete their Auth0 domains) and which operator writes it.

use crate::custom_domain::{has_finalizer, store::StoredDomain};

/// Kept on every Auth0Tenant while CustomDomains referencing it still have cleanup to do:
/// deleting the tenant first would otherwise leave their Auth0 domains behind.
pub const FINALIZER: &str = "auth0-domain-operator.dev/tenant-in-use";

/// How many remaining domains a message names.
const NAMED: usize = 3;

/// `namespace/name` of each CustomDomain of `tenant` that still carries the cleanup finalizer
/// (so its deletion, or its Delete policy, still needs the tenant), sorted.
pub fn remaining_domains<'a>(
    tenant: &str,
    domains: impl IntoIterator<Item = &'a StoredDomain>,
) -> Vec<String> {
    let mut out: Vec<String> = domains
        .into_iter()
        .filter(|cd| cd.spec.tenant_ref.name == tenant)
        .filter(|cd| has_finalizer(*cd))
        .map(|cd| {
            format!(
                "{}/{}",
                cd.metadata.namespace.as_deref().unwrap_or_default(),
                cd.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

/// The `Deleting` condition's message while `remaining` (non-empty) hold the tenant.
pub fn remaining_message(remaining: &[String]) -> String {
    let named = remaining
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = remaining.len().saturating_sub(NAMED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "deletion waits for {} CustomDomain(s) that still need this tenant to clean up ({named}{tail}): delete them first or set deletionPolicy: Orphan on them",
        remaining.len()
    )
}

/// What to do with the tenant's finalizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinalizerStep {
    /// Nothing: not ours to manage, or already as it should be.
    None,
    /// Add it (a live tenant without it).
    Add,
    /// Deleting, but domains remain: keep it, report them.
    Hold(String),
    /// Deleting and nothing needs the tenant any more: remove it.
    Release,
    /// Deleting, but the CustomDomains have not been listed since this process started: an empty
    /// store is not "none left". Look again shortly.
    AwaitDomainList,
}

/// The finalizer step of a tenant; `owner` is whether this operator manages the tenant (see
/// [`writes_tenant`]); `remaining` is `None` until the CustomDomain store has had its first list.
pub fn finalizer_step(
    owner: bool,
    deleting: bool,
    has_finalizer: bool,
    remaining: Option<&[String]>,
) -> FinalizerStep {
    match (owner, deleting, has_finalizer, remaining) {
        (false, _, _, _) | (true, true, false, _) => FinalizerStep::None,
        (true, false, false, _) => FinalizerStep::Add,
        (true, false, true, _) => FinalizerStep::None,
        (true, true, true, None) => FinalizerStep::AwaitDomainList,
        (true, true, true, Some([])) => FinalizerStep::Release,
        (true, true, true, Some(remaining)) => FinalizerStep::Hold(remaining_message(remaining)),
    }
}

/// Whether this operator writes a tenant's status and finalizer. A cluster-wide operator writes
/// every tenant. Operators scoped with `--namespace` share cluster-scoped tenants, so each writes
/// only the tenants whose credentials Secret lives in its own namespace: one writer per tenant
/// however many namespaced operators see it.
pub fn writes_tenant(namespace_scoped: bool, home_namespace: &str, credentials_namespace: &str) -> bool {
    !namespace_scoped || home_namespace == credentials_namespace
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::names::CUSTOM_DOMAIN_FINALIZER as DOMAIN_FINALIZER;

    fn cd(ns: &str, name: &str, tenant: &str, finalizers: &[&str]) -> StoredDomain {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "auth0.domain-operator.dev/v1alpha1",
            "kind": "CustomDomain",
            "metadata": {"namespace": ns, "name": name, "finalizers": finalizers},
            "spec": {"tenantRef": {"name": tenant}, "domain": format!("{name}.example.com"), "type": "Auth0ManagedCerts"},
        }))
        .unwrap()
    }

    #[test]
    fn remaining_counts_only_this_tenants_domains_with_the_cleanup_finalizer() {
        let domains = [
            cd("b", "two", "t", &[DOMAIN_FINALIZER]),
            cd("a", "one", "t", &["other.example/x", DOMAIN_FINALIZER]),
            cd("a", "gone", "t", &[]),
            cd("a", "foreign", "other", &[DOMAIN_FINALIZER]),
            cd("a", "unrelated", "t", &["other.example/x"]),
        ];
        assert_eq!(remaining_domains("t", &domains), vec!["a/one", "b/two"]);
        assert!(remaining_domains("nobody", &domains).is_empty());
    }

    #[test]
    fn message_names_the_first_few() {
        let two = remaining_message(&["a/one".into(), "b/two".into()]);
        assert!(two.starts_with("deletion waits for 2 CustomDomain(s)"), "{two}");
        assert!(
            two.contains("(a/one, b/two)") && two.contains("deletionPolicy: Orphan"),
            "{two}"
        );
        let many: Vec<String> = (0..5).map(|i| format!("ns/d{i}")).collect();
        let m = remaining_message(&many);
        assert!(m.contains("(ns/d0, ns/d1, ns/d2 and 2 more)"), "{m}");
    }

    #[test]
    fn finalizer_steps() {
        let some = Some(&["a/one".to_owned()][..]);
        let none: Option<&[String]> = Some(&[]);
        let unlisted: Option<&[String]> = None;
        for (owner, deleting, has, remaining, want) in [
            (true, false, false, &none, FinalizerStep::Add),
            (true, false, true, &some, FinalizerStep::None),
            (true, true, true, &none, FinalizerStep::Release),
            // After a restart, before the CustomDomains are listed: never release.
            (true, true, true, &unlisted, FinalizerStep::AwaitDomainList),
            (
                true,
                true,
                true,
                &some,
                FinalizerStep::Hold(remaining_message(&["a/one".to_owned()])),
            ),
            // Deleting without ours: nothing to hold (the API server removes it at once).
            (true, true, false, &some, FinalizerStep::None),
            (false, false, false, &none, FinalizerStep::None),
            (false, true, true, &none, FinalizerStep::None),
        ] {
            assert_eq!(
                finalizer_step(owner, deleting, has, *remaining),
                want,
                "{owner} {deleting} {has}"
            );
        }
    }

    #[test]
    fn one_writer_per_tenant() {
        assert!(writes_tenant(false, "ops", "anywhere"));
        assert!(writes_tenant(true, "team-a", "team-a"));
        assert!(!writes_tenant(true, "team-b", "team-a"));
    }
}
