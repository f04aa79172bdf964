//! `auth0-domain-operator run`: wires the two controllers, the DNS gate and the HTTP endpoints.
//!
//! [`run`] reads as the list of its wiring steps: connect, serve `/metrics` and the probes, take
//! the lead, build what both controllers share, watch the stores, start the two controllers and
//! the background tasks, then wait for a signal or a lost Lease (`docs/architecture.md`).

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, Client, ResourceExt,
    core::{ApiResource, DynamicObject, PartialObjectMeta},
    runtime::{
        Controller, PredicateConfig, WatchStreamExt,
        controller::Config as ControllerConfig,
        events::Reporter,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth0::RateLimit;
use crate::cli::RunArgs;
use crate::custom_domain::store::StoredDomain;
use crate::custom_domain::{LABEL_MANAGED_BY, plan::PlanOptions, reconcile as cd, trigger};
use crate::dns::{DnsChecker, DnsConfig, parse_nameservers};
use crate::leader::{self, Leadership};
use crate::names::MANAGER;
use crate::resources::{custom_domain::CustomDomain, tenant::Auth0Tenant};
use crate::telemetry::{
    events::Recorder,
    http::{self, Readiness},
    metrics::Metrics,
};
use crate::tenant::{
    access::{CredentialsScope, TenantPolicy},
    reconcile as tenant,
    recount::Recounts,
    runtime::Tenants,
};
use crate::watch::{self as decode, Report};

/// The readiness components the controllers turn on once their stores are listed.
const COMPONENTS: [&str; 2] = ["tenants", "custom_domains"];

/// Runs the operator until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("connecting to Kubernetes (KUBECONFIG or in-cluster config)")?;
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::new(&COMPONENTS);
    let shutdown = CancellationToken::new();
    let server = serve_http(&args, &metrics, &readiness, &shutdown).await?;

    let mut leadership = match take_the_lead(&args, &client, &readiness).await? {
        Lead::Stopped => {
            shutdown.cancel();
            info!("stopped before becoming leader");
            return Ok(());
        }
        Lead::Alone => None,
        Lead::Leader(l) => Some(l),
    };

    let shared = Shared::build(&args, &client, &metrics).await?;
    let (ns_store, ns_changes) = watch_namespaces(&client);
    let tenant_watch = watch_tenants(&client, &shared);
    let cd_watch = watch_custom_domains(&args, &client, &shared);
    // A tenant turning ready (or not) re-plans its CustomDomains at once. Unbounded: a tenant
    // reconcile sends at most a few names, and a dropped name would leave its domains unplanned.
    let (kick_tx, kick_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // A create or delete re-runs its tenant's reconcile (gathered for a moment) so DOMAINS follows.
    let recounts = Recounts::new();
    let (creds_tx, creds_rx) = tokio::sync::mpsc::channel::<()>(4);

    let creds_watch = watch_credentials(&client, &shared.credentials, tenant_watch.store.clone(), creds_tx);
    let tenant_ctx = Arc::new(tenant::Context {
        client: client.clone(),
        tenants: shared.tenants.clone(),
        metrics: metrics.clone(),
        allow_insecure: args.allow_insecure_auth0,
        verify_limit: RateLimit::per(args.verify_limit.0, args.verify_limit.1),
        kick: kick_tx,
        recorder: shared.recorder.clone(),
        policy: shared.policy.clone(),
        home_namespace: shared.home_namespace.clone(),
        namespace_scoped: args.namespace.is_some(),
        domains: cd_watch.store.clone(),
    });
    let mut cd_ctx = cd::Context::new(
        client.clone(),
        shared.tenants.clone(),
        tenant_watch.store.clone(),
        ns_store,
        shared.dns.clone(),
        metrics.clone(),
        shared.recorder.clone(),
        PlanOptions {
            dns_preflight: args.dns_preflight,
            dns_recheck_max: args.dns_recheck_max,
        },
        shared.cluster_id.clone(),
    );
    cd_ctx.tenant_changed = Some(recounts.clone());
    // The key escrow lives in the operator's own namespace (deploy/base grants Secrets there).
    cd_ctx.escrow_namespace = std::env::var("POD_NAMESPACE")
        .ok()
        .or_else(|| args.namespace.clone());
    let cd_ctx = Arc::new(cd_ctx);
    let hand_over_ctx = cd_ctx.clone();

    let stores = (tenant_watch.store.clone(), cd_watch.store.clone());
    let tenant_run = run_tenant_controller(
        tenant_watch,
        tenant_ctx,
        ReceiverStream::new(creds_rx),
        recounts.stream(RECOUNT_WINDOW),
        &shutdown,
    );
    let cd_run = run_custom_domain_controller(
        &args,
        &client,
        cd_watch,
        cd_ctx,
        ns_changes,
        UnboundedReceiverStream::new(kick_rx),
        &shutdown,
    );
    spawn_readiness(&readiness, stores.0.clone(), stores.1);
    spawn_tenant_sweep(shared.tenants.clone(), stores.0, metrics.clone());
    spawn_signal_handler(&shutdown);

    tokio::select! {
        _ = async { tokio::join!(tenant_run, cd_run) } => {}
        _ = creds_watch => {}
        () = lost_leadership(leadership.as_mut()) => {
            // Another replica may be writing already: stop reconciling at once (leaving the select
            // drops the controllers mid-reconcile), hand over the keys still held in memory, and
            // exit non-zero so Kubernetes restarts us as a standby.
            cd::hand_over_keys(&hand_over_ctx, KEY_HAND_OVER_WITHIN).await;
            anyhow::bail!("lost the leader-election Lease; exiting so this replica restarts as a standby");
        }
    }
    shutdown.cancel();
    cd::hand_over_keys(&hand_over_ctx, KEY_HAND_OVER_WITHIN).await;
    if let Some(l) = leadership {
        l.release().await;
    }
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_secs(5), server).await {
        warn!(error = %e, "metrics server");
    }
    info!("stopped");
    Ok(())
}

/// How long domain creates and deletes are gathered before their tenants recount (a thousand
/// applied in a row become one recount, not a thousand).
const RECOUNT_WINDOW: Duration = Duration::from_secs(2);

/// How long a stopping replica keeps trying to put the one-time keys it holds in memory into their
/// Secrets or the escrow (stays below the default 30 s termination grace period).
const KEY_HAND_OVER_WITHIN: Duration = Duration::from_secs(25);

/// Binds `/metrics`, `/healthz` and `/readyz` and serves them until shutdown.
async fn serve_http(
    args: &RunArgs,
    metrics: &Arc<Metrics>,
    readiness: &Readiness,
    shutdown: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<Result<(), http::HttpError>>> {
    let (listener, addr) = http::bind(args.metrics_addr).await?;
    info!(%addr, "health and metrics endpoints bound");
    Ok(tokio::spawn(http::serve(
        listener,
        metrics.clone(),
        readiness.clone(),
        shutdown.clone().cancelled_owned(),
    )))
}

/// Whether this replica goes on to build the controllers.
enum Lead {
    /// Without `--leader-election`: the only replica.
    Alone,
    /// Holds the Lease.
    Leader(Leadership),
    /// Stopped (a signal) while waiting as a standby.
    Stopped,
}

/// Leader election, all in one place: with `--leader-election` only the Lease holder goes on to
/// build the controllers; a standby waits here (ready once the Lease is decided) until the leader
/// is gone or a signal stops it.
async fn take_the_lead(args: &RunArgs, client: &Client, readiness: &Readiness) -> anyhow::Result<Lead> {
    if !args.leader_election {
        return Ok(Lead::Alone);
    }
    let namespace = leader::lease_namespace(args.lease_namespace.as_deref());
    let elector = leader::LeaderElector::new(
        client.clone(),
        &namespace,
        &args.lease_name,
        leader::default_identity(),
        leader::ElectionConfig::default(),
    )?;
    Ok(
        match Leadership::acquire(elector, readiness, &COMPONENTS, wait_for_signal()).await {
            Some(l) => Lead::Leader(l),
            None => Lead::Stopped,
        },
    )
}

/// What both controllers share, built from the flags.
struct Shared {
    /// Prefix of the ownership marker.
    cluster_id: String,
    /// The DNS gate.
    dns: DnsChecker,
    /// Tenant runtimes.
    tenants: Arc<Tenants>,
    /// Event publisher.
    recorder: Recorder,
    /// Where the operator lives, and so where credentials Secrets may be by default.
    home_namespace: String,
    /// Namespaces credentials Secrets may live in.
    credentials: CredentialsScope,
    /// What an Auth0Tenant may point at.
    policy: TenantPolicy,
    /// Reports objects that do not decode.
    metrics: Arc<Metrics>,
}

impl Shared {
    async fn build(args: &RunArgs, client: &Client, metrics: &Arc<Metrics>) -> anyhow::Result<Self> {
        let cluster_id = match &args.cluster_id {
            Some(id) => id.clone(),
            None => kube_system_uid(client).await?,
        };
        info!(%cluster_id, "ownership marker prefix");
        let nameservers = parse_nameservers(&args.dns_nameservers.join(","))?;
        let dns = DnsChecker::new(&DnsConfig {
            nameservers,
            ..DnsConfig::default()
        })?
        .with_metrics(metrics.clone());
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGER.into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        let home_namespace = std::env::var("POD_NAMESPACE")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| args.namespace.clone())
            .unwrap_or_else(|| client.default_namespace().to_owned());
        let credentials = match (
            args.allow_credentials_in_any_namespace,
            args.credentials_namespace.is_empty(),
        ) {
            (true, _) => CredentialsScope::Any,
            (false, true) => CredentialsScope::Only(vec![home_namespace.clone()]),
            (false, false) => CredentialsScope::Only(args.credentials_namespace.clone()),
        };
        let policy = TenantPolicy::new(
            &args.extra_tenant_domain_suffix,
            args.allow_custom_api_url,
            credentials.clone(),
        );
        info!(
            home_namespace = %home_namespace,
            credentials_namespaces = %credentials.describe(),
            extra_tenant_domain_suffixes = ?policy.extra_domain_suffixes,
            allow_custom_api_url = policy.allow_custom_api_url,
            "tenant policy"
        );
        Ok(Self {
            cluster_id,
            dns,
            tenants: Arc::new(Tenants::new(usize::from(args.concurrency))),
            recorder,
            home_namespace,
            credentials,
            policy,
            metrics: metrics.clone(),
        })
    }

    /// Both kinds are watched as DynamicObjects and decoded one by one: an object that does not
    /// decode is skipped and reported instead of failing every LIST (src/watch).
    fn report(&self, kind: &'static str, resource: ApiResource) -> Report {
        Report {
            kind,
            resource,
            metrics: self.metrics.clone(),
            recorder: self.recorder.clone(),
        }
    }
}

/// One watched kind: its store and the stream of changes that drives its controller.
struct Watched<K: kube::Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    changes: futures::stream::BoxStream<'static, Result<K, watcher::Error>>,
}

/// The one Namespace watch: its store feeds `allowedNamespaces` selectors, its changes re-plan the
/// CustomDomains of a relabelled namespace.
fn watch_namespaces(
    client: &Client,
) -> (
    Store<Namespace>,
    impl Stream<Item = Result<Namespace, watcher::Error>> + Send + 'static,
) {
    let (store, writer) = reflector::store::<Namespace>();
    let changes = reflector::reflector(
        writer,
        watcher(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default().any_semantic(),
        ),
    )
    .default_backoff()
    .touched_objects();
    (store, changes)
}

fn watch_tenants(client: &Client, shared: &Shared) -> Watched<Auth0Tenant> {
    let resource = ApiResource::erase::<Auth0Tenant>(&());
    let (store, writer) = reflector::store::<Auth0Tenant>();
    let changes = decode::decoded::<Auth0Tenant>(
        Api::all_with(client.clone(), &resource),
        watcher::Config::default().any_semantic(),
        shared.report("Auth0Tenant", resource.clone()),
    )
    .default_backoff()
    .reflect(writer)
    .applied_objects()
    .boxed();
    Watched { store, changes }
}

fn watch_custom_domains(args: &RunArgs, client: &Client, shared: &Shared) -> Watched<StoredDomain> {
    let resource = ApiResource::erase::<CustomDomain>(&());
    let api: Api<DynamicObject> = match &args.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let (store, writer) = reflector::store::<StoredDomain>();
    // The stream drops the echoes of our own status writes (see `custom_domain::trigger`).
    // Decoded as a whole CustomDomain (a bad object is reported), kept without its status and
    // unread metadata (`custom_domain::store`).
    let changes = decode::decoded::<StoredDomain>(
        api,
        watcher::Config::default().any_semantic(),
        shared.report("CustomDomain", resource.clone()),
    )
    .default_backoff()
    .reflect(writer)
    .applied_objects()
    .predicate_filter(trigger::relevant_change, PredicateConfig::default())
    .boxed();
    Watched { store, changes }
}

/// Credentials rotation: a change to a Secret some tenant references re-runs the tenant
/// controller at once (metadata only: the Secret's data never passes through this watch). Only
/// the namespaces credentials may live in are watched (a namespaced Role suffices).
fn watch_credentials(
    client: &Client,
    scope: &CredentialsScope,
    tenants: Store<Auth0Tenant>,
    changed: tokio::sync::mpsc::Sender<()>,
) -> impl Future<Output = ()> {
    let apis: Vec<Api<PartialObjectMeta<Secret>>> = match scope {
        CredentialsScope::Any => vec![Api::all(client.clone())],
        CredentialsScope::Only(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    };
    futures::stream::select_all(apis.into_iter().map(|api| {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .touched_objects()
            .boxed()
    }))
    .for_each(move |secret| {
        if let Ok(secret) = secret {
            let (ns, name) = (secret.namespace(), secret.name_any());
            let referenced = tenants.state().iter().any(|t| {
                let r = &t.spec.credentials_secret_ref;
                Some(&r.namespace) == ns.as_ref() && r.name == name
            });
            if referenced {
                info!(secret = %format!("{}/{name}", ns.unwrap_or_default()), "credentials Secret changed");
                // Full channel: a re-run is already pending.
                let _ = changed.try_send(());
            }
        }
        futures::future::ready(())
    })
}

/// The `Auth0Tenant` controller: re-run for every tenant when a credentials Secret changes, and
/// for one tenant when its domains were created or deleted.
fn run_tenant_controller(
    watched: Watched<Auth0Tenant>,
    ctx: Arc<tenant::Context>,
    credentials_changed: impl Stream<Item = ()> + Send + Sync + 'static,
    domains_changed: impl Stream<Item = String> + Send + Sync + 'static,
    shutdown: &CancellationToken,
) -> impl Future<Output = ()> {
    Controller::for_stream(watched.changes, watched.store)
        .reconcile_all_on(credentials_changed)
        .reconcile_on(domains_changed.map(|name| ObjectRef::new(&name)))
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(tenant::reconcile, tenant::error_policy, ctx)
        .for_each(log_failures("tenant controller"))
}

/// The `CustomDomain` controller: woken by its own changes, by its edge Secrets (with
/// `--watch-secrets`), by namespace label changes and by its tenant's health flips.
fn run_custom_domain_controller(
    args: &RunArgs,
    client: &Client,
    watched: Watched<StoredDomain>,
    ctx: Arc<cd::Context>,
    namespace_changes: impl Stream<Item = Result<Namespace, watcher::Error>> + Send + 'static,
    tenant_health_flips: impl Stream<Item = String> + Send + 'static,
    shutdown: &CancellationToken,
) -> impl Future<Output = ()> {
    let by_namespace = watched.store.clone();
    let by_tenant = watched.store.clone();
    // Only the flipped tenant's domains: another team's tenant failing (or a new tenant in
    // another namespace) must not re-plan every domain, nor push their resync back.
    let flipped_domains = tenant_health_flips
        .flat_map(move |tenant| futures::stream::iter(trigger::of_tenant(&by_tenant.state(), &tenant)));
    let controller = Controller::for_stream(watched.changes, watched.store);
    // Without --watch-secrets no Secret is listed or watched for CustomDomains (least privilege:
    // get/create/patch by name); a deleted edge Secret is rewritten at the next resync or change.
    let controller = match args.watch_secrets {
        true => {
            let secrets: Api<Secret> = match &args.namespace {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let managed = format!("{LABEL_MANAGED_BY}={MANAGER}");
            controller.owns(secrets, watcher::Config::default().labels(&managed))
        }
        false => controller,
    };
    controller
        .watches_stream(namespace_changes, move |ns| {
            let name = ns.name_any();
            by_namespace
                .state()
                .into_iter()
                .filter(move |cd| cd.namespace().as_deref() == Some(name.as_str()))
                .map(|cd| ObjectRef::from_obj(&*cd))
                .collect::<Vec<_>>()
        })
        .reconcile_on(flipped_domains)
        .reconcile_on(ctx.resyncs.clone().due())
        .with_config(ControllerConfig::default().concurrency(args.concurrency))
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(cd::reconcile, cd::error_policy, ctx)
        .for_each(log_failures("custom domain controller"))
}

/// Consumes a controller's results, logging each failure (the controller retries by itself).
fn log_failures<T, E: std::fmt::Display>(
    controller: &'static str,
) -> impl FnMut(Result<T, E>) -> futures::future::Ready<()> {
    move |result| {
        if let Err(e) = result {
            warn!(error = %e, "{controller}");
        }
        futures::future::ready(())
    }
}

/// `/readyz` turns ready once both controllers have their first full list.
fn spawn_readiness(readiness: &Readiness, tenants: Store<Auth0Tenant>, domains: Store<StoredDomain>) {
    let flags = readiness.clone();
    tokio::spawn(async move {
        // The Controller also waits on its store, and the store's ready signal wakes only one
        // waiter: poll with a short timeout instead of one long wait.
        if poll_ready(&tenants).await {
            flags.set(COMPONENTS[0], true);
        }
        if poll_ready(&domains).await {
            flags.set(COMPONENTS[1], true);
        }
    });
}

/// The tenant finalizer only waits for CustomDomains (and operators that do not write a tenant
/// never see it go): drops the runtime and the metrics of deleted tenants.
fn spawn_tenant_sweep(tenants: Arc<Tenants>, store: Store<Auth0Tenant>, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        if !poll_ready(&store).await {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            for name in tenants.retain_existing(|n| store.get(&ObjectRef::new(n)).is_some()) {
                info!(tenant = %name, "Auth0Tenant deleted; forgetting its client and metrics");
                metrics.forget_tenant(&name);
            }
        }
    });
}

/// SIGTERM/SIGINT start a graceful shutdown: in-flight reconciles finish.
fn spawn_signal_handler(shutdown: &CancellationToken) {
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested; finishing in-flight reconciles");
        signals.cancel();
    });
}

/// Waits for a store's first full list; false when its writer is gone.
async fn poll_ready<K>(store: &reflector::Store<K>) -> bool
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(Duration::from_millis(250), store.wait_until_ready()).await {
            Ok(Ok(())) => return true,
            Ok(Err(_)) => return false,
            Err(_) => {}
        }
    }
}

/// Resolves when this replica stops leading; never without leader election.
async fn lost_leadership(leadership: Option<&mut Leadership>) {
    match leadership {
        Some(l) => l.lost().await,
        None => std::future::pending().await,
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The `kube-system` namespace's UID: stable for the cluster's life, so a good cluster id.
async fn kube_system_uid(client: &Client) -> anyhow::Result<String> {
    let ns = Api::<Namespace>::all(client.clone())
        .get("kube-system")
        .await
        .context("reading namespace kube-system for the cluster id (or pass --cluster-id)")?;
    ns.metadata
        .uid
        .context("namespace kube-system has no uid; pass --cluster-id")
}
