//! The operator's Kubernetes resources (`auth0.domain-operator.dev/v1alpha1`) and their CRD YAML.

pub mod conditions;
pub mod custom_domain;
pub mod tenant;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use custom_domain::{CustomDomain, CustomDomainSpec, CustomDomainStatus};
pub use tenant::{Auth0Tenant, Auth0TenantSpec, Auth0TenantStatus};

/// The API group of both resources.
pub const GROUP: &str = "auth0.domain-operator.dev";
/// The API version of both resources.
pub const VERSION: &str = "v1alpha1";

/// First line of every generated CRD file.
const HEADER: &str = "# Generated from src/resources by `auth0-domain-operator crd --write`; do not edit.\n";

/// The CRDs with the file name each is committed under in `crds/`.
pub fn crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("customdomains.yaml", CustomDomain::crd()),
        ("auth0tenants.yaml", Auth0Tenant::crd()),
    ]
}

/// Renders a CRD as the YAML committed in `crds/`.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml_ng::Error> {
    Ok(format!("{HEADER}{}", serde_yaml_ng::to_string(crd)?))
}

/// All CRDs as one multi-document YAML stream (what `auth0-domain-operator crd` prints).
pub fn all_yaml() -> Result<String, serde_yaml_ng::Error> {
    let mut out = String::new();
    for (_, crd) in crds() {
        out.push_str("---\n");
        out.push_str(&to_yaml(&crd)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
