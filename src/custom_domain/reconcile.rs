//! I/O of the `CustomDomain` controller: observe (tenant snapshot, Secret, DNS), ask the pure
//! [`plan`](super::plan::plan) what to do, execute, write status.
//!
//! One reconcile runs a few plan/execute rounds: after an observation (DNS, GET) or a write to
//! Auth0 the planner is asked again, so the status written at the end describes the new state.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType},
        reflector::{ObjectRef, Store},
    },
};
use serde_json::json;
use tracing::{debug, error, info, instrument, warn};

use super::plan::{
    self, AdoptionVerdict, Attempts, ClaimVerdict, EventKind, EventNote, Plan, PlanInput, PlanOptions,
    Remote, SecretContent, Step, TenantHealth, TenantRefusal, TenantView, VerifyWait, adoption_verdict,
    claim_verdict, mark_retrying, mark_stalled,
};
use super::{
    FINALIZER, MANAGER, children, escrow, has_finalizer, resync::Resyncs, secret, store::StoredDomain,
    trigger,
};
use crate::auth0::{self, Redacted};
use crate::dns::{DnsAnswer, DnsChecker};
use crate::resources::conditions::{Reason, set_condition};
use crate::resources::custom_domain::{CreateRefusal, CustomDomain, CustomDomainSpec, CustomDomainStatus};
use crate::resources::tenant::Auth0Tenant;
use crate::telemetry::events::Recorder;
use crate::telemetry::metrics::Metrics;
use crate::tenant::namespaces::{describe_fence, namespace_allowed};
use crate::tenant::runtime::{Health, TenantRuntime, Tenants, WaitingCall};

/// Plan/execute rounds per reconcile (create → DNS → verify → key is four).
const MAX_ROUNDS: usize = 8;
/// Attempts at writing a freshly received `cname_api_key` before giving the reconcile back.
const KEY_WRITE_ATTEMPTS: u32 = 5;
/// How often a ready domain whose Secret lacks the key looks for it in escrow again.
const ESCROW_RECHECK: Duration = Duration::from_secs(30);
/// Longest wait for a verify turn inside a reconcile, which holds a reconcile slot meanwhile; for a
/// later turn the reconcile ends and comes back then.
const VERIFY_INLINE_WAIT: Duration = Duration::from_millis(250);
/// Past the tenant list's expiry when a domain comes back for its resync, so the list is stale by
/// then and is read again.
const SNAPSHOT_STALE_MARGIN: Duration = Duration::from_secs(1);
/// Longest wait for a rate-limit token inside a reconcile (create and verify, the calls that may
/// queue long); when the tenant's bucket has none due by then, the reconcile ends and comes back
/// when one is, so a slot is never spent sleeping in the bucket.
const BUDGET_INLINE_WAIT: Duration = Duration::from_millis(250);

/// Errors of the `CustomDomain` controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{action} {obj}: {source}")]
    Kube {
        /// What was being done.
        action: &'static str,
        /// The object.
        obj: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The resource has no namespace (it is namespaced by definition).
    #[error("CustomDomain without a namespace")]
    NotNamespaced,
}

impl Error {
    /// Bounded metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Kube { .. } => "kubernetes",
            Self::NotNamespaced => "invalid",
        }
    }
}

/// What the controller remembers per resource between reconciles (in memory only).
#[derive(Default)]
struct Memory {
    attempts: Attempts,
    /// A key from verify that is not yet in the Secret.
    pending_key: Option<HeldKey>,
    /// Why the last write of the pending key failed (no secret in it).
    key_write_error: Option<String>,
    /// Where the escrow copy of the pending key is (`namespace/name`).
    escrowed: Option<String>,
    /// When the escrow was last read since the Secret was last seen with its key.
    escrow_checked_at: Option<std::time::Instant>,
    /// Transient-failure count for backoff.
    failures: u32,
    /// When a DNS miss was last counted.
    last_dns_miss: Option<std::time::Instant>,
    /// The generation whose create Auth0 answered "already exists" although the tenant's list does
    /// not show the domain (a second such answer stalls it: the name is held elsewhere).
    duplicate_of_generation: Option<i64>,
}

impl Memory {
    /// Whether this remembers nothing (what a missing entry means).
    fn is_blank(&self) -> bool {
        // Destructured so that a new field cannot be forgotten here.
        let Memory {
            attempts,
            pending_key,
            key_write_error,
            escrowed,
            escrow_checked_at,
            failures,
            last_dns_miss,
            duplicate_of_generation,
        } = self;
        *attempts == Attempts::default()
            && pending_key.is_none()
            && key_write_error.is_none()
            && escrowed.is_none()
            && escrow_checked_at.is_none()
            && *failures == 0
            && last_dns_miss.is_none()
            && duplicate_of_generation.is_none()
    }
}

/// A one-time key from verify that is not yet in its Secret, with all a write needs, so it can be
/// handed over without a reconcile (leader step-down, shutdown).
#[derive(Clone)]
struct HeldKey {
    key: Redacted<String>,
    content: SecretContent,
    /// The Auth0 domain the key belongs to (recorded on the escrow copy).
    domain_id: String,
    /// The resource as last reconciled (owner reference, escrow name).
    resource: Arc<CustomDomain>,
}

/// Shared state of the `CustomDomain` controller.
pub struct Context {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Tenant runtimes (filled by the tenant controller).
    pub tenants: Arc<Tenants>,
    /// `Auth0Tenant` objects as watched (to tell "not found" from "not checked yet").
    pub tenant_store: Store<Auth0Tenant>,
    /// Namespaces as watched (for `allowedNamespaces` selectors).
    pub namespace_store: Store<Namespace>,
    /// The DNS gate.
    pub dns: DnsChecker,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Event recorder.
    pub recorder: Recorder,
    /// Operator flags the planner reads.
    pub options: PlanOptions,
    /// First part of the ownership marker.
    pub cluster_id: String,
    /// Namespace of the key escrow (the operator's own); `None`: no escrow.
    pub escrow_namespace: Option<String>,
    /// Names a tenant whose domain count changed (a create or delete here), so its status follows
    /// within seconds instead of at its next resync. Unset: nobody listens.
    pub tenant_changed: Option<Arc<crate::tenant::recount::Recounts>>,
    /// Settled domains waiting for their resync (swept into the controller by the operator).
    pub resyncs: Arc<Resyncs>,
    memory: Memories,
}

impl Context {
    /// A context with empty per-resource memory.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: kube::Client,
        tenants: Arc<Tenants>,
        tenant_store: Store<Auth0Tenant>,
        namespace_store: Store<Namespace>,
        dns: DnsChecker,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        options: PlanOptions,
        cluster_id: String,
    ) -> Self {
        Self {
            client,
            tenants,
            tenant_store,
            namespace_store,
            dns,
            metrics,
            recorder,
            options,
            cluster_id,
            escrow_namespace: None,
            tenant_changed: None,
            resyncs: Arc::default(),
            memory: Memories::default(),
        }
    }

    /// Tells the tenant side that `tenant`'s domain count changed.
    fn count_changed(&self, tenant: &str) {
        if let Some(recounts) = &self.tenant_changed {
            recounts.mark(tenant);
        }
    }

    fn with_memory<T>(&self, key: &(String, String), f: impl FnOnce(&mut Memory) -> T) -> T {
        self.memory.with(key, f)
    }

    fn forget(&self, key: &(String, String)) {
        self.memory.lock().remove(key);
    }
}

/// The controller's [`Memory`] of each resource, by namespace and name.
#[derive(Default)]
struct Memories(Mutex<HashMap<(String, String), Memory>>);

impl Memories {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Memory>> {
        crate::sync::lock(&self.0)
    }

    /// Runs `f` on `key`'s memory. An entry left blank is dropped: a Ready domain with nothing
    /// pending remembers nothing, so 10,000 of them cost no memory here (a kept blank entry was
    /// half a kilobyte).
    fn with<T>(&self, key: &(String, String), f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut m = self.lock();
        if let Some(entry) = m.get_mut(key) {
            let out = f(entry);
            if entry.is_blank() {
                m.remove(key);
            }
            return out;
        }
        let mut entry = Memory::default();
        let out = f(&mut entry);
        if !entry.is_blank() {
            m.insert(key.clone(), entry);
        }
        out
    }
}

fn kube_err<'a, K: Resource>(action: &'static str, cd: &'a K) -> impl FnOnce(kube::Error) -> Error + 'a {
    move |source| Error::Kube {
        action,
        obj: format!(
            "CustomDomain {}/{}",
            cd.namespace().unwrap_or_default(),
            cd.name_any()
        ),
        source,
    }
}

/// Builds the planner's view of the referenced tenant. The flag is true while the tenant has not
/// been checked yet since this process started: nothing is known, so nothing should be reported.
fn tenant_view(
    ctx: &Context,
    spec: &CustomDomainSpec,
    ns: &str,
) -> (TenantView, Option<Arc<TenantRuntime>>, bool) {
    let name = spec.tenant_ref.name.clone();
    let runtime = ctx.tenants.get(&name);
    let mut view = TenantView {
        name: name.clone(),
        health: TenantHealth::NotFound,
        allowed: true,
        fence: None,
        cluster_id: ctx.cluster_id.clone(),
        mtls_aliases_enabled: false,
        resync_interval: Duration::from_secs(600),
        create_refused: None,
        adoption: AdoptionVerdict::Off,
        claim: ClaimVerdict::Allowed,
    };
    // A deleted Auth0Tenant leaves its runtime behind until the process restarts: the store decides.
    let tenant = ctx.tenant_store.get(&ObjectRef::new(&name));
    let exists = tenant.is_some();
    // A namespace missing from the store is one whose watch event has not arrived yet: judging it
    // label-less would let it through `NotIn` selectors.
    let Some(namespace) = ctx.namespace_store.get(&ObjectRef::new(ns)) else {
        return (view, runtime, true);
    };
    let labels = namespace.labels();
    view.adoption = adoption_verdict(
        tenant.as_ref().and_then(|t| t.spec.adoption.as_ref()),
        labels,
        &spec.domain,
    );
    if let Some(t) = &tenant {
        view.claim = claim_verdict(&t.spec.allowed_domains, labels, &spec.domain);
    }
    let mut unchecked = false;
    match runtime.as_ref().filter(|_| exists) {
        Some(rt) => {
            view.health = match rt.health() {
                Health::Ready => TenantHealth::Ready,
                Health::NotReady(why) => TenantHealth::NotReady(why),
                Health::PlanRefused(why) => TenantHealth::PlanRefused(why),
                Health::Checking => {
                    unchecked = true;
                    TenantHealth::NotReady("the tenant's credentials are being checked".to_owned())
                }
            };
            view.allowed = namespace_allowed(&rt.allowed_namespaces(), labels);
            view.fence = describe_fence(&rt.allowed_namespaces());
            view.mtls_aliases_enabled = rt.mtls_aliases_enabled();
            view.resync_interval = rt.resync_interval();
            view.create_refused = rt
                .create_refusal(plan::CREATE_RETRY)
                .map(|(r, retry_in)| TenantRefusal {
                    reason: r.reason,
                    message: r.message,
                    retry_in,
                });
        }
        None => {
            if let Some(why) = ctx.tenants.broken_reason(&name) {
                view.health = TenantHealth::NotReady(why);
            } else if exists {
                unchecked = true;
                view.health = TenantHealth::NotReady("the tenant is being checked".to_owned());
            }
        }
    }
    (view, runtime, unchecked)
}

/// Reconciles one `CustomDomain`.
#[instrument(skip_all, fields(ns = %cd.namespace().unwrap_or_default(), name = %cd.name_any(), generation = ?cd.metadata.generation))]
pub async fn reconcile(cd: Arc<StoredDomain>, ctx: Arc<Context>) -> Result<Action, Error> {
    let again = reconcile_once(&cd, ctx.clone()).await?;
    let ns = cd.namespace().unwrap_or_default();
    Ok(ctx.resyncs.next(&ns, &cd.name_any(), again))
}

/// One reconcile; returns when to run again (`None`: only when something changes).
async fn reconcile_once(stored: &StoredDomain, ctx: Arc<Context>) -> Result<Option<Duration>, Error> {
    let _timer = ctx.metrics.reconcile_timer("custom_domain");
    let ns = stored.namespace().ok_or(Error::NotNamespaced)?;
    let key = (ns.clone(), stored.name_any());
    let api: Api<CustomDomain> = Api::namespaced(ctx.client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    // The gates below read only what the store keeps (metadata, spec): a reconcile that steps
    // aside costs no API call.
    let deleting = stored.metadata.deletion_timestamp.is_some();
    if deleting && !has_finalizer(stored) {
        ctx.forget(&key);
        return Ok(None);
    }
    if !stores_ready(&ctx) {
        // Before the first full list of tenants and namespaces, "no such tenant" means "not read
        // yet": acting on it would release deletions and flap live domains to TenantNotFound.
        return Ok(Some(Duration::from_secs(1)));
    }
    let (view, runtime, unchecked) = tenant_view(&ctx, &stored.spec, &ns);
    if unchecked {
        // Right after a start the tenant is not checked yet: planning now would flip every Ready
        // domain to TenantNotReady for a moment (or release a deletion it could still do). The
        // tenant's first check re-queues everything.
        return Ok(Some(Duration::from_secs(if deleting { 2 } else { 5 })));
    }
    if let Some(rt) = &runtime {
        let stamp = trigger::stamp(stored);
        if still_in_create_line(&ctx.tenants, rt, &view, &key, stamp) {
            let rate = rt.client.budget().tenant_limit().requests_per_second;
            return Ok(Some(rt.create_line.step_aside(
                &key,
                stamp,
                std::time::Instant::now(),
                rate,
            )));
        }
    }
    // A tenant in trouble (429 storm) must not hold every reconcile slot: over its share, this
    // reconcile steps aside without touching anything and comes back shortly.
    let _slot = match &runtime {
        Some(rt) => match ctx.tenants.enter(rt) {
            Ok(slot) => Some(slot),
            Err(retry) => {
                debug!(tenant = %rt.name, ?retry, "tenant's reconcile slots are taken; stepping aside");
                return Ok(Some(retry));
            }
        },
        None => None,
    };

    // The store keeps no status: plan on the object as it is now (never older than our last
    // status write, so no step is repeated on a stale view).
    let Some(mut cd) = api.get_opt(&key.1).await.map_err(kube_err("read", stored))? else {
        // Gone (its finalizer was removed by hand): nothing left to reconcile.
        return Ok(None);
    };
    // What no reconcile reads goes, as from the store (a held key keeps this object).
    super::store::trim(&mut cd);
    let cd = Arc::new(cd);
    if cd.spec.tenant_ref != stored.spec.tenant_ref {
        // The watch has not brought the new tenant yet; the slot taken is the old tenant's.
        return Ok(Some(Duration::from_secs(1)));
    }
    let deleting = cd.metadata.deletion_timestamp.is_some();
    let has_finalizer = has_finalizer(&*cd);
    if deleting && !has_finalizer {
        ctx.forget(&key);
        return Ok(None);
    }
    if !deleting && !has_finalizer && !add_finalizer(&api, &cd).await? {
        // Changed between the read and the patch: look again shortly.
        return Ok(Some(Duration::from_secs(1)));
    }

    // A key received earlier whose Secret write failed goes first: it exists nowhere else.
    let flushed = flush_pending_key(&ctx, &key, &secrets, &cd).await?;

    let mut exec = Executor {
        ctx: &ctx,
        cd: &cd,
        key: &key,
        secrets: &secrets,
        secret: flushed.map(Some),
        dns: None,
        verified: false,
        refreshed: false,
        verify_wait: None,
        previous_secret: None,
    };
    let mut last: Option<Plan> = None;
    let mut published: Vec<(Reason, String)> = Vec::new();
    let mut failure: Option<Duration> = None;
    let mut deferred: Option<Duration> = None;

    for _round in 0..MAX_ROUNDS {
        let mut plan = exec.observe_and_plan(&view, runtime.as_deref()).await?;
        let mut replan = false;
        let mut release = false;
        let mut acted = false;
        for step in plan.steps.clone() {
            debug!(step = step.label(), "executing");
            match exec.run(&step, runtime.as_deref(), &mut plan).await? {
                Outcome::Done => acted |= !step.is_observation(),
                Outcome::Replan => {
                    acted |= !step.is_observation();
                    replan = true;
                    break;
                }
                Outcome::Release => release = true,
                Outcome::Failed(after) => {
                    failure = Some(after);
                    break;
                }
                Outcome::Deferred(after) => {
                    deferred = Some(after);
                    break;
                }
            }
        }
        if acted || failure.is_some() {
            for ev in &plan.events {
                publish(&ctx, &cd, ev, &mut published);
            }
        }
        if release {
            // An escrow copy outlives nothing it could serve (absent: a 404, taken as done).
            if let Some(ns) = &ctx.escrow_namespace
                && let Err(e) = escrow::discard(&Api::namespaced(ctx.client.clone(), ns), &cd).await
            {
                warn!(error = %e, "deleting the escrow copy failed; it stays in the operator's namespace");
            }
            remove_finalizer(&api, &cd).await?;
            ctx.forget(&key);
            return Ok(None);
        }
        let stop = !replan || failure.is_some() || deferred.is_some();
        last = Some(plan);
        if stop {
            break;
        }
    }
    let Some(mut plan) = last else {
        return Ok(Some(Duration::from_secs(5)));
    };
    // Children only for a domain its tenant admits (a refused namespace or a name the namespace
    // may not claim gets nothing created).
    if !deleting && view.allowed && view.claim == ClaimVerdict::Allowed {
        sync_children(&ctx, &cd, runtime.as_deref(), &mut plan.status).await;
    }

    // A read of Auth0 that found nothing new is no reason to write (see `SYNCED_AT_REFRESH`).
    plan::hold_synced_at(cd.status.as_ref(), &mut plan.status);
    // Compared as written: an in-memory time finer than the stored one is no change.
    let changed_fields = plan::changed_fields(cd.status.as_ref(), &plan.status);
    if !changed_fields.is_empty() {
        // Events of the final plan describe transitions: publish them when the status moved.
        for ev in &plan.events {
            publish(&ctx, &cd, ev, &mut published);
        }
        debug!(changed = ?changed_fields, "writing status");
        write_status(&api, &cd, &plan.status).await?;
    }
    exec.count_dns_answer();
    let requeue = match (failure, deferred) {
        (Some(after), _) => after,
        (None, Some(after)) => after,
        (None, None) => {
            ctx.with_memory(&key, |m| m.failures = 0);
            // A requeue counts from the last reconcile, and every wake-up (a tenant flip, an
            // annotation) starts it again: come back when the tenant's list goes stale at the
            // latest, so a change made in Auth0 shows one resync after it however often the
            // domain was woken in between.
            let fresh_for = runtime
                .as_deref()
                .and_then(|rt| rt.snapshot.fresh_for(rt.resync_interval()));
            requeue_within_list_life(plan.requeue_after, fresh_for)
        }
    };
    debug!(?requeue, "reconciled");
    Ok(Some(requeue.max(Duration::from_millis(200))))
}

/// The planned requeue, brought forward to just after the tenant's list goes stale (`fresh_for`:
/// how long it stays fresh; `None` when it is stale already or was never read).
fn requeue_within_list_life(planned: Duration, fresh_for: Option<Duration>) -> Duration {
    fresh_for.map_or(planned, |left| planned.min(left + SNAPSHOT_STALE_MARGIN))
}

/// How a step ended.
enum Outcome {
    Done,
    /// The world changed or was observed: plan again.
    Replan,
    /// The finalizer may be removed.
    Release,
    /// A failure already written into the plan's status; requeue after this long.
    Failed(Duration),
    /// Nothing done: the tenant's places for this call are taken; come back after this long.
    Deferred(Duration),
}

/// When a reconcile that stepped aside comes back: soon, spread so they do not return together.
fn step_aside() -> Outcome {
    Outcome::Deferred(Duration::from_millis(rand::random_range(500..1500)))
}

struct Executor<'a> {
    ctx: &'a Context,
    cd: &'a CustomDomain,
    key: &'a (String, String),
    secrets: &'a Api<Secret>,
    /// The Secret as read at the start of this reconcile or as returned by our own writes since
    /// (`Some(None)`: absent). One GET per reconcile instead of one per round.
    secret: Option<Option<Secret>>,
    dns: Option<DnsAnswer>,
    /// One verify per reconcile: Auth0's verify budget is 5 per minute.
    verified: bool,
    /// One GET per reconcile.
    refreshed: bool,
    /// The verify turn is later than this reconcile should wait.
    verify_wait: Option<VerifyWait>,
    /// The Secret `status.secretRef` names when `spec.secretName` changed since (read once).
    previous_secret: Option<Option<Secret>>,
}

impl Executor<'_> {
    /// Counts this reconcile's DNS answer into the backoff. A miss seen again within half the
    /// shortest back-off (a reconcile woken by our own status write) is not counted twice.
    fn count_dns_answer(&self) {
        let Some(answer) = &self.dns else { return };
        self.ctx.with_memory(self.key, |m| {
            if answer.is_visible() {
                m.attempts.dns_checks = 0;
                m.last_dns_miss = None;
            } else if m
                .last_dns_miss
                .is_none_or(|at| at.elapsed() >= plan::DNS_FIRST_RECHECK / 2)
            {
                m.attempts.dns_checks = m.attempts.dns_checks.saturating_add(1);
                m.last_dns_miss = Some(std::time::Instant::now());
            }
        });
    }

    async fn observe_and_plan(
        &mut self,
        view: &TenantView,
        rt: Option<&TenantRuntime>,
    ) -> Result<Plan, Error> {
        let cd = self.cd;
        let mut list_error = None;
        let seen = match rt {
            Some(rt) if view.health == TenantHealth::Ready && view.allowed => {
                match rt
                    .snapshot
                    .refresh_if_older(&rt.client, rt.resync_interval())
                    .await
                {
                    Ok(_) => {}
                    Err(e) => list_error = Some(e),
                }
                if rt.snapshot.is_loaded() {
                    Some(rt.snapshot.get(&cd.spec.domain))
                } else {
                    None
                }
            }
            _ => None,
        };
        let remote = match &seen {
            None => Remote::NotLoaded,
            Some(None) => Remote::Absent,
            Some(Some(s)) => Remote::Found {
                domain: &s.domain,
                fetched_at: s.at,
            },
        };
        if self.secret.is_none() {
            let read = self
                .secrets
                .get_opt(&cd.secret_name())
                .await
                .map_err(kube_err("read the Secret of", cd))?;
            self.secret = Some(read);
        }
        if let Remote::Found { domain, .. } = remote {
            self.recover_escrowed_key(domain).await?;
        }
        let renamed_from = cd
            .status
            .as_ref()
            .and_then(|s| s.secret_ref.as_ref())
            .map(|r| r.name.clone())
            .filter(|old| *old != cd.secret_name());
        if let Some(old) = renamed_from
            && self.previous_secret.is_none()
        {
            let read = self
                .secrets
                .get_opt(&old)
                .await
                .map_err(kube_err("read the previous Secret of", cd))?;
            self.previous_secret = Some(read);
        }
        let previous = self.previous_secret.clone().flatten();
        let secret = self.secret.clone().flatten();
        let (attempts, held) = self.ctx.with_memory(self.key, |m| {
            let held = m
                .pending_key
                .as_ref()
                .map(|_| (m.key_write_error.clone(), m.escrowed.clone()));
            (m.attempts, held)
        });
        let pending_key = held.as_ref().map(|(error, escrow)| plan::PendingKey {
            write_error: error.as_deref(),
            escrow: escrow.as_deref(),
        });
        let input = PlanInput {
            resource: cd,
            tenant: view,
            remote,
            dns: self.dns.as_ref(),
            secret: secret::state_of(secret.as_ref(), cd),
            previous_secret: previous.as_ref().map(|p| secret::state_of(Some(p), cd)),
            pending_key,
            attempts,
            verify_wait: self.verify_wait,
            options: self.ctx.options,
            now: Timestamp::now(),
        };
        let mut plan = plan::plan(&input);
        if let Some(e) = list_error {
            let after = self.transient(&mut plan, &e);
            plan.requeue_after = plan.requeue_after.min(after);
        }
        Ok(plan)
    }

    /// A ready self-managed domain whose Secret lacks the key: the key may be in escrow (a write
    /// failed, then the process restarted). Looked up once until the Secret holds a key again.
    async fn recover_escrowed_key(&mut self, domain: &auth0::types::CustomDomain) -> Result<(), Error> {
        let cd = self.cd;
        let Some(ns) = self.ctx.escrow_namespace.clone() else {
            return Ok(());
        };
        let has_key = matches!(
            secret::state_of(self.secret.as_ref().and_then(Option::as_ref), cd),
            plan::SecretState::Present { has_key: true, .. }
        );
        let look = self.ctx.with_memory(self.key, |m| {
            if has_key {
                m.escrow_checked_at = None;
            }
            // Read again now and then: a replica that stepped down may hand the key over later.
            let due = m
                .escrow_checked_at
                .is_none_or(|at| at.elapsed() >= ESCROW_RECHECK);
            let look = !has_key && m.pending_key.is_none() && due;
            if look {
                m.escrow_checked_at = Some(std::time::Instant::now());
            }
            look
        });
        if !look
            || !matches!(domain.status, auth0::types::DomainStatus::Ready)
            || cd.spec.type_ != crate::resources::custom_domain::DomainType::SelfManagedCerts
        {
            return Ok(());
        }
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), &ns);
        match escrow::load(&api, cd, &domain.custom_domain_id).await {
            Ok(Some(key)) => {
                info!("found the cname-api-key in escrow; writing it to the Secret");
                let held = HeldKey {
                    key,
                    content: plan::secret_content(cd, domain),
                    domain_id: domain.custom_domain_id.clone(),
                    resource: Arc::new(cd.clone()),
                };
                let at = escrow::name(cd).map(|n| format!("{ns}/{n}"));
                self.ctx.with_memory(self.key, |m| {
                    m.pending_key = Some(held);
                    m.escrowed = at;
                });
                if let Some(stored) = flush_pending_key(self.ctx, self.key, self.secrets, cd).await? {
                    self.secret = Some(Some(stored));
                }
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "reading the key escrow failed"),
        }
        Ok(())
    }

    /// Records a transient Auth0 failure in the plan's status; returns the retry delay.
    fn transient(&self, plan: &mut Plan, e: &auth0::Error) -> Duration {
        let failures = self.ctx.with_memory(self.key, |m| {
            m.failures += 1;
            m.failures
        });
        let (reason, after) = if e.is_rate_limited() {
            (
                Reason::RateLimited,
                e.retry_after(Duration::from_secs(60))
                    .unwrap_or(Duration::from_secs(5)),
            )
        } else {
            (Reason::Auth0Error, failure_backoff(failures))
        };
        let msg = format!("{e}; retrying in {}s", after.as_secs().max(1));
        mark_retrying(
            &mut plan.status,
            reason,
            &msg,
            self.cd.metadata.generation,
            Timestamp::now(),
        );
        after
    }

    fn permanent(&self, plan: &mut Plan, reason: Reason, e: &auth0::Error) -> Duration {
        let msg = format!("Auth0 refused the request: {e}");
        mark_stalled(
            &mut plan.status,
            reason,
            &msg,
            self.cd.metadata.generation,
            Timestamp::now(),
        );
        plan.requeue_after
    }

    /// Auth0 refused this generation's create: stall with its message and a Warning Event, and
    /// remember it in status so no create is sent again before `retry` (or before the spec changes).
    fn refuse_create(
        &self,
        rt: &TenantRuntime,
        plan: &mut Plan,
        reason: Reason,
        e: &auth0::Error,
        retry: Option<Duration>,
    ) -> Outcome {
        let cd = self.cd;
        let auth0_says = e.auth0_message().unwrap_or("no message").to_owned();
        let advice = match reason {
            Reason::EntitlementExceeded => format!(
                "the tenant holds as many custom domains as its plan includes: raise the entitlement or delete domains (spec.entitlement of Auth0Tenant {} says how many it should hold)",
                cd.spec.tenant_ref.name
            ),
            Reason::PlanRefused => {
                "the tenant's plan does not include custom domains: upgrade it or add a verified card in the Auth0 dashboard".to_owned()
            }
            Reason::AlreadyExists => format!(
                "Auth0 says the domain exists, but tenant {} does not list it: it most likely belongs to another Auth0 tenant; remove it there",
                cd.spec.tenant_ref.name
            ),
            _ => "fix what Auth0 names in the spec".to_owned(),
        };
        let when = match retry {
            Some(d) => format!(
                "tried again in {} min or when the spec changes",
                d.as_secs().div_ceil(60)
            ),
            None => "not tried again until the spec changes".to_owned(),
        };
        let msg = format!(
            "Auth0 refused to create {}: \"{auth0_says}\" — {advice}; {when}",
            cd.spec.domain
        );
        warn!(error = %e, reason = reason.as_str(), "Auth0 refused the create");
        let now = Timestamp::now();
        mark_stalled(&mut plan.status, reason, &msg, cd.metadata.generation, now);
        plan.status.create_refused = cd.metadata.generation.map(|generation| CreateRefusal {
            generation,
            retry_after: retry
                .and_then(|d| jiff::SignedDuration::try_from(d).ok())
                .and_then(|d| now.checked_add(d).ok())
                .map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time),
        });
        plan.events.push(EventNote {
            kind: EventKind::Warning,
            reason,
            action: "Create",
            note: msg,
        });
        if matches!(reason, Reason::EntitlementExceeded | Reason::PlanRefused) {
            rt.note_create_refusal(reason, auth0_says);
        }
        Outcome::Failed(retry.unwrap_or(rt.resync_interval()))
    }

    /// Failure of an Auth0 call: transient ones retry, permanent ones stall.
    fn failed(&self, plan: &mut Plan, e: &auth0::Error) -> Outcome {
        warn!(error = %e, "Auth0 call failed");
        if e.is_transient() || e.is_auth() {
            Outcome::Failed(self.transient(plan, e))
        } else {
            Outcome::Failed(self.permanent(plan, Reason::Auth0Error, e))
        }
    }

    async fn run(
        &mut self,
        step: &Step,
        rt: Option<&TenantRuntime>,
        plan: &mut Plan,
    ) -> Result<Outcome, Error> {
        let cd = self.cd;
        // Every Auth0 step needs the tenant; the planner only emits them when it is usable.
        let need_rt = || rt.ok_or(());
        match step {
            Step::Create(body) => {
                let Ok(rt) = need_rt() else {
                    return Ok(Outcome::Done);
                };
                let Some(_permit) = self.ctx.tenants.call_permit(rt, WaitingCall::Create) else {
                    // Back when the domains that asked first have had their turn, not every second.
                    let rate = rt.client.budget().tenant_limit().requests_per_second;
                    let stamp = trigger::stamp(cd);
                    let after = rt
                        .create_line
                        .step_aside(self.key, stamp, std::time::Instant::now(), rate);
                    return Ok(Outcome::Deferred(after));
                };
                rt.create_line.leave(self.key);
                // Another domain of the tenant probes a lapsed plan/entitlement refusal right now.
                if !rt.may_create(plan::CREATE_RETRY) {
                    return Ok(step_aside());
                }
                let generation = cd.metadata.generation;
                match rt.client.deferring(BUDGET_INLINE_WAIT).create_domain(body).await {
                    // Nothing sent: come back when the budget has a token.
                    Err(auth0::Error::Deferred { after, .. }) => Ok(Outcome::Deferred(after)),
                    Ok(d) => {
                        info!(id = %d.custom_domain_id, domain = %d.domain, "created Auth0 domain");
                        rt.clear_create_refusal();
                        rt.snapshot.upsert(d);
                        self.ctx.count_changed(&rt.name);
                        Ok(Outcome::Replan)
                    }
                    Err(e) if e.is_entitlement_refusal() => Ok(self.refuse_create(
                        rt,
                        plan,
                        Reason::EntitlementExceeded,
                        &e,
                        Some(plan::CREATE_RETRY),
                    )),
                    Err(e) if e.is_plan_refusal() => {
                        Ok(self.refuse_create(rt, plan, Reason::PlanRefused, &e, Some(plan::CREATE_RETRY)))
                    }
                    Err(e) if e.is_conflict() => {
                        let again = self.ctx.with_memory(self.key, |m| {
                            let again = m.duplicate_of_generation == generation;
                            m.duplicate_of_generation = generation;
                            again
                        });
                        if again {
                            // The list was read after the first "already exists" and did not show it.
                            return Ok(self.refuse_create(
                                rt,
                                plan,
                                Reason::AlreadyExists,
                                &e,
                                Some(plan::CREATE_RETRY),
                            ));
                        }
                        // Someone (maybe we, before a crash) created it: look, then decide.
                        rt.snapshot.invalidate();
                        Ok(Outcome::Replan)
                    }
                    Err(e) if e.is_create_refusal() => {
                        Ok(self.refuse_create(rt, plan, Reason::CreateRefused, &e, None))
                    }
                    Err(e) if e.is_create_ambiguous() => {
                        // It may have happened: never retry blindly, re-list first.
                        rt.snapshot.invalidate();
                        Ok(self.failed(plan, &e))
                    }
                    Err(e) => Ok(self.failed(plan, &e)),
                }
            }
            Step::Adopt { id, patch } | Step::Patch { id, patch } => {
                let Ok(rt) = need_rt() else {
                    return Ok(Outcome::Done);
                };
                if matches!(step, Step::Adopt { .. }) {
                    // The adoption record must exist before the domain carries our marker: it is
                    // what keeps an adopted domain from being deleted or recreated too early.
                    write_status(
                        &Api::namespaced(self.ctx.client.clone(), &self.key.0),
                        cd,
                        &plan.status,
                    )
                    .await?;
                }
                match rt.client.patch_domain(id, patch).await {
                    Ok(d) => {
                        rt.snapshot.upsert(d);
                        Ok(Outcome::Replan)
                    }
                    Err(e) if e.is_not_found() => {
                        rt.snapshot.remove(&cd.spec.domain);
                        Ok(Outcome::Replan)
                    }
                    Err(e) => Ok(self.failed(plan, &e)),
                }
            }
            Step::EnsureSecret(content) => {
                let current = self.secret.clone().flatten();
                let stored = secret::ensure(self.secrets, cd, content, current.as_ref())
                    .await
                    .map_err(kube_err("write the Secret of", cd))?;
                self.secret = Some(Some(stored));
                Ok(Outcome::Done)
            }
            Step::CopyKey { from, to } => {
                let key = self
                    .previous_secret
                    .clone()
                    .flatten()
                    .and_then(|s| s.data)
                    .and_then(|d| d.get(super::SECRET_KEY_CNAME_API_KEY).cloned())
                    .and_then(|v| String::from_utf8(v.0).ok())
                    .filter(|k| !k.is_empty());
                // Read once per reconcile; the next one reads both Secrets again.
                self.previous_secret = Some(None);
                if let Some(key) = key {
                    let stored = secret::store_key(self.secrets, cd, to, &Redacted::new(key))
                        .await
                        .map_err(kube_err("copy the cname-api-key of", cd))?;
                    info!(from = %from, to = %to.name, "cname-api-key copied to the renamed Secret");
                    self.secret = Some(Some(stored));
                }
                Ok(Outcome::Replan)
            }
            Step::LookupDns(record) => {
                if self.dns.is_some() {
                    // Already looked in this reconcile: the plan's requeue covers the next look.
                    return Ok(Outcome::Done);
                }
                // The miss is counted when the reconcile ends: the planner's `dns_checks` means
                // "misses before this one".
                self.dns = Some(self.ctx.dns.lookup(record).await);
                Ok(Outcome::Replan)
            }
            Step::Refresh { id } => {
                let Ok(rt) = need_rt() else {
                    return Ok(Outcome::Done);
                };
                if self.refreshed {
                    return Ok(Outcome::Done);
                }
                self.refreshed = true;
                match rt.client.get_domain(id).await {
                    Ok(Some(d)) => rt.snapshot.upsert(d),
                    Ok(None) => rt.snapshot.remove(&cd.spec.domain),
                    Err(e) => return Ok(self.failed(plan, &e)),
                }
                Ok(Outcome::Replan)
            }
            Step::Verify { id, secret } => {
                let Ok(rt) = need_rt() else {
                    return Ok(Outcome::Done);
                };
                if self.verified || self.verify_wait.is_some() {
                    return Ok(Outcome::Done);
                }
                // Wait for the turn here only when it is close; otherwise report the place in the
                // queue and come back, leaving the reconcile slot to others.
                let now = std::time::Instant::now();
                let turn = rt.verify_queue.turn(self.key, now);
                let wait = turn.at.saturating_duration_since(now);
                if wait > VERIFY_INLINE_WAIT {
                    self.verify_wait = Some(VerifyWait {
                        ahead: turn.ahead,
                        wait,
                        per_minute: rt.verify_queue.per_minute(),
                    });
                    return Ok(Outcome::Replan);
                }
                let Some(_permit) = self.ctx.tenants.call_permit(rt, WaitingCall::Verify) else {
                    return Ok(step_aside());
                };
                tokio::time::sleep(wait).await;
                self.verified = true;
                let answer = rt.client.deferring(BUDGET_INLINE_WAIT).verify_domain(id).await;
                if let Some(after) = answer.as_ref().err().and_then(auth0::Error::deferred_for) {
                    // Nothing was sent: the turn is kept (its place and ETA too) for the next try.
                    debug!(?after, "verify deferred by the tenant's budget; the turn is kept");
                    return Ok(Outcome::Deferred(after));
                }
                let left = answer.as_ref().ok().and_then(|r| r.verifies_left);
                rt.verify_queue.used(self.key, left, std::time::Instant::now());
                match answer {
                    Ok(resp) => {
                        let still_pending = !matches!(resp.domain.status, auth0::types::DomainStatus::Ready);
                        // A key for a domain the plan did not expect one for is still kept.
                        let mut content = secret
                            .clone()
                            .unwrap_or_else(|| plan::secret_content(cd, &resp.domain));
                        if resp.domain.origin_domain_name.is_some() {
                            content.origin_domain_name = resp.domain.origin_domain_name.clone();
                        }
                        rt.snapshot.upsert(resp.domain);
                        self.ctx.with_memory(self.key, |m| {
                            if still_pending {
                                m.attempts.verifies = m.attempts.verifies.saturating_add(1);
                            } else {
                                m.attempts.verifies = 0;
                            }
                        });
                        if let Some(key) = resp.cname_api_key {
                            info!("received the one-time cname_api_key; writing it to the Secret");
                            let held = HeldKey {
                                key,
                                content,
                                domain_id: id.to_owned(),
                                resource: Arc::new(cd.clone()),
                            };
                            self.ctx.with_memory(self.key, |m| m.pending_key = Some(held));
                            if let Some(stored) =
                                flush_pending_key(self.ctx, self.key, self.secrets, cd).await?
                            {
                                self.secret = Some(Some(stored));
                            }
                        }
                        Ok(Outcome::Replan)
                    }
                    // 400 "Custom domain already verified." (our copy was stale), or an older
                    // tenant's "not verified": read the domain; never verify again blindly.
                    Err(e) if e.status() == Some(400) => {
                        self.ctx.with_memory(self.key, |m| {
                            m.attempts.verifies = m.attempts.verifies.saturating_add(1)
                        });
                        self.refreshed = true;
                        match rt.client.get_domain(id).await {
                            Ok(Some(d)) => rt.snapshot.upsert(d),
                            Ok(None) => rt.snapshot.remove(&cd.spec.domain),
                            Err(e) => return Ok(self.failed(plan, &e)),
                        }
                        Ok(Outcome::Replan)
                    }
                    Err(e) if e.is_not_found() => {
                        rt.snapshot.remove(&cd.spec.domain);
                        Ok(Outcome::Replan)
                    }
                    Err(e) => Ok(self.failed(plan, &e)),
                }
            }
            Step::Delete { id } => {
                let Ok(rt) = need_rt() else {
                    return Ok(Outcome::Done);
                };
                match rt.client.delete_domain(id).await {
                    Ok(()) => {
                        info!(%id, "deleted Auth0 domain");
                        rt.snapshot.remove(&cd.spec.domain);
                        self.ctx.count_changed(&rt.name);
                        Ok(Outcome::Done)
                    }
                    Err(e) => Ok(self.failed(plan, &e)),
                }
            }
            Step::RecreateForKeyLoss { id, create } => {
                let Ok(rt) = need_rt() else {
                    return Ok(Outcome::Done);
                };
                if let Err(e) = rt.client.delete_domain(id).await {
                    return Ok(self.failed(plan, &e));
                }
                rt.snapshot.remove(&cd.spec.domain);
                match rt.client.create_domain(create).await {
                    Ok(d) => {
                        info!(id = %d.custom_domain_id, domain = %d.domain, "created Auth0 domain (again, for a new key)");
                        rt.snapshot.upsert(d);
                        Ok(Outcome::Replan)
                    }
                    Err(e) => {
                        rt.snapshot.invalidate();
                        Ok(self.failed(plan, &e))
                    }
                }
            }
            Step::OrphanSecret { name } => {
                secret::orphan(self.secrets, cd, name)
                    .await
                    .map_err(kube_err("orphan the Secret of", cd))?;
                Ok(Outcome::Done)
            }
            Step::ReleaseFinalizer => Ok(Outcome::Release),
        }
    }
}

/// Both stores the planner reads from have had their first full list.
fn stores_ready(ctx: &Context) -> bool {
    use futures::FutureExt as _;
    let ready = |r: Option<Result<(), _>>| matches!(r, Some(Ok(())));
    ready(ctx.tenant_store.wait_until_ready().now_or_never())
        && ready(ctx.namespace_store.wait_until_ready().now_or_never())
}

/// Requeue delay after the `failures`-th failure in a row: 2 s doubling up to 256 s, plus up to a
/// quarter of jitter, so about 5 minutes at most (`docs/design.md#rate-budget-and-priorities`).
/// backon's own jitter can double a delay, which would stretch that bound, so it is added here.
fn failure_backoff(failures: u32) -> Duration {
    use backon::BackoffBuilder as _;
    let base = backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(2))
        .with_max_delay(Duration::from_secs(256))
        .without_max_times()
        .build()
        // Past the ninth failure the delay no longer grows: no need to walk further.
        .nth(usize::try_from(failures.saturating_sub(1).min(8)).unwrap_or(8))
        .unwrap_or(Duration::from_secs(256));
    base + base.mul_f64(rand::random_range(0.0..=0.25))
}

/// Writes a key held in memory into the Secret; keeps it in memory until a write succeeds.
/// Returns the Secret as stored when there was a key to write and the write succeeded. When the
/// write keeps failing, the key goes to the escrow (once) and the failure is kept for the status:
/// the reconcile goes on, so the status says where the key is.
async fn flush_pending_key(
    ctx: &Context,
    key: &(String, String),
    secrets: &Api<Secret>,
    cd: &CustomDomain,
) -> Result<Option<Secret>, Error> {
    let Some((held, failing)) = ctx.with_memory(key, |m| {
        m.pending_key.clone().map(|h| (h, m.key_write_error.is_some()))
    }) else {
        return Ok(None);
    };
    let HeldKey {
        key: cname_key,
        content,
        domain_id,
        ..
    } = held;
    // Retried in place only the first time: a write that keeps failing is retried on requeue,
    // without holding a reconcile slot for seconds each time.
    let attempts = if failing { 1 } else { KEY_WRITE_ATTEMPTS };
    let mut last = None;
    for attempt in 0..attempts {
        match secret::store_key(secrets, cd, &content, &cname_key).await {
            Ok(stored) => {
                let escrowed = ctx.with_memory(key, |m| {
                    m.pending_key = None;
                    m.key_write_error = None;
                    m.escrowed.take()
                });
                info!(secret = %content.name, "cname-api-key stored");
                if escrowed.is_some()
                    && let Some(ns) = &ctx.escrow_namespace
                    && let Err(e) = escrow::discard(&Api::namespaced(ctx.client.clone(), ns), cd).await
                {
                    warn!(error = %e, "deleting the escrow copy failed; it stays in the operator's namespace");
                }
                return Ok(Some(stored));
            }
            Err(e) => {
                warn!(error = %e, attempt, "writing the cname-api-key failed; retrying from memory");
                last = Some(e);
                if attempt + 1 < attempts {
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                }
            }
        }
    }
    let Some(error) = last else {
        return Ok(None);
    };
    let escrowed = ctx.with_memory(key, |m| m.escrowed.clone());
    let escrowed = match (escrowed, &ctx.escrow_namespace) {
        (Some(at), _) => Some(at),
        (None, Some(ns)) => {
            match escrow::store(
                &Api::namespaced(ctx.client.clone(), ns),
                ns,
                cd,
                &domain_id,
                &cname_key,
            )
            .await
            {
                Ok(at) => {
                    warn!(escrow = %at, "the cname-api-key is kept in escrow until its Secret can be written");
                    Some(at)
                }
                Err(e) => {
                    warn!(error = %e, "writing the escrow copy failed too: the key is only in memory");
                    None
                }
            }
        }
        (None, None) => None,
    };
    // An API server or webhook may quote the request in its message: never let the key through.
    let text = scrub(&error.to_string(), cname_key.expose());
    ctx.with_memory(key, |m| {
        m.escrowed = escrowed;
        m.key_write_error = Some(text);
    });
    Ok(None)
}

/// What [`hand_over_keys`] did with the keys it found in memory.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HandOver {
    /// Keys now in their Secret (written now, or found there already).
    pub in_secret: usize,
    /// Keys whose Secret could not be written but whose escrow copy exists.
    pub escrowed: usize,
    /// Keys neither in a Secret nor in escrow when time ran out: they die with the process.
    pub lost: usize,
}

/// Called once this process stops reconciling (a lost leader Lease, a shutdown): every one-time
/// key still held in memory is put where the next leader finds it, within `within`. The escrow
/// copy first (named by uid, tagged with the domain id: safe whoever leads now), then the Secret,
/// but only while it holds no key (compare-and-swap: the new leader may have written a newer
/// one). Keys are handled side by side, each retried until it is in escrow or its Secret, or time
/// is up (docs/design.md#key-safety).
pub async fn hand_over_keys(ctx: &Context, within: Duration) -> HandOver {
    let held: Vec<(HeldKey, bool)> = {
        let memory = ctx.memory.lock();
        memory
            .values()
            .filter_map(|m| m.pending_key.clone().map(|h| (h, m.escrowed.is_some())))
            .collect()
    };
    if held.is_empty() {
        return HandOver::default();
    }
    info!(keys = held.len(), within = ?within, "handing over cname-api-keys not yet in their Secrets");
    let deadline = tokio::time::Instant::now() + within;
    let outcomes = futures::future::join_all(
        held.into_iter()
            .map(|(h, escrowed)| hand_over_one(ctx, h, escrowed, deadline)),
    )
    .await;
    let mut out = HandOver::default();
    for o in outcomes {
        match o {
            KeyFate::InSecret => out.in_secret += 1,
            KeyFate::Escrowed => out.escrowed += 1,
            KeyFate::Lost => out.lost += 1,
        }
    }
    if out.lost > 0 {
        error!(
            in_secret = out.in_secret,
            escrowed = out.escrowed,
            lost = out.lost,
            "could not hand over every cname-api-key: the lost ones will be reported CnameApiKeyLost"
        );
    } else {
        info!(
            in_secret = out.in_secret,
            escrowed = out.escrowed,
            "every held cname-api-key handed over"
        );
    }
    out
}

enum KeyFate {
    InSecret,
    Escrowed,
    Lost,
}

async fn hand_over_one(
    ctx: &Context,
    h: HeldKey,
    mut escrowed: bool,
    deadline: tokio::time::Instant,
) -> KeyFate {
    let cd = &*h.resource;
    let (ns, name) = (cd.namespace().unwrap_or_default(), cd.name_any());
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let mut delay = Duration::from_millis(250);
    loop {
        if !escrowed && let Some(escrow_ns) = &ctx.escrow_namespace {
            let api = Api::namespaced(ctx.client.clone(), escrow_ns);
            match escrow::store(&api, escrow_ns, cd, &h.domain_id, &h.key).await {
                Ok(at) => {
                    info!(%ns, %name, escrow = %at, "cname-api-key handed over in escrow");
                    escrowed = true;
                }
                Err(e) => {
                    warn!(%ns, %name, error = %scrub(&e.to_string(), h.key.expose()), "escrow write failed; retrying")
                }
            }
        }
        match secret::store_key_if_keyless(&secrets, cd, &h.content, &h.key).await {
            Ok(secret::KeylessWrite::Written) => {
                info!(%ns, %name, secret = %h.content.name, "cname-api-key stored before stepping down");
                if escrowed
                    && let Some(escrow_ns) = &ctx.escrow_namespace
                    && let Err(e) = escrow::discard(&Api::namespaced(ctx.client.clone(), escrow_ns), cd).await
                {
                    warn!(%ns, %name, error = %e, "deleting the escrow copy failed; the next leader deletes it");
                }
                return KeyFate::InSecret;
            }
            Ok(secret::KeylessWrite::AlreadyHeld) => return KeyFate::InSecret,
            Ok(secret::KeylessWrite::NotOurs) => {}
            Err(e) => {
                warn!(%ns, %name, error = %scrub(&e.to_string(), h.key.expose()), "Secret write failed")
            }
        }
        // The escrow is where the next leader looks: once the key is there, stopping need not
        // wait for the Secret (its writes may fail for minutes).
        if escrowed {
            return KeyFate::Escrowed;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return if escrowed {
                KeyFate::Escrowed
            } else {
                KeyFate::Lost
            };
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// `text` without `secret` in any form a Secret write carries it (plain or base64).
fn scrub(text: &str, secret: &str) -> String {
    use base64::Engine as _;
    if secret.is_empty() {
        return text.to_owned();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    text.replace(secret, "[redacted]").replace(&b64, "[redacted]")
}

/// Whether a domain that stepped aside in its tenant's create line would only step aside again:
/// it is unchanged since (spec, deletion, annotations), its tenant is usable and no place to
/// create is free. Then its reconcile reads neither the object nor its Secret: with a thousand new
/// domains most reconciles are such looks at the line.
fn still_in_create_line(
    tenants: &Tenants,
    rt: &TenantRuntime,
    view: &TenantView,
    key: &(String, String),
    stamp: u64,
) -> bool {
    matches!(view.health, TenantHealth::Ready)
        && view.allowed
        && view.claim == ClaimVerdict::Allowed
        && view.create_refused.is_none()
        && rt.create_line.holds(key, stamp)
        // A free place is only looked at here; the full reconcile claims it.
        && tenants.call_permit(rt, WaitingCall::Create).is_none()
}

/// Adds our finalizer; false when the object changed since it was read (409).
async fn add_finalizer(api: &Api<CustomDomain>, cd: &CustomDomain) -> Result<bool, Error> {
    let mut finalizers = cd.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    // The resourceVersion guards the rest of the list: never drop another controller's finalizer.
    let patch = json!({ "metadata": { "finalizers": finalizers, "resourceVersion": cd.resource_version() } });
    match api
        .patch(&cd.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(source) => Err(kube_err("add the finalizer to", cd)(source)),
    }
}

async fn remove_finalizer(api: &Api<CustomDomain>, cd: &CustomDomain) -> Result<(), Error> {
    let finalizers: Vec<String> = cd
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    let patch = json!({ "metadata": { "finalizers": finalizers, "resourceVersion": cd.resource_version() } });
    match api
        .patch(&cd.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(kube_err("remove the finalizer from", cd)(source)),
    }
}

async fn write_status(
    api: &Api<CustomDomain>,
    cd: &CustomDomain,
    status: &CustomDomainStatus,
) -> Result<(), Error> {
    let patch = Patch::Apply(json!({
        "apiVersion": "auth0.domain-operator.dev/v1alpha1",
        "kind": "CustomDomain",
        "status": status,
    }));
    match api
        .patch_status(&cd.name_any(), &PatchParams::apply(MANAGER).force(), &patch)
        .await
    {
        Ok(_) => Ok(()),
        // Deleted meanwhile: nothing to report on.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(kube_err("write the status of", cd)(source)),
    }
}

fn publish(ctx: &Context, cd: &CustomDomain, ev: &plan::EventNote, done: &mut Vec<(Reason, String)>) {
    if done.iter().any(|(r, n)| *r == ev.reason && *n == ev.note) {
        return;
    }
    done.push((ev.reason, ev.note.clone()));
    let event = Event {
        type_: match ev.kind {
            EventKind::Normal => EventType::Normal,
            EventKind::Warning => EventType::Warning,
        },
        reason: ev.reason.as_str().to_owned(),
        note: Some(ev.note.clone()),
        action: ev.action.to_owned(),
        secondary: None,
    };
    send_event(ctx, cd, event);
}

/// Publishes an Event without holding the reconcile (and its tenant slot) for the round trip;
/// Events are best effort either way.
fn send_event(ctx: &Context, cd: &CustomDomain, event: Event) {
    let recorder = ctx.recorder.clone();
    let reference = cd.object_ref(&());
    tokio::spawn(async move {
        if let Err(e) = recorder.publish(&event, &reference).await {
            warn!(error = %e, "publishing an Event failed");
        }
    });
}

/// Applies/removes the `DNSEndpoint` and `Certificate` children and records the outcome in the
/// `ChildObjectsReady` condition (a failure there never fails the reconcile: the domain itself may
/// be fine). A Warning Event is published when that condition turns `False` with a new reason.
async fn sync_children(
    ctx: &Context,
    cd: &CustomDomain,
    rt: Option<&TenantRuntime>,
    status: &mut CustomDomainStatus,
) {
    // Only the Auth0 domain this resource holds: a name held by another resource (or nobody) gets
    // no DNS record and no certificate from this one.
    let seen = rt
        .filter(|rt| rt.snapshot.is_loaded())
        .and_then(|rt| rt.snapshot.get(&cd.spec.domain))
        .filter(|s| plan::owner_of(&s.domain, &ctx.cluster_id, cd) == plan::Owner::ThisResource);
    let issuers = ctx
        .tenant_store
        .get(&ObjectRef::new(&cd.spec.tenant_ref.name))
        .map(|t| t.spec.allowed_cluster_issuers.clone())
        .unwrap_or_default();
    let report = children::sync(&ctx.client, cd, seen.as_ref().map(|s| &*s.domain), &issuers).await;
    let Some(cond) = report.condition(cd.metadata.generation, Timestamp::now()) else {
        status.conditions.retain(|c| c.type_ != children::CONDITION_TYPE);
        return;
    };
    let before = status
        .conditions
        .iter()
        .find(|c| c.type_ == children::CONDITION_TYPE)
        .map(|c| (c.status.clone(), c.reason.clone()));
    if cond.status == "False"
        && cond.reason != Reason::ChildObjectsWaiting.as_str()
        && before != Some((cond.status.clone(), cond.reason.clone()))
    {
        let event = Event {
            type_: EventType::Warning,
            reason: cond.reason.clone(),
            note: Some(cond.message.clone()),
            action: "ApplyChildObjects".to_owned(),
            secondary: None,
        };
        send_event(ctx, cd, event);
    }
    set_condition(&mut status.conditions, cond);
}

/// Error policy of the controller: back off with jitter; the status already says what is wrong.
pub fn error_policy(cd: Arc<StoredDomain>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_error("custom_domain", err.category());
    warn!(error = %err, name = %cd.name_any(), "reconcile failed");
    let key = (cd.namespace().unwrap_or_default(), cd.name_any());
    ctx.resyncs.forget(&key.0, &key.1);
    let failures = ctx.with_memory(&key, |m| {
        m.failures += 1;
        m.failures
    });
    Action::requeue(failure_backoff(failures))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{Memories, failure_backoff, requeue_within_list_life, scrub, still_in_create_line};
    use crate::auth0::{Redacted, TenantConfig};
    use crate::custom_domain::plan::{
        AdoptionVerdict, ClaimVerdict, TenantHealth, TenantRefusal, TenantView,
    };
    use crate::resources::conditions::Reason;
    use crate::tenant::runtime::{Desired, Tenants, WaitingCall};
    use std::time::{Duration, Instant};

    fn ready_tenant() -> TenantView {
        TenantView {
            name: "t".into(),
            health: TenantHealth::Ready,
            allowed: true,
            fence: None,
            cluster_id: "c1".into(),
            mtls_aliases_enabled: false,
            resync_interval: Duration::from_secs(600),
            create_refused: None,
            adoption: AdoptionVerdict::Off,
            claim: ClaimVerdict::Allowed,
        }
    }

    /// The shortcut that skips a reconcile's reads holds only while stepping aside again is all
    /// the full reconcile would do: a change to the object, a free place or a tenant that is no
    /// longer usable must each send the domain down the full path.
    #[test]
    fn only_an_unchanged_domain_with_no_free_place_skips_its_reconcile() {
        // 6 reconcile slots: 2 places to create at once.
        let tenants = Tenants::new(6);
        let desired = Desired {
            config: TenantConfig::new("t", "t.eu.auth0.com", "id", Redacted::new("secret".to_owned())),
            resync_interval: Duration::from_secs(600),
            allowed_namespaces: Default::default(),
        };
        let rt = tenants.ensure(&desired, None).unwrap().runtime;
        let view = ready_tenant();
        let key = ("shop".to_owned(), "login".to_owned());
        let places = [
            tenants.call_permit(&rt, WaitingCall::Create).unwrap(),
            tenants.call_permit(&rt, WaitingCall::Create).unwrap(),
        ];
        assert!(
            !still_in_create_line(&tenants, &rt, &view, &key, 7),
            "not in the line yet"
        );
        rt.create_line.step_aside(&key, 7, Instant::now(), 20.0);
        assert!(still_in_create_line(&tenants, &rt, &view, &key, 7));
        assert!(
            !still_in_create_line(&tenants, &rt, &view, &key, 8),
            "the object changed since it stepped aside"
        );
        let not_ready = TenantView {
            health: TenantHealth::NotReady("credentials refused".into()),
            ..ready_tenant()
        };
        assert!(!still_in_create_line(&tenants, &rt, &not_ready, &key, 7));
        let refused = TenantView {
            create_refused: Some(TenantRefusal {
                reason: Reason::EntitlementExceeded,
                message: "domain limit reached".into(),
                retry_in: Duration::from_secs(60),
            }),
            ..ready_tenant()
        };
        assert!(!still_in_create_line(&tenants, &rt, &refused, &key, 7));
        let fenced = TenantView {
            allowed: false,
            ..ready_tenant()
        };
        assert!(!still_in_create_line(&tenants, &rt, &fenced, &key, 7));
        drop(places);
        assert!(
            !still_in_create_line(&tenants, &rt, &view, &key, 7),
            "a place is free: the full reconcile claims it"
        );
        // Looking took no place: both are free again.
        let _a = tenants.call_permit(&rt, WaitingCall::Create).unwrap();
        let _b = tenants.call_permit(&rt, WaitingCall::Create).unwrap();
        assert!(tenants.call_permit(&rt, WaitingCall::Create).is_none());
    }

    #[test]
    fn a_domain_with_nothing_to_remember_holds_no_entry() {
        let memories = Memories::default();
        let key = ("shop".to_owned(), "login".to_owned());
        // Read-only use (a Ready domain's reconcile) makes no entry.
        assert_eq!(memories.with(&key, |m| m.failures), 0);
        assert!(memories.lock().is_empty());
        memories.with(&key, |m| m.failures = 2);
        assert_eq!(memories.with(&key, |m| m.failures), 2, "a counter is kept");
        memories.with(&key, |m| m.failures = 0);
        assert!(memories.lock().is_empty(), "an entry back to blank is dropped");
        memories.with(&key, |m| m.attempts.verifies = 1);
        assert_eq!(memories.lock().len(), 1);
    }

    #[test]
    fn failure_backoff_doubles_from_two_seconds_to_about_five_minutes() {
        for (failures, base) in [(1, 2), (2, 4), (3, 8), (8, 256), (9, 256), (u32::MAX, 256)] {
            let d = failure_backoff(failures);
            let base = Duration::from_secs(base);
            assert!(d >= base && d <= base + base / 4, "{failures}: {d:?}");
        }
        assert!(failure_backoff(u32::MAX) <= Duration::from_secs(320));
    }

    #[test]
    fn a_quoted_key_never_reaches_the_status() {
        let key = "0123456789abcdef";
        let text = "admission webhook denied: data.cname-api-key=MDEyMzQ1Njc4OWFiY2RlZg== (0123456789abcdef)";
        let out = scrub(text, key);
        assert!(
            !out.contains(key) && !out.contains("MDEyMzQ1Njc4OWFiY2RlZg=="),
            "{out}"
        );
        assert!(out.contains("admission webhook denied"));
    }

    #[test]
    fn a_woken_domain_still_comes_back_when_the_list_goes_stale() {
        let resync = Duration::from_secs(30);
        // Woken 29 s into the list's life: back 2 s later (1 s after it is stale), not 30 s later.
        assert_eq!(
            requeue_within_list_life(resync, Some(Duration::from_secs(1))),
            Duration::from_secs(2)
        );
        // A shorter planned requeue (DNS re-check) stands.
        assert_eq!(
            requeue_within_list_life(Duration::from_secs(1), Some(Duration::from_secs(20))),
            Duration::from_secs(1)
        );
        // No list yet, or stale already (the refresh failed): the plan decides, no busy loop.
        assert_eq!(requeue_within_list_life(resync, None), resync);
    }
}
