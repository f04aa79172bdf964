//! Status conditions: the condition types, the closed set of reasons, and `set_condition`.
//!
//! Conventions (Kubernetes API conventions + kstatus): `Ready`, `Verified`, `CertificateReady`,
//! `SecretStored` are normal-true; `Reconciling` and `Stalled` are abnormal-true (present and `True`
//! only while working / stuck, otherwise removed). `lastTransitionTime` moves only when `status` flips.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types the operator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionType {
    /// All gates pass for the current generation.
    Ready,
    /// Auth0 considers the domain verified.
    Verified,
    /// The certificate is issued (Auth0-managed) or handled at the edge (self-managed).
    CertificateReady,
    /// The edge Secret holds what the proxy needs.
    SecretStored,
    /// kstatus: the operator is working towards the spec.
    Reconciling,
    /// kstatus: progress needs a person.
    Stalled,
    /// mTLS endpoint aliases are available for this domain.
    MtlsAliases,
    /// Tenant: more domains than the plan includes.
    EntitlementExceeded,
    /// Tenant: the default custom domain (`spec.defaultCustomDomain`, or the lack of one).
    DefaultDomain,
    /// The optional children (external-dns `DNSEndpoint`, cert-manager `Certificate`) are applied;
    /// present only while a child is requested.
    ChildObjectsReady,
    /// CustomDomain: the tenant's Management API cannot be used right now (credentials, outage);
    /// present only while that is so. `Ready` keeps what it was: the domain goes on serving.
    TenantReachable,
    /// Tenant: abnormal-true while a deletion waits for CustomDomains that still need the tenant.
    Deleting,
}

impl ConditionType {
    /// The `type` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::Verified => "Verified",
            Self::CertificateReady => "CertificateReady",
            Self::SecretStored => "SecretStored",
            Self::Reconciling => "Reconciling",
            Self::Stalled => "Stalled",
            Self::MtlsAliases => "MtlsAliases",
            Self::EntitlementExceeded => "EntitlementExceeded",
            Self::DefaultDomain => "DefaultDomain",
            Self::ChildObjectsReady => "ChildObjectsReady",
            Self::TenantReachable => "TenantReachable",
            Self::Deleting => "Deleting",
        }
    }
}

impl fmt::Display for ConditionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        /// Every condition `reason` (and Event reason) the operator uses, CamelCase.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$doc])* $name,)+
        }

        impl Reason {
            /// All reasons, for tests and documentation.
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)+];

            /// The reason string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => stringify!($name),)+
                }
            }
        }
    };
}

reasons! {
    /// Everything is in place.
    Ready,
    /// Auth0 verified the domain.
    Verified,
    /// The verification record is not visible in DNS yet.
    AwaitingDns,
    /// The record is visible; verification was requested and is pending in Auth0.
    AwaitingVerification,
    /// Auth0 refused the verification.
    VerificationFailed,
    /// Auth0 is issuing the certificate.
    Provisioning,
    /// The certificate is issued.
    Provisioned,
    /// The certificate is handled by the user's edge proxy (self-managed).
    SelfManaged,
    /// Auth0 could not issue or renew the certificate.
    CertificateFailed,
    /// The Secret holds the key and origin.
    SecretStored,
    /// The Secret exists and waits for the key of the first verify.
    SecretPending,
    /// Auth0-managed domains need no key.
    NotRequired,
    /// The one-time `cname_api_key` is not in the Secret and cannot be fetched again.
    CnameApiKeyLost,
    /// An unmarked domain with this name already exists in Auth0.
    AlreadyExists,
    /// The domain belongs to another owner (cluster or resource).
    OwnedElsewhere,
    /// The resource asks to adopt an existing domain its tenant's `spec.adoption` does not allow.
    AdoptionNotAllowed,
    /// The tenant's `spec.allowedDomains` does not let this namespace claim `spec.domain`.
    DomainNotAllowed,
    /// The Secret `spec.secretName` names exists and belongs to something else: left untouched.
    SecretNotOwned,
    /// The one-time key is held by the operator (and in its escrow Secret) until the Secret
    /// write succeeds.
    KeyPendingWrite,
    /// `spec.certificate.issuerRef` names a ClusterIssuer the tenant does not allow.
    IssuerNotAllowed,
    /// The spec breaks an admission rule.
    InvalidSpec,
    /// The tenant is not ready (credentials, API).
    TenantNotReady,
    /// The tenant does not allow this namespace.
    TenantNotAllowed,
    /// The referenced Auth0Tenant does not exist.
    TenantNotFound,
    /// Auth0 refused the create: the tenant holds as many custom domains as its plan includes.
    EntitlementExceeded,
    /// Auth0 refused the create: the tenant's plan has no custom domains (or no verified card).
    PlanRefused,
    /// Auth0 refused the create for another reason (its message says which); not retried until
    /// the spec changes.
    CreateRefused,
    /// The record is visible; the domain waits for its turn in the tenant's verify budget.
    AwaitingVerifyBudget,
    /// The domain was deleted in Auth0 behind the operator's back.
    RemoteDeleted,
    /// Auth0 answered with an error.
    Auth0Error,
    /// The tenant's credentials Secret (or a key in it) is missing.
    CredentialsNotFound,
    /// Auth0 refused the tenant's credentials.
    CredentialsRejected,
    /// The credentials lack scopes the operator needs.
    MissingScopes,
    /// The Management API could not be reached or answered with a server error.
    Auth0Unreachable,
    /// The tenant's spec cannot be used (e.g. a plain-http URL without `--allow-insecure-auth0`).
    InvalidTenant,
    /// The tenant's credentials work and its API answers.
    TenantReady,
    /// Auth0 rate limit reached; waiting.
    RateLimited,
    /// The resource is being deleted.
    Deleting,
    /// The tenant has not enabled mTLS endpoint aliases.
    MtlsAliasesDisabled,
    /// mTLS endpoint aliases are enabled.
    MtlsAliasesEnabled,
    /// A create was requested.
    Creating,
    /// An existing domain was adopted.
    Adopted,
    /// The spec differs from Auth0; a PATCH was requested.
    Updating,
    /// The domain is recreated to obtain a new key.
    Recreating,
    /// The Auth0 domain state has not been read yet.
    AwaitingSnapshot,
    /// Auth0 reports the domain failed or disabled.
    DomainFailed,
    /// Tenant: the default custom domain is the one the spec names.
    DefaultDomainSet,
    /// Tenant: `spec.defaultCustomDomain` names a domain the tenant does not have.
    DefaultDomainNotFound,
    /// Tenant: `spec.defaultCustomDomain` names a domain that is not verified and ready yet.
    DefaultDomainNotReady,
    /// Tenant: several verified domains and no default (email-sending calls need `auth0-custom-domain`).
    NoDefaultDomain,
    /// Tenant: no default is needed (at most one verified custom domain).
    DefaultDomainNotNeeded,
    /// `ChildObjectsReady`: every requested child (`DNSEndpoint`, `Certificate`) is applied.
    ChildObjectsApplied,
    /// `ChildObjectsReady`: a requested child waits for data (the verification record from Auth0).
    ChildObjectsWaiting,
    /// `ChildObjectsReady`: the CRD of a requested child (external-dns, cert-manager) is not
    /// installed in the cluster.
    ChildCrdNotInstalled,
    /// `ChildObjectsReady`: applying or deleting a child failed.
    ChildObjectsFailed,
    /// Tenant: `spec.domain` is not an Auth0 host (`*.auth0.com` or an `--extra-tenant-domain-suffix`).
    TenantDomainNotAllowed,
    /// Tenant: `spec.managementApiUrl` is set but the operator runs without `--allow-custom-api-url`.
    ManagementApiUrlNotAllowed,
    /// Tenant: the credentials Secret is outside the namespaces the operator reads credentials from.
    CredentialsNamespaceNotAllowed,
    /// Tenant: deletion waits for CustomDomains that still need the tenant to clean up.
    DomainsRemain,
    /// An object could not be decoded into its type (skipped, everything else reconciles).
    UndecodableObject,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds a condition.
pub fn condition(
    type_: ConditionType,
    status: bool,
    reason: Reason,
    message: impl Into<String>,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> Condition {
    Condition {
        type_: type_.as_str().to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.as_str().to_owned(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: Time(now),
    }
}

/// Inserts or replaces the condition of `new.type_`, keeping the old `lastTransitionTime` unless
/// `status` flips.
pub fn set_condition(conds: &mut Vec<Condition>, mut new: Condition) {
    match conds.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            *old = new;
        }
        None => conds.push(new),
    }
}

/// Removes the condition of `type_` (abnormal-true conditions are removed when no longer true).
pub fn remove_condition(conds: &mut Vec<Condition>, type_: ConditionType) {
    conds.retain(|c| c.type_ != type_.as_str());
}

/// The condition of `type_`, if present.
pub fn find_condition(conds: &[Condition], type_: ConditionType) -> Option<&Condition> {
    conds.iter().find(|c| c.type_ == type_.as_str())
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_true(conds: &[Condition], type_: ConditionType) -> bool {
    find_condition(conds, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn transition_time_moves_only_on_flip() {
        let mut conds = Vec::new();
        set_condition(
            &mut conds,
            condition(
                ConditionType::Ready,
                false,
                Reason::AwaitingDns,
                "a",
                Some(1),
                ts(10),
            ),
        );
        set_condition(
            &mut conds,
            condition(
                ConditionType::Ready,
                false,
                Reason::Provisioning,
                "b",
                Some(2),
                ts(20),
            ),
        );
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0].last_transition_time, Time(ts(10)));
        assert_eq!(conds[0].reason, "Provisioning");
        assert_eq!(conds[0].observed_generation, Some(2));
        set_condition(
            &mut conds,
            condition(ConditionType::Ready, true, Reason::Ready, "c", Some(2), ts(30)),
        );
        assert_eq!(conds[0].last_transition_time, Time(ts(30)));
        assert!(is_true(&conds, ConditionType::Ready));
        remove_condition(&mut conds, ConditionType::Ready);
        assert!(conds.is_empty());
    }

    #[test]
    fn reasons_are_camel_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            let s = r.as_str();
            assert!(s.chars().next().is_some_and(|c| c.is_ascii_uppercase()), "{s}");
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s}");
            assert!(seen.insert(s), "duplicate {s}");
        }
        assert!(seen.contains("CnameApiKeyLost") && seen.contains("MtlsAliasesDisabled"));
        assert!(seen.contains("ChildCrdNotInstalled") && seen.contains("ChildObjectsApplied"));
    }
}
