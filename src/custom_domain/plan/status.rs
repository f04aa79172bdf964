//! Builds the new `CustomDomainStatus`, the Events and the requeue delay while the planner decides.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{EventKind, EventNote, Plan, PlanInput, SecretState, Step, mtls_alias};
use crate::auth0::types as wire;
use crate::dns::VerificationRecord;
use crate::resources::conditions::{
    ConditionType, Reason, condition, find_condition, remove_condition, set_condition,
};
use crate::resources::custom_domain::{
    AdoptionRecord, CertificateStatus, CustomDomainStatus, DomainState, Phase, SecretRef,
    VerificationRecordStatus, VerificationStatus,
};

/// Accumulates status, steps, events and requeue for one plan.
pub(super) struct StatusBuilder<'a> {
    input: &'a PlanInput<'a>,
    status: CustomDomainStatus,
    steps: Vec<Step>,
    events: Vec<EventNote>,
    requeue: Option<Duration>,
}

impl<'a> StatusBuilder<'a> {
    pub(super) fn new(input: &'a PlanInput<'a>) -> Self {
        let mut status = input.resource.status.clone().unwrap_or_default();
        status.observed_generation = input.resource.metadata.generation;
        Self {
            input,
            status,
            steps: Vec::new(),
            events: Vec::new(),
            requeue: None,
        }
    }

    fn set(&mut self, type_: ConditionType, ok: bool, reason: Reason, message: impl Into<String>) {
        let c = condition(
            type_,
            ok,
            reason,
            message,
            self.input.resource.metadata.generation,
            self.input.now,
        );
        set_condition(&mut self.status.conditions, c);
    }

    fn verification(&mut self) -> &mut VerificationStatus {
        self.status
            .verification
            .get_or_insert_with(VerificationStatus::default)
    }

    pub(super) fn step(&mut self, step: Step) {
        self.steps.push(step);
    }

    pub(super) fn event(&mut self, kind: EventKind, reason: Reason, action: &'static str, note: String) {
        self.events.push(EventNote {
            kind,
            reason,
            action,
            note,
        });
    }

    /// Asks to look again after `after` (the shortest request wins).
    pub(super) fn requeue(&mut self, after: Duration) {
        self.requeue = Some(self.requeue.map_or(after, |r| r.min(after)));
    }

    /// Needs a person: `Ready=False`, `Stalled=True`, no `Reconciling`.
    pub(super) fn stalled(&mut self, reason: Reason, message: String) {
        self.set(ConditionType::Ready, false, reason, message.clone());
        self.set(ConditionType::Stalled, true, reason, message);
        remove_condition(&mut self.status.conditions, ConditionType::Reconciling);
    }

    /// Working on it: `Ready=False`, `Reconciling=True`, no `Stalled`.
    pub(super) fn progress(&mut self, reason: Reason, message: String) {
        self.set(ConditionType::Ready, false, reason, message.clone());
        self.set(ConditionType::Reconciling, true, reason, message);
        remove_condition(&mut self.status.conditions, ConditionType::Stalled);
    }

    /// Waiting on something outside this resource (same conditions as [`Self::progress`]).
    pub(super) fn waiting(&mut self, reason: Reason, message: String) {
        self.progress(reason, message);
    }

    /// Not ready for a reason that resolves by itself.
    pub(super) fn not_ready(&mut self, reason: Reason, message: String) {
        self.progress(reason, message);
    }

    /// All gates pass.
    pub(super) fn ready(&mut self, message: String) {
        self.set(ConditionType::Ready, true, Reason::Ready, message);
        remove_condition(&mut self.status.conditions, ConditionType::Reconciling);
        remove_condition(&mut self.status.conditions, ConditionType::Stalled);
    }

    /// The previous status said Ready for the current generation.
    pub(super) fn was_ready(&self) -> bool {
        let generation = self.input.resource.metadata.generation;
        self.input
            .resource
            .status
            .as_ref()
            .and_then(|s| find_condition(&s.conditions, ConditionType::Ready))
            .is_some_and(|c| c.status == "True" && c.observed_generation == generation)
    }

    /// `TenantReachable=False`: the tenant's API cannot be used now (Ready is left to the caller).
    pub(super) fn tenant_unreachable(&mut self, message: String) {
        self.set(
            ConditionType::TenantReachable,
            false,
            Reason::TenantNotReady,
            message,
        );
    }

    /// The tenant's API can be used: `TenantReachable` is present only while it cannot.
    pub(super) fn tenant_reachable(&mut self) {
        remove_condition(&mut self.status.conditions, ConditionType::TenantReachable);
    }

    /// Records an adoption (before the PATCH is sent, so a crash cannot forget it). An
    /// Auth0-managed domain has no key to wait for.
    pub(super) fn adopting(&mut self, no_key_needed: bool) {
        if self.status.adoption.is_none() {
            self.status.adoption = Some(AdoptionRecord {
                adopted_at: Time(self.input.now),
                key_in_secret: no_key_needed,
            });
        }
    }

    /// The domain's key is in the Secret (or none is needed): an adoption is complete.
    pub(super) fn key_in_secret(&mut self) {
        if let Some(a) = self.status.adoption.as_mut() {
            a.key_in_secret = true;
        }
    }

    pub(super) fn deleting(&mut self) {
        let msg = "the resource is being deleted".to_owned();
        self.progress(Reason::Deleting, msg);
    }

    pub(super) fn awaiting_snapshot(&mut self) {
        let msg = format!(
            "reading the custom domains of Auth0Tenant {}",
            self.input.tenant.name
        );
        if find_condition(&self.status.conditions, ConditionType::Ready).is_none() {
            self.set(ConditionType::Ready, false, Reason::AwaitingSnapshot, msg.clone());
        }
        self.set(ConditionType::Reconciling, true, Reason::AwaitingSnapshot, msg);
    }

    /// Forgets a refused create (the domain exists now, or the spec changed since).
    pub(super) fn clear_create_refusal(&mut self) {
        self.status.create_refused = None;
    }

    /// Forgets what was known about a remote domain that no longer exists.
    pub(super) fn clear_remote(&mut self) {
        let s = &mut self.status;
        s.custom_domain_id = None;
        s.state = None;
        s.is_default = None;
        s.primary = None;
        s.origin_domain_name = None;
        s.verification = None;
        s.certificate = None;
        s.last_synced_at = None;
        remove_condition(&mut s.conditions, ConditionType::Verified);
        remove_condition(&mut s.conditions, ConditionType::CertificateReady);
    }

    /// Copies Auth0's view of the domain into status.
    pub(super) fn observe_remote(&mut self, d: &wire::CustomDomain, fetched_at: Timestamp) {
        let s = &mut self.status;
        let same_domain = s.custom_domain_id.as_deref() == Some(d.custom_domain_id.as_str());
        s.custom_domain_id = Some(d.custom_domain_id.clone());
        s.state = DomainState::from_auth0(d.status.as_str());
        s.is_default = Some(d.is_default);
        s.primary = Some(d.primary);
        // Kept when an answer leaves it out: it does not change for the life of the domain.
        if d.origin_domain_name.is_some() || !same_domain {
            s.origin_domain_name = d.origin_domain_name.clone();
        }
        s.last_synced_at = Some(Time(fetched_at));
        let v = d.verification.as_ref();
        let previous_dns = s.verification.as_ref().and_then(|v| v.dns_observed);
        s.verification = Some(VerificationStatus {
            status: v.and_then(|v| v.status.as_ref()).map(|st| st.as_str().to_owned()),
            records: VerificationRecord::from_domain(d)
                .iter()
                .map(record_status)
                .collect(),
            error_message: v.and_then(|v| v.error_msg.clone()),
            last_verified_at: v.and_then(|v| v.last_verified_at.clone()),
            dns_observed: previous_dns,
            verify_expected_at: None,
        });
        s.certificate = d.certificate.as_ref().map(|c| CertificateStatus {
            status: c.status.as_ref().map(|st| st.as_str().to_owned()),
            error_message: c.error_msg.clone(),
            certificate_authority: c.certificate_authority.as_ref().map(|a| a.as_str().to_owned()),
            renews_before: c.renews_before.clone(),
        });
    }

    pub(super) fn records(&mut self, records: &[VerificationRecord]) {
        self.verification().records = records.iter().map(record_status).collect();
    }

    /// When the verify of a domain waiting for its turn is due.
    pub(super) fn verify_expected_at(&mut self, at: Timestamp) {
        self.verification().verify_expected_at = Some(Time(at));
    }

    pub(super) fn dns_observed(&mut self, seen: Option<bool>) {
        self.verification().dns_observed = seen;
    }

    pub(super) fn verified(&mut self) {
        let msg = format!("Auth0 verified {}", self.input.resource.spec.domain);
        self.set(ConditionType::Verified, true, Reason::Verified, msg);
        // A "not seen" from before the verification is stale: the operator stops looking once
        // Auth0 has verified the record.
        if let Some(v) = self.status.verification.as_mut()
            && v.dns_observed == Some(false)
        {
            v.dns_observed = None;
        }
    }

    pub(super) fn verified_if(&mut self, verified: bool) {
        if verified {
            self.verified();
        } else {
            let msg = format!("{} is not verified", self.input.resource.spec.domain);
            self.set(ConditionType::Verified, false, Reason::VerificationFailed, msg);
        }
    }

    /// `Verified=False`. `verification.errorMessage` takes the message only when it names a
    /// problem (the record is missing or wrong in DNS, or Auth0 refused it); progress such as
    /// "verification requested" stays in the condition.
    pub(super) fn not_verified(&mut self, reason: Reason, message: String) {
        if matches!(reason, Reason::AwaitingDns | Reason::VerificationFailed) {
            self.verification().error_message = Some(message.clone());
        }
        self.set(ConditionType::Verified, false, reason, message);
    }

    pub(super) fn certificate_self_managed(&mut self) {
        self.set(
            ConditionType::CertificateReady,
            true,
            Reason::SelfManaged,
            "the certificate is served by your edge proxy (SelfManagedCerts)",
        );
    }

    pub(super) fn certificate_ready(&mut self) {
        self.set(
            ConditionType::CertificateReady,
            true,
            Reason::Provisioned,
            "Auth0 serves the certificate",
        );
    }

    pub(super) fn certificate_provisioning(&mut self) {
        self.set(
            ConditionType::CertificateReady,
            false,
            Reason::Provisioning,
            "Auth0 issues the certificate after verification (usually minutes)",
        );
    }

    pub(super) fn certificate_failed(&mut self, error: Option<&str>) {
        let msg = format!(
            "Auth0 could not issue or renew the certificate: {} — check CAA records and that the CNAME stays in place",
            error.unwrap_or("no details")
        );
        self.set(
            ConditionType::CertificateReady,
            false,
            Reason::CertificateFailed,
            msg,
        );
    }

    /// `SecretStored=False` with this reason.
    pub(super) fn set_secret_condition(&mut self, reason: Reason, message: String) {
        self.set(ConditionType::SecretStored, false, reason, message);
    }

    pub(super) fn secret_pending(&mut self, message: &str) {
        self.set(ConditionType::SecretStored, false, Reason::SecretPending, message);
    }

    pub(super) fn secret_stored(&mut self) {
        let msg = format!(
            "cname-api-key and origin-domain-name are in Secret {}",
            self.input.resource.secret_name()
        );
        self.set(ConditionType::SecretStored, true, Reason::SecretStored, msg);
    }

    pub(super) fn secret_lost(&mut self, message: String) {
        self.set(
            ConditionType::SecretStored,
            false,
            Reason::CnameApiKeyLost,
            message,
        );
    }

    pub(super) fn secret_not_required(&mut self) {
        self.set(
            ConditionType::SecretStored,
            true,
            Reason::NotRequired,
            "Auth0-managed domains need no cname-api-key",
        );
    }

    fn mtls(&mut self) {
        let cd = self.input.resource;
        self.status.mtls_alias = mtls_alias(cd);
        if self.status.mtls_alias.is_none() {
            remove_condition(&mut self.status.conditions, ConditionType::MtlsAliases);
        } else if self.input.tenant.mtls_aliases_enabled {
            let msg = format!("mtls.{} is advertised as the mTLS endpoint alias", cd.spec.domain);
            self.set(ConditionType::MtlsAliases, true, Reason::MtlsAliasesEnabled, msg);
        } else {
            let msg = format!(
                "Auth0Tenant {} has not enabled mTLS endpoint aliases: set its spec.mtls.enableEndpointAliases to true (the domain works without mTLS meanwhile)",
                self.input.tenant.name
            );
            self.set(
                ConditionType::MtlsAliases,
                false,
                Reason::MtlsAliasesDisabled,
                msg,
            );
        }
    }

    fn transition_events(&mut self) {
        let previous = self
            .input
            .resource
            .status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or(&[]);
        let before =
            find_condition(previous, ConditionType::Ready).map(|c| (c.status.clone(), c.reason.clone()));
        let Some(now) = find_condition(&self.status.conditions, ConditionType::Ready).cloned() else {
            return;
        };
        if before.as_ref() == Some(&(now.status.clone(), now.reason.clone())) {
            return;
        }
        if self.events.iter().any(|e| e.reason.as_str() == now.reason) {
            return;
        }
        let Some(reason) = Reason::ALL.iter().copied().find(|r| r.as_str() == now.reason) else {
            return;
        };
        let stalled = find_condition(&self.status.conditions, ConditionType::Stalled)
            .is_some_and(|c| c.status == "True");
        let kind = if stalled {
            EventKind::Warning
        } else {
            EventKind::Normal
        };
        let action = if stalled || now.status != "True" {
            "Wait"
        } else {
            "Ready"
        };
        self.events.push(EventNote {
            kind,
            reason,
            action,
            note: now.message,
        });
    }

    fn phase(&self, deleting: bool) -> Phase {
        let conds = &self.status.conditions;
        if deleting {
            return Phase::Deleting;
        }
        let verified = find_condition(conds, ConditionType::Verified).is_some_and(|c| c.status == "True");
        match self.status.state {
            Some(DomainState::PendingVerification | DomainState::Pending) if verified => Phase::Provisioning,
            Some(DomainState::Pending) => Phase::Pending,
            Some(DomainState::PendingVerification) => Phase::PendingVerification,
            Some(DomainState::Ready) => Phase::Ready,
            Some(DomainState::Failed) => Phase::Failed,
            Some(DomainState::Disabled) => Phase::Disabled,
            None if find_condition(conds, ConditionType::Stalled).is_some_and(|c| c.status == "True") => {
                Phase::Stalled
            }
            None if self.steps.iter().any(|s| matches!(s, Step::Create(_))) => Phase::Creating,
            None => Phase::Waiting,
        }
    }

    pub(super) fn finish(mut self) -> Plan {
        self.mtls();
        let secret_known = matches!(self.input.secret, SecretState::Present { .. })
            || self.steps.iter().any(|s| matches!(s, Step::EnsureSecret(_)));
        let deleting = self.input.resource.metadata.deletion_timestamp.is_some();
        if secret_known && !deleting {
            self.status.secret_ref = Some(SecretRef {
                name: self.input.resource.secret_name(),
            });
        }
        let patching = self.steps.iter().find_map(|s| match s {
            Step::Patch { patch, .. } => Some(super::drift::describe(patch)),
            _ => None,
        });
        if let Some(fields) = patching
            && find_condition(&self.status.conditions, ConditionType::Reconciling).is_none()
        {
            self.set(
                ConditionType::Reconciling,
                true,
                Reason::Updating,
                format!("updating Auth0: {fields}"),
            );
        }
        self.status.phase = Some(self.phase(deleting));
        self.transition_events();
        let requeue_after = self.requeue.unwrap_or(self.input.tenant.resync_interval);
        Plan {
            steps: self.steps,
            status: self.status,
            requeue_after,
            events: self.events,
        }
    }
}

fn record_status(r: &VerificationRecord) -> VerificationRecordStatus {
    VerificationRecordStatus {
        type_: r.kind.as_str().to_owned(),
        name: r.name.clone(),
        value: r.value.clone(),
    }
}

/// How far `lastSyncedAt` may lag behind reads of Auth0 that found nothing new. A heartbeat
/// written on every resync of every Ready domain wakes every watcher of every CustomDomain (at
/// 10,000 domains and a 10-minute resync, 17 writes a second for no news); once an hour still
/// shows a sync that stopped.
pub const SYNCED_AT_REFRESH: Duration = Duration::from_secs(3600);

/// Keeps the stored `lastSyncedAt` when it is the only field that moved and is younger than
/// [`SYNCED_AT_REFRESH`], so that status needs no write. With any other change the new time goes.
pub fn hold_synced_at(old: Option<&CustomDomainStatus>, new: &mut CustomDomainStatus) {
    let Some(old) = old else { return };
    let (Some(held), Some(read)) = (&old.last_synced_at, &new.last_synced_at) else {
        return;
    };
    let age = read.0.duration_since(held.0);
    if age.is_negative() || age.unsigned_abs() >= SYNCED_AT_REFRESH {
        return;
    }
    let read = new.last_synced_at.replace(held.clone());
    if new != old {
        new.last_synced_at = read;
    }
}

/// Names what differs between two statuses: top-level fields by their JSON name, conditions as
/// `conditions.<type>`. For the debug log of a status write, so a write that repeats without an
/// apparent cause says which field keeps moving. Equal statuses (the common case, every resync of
/// every Ready domain) are told apart without serialising either.
pub fn changed_fields(old: Option<&CustomDomainStatus>, new: &CustomDomainStatus) -> Vec<String> {
    if old == Some(new) {
        return Vec::new();
    }
    let as_map = |s: Option<&CustomDomainStatus>| match s.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(m))) => m,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (as_map(old), as_map(Some(new)));
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        if key == "conditions" {
            let by_type = |m: &serde_json::Map<String, serde_json::Value>| {
                m.get(key)
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                    .map(|c| (c["type"].as_str().unwrap_or_default().to_owned(), c.clone()))
                    .collect::<std::collections::BTreeMap<_, _>>()
            };
            let (a, b) = (by_type(&old), by_type(&new));
            let types: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            out.extend(
                types
                    .into_iter()
                    .filter(|t| a.get(*t) != b.get(*t))
                    .map(|t| format!("conditions.{t}")),
            );
        } else if old.get(key) != new.get(key) {
            out.push(key.clone());
        }
    }
    out
}
