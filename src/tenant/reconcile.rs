//! The `Auth0Tenant` controller: builds the tenant's runtime from its spec and credentials Secret,
//! checks the credentials, keeps the shared domain list fresh and reports counts in status.

use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType},
        reflector::Store,
    },
};
use serde_json::json;
use tracing::{info, instrument, warn};

use super::access::TenantPolicy;
use super::decide::{
    decide_default, entitlement_warning, listed_default, must_read_default, must_read_settings,
};
use super::lifecycle::{self, FinalizerStep};
use super::runtime::{Health, TenantRuntime, Tenants};
use super::snapshot::Snapshot;
use crate::auth0::{
    self, CredentialsCheck, RateLimit, Redacted, TenantClient, TenantConfig,
    types::{DomainStatus, TenantMtls as Auth0Mtls, TenantSettings},
};
use crate::names::MANAGER;
use crate::resources::conditions::{
    ConditionType, Reason, condition, is_true, remove_condition, set_condition,
};
use crate::resources::custom_domain::CustomDomain;
use crate::resources::tenant::{Auth0Tenant, Auth0TenantSpec, Auth0TenantStatus, DomainCounts};
use crate::telemetry::events::Recorder;
use crate::telemetry::metrics::Metrics;

/// Scopes every tenant's credentials need.
pub const REQUIRED_SCOPES: &[&str] = &[
    "read:custom_domains",
    "create:custom_domains",
    "update:custom_domains",
    "delete:custom_domains",
];
/// Re-check delay of a tenant that is not ready.
const NOT_READY_RECHECK: Duration = Duration::from_secs(30);
/// Re-check delay of a deleting tenant that waits for its CustomDomains.
const DELETING_RECHECK: Duration = Duration::from_secs(5);

/// Errors of the tenant controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{action} Auth0Tenant {name}: {source}")]
    Kube {
        /// What was being done.
        action: &'static str,
        /// The tenant.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Shared state of the tenant controller.
pub struct Context {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Tenant runtimes, shared with the CustomDomain controller.
    pub tenants: Arc<Tenants>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// `--allow-insecure-auth0`.
    pub allow_insecure: bool,
    /// `verify`'s budget (Auth0: burst 5, 5 per minute; faster only against simulators).
    pub verify_limit: RateLimit,
    /// Told when a tenant's health flips, so every CustomDomain re-plans at once.
    pub kick: tokio::sync::mpsc::Sender<()>,
    /// Publishes the tenant's Events (entitlement warnings, default-domain changes).
    pub recorder: Recorder,
    /// Which hosts, URLs and credentials namespaces a tenant may name.
    pub policy: TenantPolicy,
    /// The operator's own namespace (`POD_NAMESPACE`, else `--namespace`, else the kubeconfig's).
    pub home_namespace: String,
    /// Whether the operator runs with `--namespace` (then it writes only the tenants whose
    /// credentials live in its own namespace).
    pub namespace_scoped: bool,
    /// The CustomDomains this operator sees, for the deletion finalizer.
    pub domains: Store<CustomDomain>,
}

/// Why a tenant cannot be used; the message is safe to show.
struct NotReady {
    reason: Reason,
    message: String,
}

fn not_ready(reason: Reason, message: impl Into<String>) -> NotReady {
    NotReady {
        reason,
        message: message.into(),
    }
}

/// Reconciles one `Auth0Tenant`.
#[instrument(skip_all, fields(tenant = %tenant.name_any()))]
pub async fn reconcile(tenant: Arc<Auth0Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile_timer("tenant");
    let name = tenant.name_any();
    let api: Api<Auth0Tenant> = Api::all(ctx.client.clone());
    let resync = tenant.spec.resync_interval().unwrap_or(Duration::from_secs(600));
    let owner = lifecycle::writes_tenant(
        ctx.namespace_scoped,
        &ctx.home_namespace,
        &tenant.spec.credentials_secret_ref.namespace,
    );
    let deleting = tenant.metadata.deletion_timestamp.is_some();
    let has_finalizer = tenant.finalizers().iter().any(|f| f == lifecycle::FINALIZER);
    let remaining = match deleting {
        true => lifecycle::remaining_domains(&name, ctx.domains.state().iter().map(|cd| &**cd)),
        false => Vec::new(),
    };
    let hold = match lifecycle::finalizer_step(owner, deleting, has_finalizer, &remaining) {
        FinalizerStep::None => None,
        FinalizerStep::Add => {
            set_finalizer(&api, &tenant, true).await?;
            // The patch's echo runs the reconcile again.
            return Ok(Action::await_change());
        }
        FinalizerStep::Release => {
            info!("no CustomDomain needs the tenant any more; releasing its finalizer");
            set_finalizer(&api, &tenant, false).await?;
            return Ok(Action::await_change());
        }
        FinalizerStep::Hold(message) => Some(message),
    };
    let (outcome, counts, runtime) = match build_runtime(&tenant, &ctx).await? {
        Err(nr) => {
            if ctx.tenants.broken_reason(&name).as_deref() != Some(nr.message.as_str()) {
                ctx.tenants.set_broken(&name, nr.message.clone());
                let _ = ctx.kick.try_send(());
            }
            (Err(nr), None, None)
        }
        Ok(rt) => {
            let checked = check(&rt).await.map_err(|nr| name_the_credentials(nr, &tenant));
            let health = match &checked {
                Ok(_) => Health::Ready,
                Err(nr) if nr.reason == Reason::PlanRefused => Health::PlanRefused(nr.message.clone()),
                Err(nr) => Health::NotReady(nr.message.clone()),
            };
            if rt.health() != health {
                rt.set_health(health);
                // Full channel: a kick is already pending, which is all that is needed.
                let _ = ctx.kick.try_send(());
            }
            let counts = rt.snapshot.is_loaded().then(|| count(&rt.snapshot));
            (checked, counts, Some(rt))
        }
    };
    if let Some(rt) = runtime.as_ref().filter(|rt| rt.snapshot.is_loaded()) {
        ctx.metrics.set_custom_domains(&name, metric_states(&rt.snapshot));
        record_certificates(&ctx.metrics, &name, &rt.snapshot);
    }
    ctx.metrics.set_tenant_ready(&name, outcome.is_ok());
    let mut status = tenant.status.clone().unwrap_or_default();
    let generation = tenant.metadata.generation;
    let now = Timestamp::now();
    let mut events: Vec<(EventType, Reason, String)> = Vec::new();
    let requeue = match (&outcome, &runtime) {
        (Ok(granted), Some(rt)) => {
            remove_condition(&mut status.conditions, ConditionType::Stalled);
            remove_condition(&mut status.conditions, ConditionType::Reconciling);
            set_condition(
                &mut status.conditions,
                condition(
                    ConditionType::Ready,
                    true,
                    Reason::TenantReady,
                    format!(
                        "credentials work; {} domains on the tenant",
                        counts.as_ref().map_or(0, |c| c.total)
                    ),
                    generation,
                    now,
                ),
            );
            let settled = apply_default(&tenant, rt, &mut status, &mut events, now).await
                & apply_mtls(&tenant, rt, granted, &ctx, &mut status, now).await;
            if settled {
                resync
            } else {
                NOT_READY_RECHECK.min(resync)
            }
        }
        (Err(nr), _) => {
            warn!(reason = nr.reason.as_str(), message = %nr.message, "tenant not ready");
            set_condition(
                &mut status.conditions,
                condition(
                    ConditionType::Ready,
                    false,
                    nr.reason,
                    nr.message.clone(),
                    generation,
                    now,
                ),
            );
            // kstatus (Flux, Argo CD): a person must act (Stalled → Failed), or it may pass by
            // itself (Reconciling → InProgress).
            let (set, clear) = if needs_a_person(nr.reason) {
                (ConditionType::Stalled, ConditionType::Reconciling)
            } else {
                (ConditionType::Reconciling, ConditionType::Stalled)
            };
            remove_condition(&mut status.conditions, clear);
            set_condition(
                &mut status.conditions,
                condition(set, true, nr.reason, nr.message.clone(), generation, now),
            );
            NOT_READY_RECHECK
        }
        (Ok(_), None) => NOT_READY_RECHECK,
    };
    if let Some(c) = &counts {
        match entitlement_warning(c.total, tenant.spec.entitlement) {
            Some(message) => {
                if !is_true(&status.conditions, ConditionType::EntitlementExceeded) {
                    events.push((EventType::Warning, Reason::EntitlementExceeded, message.clone()));
                }
                set_condition(
                    &mut status.conditions,
                    condition(
                        ConditionType::EntitlementExceeded,
                        true,
                        Reason::EntitlementExceeded,
                        message,
                        generation,
                        now,
                    ),
                );
            }
            None => remove_condition(&mut status.conditions, ConditionType::EntitlementExceeded),
        }
    }
    if counts.is_some() {
        status.custom_domains = counts;
    }
    let requeue = match &hold {
        Some(message) => {
            // Ready stays as it is: the domains' deletions still use this tenant's client.
            if !is_true(&status.conditions, ConditionType::Deleting) {
                warn!(
                    remaining = remaining.len(),
                    "tenant deletion waits for CustomDomains"
                );
                events.push((EventType::Warning, Reason::DomainsRemain, message.clone()));
            }
            set_condition(
                &mut status.conditions,
                condition(
                    ConditionType::Deleting,
                    true,
                    Reason::DomainsRemain,
                    message.clone(),
                    generation,
                    now,
                ),
            );
            DELETING_RECHECK
        }
        None => {
            remove_condition(&mut status.conditions, ConditionType::Deleting);
            requeue
        }
    };
    status.observed_generation = generation;
    if !owner {
        // Another operator (the one in the credentials' namespace) writes this tenant.
        drop(runtime);
        return Ok(Action::requeue(requeue));
    }
    if tenant.status.as_ref() != Some(&status) {
        write_status(&api, &name, &status).await?;
    }
    for (type_, reason, note) in events {
        publish(&ctx.recorder, &tenant, type_, reason, note).await;
    }
    drop(runtime);
    Ok(Action::requeue(requeue))
}

/// Reads the tenant's default domain, applies `spec.defaultCustomDomain` (repairing drift) and
/// records both in status. Returns false when a transient failure wants an early re-check.
async fn apply_default(
    tenant: &Auth0Tenant,
    rt: &TenantRuntime,
    status: &mut Auth0TenantStatus,
    events: &mut Vec<(EventType, Reason, String)>,
    now: Timestamp,
) -> bool {
    let generation = tenant.metadata.generation;
    let domains = rt.snapshot.all();
    let last = rt.last_default_read();
    let listed = listed_default(&domains);
    let cached = last
        .as_ref()
        .filter(|(value, age)| !must_read_default(Some((value.as_deref(), *age)), listed))
        .map(|(value, _)| value.clone());
    let read = match cached {
        Some(value) => Ok(value),
        None => rt.client.get_default_domain().await.map(|d| {
            let current = d.is_custom().then_some(d.domain);
            rt.remember_default(current.clone());
            current
        }),
    };
    let current = match read {
        Ok(current) => current,
        Err(e) => {
            warn!(error = %e, "reading the default domain failed");
            set_condition(
                &mut status.conditions,
                condition(
                    ConditionType::DefaultDomain,
                    false,
                    classify(&e).reason,
                    format!("reading the default domain: {e}"),
                    generation,
                    now,
                ),
            );
            return false;
        }
    };
    let decision = decide_default(
        tenant.spec.default_custom_domain.as_deref(),
        current.as_deref(),
        &domains,
    );
    status.default_custom_domain = current;
    if let Some(domain) = &decision.set {
        match rt.client.set_default_domain(domain).await {
            Ok(d) => {
                info!(default = %d.domain, "default custom domain set");
                status.default_custom_domain = d.is_custom().then_some(d.domain);
                rt.remember_default(status.default_custom_domain.clone());
                events.push((
                    EventType::Normal,
                    Reason::DefaultDomainSet,
                    decision.message.clone(),
                ));
                // `is_default` moved on two domains: re-list on the next look.
                rt.snapshot.invalidate();
            }
            Err(e) => {
                warn!(error = %e, domain = %domain, "setting the default domain failed");
                let reason = classify(&e).reason;
                set_condition(
                    &mut status.conditions,
                    condition(
                        ConditionType::DefaultDomain,
                        false,
                        reason,
                        format!("making {domain} the default: {e}"),
                        generation,
                        now,
                    ),
                );
                return false;
            }
        }
    }
    set_condition(
        &mut status.conditions,
        condition(
            ConditionType::DefaultDomain,
            decision.ok,
            decision.reason,
            decision.message,
            generation,
            now,
        ),
    );
    true
}

/// Reads tenant setting `mtls.enable_endpoint_aliases`, applies `spec.mtls` and tells the
/// runtime (so domains show `status.mtlsAlias`). Returns false on a transient failure.
async fn apply_mtls(
    tenant: &Auth0Tenant,
    rt: &TenantRuntime,
    granted: &CredentialsCheck,
    ctx: &Context,
    status: &mut Auth0TenantStatus,
    now: Timestamp,
) -> bool {
    let generation = tenant.metadata.generation;
    let wanted = tenant.spec.mtls.as_ref().map(|m| m.enable_endpoint_aliases);
    let record = |on: bool| {
        if rt.mtls_aliases_enabled() != on {
            rt.set_mtls_aliases_enabled(on);
            let _ = ctx.kick.try_send(());
        }
    };
    let readable = granted.missing(&["read:tenant_settings"]).is_empty();
    let Some(wanted) = wanted else {
        // Not managed: learn the setting when the grant allows, so domains report it truthfully.
        remove_condition(&mut status.conditions, ConditionType::MtlsAliases);
        if readable && must_read_settings(false, rt.last_settings_read()) {
            match rt.client.get_tenant_settings().await {
                Ok(s) => {
                    rt.remember_settings_read();
                    record(aliases_on(&s));
                }
                Err(e) => warn!(error = %e, "reading tenant settings failed"),
            }
        }
        return true;
    };
    let mut set = |ok: bool, reason: Reason, message: String| {
        set_condition(
            &mut status.conditions,
            condition(ConditionType::MtlsAliases, ok, reason, message, generation, now),
        );
    };
    let missing = granted.missing(&crate::auth0::client::TENANT_SETTINGS_SCOPES);
    if !missing.is_empty() {
        set(
            false,
            Reason::MissingScopes,
            format!(
                "spec.mtls needs {} in the application's client grant for the Management API",
                missing.join(", ")
            ),
        );
        return true;
    }
    let current = match rt.client.get_tenant_settings().await {
        Ok(s) => aliases_on(&s),
        Err(e) => {
            set(
                false,
                classify(&e).reason,
                format!("reading tenant settings: {e}"),
            );
            return false;
        }
    };
    if current != wanted {
        let patch = TenantSettings {
            mtls: Some(Auth0Mtls {
                enable_endpoint_aliases: Some(wanted),
            }),
        };
        if let Err(e) = rt.client.patch_tenant_settings(&patch).await {
            set(
                false,
                classify(&e).reason,
                format!("setting mtls.enable_endpoint_aliases={wanted}: {e}"),
            );
            return false;
        }
        info!(enable_endpoint_aliases = wanted, "tenant mtls setting applied");
    }
    record(wanted);
    if wanted {
        set(
            true,
            Reason::MtlsAliasesEnabled,
            "mtls.enable_endpoint_aliases is on: self-managed domains with spec.mtls.enabled get mtls.<domain>"
                .to_owned(),
        );
    } else {
        set(
            false,
            Reason::MtlsAliasesDisabled,
            "mtls.enable_endpoint_aliases is off (spec.mtls.enableEndpointAliases: false)".to_owned(),
        );
    }
    true
}

fn aliases_on(settings: &TenantSettings) -> bool {
    settings
        .mtls
        .as_ref()
        .and_then(|m| m.enable_endpoint_aliases)
        .unwrap_or(false)
}

async fn publish(recorder: &Recorder, tenant: &Auth0Tenant, type_: EventType, reason: Reason, note: String) {
    let event = Event {
        type_,
        reason: reason.as_str().to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &tenant.object_ref(&())).await {
        warn!(error = %e, "publishing an Event failed");
    }
}

/// Domains per `status.state` spelling ([`crate::telemetry::metrics::DOMAIN_STATES`]), for the gauge.
fn metric_states(snapshot: &Snapshot) -> Vec<(&'static str, i64)> {
    let mut by_state: std::collections::BTreeMap<&'static str, i64> = std::collections::BTreeMap::new();
    for d in snapshot.all() {
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

/// Feeds the `certificates` gauge from the Auth0 `certificate.status` of the snapshot's domains.
fn record_certificates(metrics: &Metrics, tenant: &str, snapshot: &Snapshot) {
    let domains = snapshot.all();
    let statuses = domains
        .iter()
        .filter_map(|d| d.certificate.as_ref()?.status.as_ref())
        .map(|s| s.as_str());
    metrics.set_certificates(tenant, statuses);
}

/// Counts the tenant's domains by state.
fn count(snapshot: &Snapshot) -> DomainCounts {
    // One classification of Auth0 statuses: the gauge's, folded into the status buckets.
    let mut c = DomainCounts::default();
    for (state, n) in metric_states(snapshot) {
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

/// Credentials, scopes and the domain list, in that order; the granted scopes on success.
async fn check(rt: &TenantRuntime) -> Result<CredentialsCheck, NotReady> {
    let granted = rt.client.check_credentials().await.map_err(|e| classify(&e))?;
    let missing = granted.missing(REQUIRED_SCOPES);
    if !missing.is_empty() {
        return Err(not_ready(
            Reason::MissingScopes,
            format!(
                "the application's grant lacks {}: add them to its client grant for the Management API",
                missing.join(", ")
            ),
        ));
    }
    rt.snapshot
        .refresh_if_older(&rt.client, rt.resync_interval)
        .await
        .map_err(|e| classify(&e))?;
    Ok(granted)
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

/// A refusal of the credentials says which Secret and keys hold them, as a missing Secret does.
fn name_the_credentials(mut nr: NotReady, tenant: &Auth0Tenant) -> NotReady {
    if nr.reason == Reason::CredentialsRejected {
        let r = &tenant.spec.credentials_secret_ref;
        nr.message = format!(
            "{}: Auth0 refused the client id and secret in Secret {}/{} (keys {} and {}); put the machine-to-machine application's credentials there and check that it has a client grant for the Management API of {}",
            nr.message, r.namespace, r.name, r.client_id_key, r.client_secret_key, tenant.spec.domain
        );
    }
    nr
}

fn classify(e: &auth0::Error) -> NotReady {
    let reason = if e.is_auth() {
        Reason::CredentialsRejected
    } else if e.is_plan_refusal() {
        return not_ready(
            Reason::PlanRefused,
            format!(
                "{e}: the tenant's plan does not include custom domains; upgrade it or add a verified card in the Auth0 dashboard"
            ),
        );
    } else if e.is_transient() {
        Reason::Auth0Unreachable
    } else {
        Reason::Auth0Error
    };
    not_ready(reason, e.to_string())
}

/// Builds (or reuses) the runtime; `Ok(Err)` when the spec or Secret makes it unusable.
async fn build_runtime(
    tenant: &Auth0Tenant,
    ctx: &Context,
) -> Result<Result<Arc<TenantRuntime>, NotReady>, Error> {
    let name = tenant.name_any();
    let spec = &tenant.spec;
    // Before the Secret is read and before any request: where the secret may come from and go.
    if let Err(refusal) = ctx.policy.vet(spec) {
        return Ok(Err(not_ready(refusal.reason, refusal.message)));
    }
    let url = spec.api_base_url();
    if url.starts_with("http://") && !ctx.allow_insecure {
        return Ok(Err(not_ready(
            Reason::InvalidTenant,
            format!(
                "managementApiUrl {url} is plain http: use https (http is allowed only with --allow-insecure-auth0)"
            ),
        )));
    }
    let resync = match spec.resync_interval() {
        Ok(d) => d,
        Err(e) => return Ok(Err(not_ready(Reason::InvalidTenant, e.to_string()))),
    };
    let (client_id, client_secret) = match read_credentials(ctx, &name, spec).await? {
        Ok(c) => c,
        Err(nr) => return Ok(Err(nr)),
    };
    let fingerprint = fingerprint(spec, &client_id, &client_secret, ctx.verify_limit);
    let endpoint = format!("{}|{url}", spec.domain);
    let existing = ctx.tenants.get(&name);
    if let Some(rt) = &existing
        && rt.fingerprint == fingerprint
        && rt.resync_interval == resync
        && rt.allowed_namespaces == spec.allowed_namespaces
    {
        return Ok(Ok(rt.clone()));
    }
    let mut cfg = TenantConfig::new(name.clone(), spec.domain.clone(), client_id, client_secret);
    cfg.management_api_url = spec.management_api_url.clone();
    cfg.allow_insecure = ctx.allow_insecure;
    cfg.rate_limit = RateLimit {
        requests_per_second: f64::from(spec.rate_limit.requests_per_second),
        burst: spec.rate_limit.burst,
    };
    cfg.verify_limit = ctx.verify_limit;
    let client = match TenantClient::new(cfg, Some(ctx.metrics.clone())) {
        Ok(c) => c,
        Err(e) => return Ok(Err(not_ready(Reason::InvalidTenant, e.to_string()))),
    };
    // Same tenant, new credentials or budget: keep the domain list, it is still true.
    let snapshot = match &existing {
        Some(rt) if rt.endpoint == endpoint => rt.snapshot.clone(),
        _ => Arc::new(Snapshot::default()),
    };
    info!(tenant = %name, "tenant client (re)built");
    let rt = Arc::new(TenantRuntime::new(
        name,
        client,
        snapshot,
        resync,
        spec.allowed_namespaces.clone(),
        fingerprint,
        endpoint,
    ));
    ctx.tenants.insert(rt.clone());
    Ok(Ok(rt))
}

fn fingerprint(spec: &Auth0TenantSpec, client_id: &str, secret: &Redacted<String>, verify: RateLimit) -> u64 {
    let mut h = DefaultHasher::new();
    spec.domain.hash(&mut h);
    spec.management_api_url.hash(&mut h);
    client_id.hash(&mut h);
    secret.expose().hash(&mut h);
    spec.rate_limit.requests_per_second.hash(&mut h);
    spec.rate_limit.burst.hash(&mut h);
    verify.burst.hash(&mut h);
    verify.requests_per_second.to_bits().hash(&mut h);
    h.finish()
}

async fn read_credentials(
    ctx: &Context,
    name: &str,
    spec: &Auth0TenantSpec,
) -> Result<Result<(String, Redacted<String>), NotReady>, Error> {
    let r = &spec.credentials_secret_ref;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &r.namespace);
    let secret = match secrets.get_opt(&r.name).await {
        Ok(s) => s,
        Err(source) => {
            return Err(Error::Kube {
                action: "read the credentials Secret of",
                name: name.to_owned(),
                source,
            });
        }
    };
    let Some(secret) = secret else {
        return Ok(Err(not_ready(
            Reason::CredentialsNotFound,
            format!(
                "credentials Secret {}/{} not found: create it with keys {} and {}",
                r.namespace, r.name, r.client_id_key, r.client_secret_key
            ),
        )));
    };
    let value = |key: &str| super::runtime::secret_text(&secret, key);
    let (Some(id), Some(secret_value)) = (value(&r.client_id_key), value(&r.client_secret_key)) else {
        return Ok(Err(not_ready(
            Reason::CredentialsNotFound,
            format!(
                "credentials Secret {}/{} lacks key {} or {}",
                r.namespace, r.name, r.client_id_key, r.client_secret_key
            ),
        )));
    };
    Ok(Ok((id, Redacted::new(secret_value))))
}

/// Adds (`add`) or removes the tenant's finalizer, guarded by the resourceVersion so another
/// controller's finalizers are never dropped; a 409 or 404 just waits for the next event.
async fn set_finalizer(api: &Api<Auth0Tenant>, tenant: &Auth0Tenant, add: bool) -> Result<(), Error> {
    let mut finalizers: Vec<String> = tenant
        .finalizers()
        .iter()
        .filter(|f| *f != lifecycle::FINALIZER)
        .cloned()
        .collect();
    if add {
        finalizers.push(lifecycle::FINALIZER.to_owned());
    }
    let patch =
        json!({ "metadata": { "finalizers": finalizers, "resourceVersion": tenant.resource_version() } });
    match api
        .patch(&tenant.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => Ok(()),
        Err(source) => Err(Error::Kube {
            action: if add {
                "add the finalizer to"
            } else {
                "remove the finalizer from"
            },
            name: tenant.name_any(),
            source,
        }),
    }
}

async fn write_status(api: &Api<Auth0Tenant>, name: &str, status: &Auth0TenantStatus) -> Result<(), Error> {
    let patch = Patch::Apply(json!({
        "apiVersion": "auth0.domain-operator.dev/v1alpha1",
        "kind": "Auth0Tenant",
        "status": status,
    }));
    match api
        .patch_status(name, &PatchParams::apply(MANAGER).force(), &patch)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(Error::Kube {
            action: "write the status of",
            name: name.to_owned(),
            source,
        }),
    }
}

/// Error policy: retry after a short pause; the status already says what is wrong.
pub fn error_policy(tenant: Arc<Auth0Tenant>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_error("tenant", "kubernetes");
    warn!(error = %err, tenant = %tenant.name_any(), "tenant reconcile failed");
    Action::requeue(Duration::from_secs(10))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gauge_states_use_the_status_state_spelling() {
        let snapshot = Snapshot::default();
        for (name, status) in [
            ("a.example.com", "ready"),
            ("b.example.com", "ready"),
            ("c.example.com", "pending_verification"),
            ("d.example.com", "failed"),
            ("e.example.com", "something_new"),
        ] {
            snapshot.upsert(
                serde_json::from_value(serde_json::json!({
                    "custom_domain_id": format!("cd_{name}"), "domain": name, "status": status,
                    "type": "self_managed_certs",
                }))
                .unwrap(),
            );
        }
        let got = metric_states(&snapshot);
        assert_eq!(
            got,
            vec![
                ("Failed", 1),
                ("Pending", 1),
                ("PendingVerification", 1),
                ("Ready", 2)
            ]
        );
        for (state, _) in &got {
            assert!(
                crate::telemetry::metrics::DOMAIN_STATES.contains(state),
                "{state}"
            );
        }
    }
}
