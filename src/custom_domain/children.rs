//! Applies (and removes) the optional child objects of a `CustomDomain`: the external-dns
//! `DNSEndpoint` and the cert-manager `Certificate` that the [`plan`](super::plan)
//! builds. Server-side apply with our field manager and `force`, owned by the `CustomDomain` so the
//! garbage collector removes them with it.
//!
//! Neither CRD is ours: when one is not installed the apply answers 404 for the whole resource
//! type, which is reported as [`ChildState::CrdMissing`] (a condition message, not an error).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{
    Api, Resource, ResourceExt,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams},
};
use serde_json::Value;
use tracing::{debug, info, warn};

use super::MANAGER;
use super::plan::{
    CERTIFICATE_API_VERSION, DNS_ENDPOINT_API_VERSION, certificate_name, certificate_object,
    dns_endpoint_name, dns_endpoint_object,
};
use crate::auth0::types as wire;
use crate::resources::conditions::{ConditionType, Reason};
use crate::resources::custom_domain::CustomDomain;

/// Condition type summarising the child objects (present only while a child is requested, or
/// until a switched-off child is deleted).
pub const CONDITION_TYPE: &str = ConditionType::ChildObjectsReady.as_str();

/// Which child object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// external-dns `DNSEndpoint` (`spec.dnsEndpoint.enabled`).
    DnsEndpoint,
    /// cert-manager `Certificate` (`spec.certificate.issuerRef`).
    Certificate,
}

impl ChildKind {
    /// The `ApiResource` of this kind (group/version/kind and plural).
    pub fn api_resource(self) -> ApiResource {
        let (api_version, kind, plural) = match self {
            Self::DnsEndpoint => (DNS_ENDPOINT_API_VERSION, "DNSEndpoint", "dnsendpoints"),
            Self::Certificate => (CERTIFICATE_API_VERSION, "Certificate", "certificates"),
        };
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }

    /// What a person should do when the CRD is missing.
    fn missing_message(self) -> &'static str {
        match self {
            Self::DnsEndpoint => {
                "external-dns DNSEndpoint CRD is not installed; install external-dns or disable spec.dnsEndpoint"
            }
            Self::Certificate => {
                "cert-manager Certificate CRD is not installed; install cert-manager or remove spec.certificate.issuerRef"
            }
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::DnsEndpoint => "DNSEndpoint",
            Self::Certificate => "Certificate",
        }
    }
}

/// What happened to one child in a [`sync`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildState {
    /// Not requested by the spec, nothing to delete.
    NotRequested,
    /// Requested, but its content is not known yet (the `DNSEndpoint` needs Auth0's record).
    Waiting,
    /// Server-side applied (object name).
    Applied(String),
    /// Switched off in the spec: deleted (or already gone).
    Deleted,
    /// Requested, but the cluster does not serve its CRD.
    CrdMissing,
    /// The API call failed (message without secrets).
    Failed(String),
    /// An object of that name exists and was not created by this CustomDomain: left untouched.
    NotOwned(String),
    /// The spec asks for something the tenant does not allow (the text says what).
    Refused(String),
}

/// Result of a [`sync`]: the state of each child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildrenReport {
    /// The `DNSEndpoint`.
    pub dns_endpoint: ChildState,
    /// The `Certificate`.
    pub certificate: ChildState,
}

impl ChildrenReport {
    /// The summary condition, or `None` when no child is requested (the condition is removed).
    pub fn condition(&self, generation: Option<i64>, now: jiff::Timestamp) -> Option<Condition> {
        let pairs = [
            (ChildKind::DnsEndpoint, &self.dns_endpoint),
            (ChildKind::Certificate, &self.certificate),
        ];
        let requested: Vec<_> = pairs
            .iter()
            .filter(|(_, s)| !matches!(s, ChildState::NotRequested | ChildState::Deleted))
            .collect();
        if requested.is_empty() {
            return None;
        }
        let mut problems = Vec::new();
        let mut reason = Reason::ChildObjectsApplied;
        let mut waiting = Vec::new();
        for (kind, state) in &requested {
            match state {
                ChildState::CrdMissing => {
                    reason = Reason::ChildCrdNotInstalled;
                    problems.push(kind.missing_message().to_owned());
                }
                ChildState::Failed(msg) => {
                    if reason != Reason::ChildCrdNotInstalled {
                        reason = Reason::ChildObjectsFailed;
                    }
                    problems.push(format!("applying the {} failed: {msg}", kind.label()));
                }
                ChildState::NotOwned(msg) => {
                    if reason == Reason::ChildObjectsApplied {
                        reason = Reason::ChildObjectsFailed;
                    }
                    problems.push(msg.clone());
                }
                ChildState::Refused(msg) => {
                    reason = Reason::IssuerNotAllowed;
                    problems.push(msg.clone());
                }
                ChildState::Waiting => waiting.push(kind.label()),
                _ => {}
            }
        }
        let ok = problems.is_empty() && waiting.is_empty();
        if problems.is_empty() && !waiting.is_empty() {
            reason = Reason::ChildObjectsWaiting;
        }
        let message = if !problems.is_empty() {
            problems.join("; ")
        } else if !waiting.is_empty() {
            format!(
                "{} waits for this resource's domain in Auth0 and its verification record",
                waiting.join(", ")
            )
        } else {
            let names: Vec<String> = requested
                .iter()
                .filter_map(|(k, s)| match s {
                    ChildState::Applied(n) => Some(format!("{} {n}", k.label())),
                    _ => None,
                })
                .collect();
            format!("applied {}", names.join(", "))
        };
        Some(Condition {
            type_: CONDITION_TYPE.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            reason: reason.as_str().to_owned(),
            message,
            observed_generation: generation,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now),
        })
    }
}

/// Whether the `CustomDomain`'s status says this child was managed before, so that, switched off,
/// it may still exist and is worth a DELETE; otherwise no call is made. The condition's message
/// names every child that was requested in the last sync ("applied DNSEndpoint …", "… Certificate
/// CRD is not installed", "applying the Certificate failed"), and stops naming one once it is
/// deleted, so each switched-off child costs one DELETE, not one per reconcile.
fn may_exist(cd: &CustomDomain, kind: ChildKind) -> bool {
    cd.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == CONDITION_TYPE && c.message.contains(kind.label()))
    })
}

/// Applies the requested children and deletes switched-off ones. `remote` is the Auth0 domain this
/// resource holds, when known: the `DNSEndpoint` holds its verification record, and neither child
/// is made before it (a name the resource does not hold gets no record and no certificate).
/// Never fails: each child's outcome is in the report.
pub async fn sync(
    client: &kube::Client,
    cd: &CustomDomain,
    remote: Option<&wire::CustomDomain>,
    allowed_cluster_issuers: &[String],
) -> ChildrenReport {
    let dns_wanted = cd.spec.dns_endpoint.as_ref().is_some_and(|d| d.enabled);
    let dns_endpoint = sync_one(
        client,
        cd,
        ChildKind::DnsEndpoint,
        dns_wanted,
        dns_endpoint_object(cd, remote),
        dns_endpoint_name(cd),
    )
    .await;
    let cert = certificate_object(cd);
    let cert_wanted = cert.is_some();
    let cert = cert.filter(|_| remote.is_some());
    let certificate = match issuer_refusal(cd, allowed_cluster_issuers) {
        Some(why) => ChildState::Refused(why),
        None => {
            sync_one(
                client,
                cd,
                ChildKind::Certificate,
                cert_wanted,
                cert,
                certificate_name(cd),
            )
            .await
        }
    };
    ChildrenReport {
        dns_endpoint,
        certificate,
    }
}

/// Why `spec.certificate.issuerRef` may not be used: a ClusterIssuer signs for every namespace,
/// so only the ones the tenant lists may be named (Issuers are the namespace's own).
pub fn issuer_refusal(cd: &CustomDomain, allowed_cluster_issuers: &[String]) -> Option<String> {
    let issuer = cd.spec.certificate.as_ref()?.issuer_ref.as_ref()?;
    // cert-manager's own `Issuer` lives in the namespace; any other kind (ClusterIssuer, or an
    // external issuer that may be cluster-scoped) must be listed by the tenant.
    let namespaced = matches!(issuer.kind.as_deref(), None | Some("Issuer"))
        && matches!(issuer.group.as_deref(), None | Some("cert-manager.io"));
    if namespaced || allowed_cluster_issuers.contains(&issuer.name) {
        return None;
    }
    Some(format!(
        "{} {} is not among Auth0Tenant {}'s spec.allowedClusterIssuers: use an Issuer in this namespace, or ask the tenant's owner to allow it",
        issuer.kind.as_deref().unwrap_or("Issuer"),
        issuer.name,
        cd.spec.tenant_ref.name
    ))
}

/// An object with a child's name, as found.
enum Existing {
    Absent,
    /// Its controller is this CustomDomain (the object's uid).
    Ours(Option<String>),
    /// Somebody else's (the condition's text).
    Foreign(String),
}

/// Whose an existing child is: ours by controller ownerReference with this CustomDomain's uid.
async fn existing(
    api: &Api<DynamicObject>,
    cd: &CustomDomain,
    kind: ChildKind,
    name: &str,
) -> Result<Existing, kube::Error> {
    let Some(obj) = api.get_opt(name).await? else {
        return Ok(Existing::Absent);
    };
    let ours = obj
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && cd.metadata.uid.as_deref() == Some(r.uid.as_str()));
    if ours {
        return Ok(Existing::Ours(obj.metadata.uid));
    }
    Ok(Existing::Foreign(format!(
        "{} {name} exists and was not created by this CustomDomain: it is left untouched; rename or remove it, or turn this child off in the spec",
        kind.label()
    )))
}

async fn sync_one(
    client: &kube::Client,
    cd: &CustomDomain,
    kind: ChildKind,
    wanted: bool,
    body: Option<Value>,
    name: String,
) -> ChildState {
    let Some(ns) = cd.namespace() else {
        return ChildState::Failed("the CustomDomain has no namespace".to_owned());
    };
    let ar = kind.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
    match (wanted, body) {
        (true, Some(mut body)) => {
            // Never take over (or later delete) an object somebody else made under this name.
            match existing(&api, cd, kind, &name).await {
                Ok(Existing::Absent | Existing::Ours(_)) => {}
                Ok(Existing::Foreign(why)) => return ChildState::NotOwned(why),
                Err(e) if is_not_found(&e) => return ChildState::CrdMissing,
                Err(e) => return ChildState::Failed(e.to_string()),
            }
            // Owned by the CustomDomain: deleted with it by the garbage collector.
            if let Some(owner) = cd.controller_owner_ref(&()) {
                body["metadata"]["ownerReferences"] = serde_json::json!([owner]);
            }
            let pp = PatchParams::apply(MANAGER).force();
            match api.patch(&name, &pp, &Patch::Apply(&body)).await {
                Ok(_) => {
                    debug!(kind = kind.label(), %name, "child applied");
                    ChildState::Applied(name)
                }
                Err(e) if is_not_found(&e) => {
                    // A server-side apply creates a missing object: 404 means the type is not served.
                    info!(kind = kind.label(), "child CRD is not installed");
                    ChildState::CrdMissing
                }
                Err(e) => {
                    warn!(kind = kind.label(), %name, error = %e, "applying a child failed");
                    ChildState::Failed(e.to_string())
                }
            }
        }
        (true, None) => ChildState::Waiting,
        (false, _) if may_exist(cd, kind) => match existing(&api, cd, kind, &name).await {
            // Not ours, or gone: nothing of ours is left to delete.
            Ok(Existing::Absent | Existing::Foreign(_)) => ChildState::Deleted,
            Err(e) if is_not_found(&e) => ChildState::Deleted,
            Err(e) => ChildState::Failed(e.to_string()),
            Ok(Existing::Ours(uid)) => delete_child(&api, kind, &name, uid).await,
        },
        (false, _) => ChildState::NotRequested,
    }
}

/// Deletes a child this CustomDomain owns; the uid precondition keeps a same-named replacement
/// made in between safe.
async fn delete_child(
    api: &Api<DynamicObject>,
    kind: ChildKind,
    name: &str,
    uid: Option<String>,
) -> ChildState {
    let dp = DeleteParams::background().preconditions(kube::api::Preconditions {
        uid,
        resource_version: None,
    });
    match api.delete(name, &dp).await {
        Ok(_) => {
            info!(kind = kind.label(), %name, "switched-off child deleted");
            ChildState::Deleted
        }
        // Already gone, or the CRD is not installed: nothing of ours is left either way.
        Err(e) if is_not_found(&e) => ChildState::Deleted,
        Err(e) => {
            warn!(kind = kind.label(), %name, error = %e, "deleting a child failed");
            ChildState::Failed(e.to_string())
        }
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn report(d: ChildState, c: ChildState) -> ChildrenReport {
        ChildrenReport {
            dns_endpoint: d,
            certificate: c,
        }
    }

    #[test]
    fn no_condition_when_nothing_requested() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert_eq!(
            report(ChildState::NotRequested, ChildState::Deleted).condition(Some(1), now),
            None
        );
    }

    #[test]
    fn crd_missing_wins_and_says_what_to_do() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let c = report(ChildState::CrdMissing, ChildState::Failed("boom".into()))
            .condition(Some(2), now)
            .unwrap();
        assert_eq!(c.status, "False");
        assert_eq!(c.reason, Reason::ChildCrdNotInstalled.as_str());
        assert!(
            c.message
                .contains("external-dns DNSEndpoint CRD is not installed"),
            "{}",
            c.message
        );
        assert!(c.message.contains("boom"));
        assert_eq!(c.observed_generation, Some(2));
    }

    #[test]
    fn applied_and_waiting() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let ok = report(ChildState::Applied("a".into()), ChildState::Applied("b".into()))
            .condition(None, now)
            .unwrap();
        assert_eq!(
            (ok.status.as_str(), ok.reason.as_str()),
            ("True", Reason::ChildObjectsApplied.as_str())
        );
        assert_eq!(ok.message, "applied DNSEndpoint a, Certificate b");
        let w = report(ChildState::Waiting, ChildState::NotRequested)
            .condition(None, now)
            .unwrap();
        assert_eq!(
            (w.status.as_str(), w.reason.as_str()),
            ("False", Reason::ChildObjectsWaiting.as_str())
        );
    }

    #[test]
    fn only_children_named_by_the_condition_may_exist() {
        let mut cd = CustomDomain::new(
            "login",
            serde_json::from_value(
                serde_json::json!({"domain": "login.example.com", "type": "SelfManagedCerts"}),
            )
            .unwrap(),
        );
        assert!(!may_exist(&cd, ChildKind::DnsEndpoint));
        // The ChildObjects condition a reconcile that saw `dns` and `cert` would have written.
        let reported = |cd: &mut CustomDomain, dns, cert| {
            let cond = report(dns, cert)
                .condition(None, jiff::Timestamp::UNIX_EPOCH)
                .unwrap();
            cd.status = Some(crate::resources::custom_domain::CustomDomainStatus {
                conditions: vec![cond],
                ..Default::default()
            });
        };
        reported(
            &mut cd,
            ChildState::NotRequested,
            ChildState::Applied("login-tls".into()),
        );
        assert!(may_exist(&cd, ChildKind::Certificate));
        assert!(
            !may_exist(&cd, ChildKind::DnsEndpoint),
            "a DNSEndpoint that was never applied is not deleted on every reconcile"
        );
        reported(&mut cd, ChildState::CrdMissing, ChildState::NotRequested);
        assert!(may_exist(&cd, ChildKind::DnsEndpoint));
        assert!(!may_exist(&cd, ChildKind::Certificate));
    }

    #[test]
    fn only_listed_cluster_issuers_may_sign() {
        let with = |issuer: serde_json::Value| -> CustomDomain {
            CustomDomain::new(
                "login",
                serde_json::from_value(serde_json::json!({
                    "domain": "login.example.com", "type": "SelfManagedCerts",
                    "tenantRef": {"name": "prod"}, "certificate": {"issuerRef": issuer}
                }))
                .unwrap(),
            )
        };
        let allowed = vec!["letsencrypt".to_owned()];
        assert_eq!(
            issuer_refusal(&with(serde_json::json!({"name": "team-ca"})), &[]),
            None
        );
        assert_eq!(
            issuer_refusal(
                &with(serde_json::json!({"name": "team-ca", "kind": "Issuer"})),
                &[]
            ),
            None
        );
        let cluster = with(serde_json::json!({"name": "letsencrypt", "kind": "ClusterIssuer"}));
        assert_eq!(issuer_refusal(&cluster, &allowed), None);
        let refused = issuer_refusal(&cluster, &[]).unwrap();
        assert!(
            refused.contains("Auth0Tenant prod's spec.allowedClusterIssuers"),
            "{refused}"
        );
        let external = with(
            serde_json::json!({"name": "pca", "kind": "AWSPCAClusterIssuer", "group": "awspca.cert-manager.io"}),
        );
        assert!(issuer_refusal(&external, &allowed).is_some());
    }

    #[test]
    fn api_resources() {
        let d = ChildKind::DnsEndpoint.api_resource();
        assert_eq!(
            (d.group.as_str(), d.version.as_str(), d.plural.as_str()),
            ("externaldns.k8s.io", "v1alpha1", "dnsendpoints")
        );
        let c = ChildKind::Certificate.api_resource();
        assert_eq!(
            (c.group.as_str(), c.kind.as_str(), c.plural.as_str()),
            ("cert-manager.io", "Certificate", "certificates")
        );
    }
}
