//! Names the operator writes into Kubernetes that more than one layer needs: the field manager and
//! the `CustomDomain` finalizer. They live here, below both controllers, so the tenant side never
//! imports from the `CustomDomain` side (`docs/architecture.md#module-map`).

/// The one field manager (server-side apply) and Event reporter of the operator.
pub const MANAGER: &str = "auth0-domain-operator";

/// Finalizer that holds a `CustomDomain` until its Auth0 domain is cleaned up
/// (`docs/design.md#deletion`).
pub const CUSTOM_DOMAIN_FINALIZER: &str = "auth0-domain-operator.dev/cleanup";
