//! The pure plan of an `Auth0Tenant` reconcile: what was observed (credentials, the tenant's
//! domains, the default domain, tenant settings, the answers of steps already run) goes in; the
//! steps to run, the new status, the Events and the runtime's health come out. No clock, no
//! client, no I/O, so every decision is a row of a table test (`plan/tests.rs`); the executor in
//! `reconcile.rs` observes, runs the steps and plans again with their answers
//! (`docs/design.md#tenant-side`).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::EventType;

use super::access::{Refusal, TenantPolicy};
use super::decide::{
    decide_default, entitlement_warning, listed_default, must_read_default, must_read_settings,
};
use super::runtime::{Desired, Health};
use crate::auth0::client::{CUSTOM_DOMAIN_SCOPES, READ_TENANT_SETTINGS, TENANT_SETTINGS_SCOPES};
use crate::auth0::{self, CredentialsCheck, RateLimit, Redacted, TenantConfig, types::DomainStatus};
use crate::resources::conditions::{
    ConditionType, Reason, condition, is_true, remove_condition, set_condition,
};
use crate::resources::tenant::{
    Auth0Tenant, Auth0TenantSpec, Auth0TenantStatus, CredentialsSecretRef, DomainCounts,
};

/// Re-check delay of a tenant that is not ready, or whose default domain or mTLS setting could
/// not be applied.
pub const NOT_READY_RECHECK: Duration = Duration::from_secs(30);
/// Re-check delay of a deleting tenant that waits for its CustomDomains.
pub const DELETING_RECHECK: Duration = Duration::from_secs(5);
/// Resync interval assumed when `spec.resyncInterval` does not parse (the tenant is then refused).
const FALLBACK_RESYNC: Duration = Duration::from_secs(600);

/// What was learnt about the tenant's credentials.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    /// The spec, the operator's policy or the credentials Secret make the tenant unusable before
    /// any call: no runtime exists.
    Unbuilt(Refusal),
    /// The runtime exists; its credentials check (token, scopes, domain list) ended so.
    Checked(Result<CredentialsCheck, Refusal>),
}

/// What the runtime remembers between reconciles, read once at the start of one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// The default domain as last read (`None` inside: the canonical domain), with the read's age.
    pub default_read: Option<(Option<String>, Duration)>,
    /// Age of the last tenant-settings read.
    pub settings_read: Option<Duration>,
}

/// Answers of the steps run so far in this reconcile; the executor fills them in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answers {
    /// [`Step::ReadDefault`]: the custom default (`None`: the canonical domain).
    pub default_read: Option<Result<Option<String>, Refusal>>,
    /// [`Step::SetDefault`]: the custom default Auth0 reports after the change.
    pub default_set: Option<Result<Option<String>, Refusal>>,
    /// [`Step::ReadSettings`]: whether `mtls.enable_endpoint_aliases` is on.
    pub settings_read: Option<Result<bool, Refusal>>,
    /// [`Step::PatchSettings`].
    pub settings_patch: Option<Result<(), Refusal>>,
}

/// What the planner sees.
#[derive(Clone, Debug)]
pub struct TenantInput<'a> {
    /// The resource as last read.
    pub tenant: &'a Auth0Tenant,
    /// The time conditions are stamped with.
    pub now: Timestamp,
    /// While deleting: the `Deleting` message naming the CustomDomains that still need the tenant.
    pub hold: Option<&'a str>,
    /// The credentials.
    pub access: &'a Access,
    /// The tenant's domains, once its list has been read.
    pub domains: Option<&'a [std::sync::Arc<auth0::types::CustomDomain>]>,
    /// The runtime's memory.
    pub memory: &'a Memory,
    /// Answers of the steps run so far.
    pub answers: &'a Answers,
}

/// One action of the executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `GET /custom-domains/default`.
    ReadDefault,
    /// `PATCH /custom-domains/default` with this domain.
    SetDefault(String),
    /// `GET /tenants/settings`.
    ReadSettings,
    /// `PATCH /tenants/settings` setting `mtls.enable_endpoint_aliases` to this.
    PatchSettings(bool),
}

/// An Event to publish on the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub type_: EventType,
    /// Its reason.
    pub reason: Reason,
    /// Its text.
    pub note: String,
}

/// The planner's answer.
#[derive(Clone, Debug)]
pub struct TenantPlan {
    /// To run now, then plan again; empty when the plan is final.
    pub steps: Vec<Step>,
    /// The status to write.
    pub status: Auth0TenantStatus,
    /// Events to publish once the status is written.
    pub events: Vec<EventNote>,
    /// When to look again.
    pub requeue: Duration,
    /// The tenant's health as the CustomDomain controller should see it.
    pub health: Health,
    /// The tenant's `mtls.enable_endpoint_aliases` as learnt or applied, when known.
    pub mtls_aliases: Option<bool>,
    /// The tenant's domains by state, once its list has been read.
    pub counts: Option<DomainCounts>,
}

/// Plans one round of a tenant reconcile.
pub fn plan(input: &TenantInput<'_>) -> TenantPlan {
    let tenant = input.tenant;
    let resync = tenant.spec.resync_interval().unwrap_or(FALLBACK_RESYNC);
    let mut b = Builder::new(tenant, input.now);
    let counts = input.domains.map(count);
    let (health, requeue) = match input.access {
        Access::Checked(Ok(granted)) => {
            b.ready(format!(
                "credentials work; {} domains on the tenant",
                counts.as_ref().map_or(0, |c| c.total)
            ));
            let domains = input.domains.unwrap_or_default();
            // Both are planned every round, so their reads (and then their writes) go out together.
            let default_settled = plan_default(input, domains, &mut b);
            let mtls_settled = plan_mtls(input, granted, &mut b);
            let settled = default_settled && mtls_settled;
            (
                Health::Ready,
                if settled {
                    resync
                } else {
                    NOT_READY_RECHECK.min(resync)
                },
            )
        }
        Access::Checked(Err(refusal)) => {
            let refusal = name_the_credentials(refusal.clone(), &tenant.spec);
            b.refused(&refusal);
            let health = match refusal.reason {
                Reason::PlanRefused => Health::PlanRefused(refusal.message),
                _ => Health::NotReady(refusal.message),
            };
            (health, NOT_READY_RECHECK)
        }
        Access::Unbuilt(refusal) => {
            b.refused(refusal);
            (Health::NotReady(refusal.message.clone()), NOT_READY_RECHECK)
        }
    };
    if let Some(c) = &counts {
        match entitlement_warning(c.total, tenant.spec.entitlement) {
            Some(message) => b.warn(
                ConditionType::EntitlementExceeded,
                Reason::EntitlementExceeded,
                message,
            ),
            None => b.clear(ConditionType::EntitlementExceeded),
        }
        b.status.custom_domains = Some(c.clone());
    }
    let requeue = match input.hold {
        Some(message) => {
            // Ready stays as it is: the domains' deletions still use this tenant's client.
            b.warn(ConditionType::Deleting, Reason::DomainsRemain, message.to_owned());
            DELETING_RECHECK
        }
        None => {
            b.clear(ConditionType::Deleting);
            requeue
        }
    };
    TenantPlan {
        steps: b.steps,
        status: b.status,
        events: b.events,
        requeue,
        health,
        mtls_aliases: b.mtls_aliases,
        counts,
    }
}

/// The default domain: read it (unless the list's `is_default` flags answer for free), decide,
/// set it when the spec asks for another. False while a failure wants an early re-check.
fn plan_default(
    input: &TenantInput<'_>,
    domains: &[std::sync::Arc<auth0::types::CustomDomain>],
    b: &mut Builder,
) -> bool {
    let listed = listed_default(domains);
    let remembered = match (&input.answers.default_read, &input.memory.default_read) {
        (None, Some((value, age))) if !must_read_default(Some((value.as_deref(), *age)), listed) => {
            Some(value.clone())
        }
        _ => None,
    };
    let current = match remembered {
        Some(value) => value,
        None => {
            let read = b.answer(
                &input.answers.default_read,
                || Step::ReadDefault,
                ConditionType::DefaultDomain,
                || "reading the default domain".to_owned(),
            );
            let Some(value) = read else { return false };
            value
        }
    };
    let decision = decide_default(
        input.tenant.spec.default_custom_domain.as_deref(),
        current.as_deref(),
        domains,
    );
    b.status.default_custom_domain = current;
    if let Some(domain) = &decision.set {
        let set = b.answer(
            &input.answers.default_set,
            || Step::SetDefault(domain.clone()),
            ConditionType::DefaultDomain,
            || format!("making {domain} the default"),
        );
        let Some(now_default) = set else { return false };
        b.status.default_custom_domain = now_default;
        b.event(
            EventType::Normal,
            Reason::DefaultDomainSet,
            decision.message.clone(),
        );
    }
    b.set(
        ConditionType::DefaultDomain,
        decision.ok,
        decision.reason,
        decision.message,
    );
    true
}

/// `spec.mtls`: applied to the tenant settings when set (drift repaired every resync); when unset
/// the setting is only learnt, at most once an hour, so domains report `mtls.<domain>` truthfully.
/// False while a failure wants an early re-check.
fn plan_mtls(input: &TenantInput<'_>, granted: &CredentialsCheck, b: &mut Builder) -> bool {
    let answers = input.answers;
    let Some(wanted) = input.tenant.spec.mtls.as_ref().map(|m| m.enable_endpoint_aliases) else {
        b.clear(ConditionType::MtlsAliases);
        let readable = granted.missing(&[READ_TENANT_SETTINGS]).is_empty();
        if readable && must_read_settings(false, input.memory.settings_read) {
            match &answers.settings_read {
                None => b.step(Step::ReadSettings),
                Some(Ok(on)) => b.mtls_aliases = Some(*on),
                // Only learning: the executor logs the failure, the next hour tries again.
                Some(Err(_)) => {}
            }
        }
        return true;
    };
    let missing = granted.missing(&TENANT_SETTINGS_SCOPES);
    if !missing.is_empty() {
        b.set(
            ConditionType::MtlsAliases,
            false,
            Reason::MissingScopes,
            format!(
                "spec.mtls needs {} in the application's client grant for the Management API",
                missing.join(", ")
            ),
        );
        return true;
    }
    let read = b.answer(
        &answers.settings_read,
        || Step::ReadSettings,
        ConditionType::MtlsAliases,
        || "reading tenant settings".to_owned(),
    );
    let Some(current) = read else { return false };
    if current != wanted {
        let patched = b.answer(
            &answers.settings_patch,
            || Step::PatchSettings(wanted),
            ConditionType::MtlsAliases,
            || format!("setting mtls.enable_endpoint_aliases={wanted}"),
        );
        if patched.is_none() {
            return false;
        }
    }
    b.mtls_aliases = Some(wanted);
    if wanted {
        b.set(
            ConditionType::MtlsAliases,
            true,
            Reason::MtlsAliasesEnabled,
            "mtls.enable_endpoint_aliases is on: self-managed domains with spec.mtls.enabled get mtls.<domain>",
        );
    } else {
        b.set(
            ConditionType::MtlsAliases,
            false,
            Reason::MtlsAliasesDisabled,
            "mtls.enable_endpoint_aliases is off (spec.mtls.enableEndpointAliases: false)",
        );
    }
    true
}

/// The checks that run before the credentials Secret is read or any request is sent: the
/// operator's policy (host, URL, credentials namespace; `docs/security.md`), plain http, the resync
/// interval. Returns the resync interval.
pub fn admit(
    spec: &Auth0TenantSpec,
    policy: &TenantPolicy,
    allow_insecure: bool,
) -> Result<Duration, Refusal> {
    policy.vet(spec)?;
    let url = spec.api_base_url();
    if url.starts_with("http://") && !allow_insecure {
        return Err(refusal(
            Reason::InvalidTenant,
            format!(
                "managementApiUrl {url} is plain http: use https (http is allowed only with --allow-insecure-auth0)"
            ),
        ));
    }
    spec.resync_interval()
        .map_err(|e| refusal(Reason::InvalidTenant, e.to_string()))
}

/// The client id and secret from the credentials Secret (`None`: it does not exist).
pub fn credentials(
    secret: Option<&Secret>,
    r: &CredentialsSecretRef,
) -> Result<(String, Redacted<String>), Refusal> {
    let Some(secret) = secret else {
        return Err(refusal(
            Reason::CredentialsNotFound,
            format!(
                "credentials Secret {}/{} not found: create it with keys {} and {}",
                r.namespace, r.name, r.client_id_key, r.client_secret_key
            ),
        ));
    };
    let value = |key: &str| super::runtime::secret_text(secret, key);
    match (value(&r.client_id_key), value(&r.client_secret_key)) {
        (Some(id), Some(secret)) => Ok((id, Redacted::new(secret))),
        _ => Err(refusal(
            Reason::CredentialsNotFound,
            format!(
                "credentials Secret {}/{} lacks key {} or {}",
                r.namespace, r.name, r.client_id_key, r.client_secret_key
            ),
        )),
    }
}

/// The runtime the tenant asks for: its client's config (budgets included), resync interval and
/// namespace fence.
pub fn desired(
    name: &str,
    spec: &Auth0TenantSpec,
    resync_interval: Duration,
    (client_id, client_secret): (String, Redacted<String>),
    allow_insecure: bool,
    verify_limit: RateLimit,
) -> Desired {
    let mut config = TenantConfig::new(name, spec.domain.clone(), client_id, client_secret);
    config.management_api_url = spec.management_api_url.clone();
    config.allow_insecure = allow_insecure;
    config.rate_limit = RateLimit {
        requests_per_second: f64::from(spec.rate_limit.requests_per_second),
        burst: spec.rate_limit.burst,
    };
    config.verify_limit = verify_limit;
    Desired {
        config,
        resync_interval,
        allowed_namespaces: spec.allowed_namespaces.clone(),
    }
}

/// Every custom-domain scope granted, or which are missing.
pub fn scopes(granted: &CredentialsCheck) -> Result<(), Refusal> {
    let missing = granted.missing(&CUSTOM_DOMAIN_SCOPES);
    if missing.is_empty() {
        return Ok(());
    }
    Err(refusal(
        Reason::MissingScopes,
        format!(
            "the application's grant lacks {}: add them to its client grant for the Management API",
            missing.join(", ")
        ),
    ))
}

/// What an Auth0 failure means for the tenant: rejected credentials, a plan without custom
/// domains, an outage (passes by itself) or another error. The message is Auth0's, redacted.
pub fn classify(e: &auth0::Error) -> Refusal {
    let reason = if e.is_auth() {
        Reason::CredentialsRejected
    } else if e.is_plan_refusal() {
        Reason::PlanRefused
    } else if e.is_transient() {
        Reason::Auth0Unreachable
    } else {
        Reason::Auth0Error
    };
    refusal(reason, e.to_string())
}

/// [`classify`] for the credentials check: a plan refusal says what to do about it.
pub fn check_failure(e: &auth0::Error) -> Refusal {
    let mut r = classify(e);
    if r.reason == Reason::PlanRefused {
        r.message = format!(
            "{e}: the tenant's plan does not include custom domains; upgrade it or add a verified card in the Auth0 dashboard"
        );
    }
    r
}

/// A refusal of the credentials says which Secret and keys hold them, as a missing Secret does.
fn name_the_credentials(mut r: Refusal, spec: &Auth0TenantSpec) -> Refusal {
    if r.reason == Reason::CredentialsRejected {
        let s = &spec.credentials_secret_ref;
        r.message = format!(
            "{}: Auth0 refused the client id and secret in Secret {}/{} (keys {} and {}); put the machine-to-machine application's credentials there and check that it has a client grant for the Management API of {}",
            r.message, s.namespace, s.name, s.client_id_key, s.client_secret_key, spec.domain
        );
    }
    r
}

/// Failures only a person can end: a wrong spec, missing or refused credentials, missing scopes, a
/// plan without custom domains. Others (Auth0 unreachable, 5xx) pass by themselves.
fn needs_a_person(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::InvalidTenant
            | Reason::TenantDomainNotAllowed
            | Reason::ManagementApiUrlNotAllowed
            | Reason::CredentialsNamespaceNotAllowed
            | Reason::CredentialsNotFound
            | Reason::CredentialsRejected
            | Reason::MissingScopes
            | Reason::PlanRefused
    )
}

fn refusal(reason: Reason, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

/// Domains per `status.state` spelling ([`crate::telemetry::metrics::DOMAIN_STATES`]), for the gauge.
pub fn metric_states(domains: &[std::sync::Arc<auth0::types::CustomDomain>]) -> Vec<(&'static str, i64)> {
    let mut by_state: std::collections::BTreeMap<&'static str, i64> = std::collections::BTreeMap::new();
    for d in domains {
        let state = match d.status {
            DomainStatus::Ready => "Ready",
            DomainStatus::PendingVerification => "PendingVerification",
            DomainStatus::Pending => "Pending",
            DomainStatus::Failed => "Failed",
            DomainStatus::Disabled => "Disabled",
            // Unknown statuses are not ready yet: count them as pending.
            DomainStatus::Other(_) => "Pending",
        };
        *by_state.entry(state).or_default() += 1;
    }
    by_state.into_iter().collect()
}

/// Counts the tenant's domains by state (the gauge's classification, folded into status buckets).
pub fn count(domains: &[std::sync::Arc<auth0::types::CustomDomain>]) -> DomainCounts {
    let mut c = DomainCounts::default();
    for (state, n) in metric_states(domains) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        c.total += n;
        match state {
            "Ready" => c.ready += n,
            "Failed" | "Disabled" => c.failed += n,
            _ => c.pending += n,
        }
    }
    c
}

/// Accumulates the tenant's status, steps and Events; the one way conditions are set here.
struct Builder {
    generation: Option<i64>,
    now: Timestamp,
    status: Auth0TenantStatus,
    steps: Vec<Step>,
    events: Vec<EventNote>,
    mtls_aliases: Option<bool>,
}

impl Builder {
    fn new(tenant: &Auth0Tenant, now: Timestamp) -> Self {
        let mut status = tenant.status.clone().unwrap_or_default();
        status.observed_generation = tenant.metadata.generation;
        Self {
            generation: tenant.metadata.generation,
            now,
            status,
            steps: Vec::new(),
            events: Vec::new(),
            mtls_aliases: None,
        }
    }

    fn set(&mut self, type_: ConditionType, ok: bool, reason: Reason, message: impl Into<String>) {
        let c = condition(type_, ok, reason, message, self.generation, self.now);
        set_condition(&mut self.status.conditions, c);
    }

    fn clear(&mut self, type_: ConditionType) {
        remove_condition(&mut self.status.conditions, type_);
    }

    /// An abnormal-true condition: set `True`, with a Warning Event when it turns true (not again
    /// while it stays so).
    fn warn(&mut self, type_: ConditionType, reason: Reason, message: String) {
        if !is_true(&self.status.conditions, type_) {
            self.event(EventType::Warning, reason, message.clone());
        }
        self.set(type_, true, reason, message);
    }

    /// Credentials work: `Ready=True`, neither `Stalled` nor `Reconciling`.
    fn ready(&mut self, message: String) {
        self.clear(ConditionType::Stalled);
        self.clear(ConditionType::Reconciling);
        self.set(ConditionType::Ready, true, Reason::TenantReady, message);
    }

    /// Not usable: `Ready=False`, and for kstatus (Flux, Argo CD) `Stalled` when a person must act
    /// (read as Failed) or `Reconciling` when it may pass by itself (InProgress).
    fn refused(&mut self, r: &Refusal) {
        self.set(ConditionType::Ready, false, r.reason, r.message.clone());
        let (set, clear) = if needs_a_person(r.reason) {
            (ConditionType::Stalled, ConditionType::Reconciling)
        } else {
            (ConditionType::Reconciling, ConditionType::Stalled)
        };
        self.clear(clear);
        self.set(set, true, r.reason, r.message.clone());
    }

    /// The answer of a step: while it is missing the step is added; when the step failed,
    /// `condition` says so (`what`: the call, in words). `None` in both cases: the caller stops
    /// there and the tenant looks again soon.
    fn answer<T: Clone>(
        &mut self,
        answer: &Option<Result<T, Refusal>>,
        step: impl FnOnce() -> Step,
        condition: ConditionType,
        what: impl FnOnce() -> String,
    ) -> Option<T> {
        match answer {
            Some(Ok(value)) => Some(value.clone()),
            Some(Err(f)) => {
                self.set(condition, false, f.reason, format!("{}: {}", what(), f.message));
                None
            }
            None => {
                self.step(step());
                None
            }
        }
    }

    fn step(&mut self, step: Step) {
        self.steps.push(step);
    }

    fn event(&mut self, type_: EventType, reason: Reason, note: String) {
        self.events.push(EventNote { type_, reason, note });
    }
}

#[cfg(test)]
mod tests;
