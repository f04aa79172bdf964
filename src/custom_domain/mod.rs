//! The `CustomDomain` controller: the pure [`plan`] (observed state + spec → steps + status) and,
//! beside it, the I/O that executes a plan.

pub mod children;
pub mod escrow;
pub mod plan;
pub mod reconcile;
pub mod resync;
pub mod secret;
pub mod store;
pub mod trigger;

pub use crate::names::{CUSTOM_DOMAIN_FINALIZER as FINALIZER, MANAGER};

/// Whether a CustomDomain (whole or as stored) still carries the cleanup finalizer: its Auth0
/// domain may still need deleting, so its tenant must stay.
pub fn has_finalizer(obj: &impl kube::Resource) -> bool {
    obj.meta().finalizers.iter().flatten().any(|f| f == FINALIZER)
}

/// Secret key: the one-time `cname_api_key` (self-managed domains).
pub const SECRET_KEY_CNAME_API_KEY: &str = "cname-api-key";
/// Secret key: Auth0's `origin_domain_name` (where the proxy forwards to).
pub const SECRET_KEY_ORIGIN_DOMAIN_NAME: &str = "origin-domain-name";
/// Secret key: the custom domain itself.
pub const SECRET_KEY_DOMAIN: &str = "domain";
/// Secret key: the mTLS alias (`mtls.<domain>`) when `spec.mtls.enabled`.
pub const SECRET_KEY_MTLS_DOMAIN: &str = "mtls-domain";
/// Label on every Secret the operator manages.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label naming the owning `CustomDomain`.
pub const LABEL_CUSTOM_DOMAIN: &str = "auth0-domain-operator.dev/custom-domain";
