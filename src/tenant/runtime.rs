//! What the operator holds per `Auth0Tenant` while it runs: the Management API client (token cache,
//! rate budget), the shared domain snapshot and the tenant's health, looked up by name.
//!
//! [`Tenants`] is the one owner of every tenant's runtime: [`Tenants::ensure`] keeps the runtime
//! (and so the client, its token, buckets and 429 pauses) across edits of the rate limit, resync
//! interval or namespace fence, and builds a new client only when credentials or the endpoint
//! change (`docs/design.md#tenant-side`).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::auth0::{self, TenantClient, TenantConfig};
use crate::resources::conditions::Reason;
use crate::resources::tenant::AllowedNamespaces;
use crate::sync::{lock, read, write};
use crate::telemetry::metrics::Metrics;

use super::create_line::CreateLine;
use super::snapshot::Snapshot;
use super::verify_queue::VerifyQueue;

/// One tenant's runtime state.
#[derive(Debug)]
pub struct TenantRuntime {
    /// The `Auth0Tenant`'s name.
    pub name: String,
    /// Client of the tenant's Management API.
    pub client: TenantClient,
    /// The shared list of the tenant's domains.
    pub snapshot: Arc<Snapshot>,
    /// Whose verify goes next (Auth0's verify budget is small).
    pub verify_queue: VerifyQueue,
    /// Which new domain gets the next place to create.
    pub create_line: CreateLine,
    /// `spec.resyncInterval` (changed in place).
    resync_interval: RwLock<Duration>,
    /// `spec.allowedNamespaces` (changed in place).
    allowed_namespaces: RwLock<AllowedNamespaces>,
    /// Whether tenant setting `mtls.enable_endpoint_aliases` is on (as last read).
    mtls_aliases_enabled: AtomicBool,
    /// [`TenantConfig::identity`] of the client; a change rebuilds the client.
    identity: u64,
    /// Where the snapshot's domains come from (`domain` + API URL); a change drops the snapshot.
    endpoint: String,
    health: RwLock<Health>,
    /// CustomDomain reconciles of this tenant running now (see [`Tenants::enter`]).
    in_flight: AtomicUsize,
    /// Reconciles now inside a create / a verify call (see [`Tenants::call_permit`]).
    creating: AtomicUsize,
    verifying: AtomicUsize,
    /// Last read of the default domain (`None` inside: the canonical domain) and when.
    default_read: Mutex<Option<(Option<String>, Instant)>>,
    /// When tenant settings were last read.
    settings_read: Mutex<Option<Instant>>,
    /// The last create Auth0 refused for the plan or entitlement (see [`Self::create_refusal`]).
    create_refusal: Mutex<Option<CreateRefusal>>,
}

/// A create Auth0 refused for the whole tenant (plan, entitlement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRefusal {
    /// `EntitlementExceeded` or `PlanRefused`.
    pub reason: Reason,
    /// Auth0's message.
    pub message: String,
    /// When.
    pub at: Instant,
    /// How many domains the tenant held then.
    pub domains: usize,
}

/// Whether the tenant can be used, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// The first credentials check since this runtime was built has not finished.
    Checking,
    /// Credentials work and the API answers.
    Ready,
    /// Not usable; the text is safe to show (never a secret).
    NotReady(String),
    /// Auth0 answers 403 "not allowed" to custom-domain calls: the plan has none. The text says so.
    PlanRefused(String),
}

/// What an `Auth0Tenant` asks of its runtime (built from its spec and credentials Secret).
#[derive(Clone, Debug)]
pub struct Desired {
    /// How to reach the tenant, with the budgets.
    pub config: TenantConfig,
    /// `spec.resyncInterval`.
    pub resync_interval: Duration,
    /// `spec.allowedNamespaces`.
    pub allowed_namespaces: AllowedNamespaces,
}

impl Desired {
    /// Where the snapshot's domains come from: the same host and URL list the same domains.
    fn endpoint(&self) -> String {
        let url = self.config.management_api_url.as_deref().unwrap_or_default();
        format!("{}|{url}", self.config.domain)
    }
}

impl TenantRuntime {
    /// A runtime in state [`Health::Checking`].
    pub fn new(client: TenantClient, snapshot: Arc<Snapshot>, desired: &Desired) -> Self {
        let verify_queue = VerifyQueue::new(client.budget().verify_limit(), Instant::now());
        Self {
            name: desired.config.name.clone(),
            client,
            snapshot,
            verify_queue,
            create_line: CreateLine::default(),
            resync_interval: RwLock::new(desired.resync_interval),
            allowed_namespaces: RwLock::new(desired.allowed_namespaces.clone()),
            mtls_aliases_enabled: AtomicBool::new(false),
            identity: desired.config.identity(),
            endpoint: desired.endpoint(),
            health: RwLock::new(Health::Checking),
            in_flight: AtomicUsize::new(0),
            creating: AtomicUsize::new(0),
            verifying: AtomicUsize::new(0),
            default_read: Mutex::default(),
            settings_read: Mutex::default(),
            create_refusal: Mutex::default(),
        }
    }

    /// `spec.resyncInterval`: how often the domain list is re-read.
    pub fn resync_interval(&self) -> Duration {
        *read(&self.resync_interval)
    }

    /// `spec.allowedNamespaces`: which namespaces may use the tenant.
    pub fn allowed_namespaces(&self) -> AllowedNamespaces {
        read(&self.allowed_namespaces).clone()
    }

    /// Applies what changes in place (budgets, resync interval, namespace fence); the client, its
    /// token and its pauses stay. True when the CustomDomain side sees a change (the fence or the
    /// resync interval), so its domains should be planned again.
    fn update(&self, desired: &Desired) -> bool {
        let budget = self.client.budget();
        if budget.tenant_limit() != desired.config.rate_limit.sanitized()
            || budget.verify_limit() != desired.config.verify_limit.sanitized()
        {
            self.client
                .set_rate_limits(desired.config.rate_limit, desired.config.verify_limit);
        }
        let resync = std::mem::replace(&mut *write(&self.resync_interval), desired.resync_interval);
        let fence = std::mem::replace(
            &mut *write(&self.allowed_namespaces),
            desired.allowed_namespaces.clone(),
        );
        resync != desired.resync_interval || fence != desired.allowed_namespaces
    }

    /// The default domain as last read from Auth0, with the read's age.
    pub fn last_default_read(&self) -> Option<(Option<String>, Duration)> {
        lock(&self.default_read)
            .as_ref()
            .map(|(d, at)| (d.clone(), at.elapsed()))
    }

    /// Records the default domain just read from (or set on) Auth0.
    pub fn remember_default(&self, default: Option<String>) {
        *lock(&self.default_read) = Some((default, Instant::now()));
    }

    /// Age of the last tenant-settings read.
    pub fn last_settings_read(&self) -> Option<Duration> {
        lock(&self.settings_read).map(|at| at.elapsed())
    }

    /// Records a tenant-settings read.
    pub fn remember_settings_read(&self) {
        *lock(&self.settings_read) = Some(Instant::now());
    }

    /// Records that Auth0 refused a create for the plan or entitlement: other domains of the tenant
    /// would be refused the same way, so they wait instead of spending the tenant's budget.
    pub fn note_create_refusal(&self, reason: Reason, message: String) {
        *lock(&self.create_refusal) = Some(CreateRefusal {
            reason,
            message,
            at: Instant::now(),
            domains: self.snapshot.len(),
        });
    }

    /// The tenant-wide refusal while it stands, with the time left: younger than `retry_after` and
    /// no domain gone since.
    pub fn create_refusal(&self, retry_after: Duration) -> Option<(CreateRefusal, Duration)> {
        let guard = lock(&self.create_refusal);
        let r = guard.as_ref()?;
        let left = retry_after.saturating_sub(r.at.elapsed());
        (!left.is_zero() && self.snapshot.len() >= r.domains).then(|| (r.clone(), left))
    }

    /// Whether a create may be sent now. Once a refusal lapses, the first caller probes and the
    /// refusal is renewed for everyone else until the probe succeeds
    /// ([`Self::clear_create_refusal`]) or lapses in turn.
    pub fn may_create(&self, retry_after: Duration) -> bool {
        let mut guard = lock(&self.create_refusal);
        let Some(r) = guard.as_mut() else { return true };
        let domains = self.snapshot.len();
        if r.at.elapsed() >= retry_after || domains < r.domains {
            r.at = Instant::now();
            r.domains = domains;
            return true;
        }
        false
    }

    /// A create went through: the tenant takes domains again.
    pub fn clear_create_refusal(&self) {
        *lock(&self.create_refusal) = None;
    }

    /// Current health.
    pub fn health(&self) -> Health {
        self.health
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Whether the tenant advertises `mtls.<domain>` endpoint aliases.
    pub fn mtls_aliases_enabled(&self) -> bool {
        self.mtls_aliases_enabled.load(Ordering::Relaxed)
    }

    /// Records the tenant's `mtls.enable_endpoint_aliases` setting.
    pub fn set_mtls_aliases_enabled(&self, on: bool) {
        self.mtls_aliases_enabled.store(on, Ordering::Relaxed);
    }

    /// Records the outcome of a credentials/API check.
    pub fn set_health(&self, health: Health) {
        match self.health.write() {
            Ok(mut h) => *h = health,
            Err(e) => *e.into_inner() = health,
        }
    }
}

/// Calls that may wait in a tenant's budget for a long time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitingCall {
    /// `POST /custom-domains` (served after every other call of the tenant).
    Create,
    /// `POST …/verify` (its own bucket: 5 per minute on Auth0).
    Verify,
}

/// What [`Tenants::ensure`] gives back.
#[derive(Debug)]
pub struct Ensured {
    /// The tenant's runtime.
    pub runtime: Arc<TenantRuntime>,
    /// Whether the CustomDomain side sees something new in a kept runtime: an edited namespace
    /// fence or resync interval.
    pub changed: bool,
}

/// A reconcile's claim on one of its tenant's create or verify places; released on drop.
#[derive(Debug)]
pub struct CallPermit<'a>(&'a AtomicUsize);

impl Drop for CallPermit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Most reconcile slots one tenant may hold. One tenant's calls are bounded by its budget (Auth0
/// allows 20 requests per second at most), which a dozen reconciles keep busy; more slots only
/// serve more tenants at once (measured: 10 tenants × 1,000 domains needed about 64 in all).
pub const TENANT_SLOTS: usize = 12;

/// How many reconcile slots a tenant whose budget is paused by a 429 may hold.
pub const PAUSED_TENANT_SLOTS: usize = 2;

/// A CustomDomain reconcile's claim on one of its tenant's slots; released on drop.
#[derive(Debug)]
pub struct Slot(Arc<TenantRuntime>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// All tenants by name; shared by both controllers.
#[derive(Default, Debug)]
pub struct Tenants {
    /// Most reconcile slots one tenant may hold (0: no limit).
    slot_cap: usize,
    by_name: RwLock<HashMap<String, Arc<TenantRuntime>>>,
    /// Tenants whose `Auth0Tenant` exists but whose runtime could not be built, with the reason.
    broken: RwLock<HashMap<String, String>>,
}

impl Tenants {
    /// Tenants sharing `concurrency` CustomDomain reconcile slots: one tenant may hold at most
    /// three quarters of them and never more than [`TENANT_SLOTS`], and only
    /// [`PAUSED_TENANT_SLOTS`] while Auth0 rate-limits it, so a tenant in a 429 storm (whose
    /// reconciles wait inside the client) never starves the others.
    pub fn new(concurrency: usize) -> Self {
        Self {
            slot_cap: (concurrency - concurrency / 4).clamp(1, TENANT_SLOTS),
            ..Self::default()
        }
    }

    /// Claims a reconcile slot of `rt`'s tenant, or says how long to step aside.
    pub fn enter(&self, rt: &Arc<TenantRuntime>) -> Result<Slot, Duration> {
        if self.slot_cap == 0 {
            rt.in_flight.fetch_add(1, Ordering::AcqRel);
            return Ok(Slot(rt.clone()));
        }
        let paused = rt.client.budget().tenant_paused_for();
        let cap = if paused.is_zero() {
            self.slot_cap
        } else {
            PAUSED_TENANT_SLOTS.min(self.slot_cap)
        };
        let before = rt.in_flight.fetch_add(1, Ordering::AcqRel);
        if before < cap {
            return Ok(Slot(rt.clone()));
        }
        rt.in_flight.fetch_sub(1, Ordering::AcqRel);
        // Back once the pause is over (or shortly), spread so the retries do not arrive together.
        let spread = Duration::from_millis(rand::random_range(0..1000));
        Err(paused.min(Duration::from_secs(30)) + Duration::from_millis(500) + spread)
    }

    /// Claims one of the tenant's places for a call that may wait long in its budget: a third of
    /// the tenant's slots (at least 2) per kind. Creates wait behind every other call and
    /// verifies behind a 5-per-minute bucket; without this cap they fill every slot while
    /// waiting, and the DNS re-checks that find published records cannot run. `None`: step
    /// aside and come back.
    pub fn call_permit<'a>(&self, rt: &'a TenantRuntime, call: WaitingCall) -> Option<CallPermit<'a>> {
        let counter = match call {
            WaitingCall::Create => &rt.creating,
            WaitingCall::Verify => &rt.verifying,
        };
        let cap = if self.slot_cap == 0 {
            usize::MAX
        } else {
            (self.slot_cap / 3).max(2)
        };
        if counter.fetch_add(1, Ordering::AcqRel) < cap {
            Some(CallPermit(counter))
        } else {
            counter.fetch_sub(1, Ordering::AcqRel);
            None
        }
    }

    /// The runtime `desired` describes: the tenant's current one, updated in place, while the
    /// client's identity ([`TenantConfig::identity`]) is unchanged; otherwise a new runtime with a
    /// new client (new token, full buckets), keeping the domain list when the endpoint is the same.
    /// Fails only when the client cannot be built (bad URL or CA bundle).
    pub fn ensure(&self, desired: &Desired, metrics: Option<Arc<Metrics>>) -> Result<Ensured, auth0::Error> {
        let name = &desired.config.name;
        let existing = self.get(name);
        if let Some(rt) = existing
            .as_ref()
            .filter(|rt| rt.identity == desired.config.identity())
        {
            let changed = rt.update(desired);
            write(&self.broken).remove(name);
            return Ok(Ensured {
                runtime: rt.clone(),
                changed,
            });
        }
        let client = TenantClient::new(desired.config.clone(), metrics)?;
        let snapshot = match &existing {
            Some(rt) if rt.endpoint == desired.endpoint() => rt.snapshot.clone(),
            _ => Arc::new(Snapshot::default()),
        };
        tracing::info!(tenant = %name, "tenant client (re)built");
        let rt = Arc::new(TenantRuntime::new(client, snapshot, desired));
        self.insert(rt.clone());
        // A new runtime starts `Checking`; the check that follows flips its health, and that
        // re-plans the domains already.
        Ok(Ensured {
            runtime: rt,
            changed: false,
        })
    }

    /// The runtime of a tenant, when it could be built.
    pub fn get(&self, name: &str) -> Option<Arc<TenantRuntime>> {
        read(&self.by_name).get(name).cloned()
    }

    /// Why a tenant that exists has no runtime (missing Secret, bad URL …).
    pub fn broken_reason(&self, name: &str) -> Option<String> {
        read(&self.broken).get(name).cloned()
    }

    /// Installs or replaces a tenant's runtime.
    pub fn insert(&self, runtime: Arc<TenantRuntime>) {
        write(&self.broken).remove(&runtime.name);
        write(&self.by_name).insert(runtime.name.clone(), runtime);
    }

    /// Marks a tenant as existing but unusable (its old runtime, if any, is dropped).
    pub fn set_broken(&self, name: &str, reason: String) {
        write(&self.by_name).remove(name);
        write(&self.broken).insert(name.to_owned(), reason);
    }

    /// Forgets a deleted tenant.
    pub fn remove(&self, name: &str) {
        write(&self.by_name).remove(name);
        write(&self.broken).remove(name);
    }

    /// Forgets every tenant (runtime or broken mark) for which `exists` is false, e.g. deleted
    /// `Auth0Tenant`s (they carry no finalizer, so no reconcile sees them go); returns their names.
    pub fn retain_existing(&self, exists: impl Fn(&str) -> bool) -> Vec<String> {
        let mut gone: Vec<String> = read(&self.by_name)
            .keys()
            .chain(read(&self.broken).keys())
            .filter(|n| !exists(n))
            .cloned()
            .collect();
        gone.sort();
        gone.dedup();
        for name in &gone {
            self.remove(name);
        }
        gone
    }

    /// Names of all tenants with a runtime.
    pub fn names(&self) -> Vec<String> {
        read(&self.by_name).keys().cloned().collect()
    }
}

/// A text value of a Secret, trimmed; `None` when absent, not UTF-8 or empty.
pub fn secret_text(secret: &k8s_openapi::api::core::v1::Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth0::budget::{RateLimitHeaders, Scope};
    use crate::auth0::{RateLimit, Redacted};
    use crate::resources::tenant::NamespacesFrom;

    fn desired(name: &str, secret: &str) -> Desired {
        Desired {
            config: TenantConfig::new(name, "t.eu.auth0.com", "id", Redacted::new(secret.to_owned())),
            resync_interval: Duration::from_secs(600),
            allowed_namespaces: AllowedNamespaces::default(),
        }
    }

    fn runtime() -> Arc<TenantRuntime> {
        let d = desired("t", "secret");
        Arc::new(TenantRuntime::new(
            TenantClient::new(d.config.clone(), None).unwrap(),
            Arc::default(),
            &d,
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_edit_keeps_the_client_and_its_pause() {
        let tenants = Tenants::new(4);
        let first = tenants.ensure(&desired("t", "s1"), None).unwrap().runtime;
        // Auth0 answered 429: the tenant is paused for 30 s.
        let budget = first.client.budget();
        let paused = budget.on_429(
            Scope::Tenant,
            &RateLimitHeaders::default(),
            Duration::from_secs(30),
            &budget.sending(false),
        );
        assert!(paused >= Duration::from_secs(1), "{paused:?}");
        first.snapshot.upsert(
            serde_json::from_value(serde_json::json!({
                "custom_domain_id": "cd_1", "domain": "a.example.com", "status": "ready",
                "type": "self_managed_certs",
            }))
            .unwrap(),
        );
        let mut edited = desired("t", "s1");
        edited.config.rate_limit = RateLimit::per(10, Duration::from_secs(1));
        edited.resync_interval = Duration::from_secs(60);
        edited.allowed_namespaces.from = NamespacesFrom::Selector;
        let same = tenants.ensure(&desired("t", "s1"), None).unwrap();
        assert!(!same.changed, "nothing new for the CustomDomain side");
        let second = tenants.ensure(&edited, None).unwrap();
        assert!(second.changed, "fence and resync edits re-plan the domains");
        let second = second.runtime;
        assert!(
            Arc::ptr_eq(&first, &second),
            "a rate or resync edit keeps the runtime"
        );
        assert_eq!(second.client.budget().tenant_limit().burst, 10);
        assert!(
            !second.client.budget().tenant_paused_for().is_zero(),
            "the 429 pause survives the edit"
        );
        assert_eq!(second.resync_interval(), Duration::from_secs(60));
        assert_eq!(second.allowed_namespaces().from, NamespacesFrom::Selector);
        // A rotated secret builds a new client (no pause) but keeps the domain list.
        let rotated = tenants.ensure(&desired("t", "s2"), None).unwrap().runtime;
        assert!(!Arc::ptr_eq(&first, &rotated));
        assert!(rotated.client.budget().tenant_paused_for().is_zero());
        assert_eq!(rotated.snapshot.len(), 1, "same endpoint: the list is kept");
        // Another endpoint starts from an empty list.
        let mut moved = desired("t", "s2");
        moved.config.management_api_url = Some("https://127.0.0.1:8443".into());
        let moved = tenants.ensure(&moved, None).unwrap().runtime;
        assert_eq!(moved.snapshot.len(), 0);
        assert!(Arc::ptr_eq(&tenants.get("t").unwrap(), &moved));
    }

    #[test]
    fn a_tenant_holds_at_most_its_share_of_slots() {
        let tenants = Tenants::new(8);
        let (a, b) = (runtime(), runtime());
        // 8 slots: one tenant may hold 6, another still gets in.
        let held: Vec<Slot> = (0..6).map(|_| tenants.enter(&a).unwrap()).collect();
        let wait = tenants.enter(&a).unwrap_err();
        assert!(
            wait >= Duration::from_millis(500) && wait < Duration::from_secs(2),
            "{wait:?}"
        );
        assert!(tenants.enter(&b).is_ok());
        drop(held);
        assert!(tenants.enter(&a).is_ok());
        // One slot in all: still one per tenant, never zero.
        let one = Tenants::new(1);
        let s = one.enter(&a).unwrap();
        assert!(one.enter(&a).is_err());
        drop(s);
        assert!(one.enter(&a).is_ok());
    }

    #[test]
    fn deleted_tenants_are_forgotten() {
        let tenants = Tenants::new(4);
        let mut a = runtime();
        Arc::get_mut(&mut a).unwrap().name = "a".into();
        tenants.insert(a);
        tenants.set_broken("b", "missing Secret".into());
        let mut c = runtime();
        Arc::get_mut(&mut c).unwrap().name = "c".into();
        tenants.insert(c);
        let gone = tenants.retain_existing(|n| n == "c");
        assert_eq!(gone, ["a", "b"]);
        assert!(tenants.get("a").is_none() && tenants.broken_reason("b").is_none());
        assert!(tenants.get("c").is_some());
    }

    #[test]
    fn one_tenant_holds_at_most_a_dozen_slots_however_many_the_operator_has() {
        let tenants = Tenants::new(64);
        let a = runtime();
        let held: Vec<_> = (0..TENANT_SLOTS).map(|_| tenants.enter(&a).unwrap()).collect();
        assert!(tenants.enter(&a).is_err(), "a 13th slot for one tenant");
        let b = runtime();
        assert!(tenants.enter(&b).is_ok(), "the other tenants keep theirs");
        drop(held);
    }

    #[test]
    fn creates_and_verifies_each_get_a_third_of_the_slots() {
        // 16 slots: 12 per tenant, 4 of them may wait on creates and 4 on verifies.
        let tenants = Tenants::new(16);
        let a = runtime();
        let creates: Vec<_> = (0..4)
            .map(|_| tenants.call_permit(&a, WaitingCall::Create).unwrap())
            .collect();
        assert!(tenants.call_permit(&a, WaitingCall::Create).is_none());
        let verify = tenants.call_permit(&a, WaitingCall::Verify);
        assert!(verify.is_some(), "verifies have places of their own");
        drop(creates);
        assert!(tenants.call_permit(&a, WaitingCall::Create).is_some());
        // Never fewer than two.
        let small = Tenants::new(2);
        let b = runtime();
        let held: Vec<_> = (0..2)
            .map(|_| small.call_permit(&b, WaitingCall::Verify).unwrap())
            .collect();
        assert!(small.call_permit(&b, WaitingCall::Verify).is_none());
        drop(held);
    }
}
