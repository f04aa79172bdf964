//! Pure decision logic of the `CustomDomain` controller (docs/design.md#behaviour).
//!
//! [`plan`] takes everything the reconciler observed — the resource (spec, annotations, generation,
//! deletion state, previous status), the tenant, the Auth0 domain of the same name from the tenant's
//! LIST snapshot, the DNS answer for the record Auth0 asks for, the edge Secret — plus `now`, and
//! returns the [`Step`]s to execute, the new status, when to look again and the Events to publish.
//! No async, no clock, no client: every row of docs/design.md#plan-table is a table test in `plan/tests.rs`.
//!
//! Executing a plan: run the steps in order and stop at the first failure. Observation steps
//! ([`Step::LookupDns`], [`Step::Refresh`]) are always last: perform the observation and plan again
//! with its result. After steps that change Auth0, put the responses into the snapshot and plan
//! again (bounded, a few rounds) so the written status describes the new state. The snapshot must
//! include this operator's own writes, else a just-created domain would look deleted.

mod children;
mod drift;
mod status;
mod validate;

use std::time::Duration;

use jiff::Timestamp;

use crate::auth0::types::{self as wire, CreateDomain, PatchDomain};
use crate::dns::{DnsAnswer, VerificationRecord};
use crate::resources::conditions::{ConditionType, Reason};
use crate::resources::custom_domain::{
    ADOPT_ANNOTATION, CustomDomain, CustomDomainStatus, DeletionPolicy, DomainType, OWNER_METADATA_KEY,
    RECREATE_ON_KEY_LOSS_ANNOTATION,
};
use crate::resources::tenant::{Adoption, DomainClaim};
use crate::tenant::namespaces::{describe_selector, selector_matches};

pub use children::{
    CERTIFICATE_API_VERSION, DNS_ENDPOINT_API_VERSION, certificate_name, certificate_object,
    dns_endpoint_name, dns_endpoint_object,
};
pub use drift::{create_body, desired_metadata, drift_patch};
pub use status::{SYNCED_AT_REFRESH, changed_fields, hold_synced_at};
pub use validate::validate_spec;

use status::StatusBuilder;

/// First re-check of a verify Auth0 still reports pending.
pub const DNS_RECHECK_MIN: Duration = Duration::from_secs(5);
/// First DNS re-check delay while the verification record is missing: a record is usually
/// published moments after the status names it (by a person, a script or external-dns), and a
/// lookup costs no Auth0 call, so look again soon; 1, 2, 4, 8, 16 s then the cap. With 5 s the
/// last domains of a batch waited up to 5 s for a record already visible.
pub const DNS_FIRST_RECHECK: Duration = Duration::from_secs(1);
/// Default cap of the DNS re-check backoff (`--dns-recheck-max`; see there why 20 s).
pub const DNS_RECHECK_MAX_DEFAULT: Duration = Duration::from_secs(20);
/// Longest wait between verify attempts while Auth0 still says pending with the record visible.
pub const VERIFY_RECHECK_MAX: Duration = Duration::from_secs(60);
/// How old a domain's remote state may be before a transitional state is re-read with a GET.
pub const REFRESH_AFTER: Duration = Duration::from_secs(15);
/// Delay while the tenant is not ready or its domain list is not loaded.
pub const TENANT_RECHECK: Duration = Duration::from_secs(30);
/// Delay while the tenant's domain list is being loaded.
pub const SNAPSHOT_RECHECK: Duration = Duration::from_secs(5);
/// Safety-net delay after steps that change Auth0 (the executor normally re-plans at once).
pub const AFTER_WRITE_RECHECK: Duration = Duration::from_secs(2);
/// Shortest wait for a verify turn that status reports as a place in the queue; shorter waits keep
/// the "verification requested" status (no status write for a wait of a second or two).
pub const VERIFY_WAIT_SHOWN: Duration = Duration::from_secs(5);
/// How soon a key whose Secret write failed is tried again.
pub const KEY_WRITE_RETRY: Duration = Duration::from_secs(5);
/// How often a ready self-managed domain whose origin nobody knows is read again for it.
pub const ORIGIN_REFRESH: Duration = Duration::from_secs(60);
/// Shortest wait before a create Auth0 refused for the plan or entitlement is tried again.
pub const CREATE_RETRY: Duration = Duration::from_secs(15 * 60);

/// Health of the referenced `Auth0Tenant`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantHealth {
    /// Credentials work and the Management API answers.
    Ready,
    /// The tenant exists but is not usable; the text says why (no secrets in it).
    NotReady(String),
    /// The tenant's plan has no custom domains (Auth0 answers 403 "not allowed"); the text says so.
    PlanRefused(String),
    /// No `Auth0Tenant` of that name.
    NotFound,
}

/// What the planner needs to know about the referenced tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantView {
    /// The tenant's name (`spec.tenantRef.name`).
    pub name: String,
    /// Whether it can be used.
    pub health: TenantHealth,
    /// Whether the resource's namespace may use it (`spec.allowedNamespaces`).
    pub allowed: bool,
    /// The tenant's namespace selector in selector syntax, when it has one (for the fix to name).
    pub fence: Option<String>,
    /// This cluster's id, first part of the ownership marker.
    pub cluster_id: String,
    /// Whether the tenant has `mtls.enable_endpoint_aliases` on.
    pub mtls_aliases_enabled: bool,
    /// The tenant's `resyncInterval`.
    pub resync_interval: Duration,
    /// Auth0 refused a create on this tenant for its plan or entitlement a short while ago, and no
    /// domain has gone since: further creates would be refused the same way.
    pub create_refused: Option<TenantRefusal>,
    /// Whether the tenant's `spec.adoption` lets this resource adopt an unowned Auth0 domain.
    pub adoption: AdoptionVerdict,
    /// Whether the tenant's `spec.allowedDomains` lets this namespace claim `spec.domain`.
    pub claim: ClaimVerdict,
}

/// The tenant's answer to "may this namespace claim this domain name?" (`spec.allowedDomains`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimVerdict {
    /// No `spec.allowedDomains` (any name), or a rule selects the namespace and lists the name.
    Allowed,
    /// Refused; the text says which part failed.
    Refused(String),
}

/// Decides a domain claim from the tenant's `spec.allowedDomains`, the namespace's labels and the
/// domain.
pub fn claim_verdict(
    claims: &[DomainClaim],
    namespace_labels: &std::collections::BTreeMap<String, String>,
    domain: &str,
) -> ClaimVerdict {
    if claims.is_empty() {
        return ClaimVerdict::Allowed;
    }
    let selecting: Vec<&DomainClaim> = claims
        .iter()
        .filter(|c| selector_matches(&c.namespace_selector, namespace_labels))
        .collect();
    if selecting
        .iter()
        .any(|c| c.domains.iter().any(|d| d.matches(domain)))
    {
        return ClaimVerdict::Allowed;
    }
    if selecting.is_empty() {
        return ClaimVerdict::Refused("no rule of its spec.allowedDomains selects this namespace".to_owned());
    }
    let mut names: Vec<&str> = selecting
        .iter()
        .flat_map(|c| c.domains.iter().map(|d| d.0.as_str()))
        .collect();
    names.dedup();
    let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    let more = if names.len() > 5 { ", …" } else { "" };
    ClaimVerdict::Refused(format!(
        "its spec.allowedDomains lets this namespace claim only {shown}{more}"
    ))
}

/// The tenant's answer to "may this resource adopt an existing Auth0 domain nobody owns?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdoptionVerdict {
    /// `spec.adoption` selects the namespace and lists the domain.
    Allowed,
    /// The tenant has no `spec.adoption`: nobody may adopt.
    Off,
    /// The namespace does not match `spec.adoption.namespaceSelector` (given in selector syntax).
    NamespaceNotSelected(String),
    /// `spec.domain` matches none of `spec.adoption.domains`.
    DomainNotListed,
}

/// Decides adoption from the tenant's `spec.adoption`, the namespace's labels and the domain.
pub fn adoption_verdict(
    adoption: Option<&Adoption>,
    namespace_labels: &std::collections::BTreeMap<String, String>,
    domain: &str,
) -> AdoptionVerdict {
    let Some(adoption) = adoption else {
        return AdoptionVerdict::Off;
    };
    if !selector_matches(&adoption.namespace_selector, namespace_labels) {
        return AdoptionVerdict::NamespaceNotSelected(describe_selector(&adoption.namespace_selector));
    }
    if !adoption.domains.iter().any(|d| d.matches(domain)) {
        return AdoptionVerdict::DomainNotListed;
    }
    AdoptionVerdict::Allowed
}

/// A tenant-wide create refusal (see [`TenantView::create_refused`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRefusal {
    /// `EntitlementExceeded` or `PlanRefused`.
    pub reason: Reason,
    /// Auth0's message.
    pub message: String,
    /// Time left before the next create is tried.
    pub retry_in: Duration,
}

/// A domain waiting for its turn in the tenant's verify budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VerifyWait {
    /// Domains whose turn comes first.
    pub ahead: usize,
    /// Time until its turn.
    pub wait: Duration,
    /// The budget, in verifies per minute.
    pub per_minute: f64,
}

/// The Auth0 domain with the resource's `spec.domain`, from the tenant's LIST snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Remote<'a> {
    /// The tenant's domain list has not been read yet.
    NotLoaded,
    /// The snapshot has no domain of that name.
    Absent,
    /// The domain, and when this copy was read.
    Found {
        /// The domain as Auth0 returned it.
        domain: &'a wire::CustomDomain,
        /// When it was read (LIST, GET, or a write's response).
        fetched_at: Timestamp,
    },
}

/// The edge Secret as the reconciler found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretState<'a> {
    /// No Secret of that name.
    Absent,
    /// The Secret exists.
    Present {
        /// It holds a non-empty `cname-api-key`.
        has_key: bool,
        /// Its `origin-domain-name`, when set.
        origin: Option<&'a str>,
        /// Whose it is.
        owner: SecretOwner<'a>,
    },
}

/// Who a Secret of the resource's `secretName` belongs to. The operator writes only into a
/// Secret it made for this resource (docs/design.md#secret-ownership).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretOwner<'a> {
    /// Its controller ownerReference is this resource (uid).
    ThisResource,
    /// No controller; labelled by the operator for a CustomDomain of this name and holding this
    /// domain: one this resource's predecessor left behind (`deletionPolicy: Orphan`). Claimed by
    /// adding the ownerReference.
    Unclaimed,
    /// Anything else: another CustomDomain's, another controller's, or a person's.
    Other {
        /// Kind and name of its controller, when it has one.
        controller: Option<(&'a str, &'a str)>,
    },
}

/// A key the operator holds because it is not in the Secret yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingKey<'a> {
    /// Writing it into the Secret failed (the text says why; no secret in it). `None`: the write
    /// is simply under way.
    pub write_error: Option<&'a str>,
    /// The escrow Secret (`namespace/name`) that holds a copy until the Secret does; `None` when
    /// there is no escrow copy (writing it failed too, or no escrow namespace is configured).
    pub escrow: Option<&'a str>,
}

/// Counters the reconciler keeps per resource (in memory), reset when the gate passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attempts {
    /// DNS checks that did not show the record, in a row.
    pub dns_checks: u32,
    /// Verify calls that left the domain pending, in a row.
    pub verifies: u32,
}

/// Operator-wide settings (command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Verify only when DNS shows the record (`--dns-preflight`).
    pub dns_preflight: bool,
    /// Cap of the DNS re-check backoff (`--dns-recheck-max`).
    pub dns_recheck_max: Duration,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            dns_preflight: true,
            dns_recheck_max: DNS_RECHECK_MAX_DEFAULT,
        }
    }
}

/// Everything [`plan`] looks at.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The resource: spec, metadata (annotations, generation, deletion timestamp) and previous status.
    pub resource: &'a CustomDomain,
    /// The referenced tenant.
    pub tenant: &'a TenantView,
    /// The Auth0 domain of the same name.
    pub remote: Remote<'a>,
    /// DNS answer for the record Auth0 asks for; `None` when not looked up in this round.
    pub dns: Option<&'a DnsAnswer>,
    /// The edge Secret.
    pub secret: SecretState<'a>,
    /// The Secret `status.secretRef` names, when `spec.secretName` has changed since (it may hold
    /// the key); `None` when the name is unchanged or it was not read.
    pub previous_secret: Option<SecretState<'a>>,
    /// A `cname_api_key` from verify is held by the operator and not yet in the Secret.
    pub pending_key: Option<PendingKey<'a>>,
    /// Per-resource counters.
    pub attempts: Attempts,
    /// Its turn to verify is not there yet (set by the executor after asking for one).
    pub verify_wait: Option<VerifyWait>,
    /// Operator settings.
    pub options: PlanOptions,
    /// The current time.
    pub now: Timestamp,
}

/// Content of the edge Secret, without the key (the key is written only from a verify response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretContent {
    /// Secret name (same namespace as the resource).
    pub name: String,
    /// `domain`.
    pub domain: String,
    /// `origin-domain-name`, once Auth0 has told it.
    pub origin_domain_name: Option<String>,
    /// `mtls-domain` when `spec.mtls.enabled`.
    pub mtls_domain: Option<String>,
}

/// One action for the executor.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `POST /custom-domains` (body carries the ownership marker). A duplicate 409: re-list and plan
    /// again (a second one for a domain the list does not show stalls, `AlreadyExists`). Refusals
    /// stall with Auth0's message and are kept in `status.createRefused`: 409 "maximum number…"
    /// `EntitlementExceeded`, 403 `PlanRefused`, other 4xx `CreateRefused`.
    Create(CreateDomain),
    /// Take over an existing unmarked domain: `PATCH` adding the marker (and the spec's fields).
    Adopt {
        /// Auth0 id.
        id: String,
        /// The patch to send.
        patch: PatchDomain,
    },
    /// Repair drift with `PATCH /custom-domains/{id}`.
    Patch {
        /// Auth0 id.
        id: String,
        /// Only the fields that differ; removed metadata keys are `None` (sent as `null`).
        patch: PatchDomain,
    },
    /// Create or update the edge Secret (owned by the resource). Never removes or replaces an
    /// existing `cname-api-key`.
    EnsureSecret(SecretContent),
    /// Observation: look the record up in DNS, then plan again with the answer.
    LookupDns(VerificationRecord),
    /// Observation: `GET /custom-domains/{id}` (a transitional state), then plan again.
    Refresh {
        /// Auth0 id.
        id: String,
    },
    /// `POST /custom-domains/{id}/verify`; a returned `cname_api_key` goes into the Secret at once
    /// (kept in memory and retried if the write fails).
    Verify {
        /// Auth0 id.
        id: String,
        /// Where a returned key goes, with the rest of the Secret (self-managed domains); the
        /// executor takes the origin from the answer when it names one.
        secret: Option<SecretContent>,
    },
    /// `DELETE /custom-domains/{id}` (404 counts as done).
    Delete {
        /// Auth0 id.
        id: String,
    },
    /// The key is lost and the resource opts in: delete the domain, then create it again.
    RecreateForKeyLoss {
        /// Auth0 id of the domain to delete.
        id: String,
        /// The create that follows.
        create: CreateDomain,
    },
    /// `spec.secretName` changed: copy the key from the Secret `status.secretRef` names into the
    /// new one (the old one is left as it is).
    CopyKey {
        /// Name of the Secret that holds the key.
        from: String,
        /// Content of the new Secret.
        to: SecretContent,
    },
    /// `deletionPolicy: Orphan`: remove the resource's ownerReference from the Secret so it stays.
    OrphanSecret {
        /// Secret name.
        name: String,
    },
    /// Remove the finalizer (when present): the resource may go.
    ReleaseFinalizer,
}

impl Step {
    /// Observation steps end a plan: observe, then plan again.
    pub fn is_observation(&self) -> bool {
        matches!(self, Self::LookupDns(_) | Self::Refresh { .. })
    }

    /// Steps that change state in Auth0.
    pub fn changes_auth0(&self) -> bool {
        matches!(
            self,
            Self::Create(_)
                | Self::Adopt { .. }
                | Self::Patch { .. }
                | Self::Verify { .. }
                | Self::Delete { .. }
                | Self::RecreateForKeyLoss { .. }
        )
    }

    /// Bounded label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Create(_) => "create",
            Self::Adopt { .. } => "adopt",
            Self::Patch { .. } => "patch",
            Self::EnsureSecret(_) => "ensure_secret",
            Self::CopyKey { .. } => "copy_key",
            Self::LookupDns(_) => "lookup_dns",
            Self::Refresh { .. } => "refresh",
            Self::Verify { .. } => "verify",
            Self::Delete { .. } => "delete",
            Self::RecreateForKeyLoss { .. } => "recreate_for_key_loss",
            Self::OrphanSecret { .. } => "orphan_secret",
            Self::ReleaseFinalizer => "release_finalizer",
        }
    }
}

/// Kind of a Kubernetes Event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

/// An Event to publish on the resource (only on transitions and actions, never per requeue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub kind: EventKind,
    /// What happened.
    pub reason: Reason,
    /// What the operator did (`Create`, `Adopt`, `Patch`, `Verify`, `Delete`, `Recreate`, `Wait`).
    pub action: &'static str,
    /// For a person.
    pub note: String,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// What to do, in order.
    pub steps: Vec<Step>,
    /// The status to write (server-side apply, only when changed).
    pub status: CustomDomainStatus,
    /// When to reconcile again.
    pub requeue_after: Duration,
    /// Events to publish.
    pub events: Vec<EventNote>,
}

/// The ownership marker value of a resource: `<cluster-id>/<namespace>/<name>/<uid>` (the uid
/// keeps a later resource of the same name, e.g. in a re-created namespace, from inheriting the
/// domain; without a uid, only in tests, the first three parts).
pub fn owner_marker(cluster_id: &str, resource: &CustomDomain) -> String {
    let base = legacy_marker(cluster_id, resource);
    match resource.metadata.uid.as_deref() {
        Some(uid) => format!("{base}/{uid}"),
        None => base,
    }
}

/// The marker before uids were part of it: `<cluster-id>/<namespace>/<name>`.
fn legacy_marker(cluster_id: &str, resource: &CustomDomain) -> String {
    format!(
        "{cluster_id}/{}/{}",
        resource.metadata.namespace.as_deref().unwrap_or_default(),
        resource.metadata.name.as_deref().unwrap_or_default()
    )
}

/// How a domain's ownership marker relates to a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// No marker: nobody in any cluster manages it.
    Nobody,
    /// This resource (or, with a marker from before uids, the resource of this name: the next
    /// PATCH adds the uid).
    ThisResource,
    /// An earlier resource of the same cluster, namespace and name (another uid), since deleted
    /// with `deletionPolicy: Orphan` or with its namespace: taking it over is an adoption.
    Predecessor(String),
    /// Another resource or cluster (the marker).
    Other(String),
}

/// Reads a domain's marker against this resource.
pub fn owner_of(domain: &wire::CustomDomain, cluster_id: &str, resource: &CustomDomain) -> Owner {
    let Some(marker) = domain
        .domain_metadata
        .get(OWNER_METADATA_KEY)
        .filter(|m| !m.is_empty())
    else {
        return Owner::Nobody;
    };
    let legacy = legacy_marker(cluster_id, resource);
    if *marker == owner_marker(cluster_id, resource) || *marker == legacy {
        return Owner::ThisResource;
    }
    match marker
        .strip_prefix(&legacy)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(uid) if !uid.contains('/') => Owner::Predecessor(uid.to_owned()),
        _ => Owner::Other(marker.clone()),
    }
}

/// DNS re-check delay after `checks` misses: 1 s doubling, capped at `max` (never below 1 s).
pub fn dns_backoff(checks: u32, max: Duration) -> Duration {
    backoff(DNS_FIRST_RECHECK, checks, max.max(Duration::from_secs(1)))
}

fn backoff(base: Duration, attempts: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(16)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// For the executor: a step failed in a way a person must fix (e.g. Auth0 refused the create for
/// the plan: `Reason::EntitlementExceeded` with Auth0's message). Sets `Ready=False` and
/// `Stalled=True`, removes `Reconciling`.
pub fn mark_stalled(
    status: &mut CustomDomainStatus,
    reason: Reason,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    use crate::resources::conditions::{condition, remove_condition, set_condition};
    set_condition(
        &mut status.conditions,
        condition(ConditionType::Ready, false, reason, message, generation, now),
    );
    set_condition(
        &mut status.conditions,
        condition(ConditionType::Stalled, true, reason, message, generation, now),
    );
    remove_condition(&mut status.conditions, ConditionType::Reconciling);
}

/// For the executor: a step failed transiently (`Reason::Auth0Error`, `Reason::RateLimited`) and
/// will be retried. Sets `Reconciling=True` with the reason and leaves `Ready` as it was, so a
/// Ready domain does not flap on a passing Auth0 error.
pub fn mark_retrying(
    status: &mut CustomDomainStatus,
    reason: Reason,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    use crate::resources::conditions::{condition, set_condition};
    set_condition(
        &mut status.conditions,
        condition(ConditionType::Reconciling, true, reason, message, generation, now),
    );
}

/// Decides what to do. See the module docs for how to execute the result.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut b = StatusBuilder::new(input);
    if input.resource.metadata.deletion_timestamp.is_some() {
        plan_delete(input, &mut b);
        return b.finish();
    }
    let mut problems = validate_spec(&input.resource.spec).err().unwrap_or_default();
    if input
        .resource
        .metadata
        .name
        .as_deref()
        .is_some_and(|n| n.len() > 63)
    {
        problems.push("metadata.name of a CustomDomain may have at most 63 characters (it labels the Secret and child objects it owns): choose a shorter name".to_owned());
    }
    if !problems.is_empty() {
        let msg = format!(
            "spec is invalid, nothing was sent to Auth0: {}",
            problems.join("; ")
        );
        b.stalled(Reason::InvalidSpec, msg);
        b.requeue(input.tenant.resync_interval);
        return b.finish();
    }
    if !tenant_usable(input, &mut b) {
        return b.finish();
    }
    b.tenant_reachable();
    if let SecretState::Present {
        owner: SecretOwner::Other { controller },
        ..
    } = input.secret
    {
        let whose = match controller {
            Some((kind, name)) => format!("it belongs to {kind} {name}"),
            None => "it was not created by the operator for this CustomDomain".to_owned(),
        };
        b.stalled(
            Reason::SecretNotOwned,
            format!(
                "Secret {} exists and {whose}: the operator writes the one-time cname-api-key only into a Secret it created for this CustomDomain, so nothing was sent to Auth0 and the Secret is untouched — set spec.secretName to a name no Secret has yet, or delete that Secret if it is unused",
                input.resource.secret_name()
            ),
        );
        b.requeue(input.tenant.resync_interval);
        return b.finish();
    }
    match input.remote {
        Remote::NotLoaded => {
            b.awaiting_snapshot();
            b.requeue(SNAPSHOT_RECHECK);
        }
        Remote::Absent => plan_create(input, &mut b),
        Remote::Found { domain, fetched_at } => plan_existing(input, &mut b, domain, fetched_at),
    }
    b.finish()
}

fn tenant_usable(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>) -> bool {
    let t = input.tenant;
    match &t.health {
        TenantHealth::NotFound => {
            b.stalled(
                Reason::TenantNotFound,
                format!(
                    "Auth0Tenant {} does not exist: create it (spec.tenantRef is immutable; to use another tenant, create a new CustomDomain that names it)",
                    t.name
                ),
            );
            b.requeue(TENANT_RECHECK);
            false
        }
        TenantHealth::NotReady(why) => {
            let msg = format!("Auth0Tenant {} is not ready: {why}", t.name);
            b.tenant_unreachable(msg.clone());
            // A domain that is Ready goes on serving while its tenant's API cannot be used: only
            // TenantReachable says so, and Ready (what GitOps health and alerts read) holds.
            if !b.was_ready() {
                b.waiting(Reason::TenantNotReady, msg);
            }
            b.requeue(TENANT_RECHECK);
            false
        }
        TenantHealth::PlanRefused(why) => {
            // Nothing is sent: every custom-domain call of this tenant is refused the same way.
            b.stalled(
                Reason::PlanRefused,
                format!("Auth0Tenant {} cannot hold custom domains: {why}", t.name),
            );
            b.requeue(t.resync_interval);
            false
        }
        TenantHealth::Ready if !t.allowed => {
            let ns = input.resource.metadata.namespace.as_deref().unwrap_or_default();
            let fix = match &t.fence {
                Some(selector) => format!(
                    "label the namespace so it matches the tenant's spec.allowedNamespaces.selector ({selector}), e.g. kubectl label namespace {ns} <key>=<value>, or ask the tenant's owner to widen the selector"
                ),
                None => "ask the tenant's owner to allow it in spec.allowedNamespaces".to_owned(),
            };
            b.stalled(
                Reason::TenantNotAllowed,
                format!("namespace {ns} may not use Auth0Tenant {}: {fix}", t.name),
            );
            b.requeue(t.resync_interval);
            false
        }
        TenantHealth::Ready => match &t.claim {
            ClaimVerdict::Allowed => true,
            ClaimVerdict::Refused(why) => {
                let cd = input.resource;
                let ns = cd.metadata.namespace.as_deref().unwrap_or_default();
                b.stalled(
                    Reason::DomainNotAllowed,
                    format!(
                        "namespace {ns} may not claim {} on Auth0Tenant {}: {why}; nothing was sent to Auth0 and no DNS record or certificate is requested — ask the tenant's owner to add it to spec.allowedDomains",
                        cd.spec.domain, t.name
                    ),
                );
                b.requeue(t.resync_interval);
                false
            }
        },
    }
}

fn plan_delete(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>) {
    let cd = input.resource;
    let secret_name = cd.secret_name();
    b.deleting();
    if cd.spec.deletion_policy == DeletionPolicy::Orphan {
        if matches!(input.secret, SecretState::Present { .. }) {
            b.step(Step::OrphanSecret { name: secret_name });
        }
        b.event(
            EventKind::Normal,
            Reason::Deleting,
            "Orphan",
            format!(
                "deletionPolicy Orphan: the Auth0 domain {} and its Secret are kept",
                cd.spec.domain
            ),
        );
        b.step(Step::ReleaseFinalizer);
        return;
    }
    let status_id = cd.status.as_ref().and_then(|s| s.custom_domain_id.clone());
    match &input.tenant.health {
        TenantHealth::NotFound => {
            let Some(id) = &status_id else {
                b.event(
                    EventKind::Normal,
                    Reason::TenantNotFound,
                    "Delete",
                    format!(
                        "Auth0Tenant {} does not exist and no Auth0 domain was created for this resource: nothing to delete",
                        input.tenant.name
                    ),
                );
                b.step(Step::ReleaseFinalizer);
                return;
            };
            // Releasing now would leave the Auth0 domain behind with nobody knowing: wait for the
            // tenant to come back, or for a person to choose Orphan.
            b.stalled(
                Reason::TenantNotFound,
                format!(
                    "Auth0Tenant {} does not exist, so the Auth0 domain {} ({id}) cannot be deleted: restore the Auth0Tenant (the deletion then completes), or set spec.deletionPolicy: Orphan on this resource to leave the domain in Auth0 and let the resource go",
                    input.tenant.name, cd.spec.domain
                ),
            );
            b.requeue(TENANT_RECHECK);
            return;
        }
        TenantHealth::NotReady(why) | TenantHealth::PlanRefused(why) => {
            b.waiting(
                Reason::TenantNotReady,
                format!(
                    "waiting for Auth0Tenant {} to delete the Auth0 domain: {why}",
                    input.tenant.name
                ),
            );
            b.requeue(TENANT_RECHECK);
            return;
        }
        TenantHealth::Ready => {}
    }
    if !input.tenant.allowed {
        // A refused namespace never reaches Auth0, in either direction: nothing to wait for.
        let (kind, note) = match &status_id {
            None => (
                EventKind::Normal,
                format!(
                    "namespace may not use Auth0Tenant {}: nothing was created in Auth0, nothing to delete",
                    input.tenant.name
                ),
            ),
            Some(id) => (
                EventKind::Warning,
                format!(
                    "namespace may no longer use Auth0Tenant {}: the Auth0 domain {} ({id}) was left in place",
                    input.tenant.name, cd.spec.domain
                ),
            ),
        };
        b.event(kind, Reason::TenantNotAllowed, "Delete", note);
        b.step(Step::ReleaseFinalizer);
        return;
    }
    match input.remote {
        Remote::Found { domain, .. } => {
            let ours = owner_of(domain, &input.tenant.cluster_id, cd) == Owner::ThisResource;
            if ours && adopted_without_key(cd) {
                b.event(
                    EventKind::Warning,
                    Reason::Deleting,
                    "Delete",
                    format!(
                        "the Auth0 domain {} ({}) was adopted and its cname-api-key never reached Secret {}: it was left in place (delete it in Auth0 if it is no longer needed)",
                        domain.domain,
                        domain.custom_domain_id,
                        cd.secret_name()
                    ),
                );
            } else if ours {
                b.step(Step::Delete {
                    id: domain.custom_domain_id.clone(),
                });
                b.event(
                    EventKind::Normal,
                    Reason::Deleting,
                    "Delete",
                    format!(
                        "deleting Auth0 domain {} ({})",
                        domain.domain, domain.custom_domain_id
                    ),
                );
            } else {
                b.event(
                    EventKind::Normal,
                    Reason::Deleting,
                    "Delete",
                    format!(
                        "the Auth0 domain {} is not owned by this resource and was left in place",
                        domain.domain
                    ),
                );
            }
        }
        Remote::Absent => {}
        Remote::NotLoaded if adopted_without_key(cd) => {
            // Only a listed domain may be judged; an adopted one is never deleted blind.
            b.requeue(SNAPSHOT_RECHECK);
            return;
        }
        Remote::NotLoaded => match status_id {
            // The id in status was ours; a 404 counts as done.
            Some(id) => b.step(Step::Delete { id }),
            None => {
                // A create may have happened just before a crash: look before releasing.
                b.requeue(SNAPSHOT_RECHECK);
                return;
            }
        },
    }
    b.step(Step::ReleaseFinalizer);
}

fn plan_create(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>) {
    let cd = input.resource;
    if let Some(remaining) = create_hold(input) {
        // The refusal's conditions stay as the executor wrote them.
        b.requeue(remaining);
        return;
    }
    if let Some(refusal) = &input.tenant.create_refused {
        let msg = format!(
            "not creating {}: Auth0 refused a create on tenant {} moments ago ({}); {} — the next attempt is in {} min, or as soon as a domain of the tenant is deleted",
            cd.spec.domain,
            input.tenant.name,
            refusal.message,
            match refusal.reason {
                Reason::PlanRefused => "the tenant's plan must include custom domains",
                _ => "raise the plan's custom-domain entitlement or delete domains",
            },
            refusal.retry_in.as_secs().div_ceil(60).max(1),
        );
        b.stalled(refusal.reason, msg);
        b.requeue(refusal.retry_in.max(Duration::from_secs(1)));
        return;
    }
    b.clear_create_refusal();
    let previous_id = cd.status.as_ref().and_then(|s| s.custom_domain_id.clone());
    b.clear_remote();
    let create = create_body(&cd.spec, &owner_marker(&input.tenant.cluster_id, cd));
    match previous_id {
        Some(id) => {
            let msg = format!(
                "Auth0 domain {} ({id}) was deleted outside the operator; creating it again",
                cd.spec.domain
            );
            b.event(EventKind::Warning, Reason::RemoteDeleted, "Create", msg.clone());
            b.progress(Reason::RemoteDeleted, msg);
        }
        None => {
            b.event(
                EventKind::Normal,
                Reason::Creating,
                "Create",
                format!("creating Auth0 domain {}", cd.spec.domain),
            );
            b.progress(
                Reason::Creating,
                format!("creating Auth0 domain {}", cd.spec.domain),
            );
        }
    }
    b.step(Step::Create(create));
    b.requeue(AFTER_WRITE_RECHECK);
}

/// While Auth0's refusal of this generation's create stands (`status.createRefused`): the time
/// to wait before looking again. `None` when a create may be sent.
fn create_hold(input: &PlanInput<'_>) -> Option<Duration> {
    let refusal = input.resource.status.as_ref()?.create_refused.as_ref()?;
    if Some(refusal.generation) != input.resource.metadata.generation {
        return None;
    }
    match &refusal.retry_after {
        None => Some(input.tenant.resync_interval),
        Some(at) => {
            let left = Duration::try_from(at.0.duration_since(input.now)).unwrap_or_default();
            (!left.is_zero()).then_some(left)
        }
    }
}

fn plan_existing(
    input: &PlanInput<'_>,
    b: &mut StatusBuilder<'_>,
    domain: &wire::CustomDomain,
    fetched_at: Timestamp,
) {
    let cd = input.resource;
    b.clear_create_refusal();
    let ours = owner_marker(&input.tenant.cluster_id, cd);
    let owner = owner_of(domain, &input.tenant.cluster_id, cd);
    let spec_type = match cd.spec.type_ {
        DomainType::Auth0ManagedCerts => wire::DomainType::Auth0ManagedCerts,
        DomainType::SelfManagedCerts => wire::DomainType::SelfManagedCerts,
    };
    // A predecessor's domain is as unowned as one made in the dashboard: taking it is adoption.
    let who = match &owner {
        Owner::Predecessor(uid) => format!(
            "was created by an earlier CustomDomain {}/{} (uid {uid}) that no longer exists",
            cd.metadata.namespace.as_deref().unwrap_or_default(),
            cd.metadata.name.as_deref().unwrap_or_default()
        ),
        _ => "already exists and is not managed by this operator".to_owned(),
    };
    match &owner {
        Owner::ThisResource => {}
        Owner::Other(other) => {
            b.stalled(
                Reason::OwnedElsewhere,
                format!(
                    "Auth0 domain {} ({}) is owned by {other}; it is left alone: delete this resource or the other owner's",
                    domain.domain, domain.custom_domain_id
                ),
            );
            b.requeue(input.tenant.resync_interval);
            return;
        }
        Owner::Nobody | Owner::Predecessor(_) if domain.type_ != spec_type => {
            b.stalled(
                Reason::AlreadyExists,
                format!(
                    "Auth0 domain {} ({}) already exists with type {}, but spec.type is {:?}: create a CustomDomain with the matching type to adopt it",
                    domain.domain, domain.custom_domain_id, domain.type_, cd.spec.type_
                ),
            );
            b.requeue(input.tenant.resync_interval);
            return;
        }
        Owner::Nobody | Owner::Predecessor(_)
            if cd.annotation_is_true(ADOPT_ANNOTATION)
                && input.tenant.adoption != AdoptionVerdict::Allowed =>
        {
            let why = match &input.tenant.adoption {
                AdoptionVerdict::Off => "it has no spec.adoption, so nobody may adopt".to_owned(),
                AdoptionVerdict::NamespaceNotSelected(selector) => format!(
                    "namespace {} does not match its spec.adoption.namespaceSelector ({selector})",
                    cd.metadata.namespace.as_deref().unwrap_or_default()
                ),
                AdoptionVerdict::DomainNotListed | AdoptionVerdict::Allowed => {
                    format!("{} is not among its spec.adoption.domains", cd.spec.domain)
                }
            };
            b.stalled(
                Reason::AdoptionNotAllowed,
                format!(
                    "Auth0 domain {} ({}) {who}; this resource asks to adopt it, but Auth0Tenant {} does not allow that: {why}. Nothing was sent to Auth0. The tenant's owner decides: add the namespace and domain to the Auth0Tenant's spec.adoption",
                    domain.domain, domain.custom_domain_id, input.tenant.name
                ),
            );
            b.requeue(input.tenant.resync_interval);
            return;
        }
        Owner::Nobody | Owner::Predecessor(_) if cd.annotation_is_true(ADOPT_ANNOTATION) => {
            let patch = drift_patch(&cd.spec, domain, &ours);
            b.adopting(cd.spec.type_ == DomainType::Auth0ManagedCerts);
            b.event(
                EventKind::Normal,
                Reason::Adopted,
                "Adopt",
                format!(
                    "adopting existing Auth0 domain {} ({})",
                    domain.domain, domain.custom_domain_id
                ),
            );
            b.progress(
                Reason::Adopted,
                format!("adopting existing Auth0 domain {}", domain.domain),
            );
            b.step(Step::Adopt {
                id: domain.custom_domain_id.clone(),
                patch,
            });
            b.requeue(AFTER_WRITE_RECHECK);
            return;
        }
        Owner::Nobody | Owner::Predecessor(_) => {
            b.stalled(
                Reason::AlreadyExists,
                format!(
                    "Auth0 domain {} ({}) {who}: to adopt it, add annotation {ADOPT_ANNOTATION}: \"true\" (Auth0Tenant {}'s spec.adoption must allow this namespace and domain), or delete it in Auth0",
                    domain.domain, domain.custom_domain_id, input.tenant.name
                ),
            );
            b.requeue(input.tenant.resync_interval);
            return;
        }
    }
    if domain.type_ != spec_type {
        b.stalled(
            Reason::InvalidSpec,
            format!(
                "spec.type is {:?} but the Auth0 domain has type {}; type is immutable: restore spec.type or create a new CustomDomain",
                cd.spec.type_, domain.type_
            ),
        );
        b.requeue(input.tenant.resync_interval);
        return;
    }
    b.observe_remote(domain, fetched_at);
    let patch = drift_patch(&cd.spec, domain, &ours);
    if !patch.is_empty() {
        b.event(
            EventKind::Normal,
            Reason::Updating,
            "Patch",
            format!(
                "Auth0 domain {} differs from the spec: {}",
                domain.domain,
                drift::describe(&patch)
            ),
        );
        b.step(Step::Patch {
            id: domain.custom_domain_id.clone(),
            patch,
        });
    }
    match cd.spec.type_ {
        DomainType::SelfManagedCerts => plan_self_managed(input, b, domain, fetched_at),
        DomainType::Auth0ManagedCerts => plan_auth0_managed(input, b, domain, fetched_at),
    }
}

/// What the edge Secret of `cd` holds besides the key, with `domain` as Auth0 returned it.
pub fn secret_content(cd: &CustomDomain, domain: &wire::CustomDomain) -> SecretContent {
    SecretContent {
        name: cd.secret_name(),
        domain: cd.spec.domain.clone(),
        origin_domain_name: known_origin(cd, domain).map(str::to_owned),
        mtls_domain: mtls_alias(cd),
    }
}

/// Auth0's `origin_domain_name` from this answer, else from status when it describes the same
/// domain: some answers leave it out (docs/auth0-api.md#uncertain-points), and it does not change.
fn known_origin<'a>(cd: &'a CustomDomain, domain: &'a wire::CustomDomain) -> Option<&'a str> {
    domain.origin_domain_name.as_deref().or_else(|| {
        cd.status
            .as_ref()
            .filter(|s| s.custom_domain_id.as_deref() == Some(domain.custom_domain_id.as_str()))
            .and_then(|s| s.origin_domain_name.as_deref())
    })
}

/// `mtls.<domain>` when the resource asks for mTLS.
pub fn mtls_alias(cd: &CustomDomain) -> Option<String> {
    cd.spec
        .mtls
        .as_ref()
        .filter(|m| m.enabled)
        .map(|_| format!("mtls.{}", cd.spec.domain))
}

fn plan_self_managed(
    input: &PlanInput<'_>,
    b: &mut StatusBuilder<'_>,
    domain: &wire::CustomDomain,
    fetched_at: Timestamp,
) {
    let cd = input.resource;
    b.certificate_self_managed();
    match &domain.status {
        wire::DomainStatus::Ready => {
            b.verified();
            let (has_key, secret_origin) = match input.secret {
                SecretState::Absent => (false, None),
                SecretState::Present { has_key, origin, .. } => (has_key, origin),
            };
            if let Some(held) = input.pending_key {
                key_held(input, b, held);
                return;
            }
            if !has_key {
                if let Some(from) = moved_key(input) {
                    let msg = format!(
                        "spec.secretName changed: copying the cname-api-key from Secret {from} to Secret {}",
                        cd.secret_name()
                    );
                    b.step(Step::CopyKey {
                        from,
                        to: secret_content(cd, domain),
                    });
                    b.secret_pending(&msg);
                    b.not_ready(Reason::SecretPending, msg);
                    b.requeue(AFTER_WRITE_RECHECK);
                    return;
                }
                key_lost(input, b, domain);
                return;
            }
            b.key_in_secret();
            let origin = known_origin(cd, domain);
            if origin.is_none() && secret_origin.is_none() {
                // The edge proxy needs the origin as much as the key; only Auth0 can tell it.
                b.secret_pending("origin-domain-name is not known yet: reading the domain from Auth0");
                b.not_ready(
                    Reason::SecretPending,
                    format!(
                        "Auth0 has not told the origin-domain-name of {} yet; Secret {} needs it next to the key",
                        cd.spec.domain,
                        cd.secret_name()
                    ),
                );
                let age = Duration::try_from(input.now.duration_since(fetched_at)).unwrap_or_default();
                if age >= ORIGIN_REFRESH {
                    b.step(Step::Refresh {
                        id: domain.custom_domain_id.clone(),
                    });
                    b.requeue(ORIGIN_REFRESH);
                } else {
                    b.requeue(ORIGIN_REFRESH - age);
                }
                return;
            }
            if origin.is_some() && origin != secret_origin {
                b.step(Step::EnsureSecret(secret_content(cd, domain)));
                b.secret_pending("updating origin-domain-name in the Secret");
                b.not_ready(
                    Reason::SecretPending,
                    "updating origin-domain-name in the Secret".to_owned(),
                );
                b.requeue(AFTER_WRITE_RECHECK);
                return;
            }
            b.secret_stored();
            b.ready(format!(
                "{} is verified and its key is in Secret {}",
                cd.spec.domain,
                cd.secret_name()
            ));
            b.requeue(input.tenant.resync_interval);
        }
        wire::DomainStatus::PendingVerification | wire::DomainStatus::Pending => {
            // The Secret must exist before verify: the key arrives only once.
            if input.secret == SecretState::Absent {
                b.step(Step::EnsureSecret(secret_content(cd, domain)));
            }
            b.secret_pending("the Secret waits for the cname-api-key of the first successful verify");
            dns_gate(input, b, domain, fetched_at);
        }
        wire::DomainStatus::Failed | wire::DomainStatus::Disabled => domain_failed(input, b, domain),
        wire::DomainStatus::Other(other) => unknown_status(input, b, domain, other),
    }
}

fn plan_auth0_managed(
    input: &PlanInput<'_>,
    b: &mut StatusBuilder<'_>,
    domain: &wire::CustomDomain,
    fetched_at: Timestamp,
) {
    let cd = input.resource;
    b.secret_not_required();
    b.key_in_secret();
    let secret_origin = match input.secret {
        SecretState::Present { origin, .. } => origin,
        SecretState::Absent => None,
    };
    if domain.origin_domain_name.is_some() && domain.origin_domain_name.as_deref() != secret_origin {
        b.step(Step::EnsureSecret(secret_content(cd, domain)));
    }
    let cert = domain.certificate.as_ref().and_then(|c| c.status.clone());
    let cert_error = domain.certificate.as_ref().and_then(|c| c.error_msg.clone());
    let cert_failed = matches!(
        cert,
        Some(wire::CertificateStatus::ProvisioningFailed | wire::CertificateStatus::RenewingFailed)
    );
    match &domain.status {
        wire::DomainStatus::Ready => {
            b.verified();
            if cert_failed {
                b.certificate_failed(cert_error.as_deref());
                b.ready(format!(
                    "{} is ready; Auth0 reports a certificate problem (see CertificateReady)",
                    cd.spec.domain
                ));
            } else {
                b.certificate_ready();
                b.ready(format!(
                    "{} is verified and Auth0 serves its certificate",
                    cd.spec.domain
                ));
            }
            b.requeue(input.tenant.resync_interval);
        }
        wire::DomainStatus::PendingVerification | wire::DomainStatus::Pending => {
            let verified = domain.verification.as_ref().and_then(|v| v.status.as_ref())
                == Some(&wire::VerificationStatus::Verified);
            if cert_failed {
                b.verified_if(verified);
                b.certificate_failed(cert_error.as_deref());
                b.stalled(
                    Reason::CertificateFailed,
                    format!(
                        "Auth0 could not issue the certificate for {}: {} — check CAA records and that the CNAME stays in place",
                        cd.spec.domain,
                        cert_error.as_deref().unwrap_or("no details")
                    ),
                );
                b.requeue(input.tenant.resync_interval);
            } else if verified {
                b.verified();
                b.certificate_provisioning();
                b.progress(
                    Reason::Provisioning,
                    format!(
                        "{} is verified; Auth0 is issuing the certificate (usually minutes)",
                        cd.spec.domain
                    ),
                );
                refresh_or_wait(input, b, domain, fetched_at);
            } else {
                b.certificate_provisioning();
                dns_gate(input, b, domain, fetched_at);
            }
        }
        wire::DomainStatus::Failed | wire::DomainStatus::Disabled => domain_failed(input, b, domain),
        wire::DomainStatus::Other(other) => unknown_status(input, b, domain, other),
    }
}

fn refresh_or_wait(
    input: &PlanInput<'_>,
    b: &mut StatusBuilder<'_>,
    domain: &wire::CustomDomain,
    fetched_at: Timestamp,
) {
    let age = Duration::try_from(input.now.duration_since(fetched_at)).unwrap_or_default();
    if age >= REFRESH_AFTER {
        b.step(Step::Refresh {
            id: domain.custom_domain_id.clone(),
        });
        b.requeue(REFRESH_AFTER);
    } else {
        b.requeue(REFRESH_AFTER - age);
    }
}

/// The DNS gate: verify only once DNS shows the record Auth0 asked for (or with preflight off).
fn dns_gate(
    input: &PlanInput<'_>,
    b: &mut StatusBuilder<'_>,
    domain: &wire::CustomDomain,
    fetched_at: Timestamp,
) {
    let records = VerificationRecord::from_domain(domain);
    b.records(&records);
    let auth0_error = domain.verification.as_ref().and_then(|v| v.error_msg.clone());
    let Some(record) = records.first().cloned() else {
        b.not_verified(
            Reason::AwaitingVerification,
            format!("Auth0 returned no verification record for {} yet", domain.domain),
        );
        b.progress(
            Reason::AwaitingVerification,
            "waiting for Auth0 to name the verification record".to_owned(),
        );
        refresh_or_wait(input, b, domain, fetched_at);
        return;
    };
    let want = format!("Create {}", record.describe());
    if let Some(turn) = &input.verify_wait
        && turn.wait >= VERIFY_WAIT_SHOWN
        && (!input.options.dns_preflight || matches!(input.dns, Some(DnsAnswer::Visible)))
    {
        let seen = if input.options.dns_preflight {
            format!("{} is visible in DNS", record.describe())
        } else {
            format!("{want} (DNS preflight is off)")
        };
        let msg = format!(
            "{seen}; waiting for the verify budget ({} per minute): {} ahead, about {}",
            format_rate(turn.per_minute),
            turn.ahead,
            format_wait(turn.wait)
        );
        if input.options.dns_preflight {
            b.dns_observed(Some(true));
        } else {
            b.dns_observed(None);
        }
        b.verify_expected_at(expected_at(input.now, turn.wait));
        b.not_verified(Reason::AwaitingVerifyBudget, msg.clone());
        b.progress(Reason::AwaitingVerifyBudget, msg);
        b.requeue(turn.wait);
        return;
    }
    if !input.options.dns_preflight {
        b.dns_observed(None);
        b.not_verified(
            Reason::AwaitingVerification,
            format!("{want}; asking Auth0 to verify (DNS preflight is off)"),
        );
        b.progress(
            Reason::AwaitingVerification,
            format!("{want}; verification requested"),
        );
        verify_or_wait(input, b, domain);
        b.requeue(backoff(
            DNS_RECHECK_MIN,
            input.attempts.verifies,
            VERIFY_RECHECK_MAX,
        ));
        return;
    }
    match input.dns {
        None => {
            b.step(Step::LookupDns(record));
            b.requeue(dns_backoff(
                input.attempts.dns_checks,
                input.options.dns_recheck_max,
            ));
        }
        Some(DnsAnswer::Visible) => {
            b.dns_observed(Some(true));
            let mut msg = format!("{} is visible in DNS; verification requested", record.describe());
            if let Some(e) = &auth0_error {
                msg.push_str(&format!(" (Auth0's last answer: {e})"));
            }
            let reason = if auth0_error.is_some() {
                Reason::VerificationFailed
            } else {
                Reason::AwaitingVerification
            };
            b.not_verified(reason, msg.clone());
            b.progress(Reason::AwaitingVerification, msg);
            verify_or_wait(input, b, domain);
            b.requeue(backoff(
                DNS_RECHECK_MIN,
                input.attempts.verifies,
                VERIFY_RECHECK_MAX,
            ));
        }
        Some(answer) => {
            b.dns_observed(Some(false));
            let detail = match answer {
                DnsAnswer::Missing { seen } if !seen.is_empty() => {
                    format!(" (found instead: {})", seen.join(", "))
                }
                DnsAnswer::Unresolvable(e) => format!(" (DNS did not answer: {e})"),
                _ => String::new(),
            };
            let msg = format!("{want} — not visible in DNS yet{detail}");
            b.not_verified(Reason::AwaitingDns, msg.clone());
            b.progress(Reason::AwaitingDns, msg);
            b.requeue(dns_backoff(
                input.attempts.dns_checks,
                input.options.dns_recheck_max,
            ));
        }
    }
}

/// Verify now, or (the executor found the turn a few seconds off) come back at the turn.
fn verify_or_wait(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>, domain: &wire::CustomDomain) {
    match &input.verify_wait {
        Some(turn) => b.requeue(turn.wait),
        None => b.step(Step::Verify {
            id: domain.custom_domain_id.clone(),
            secret: (input.resource.spec.type_ == DomainType::SelfManagedCerts)
                .then(|| secret_content(input.resource, domain)),
        }),
    }
}

fn format_rate(per_minute: f64) -> String {
    if (per_minute - per_minute.round()).abs() < 0.05 {
        format!("{}", per_minute.round())
    } else {
        format!("{per_minute:.1}")
    }
}

/// `now + wait` to the whole second: the turn is fixed, so the rounded time stays the same from
/// one reconcile to the next and costs no status write.
fn expected_at(now: Timestamp, wait: Duration) -> Timestamp {
    let ms = now
        .as_millisecond()
        .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
    Timestamp::from_second((ms + 500).div_euclid(1000)).unwrap_or(now)
}

/// "about 40 s" / "about 3 min" (to the nearest minute from two minutes on): what a person needs
/// to decide whether to wait.
fn format_wait(wait: Duration) -> String {
    let secs = wait.as_secs();
    if secs < 120 {
        format!("{} s", secs.max(1))
    } else {
        format!("{} min", (secs + 30) / 60)
    }
}

/// The Secret the key was in before `spec.secretName` changed, when it still holds it and is ours.
fn moved_key(input: &PlanInput<'_>) -> Option<String> {
    let Some(SecretState::Present {
        has_key: true,
        owner: SecretOwner::ThisResource,
        ..
    }) = input.previous_secret
    else {
        return None;
    };
    input
        .resource
        .status
        .as_ref()?
        .secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .filter(|name| *name != input.resource.secret_name())
}

/// The key from verify is not in the Secret yet: say where it is, and that it is retried.
fn key_held(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>, held: PendingKey<'_>) {
    let secret = input.resource.secret_name();
    let Some(error) = held.write_error else {
        b.secret_pending("the cname-api-key from verify is being written to the Secret");
        b.not_ready(
            Reason::SecretPending,
            "writing the cname-api-key to the Secret".to_owned(),
        );
        b.requeue(AFTER_WRITE_RECHECK);
        return;
    };
    let kept = match held.escrow {
        Some(escrow) => format!("a copy is kept in escrow Secret {escrow} until then"),
        None => "it exists ONLY in the operator's memory (the escrow copy could not be written either): restoring write access to Secrets soon is urgent".to_owned(),
    };
    let msg = format!(
        "the one-time cname-api-key could not be written to Secret {secret} ({error}); the operator holds it and keeps retrying — {kept}"
    );
    b.set_secret_condition(Reason::KeyPendingWrite, msg.clone());
    b.not_ready(Reason::KeyPendingWrite, msg.clone());
    b.event(EventKind::Warning, Reason::KeyPendingWrite, "StoreKey", msg);
    b.requeue(KEY_WRITE_RETRY);
}

fn key_lost(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>, domain: &wire::CustomDomain) {
    let cd = input.resource;
    let secret = cd.secret_name();
    if cd.annotation_is_true(RECREATE_ON_KEY_LOSS_ANNOTATION) && !adopted_without_key(cd) {
        let msg = format!(
            "the cname-api-key of {} is lost; deleting and recreating the Auth0 domain to obtain a new one (it must be verified again)",
            domain.domain
        );
        b.secret_lost(msg.clone());
        b.event(EventKind::Warning, Reason::Recreating, "Recreate", msg.clone());
        b.progress(Reason::Recreating, msg);
        b.step(Step::RecreateForKeyLoss {
            id: domain.custom_domain_id.clone(),
            create: create_body(&cd.spec, &owner_marker(&input.tenant.cluster_id, cd)),
        });
        b.requeue(AFTER_WRITE_RECHECK);
        return;
    }
    if input.secret == SecretState::Absent {
        // Recreate the Secret without the key, so there is a place to put a saved key back.
        b.step(Step::EnsureSecret(secret_content(cd, domain)));
    }
    let msg = if adopted_without_key(cd) {
        format!(
            "{} was adopted and its one-time cname-api-key is not in Secret {secret}: Auth0 returned it only to whoever verified the domain first; put that key into the Secret (the operator never deletes or recreates an adopted domain before its key has been in the Secret)",
            domain.domain
        )
    } else {
        format!(
            "the one-time cname-api-key of {} is not in Secret {secret} and Auth0 will not return it again: put the key back into the Secret, or set annotation {RECREATE_ON_KEY_LOSS_ANNOTATION}: \"true\" to delete and recreate the domain",
            domain.domain
        )
    };
    b.secret_lost(msg.clone());
    b.stalled(Reason::CnameApiKeyLost, msg);
    b.requeue(input.tenant.resync_interval);
}

/// This resource adopted its domain and the domain's key has not been in the Secret since.
fn adopted_without_key(cd: &CustomDomain) -> bool {
    cd.status
        .as_ref()
        .and_then(|s| s.adoption.as_ref())
        .is_some_and(|a| !a.key_in_secret)
}

fn unknown_status(
    input: &PlanInput<'_>,
    b: &mut StatusBuilder<'_>,
    domain: &wire::CustomDomain,
    other: &str,
) {
    b.waiting(
        Reason::Auth0Error,
        format!(
            "Auth0 reports status {other:?} for {}, which this operator version does not know; looking again at the next resync",
            domain.domain
        ),
    );
    b.requeue(input.tenant.resync_interval);
}

fn domain_failed(input: &PlanInput<'_>, b: &mut StatusBuilder<'_>, domain: &wire::CustomDomain) {
    let mut details: Vec<String> = Vec::new();
    if let Some(e) = domain.verification.as_ref().and_then(|v| v.error_msg.as_ref()) {
        details.push(format!("verification: {e}"));
    }
    let cert_error = domain.certificate.as_ref().and_then(|c| c.error_msg.clone());
    if let Some(e) = &cert_error {
        details.push(format!("certificate: {e}"));
    }
    let detail = if details.is_empty() {
        "no details from Auth0".to_owned()
    } else {
        details.join("; ")
    };
    let cert_failed = matches!(
        domain.certificate.as_ref().and_then(|c| c.status.as_ref()),
        Some(wire::CertificateStatus::ProvisioningFailed | wire::CertificateStatus::RenewingFailed)
    );
    if cert_failed {
        b.certificate_failed(cert_error.as_deref());
        b.stalled(
            Reason::CertificateFailed,
            format!(
                "Auth0 reports {} as {}: {detail} — check CAA records and that the DNS record stays in place",
                domain.domain, domain.status
            ),
        );
    } else {
        b.stalled(
            Reason::DomainFailed,
            format!(
                "Auth0 reports {} as {}: {detail} — fix the cause in Auth0 or delete and recreate this resource",
                domain.domain, domain.status
            ),
        );
    }
    b.requeue(input.tenant.resync_interval);
}

#[cfg(test)]
mod tests;
