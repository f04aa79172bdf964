//! `auth0-domain-operator run`: wires the two controllers, the DNS gate and the HTTP endpoints.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, Client, ResourceExt,
    core::{ApiResource, DynamicObject, PartialObjectMeta},
    runtime::{
        Controller, PredicateConfig, WatchStreamExt,
        controller::Config as ControllerConfig,
        events::Reporter,
        reflector::{self, ObjectRef},
        watcher,
    },
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth0::RateLimit;
use crate::cli::RunArgs;
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
    runtime::Tenants,
};
use crate::watch::{self as decode, Report};

/// Runs the operator until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("connecting to Kubernetes (KUBECONFIG or in-cluster config)")?;
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::new(&["tenants", "custom_domains"]);
    let shutdown = CancellationToken::new();

    let (listener, addr) = http::bind(args.metrics_addr).await?;
    info!(%addr, "health and metrics endpoints bound");
    let server = tokio::spawn(http::serve(
        listener,
        metrics.clone(),
        readiness.clone(),
        shutdown.clone().cancelled_owned(),
    ));

    // With --leader-election only the Lease holder goes on to build the controllers; a standby
    // waits here (ready once the Lease is decided) until the leader is gone.
    let mut leadership = match args.leader_election {
        true => {
            let namespace = leader::lease_namespace(args.lease_namespace.as_deref());
            let elector = leader::LeaderElector::new(
                client.clone(),
                &namespace,
                &args.lease_name,
                leader::default_identity(),
                leader::ElectionConfig::default(),
            )?;
            let components = ["tenants", "custom_domains"];
            match Leadership::acquire(elector, &readiness, &components, wait_for_signal()).await {
                Some(l) => Some(l),
                None => {
                    shutdown.cancel();
                    info!("stopped before becoming leader");
                    return Ok(());
                }
            }
        }
        false => None,
    };

    let cluster_id = match &args.cluster_id {
        Some(id) => id.clone(),
        None => kube_system_uid(&client).await?,
    };
    info!(%cluster_id, "ownership marker prefix");

    let nameservers = parse_nameservers(&args.dns_nameservers.join(","))?;
    let dns = DnsChecker::new(&DnsConfig {
        nameservers,
        ..DnsConfig::default()
    })?
    .with_metrics(metrics.clone());

    let tenants = Arc::new(Tenants::new(usize::from(args.concurrency)));
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );

    // Namespaces, for `allowedNamespaces` selectors.
    let (ns_store, ns_writer) = reflector::store::<Namespace>();
    let ns_stream = reflector::reflector(
        ns_writer,
        watcher(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default().any_semantic(),
        ),
    )
    .default_backoff()
    .touched_objects()
    .for_each(|_| futures::future::ready(()));

    // A tenant turning ready (or not) re-plans every CustomDomain at once.
    let (kick_tx, kick_rx) = tokio::sync::mpsc::channel::<()>(16);

    // Where the operator lives, and so where credentials Secrets may be by default.
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

    // Both kinds are watched as DynamicObjects and decoded one by one: an object that does not
    // decode is skipped and reported instead of failing every LIST (src/watch).
    let report = |kind: &'static str, resource: ApiResource| Report {
        kind,
        resource,
        metrics: metrics.clone(),
        recorder: recorder.clone(),
    };
    let tenant_resource = ApiResource::erase::<Auth0Tenant>(&());
    let (tenant_store, tenant_writer) = reflector::store::<Auth0Tenant>();
    let tenant_changes = decode::decoded::<Auth0Tenant>(
        Api::all_with(client.clone(), &tenant_resource),
        watcher::Config::default().any_semantic(),
        report("Auth0Tenant", tenant_resource.clone()),
    )
    .default_backoff()
    .reflect(tenant_writer)
    .applied_objects();
    let tenant_controller = Controller::for_stream(tenant_changes, tenant_store.clone());

    let cd_resource = ApiResource::erase::<CustomDomain>(&());
    let cd_api: Api<DynamicObject> = match &args.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &cd_resource),
        None => Api::all_with(client.clone(), &cd_resource),
    };
    // The main stream drops the echoes of our own status writes (see `custom_domain::trigger`).
    let (cd_store, cd_writer) = reflector::store::<CustomDomain>();
    let cd_changes = decode::decoded::<CustomDomain>(
        cd_api,
        watcher::Config::default().any_semantic(),
        report("CustomDomain", cd_resource.clone()),
    )
    .default_backoff()
    // managedFields are a third of a CustomDomain and nothing here reads them; at 1,000
    // domains the store is the operator's largest allocation.
    .modify(|cd| cd.managed_fields_mut().clear())
    .reflect(cd_writer)
    .applied_objects()
    .predicate_filter(trigger::relevant_change, PredicateConfig::default());
    let cd_controller = Controller::for_stream(cd_changes, cd_store.clone());

    let tenant_ctx = Arc::new(tenant::Context {
        client: client.clone(),
        tenants: tenants.clone(),
        metrics: metrics.clone(),
        allow_insecure: args.allow_insecure_auth0,
        verify_limit: RateLimit::per(args.verify_limit.0, args.verify_limit.1),
        kick: kick_tx,
        recorder: recorder.clone(),
        policy,
        home_namespace: home_namespace.clone(),
        namespace_scoped: args.namespace.is_some(),
        domains: cd_store.clone(),
    });

    // A create or delete re-runs its tenant's reconcile (debounced) so DOMAINS follows at once.
    let (tenant_changed_tx, tenant_changed_rx) = tokio::sync::mpsc::channel::<String>(64);
    let mut cd_ctx = cd::Context::new(
        client.clone(),
        tenants.clone(),
        tenant_store.clone(),
        ns_store.clone(),
        dns,
        metrics.clone(),
        recorder,
        PlanOptions {
            dns_preflight: args.dns_preflight,
            dns_recheck_max: args.dns_recheck_max,
        },
        cluster_id,
    );
    cd_ctx.tenant_changed = Some(tenant_changed_tx);
    // The key escrow lives in the operator's own namespace (deploy/base grants Secrets there).
    cd_ctx.escrow_namespace = std::env::var("POD_NAMESPACE")
        .ok()
        .or_else(|| args.namespace.clone());
    let cd_ctx = Arc::new(cd_ctx);

    // Credentials rotation: a change to a Secret some tenant references re-runs the tenant
    // controller at once (metadata only: the Secret's data never passes through this watch). Only
    // the namespaces credentials may live in are watched (a namespaced Role suffices).
    let (creds_tx, creds_rx) = tokio::sync::mpsc::channel::<()>(4);
    let referencing = tenant_store.clone();
    let creds_apis: Vec<Api<PartialObjectMeta<Secret>>> = match &credentials {
        CredentialsScope::Any => vec![Api::all(client.clone())],
        CredentialsScope::Only(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    };
    let creds_watch = futures::stream::select_all(creds_apis.into_iter().map(|api| {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .touched_objects()
            .boxed()
    }))
    .for_each(move |secret| {
        if let Ok(secret) = secret {
            let (ns, name) = (secret.namespace(), secret.name_any());
            let referenced = referencing.state().iter().any(|t| {
                let r = &t.spec.credentials_secret_ref;
                Some(&r.namespace) == ns.as_ref() && r.name == name
            });
            if referenced {
                info!(secret = %format!("{}/{name}", ns.unwrap_or_default()), "credentials Secret changed");
                // Full channel: a re-run is already pending.
                let _ = creds_tx.try_send(());
            }
        }
        futures::future::ready(())
    });

    let tenant_run = tenant_controller
        .reconcile_all_on(tokio_stream::wrappers::ReceiverStream::new(creds_rx))
        .reconcile_on(
            tokio_stream::wrappers::ReceiverStream::new(tenant_changed_rx).map(|name| ObjectRef::new(&name)),
        )
        // A thousand creates in a row collapse into a few recounts.
        .with_config(ControllerConfig::default().debounce(std::time::Duration::from_secs(2)))
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(tenant::reconcile, tenant::error_policy, tenant_ctx)
        .for_each(|r| {
            if let Err(e) = r {
                warn!(error = %e, "tenant controller");
            }
            futures::future::ready(())
        });

    let by_namespace = cd_store.clone();
    // Without --watch-secrets no Secret is listed or watched for CustomDomains (least privilege:
    // get/create/patch by name); a deleted edge Secret is rewritten at the next resync or change.
    let cd_controller = match args.watch_secrets {
        true => {
            let secrets_api: Api<Secret> = match &args.namespace {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            cd_controller.owns(
                secrets_api,
                watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGER}")),
            )
        }
        false => cd_controller,
    };
    let cd_run = cd_controller
        .watches(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default(),
            move |ns| {
                let name = ns.name_any();
                by_namespace
                    .state()
                    .into_iter()
                    .filter(move |cd| cd.namespace().as_deref() == Some(name.as_str()))
                    .map(|cd| ObjectRef::from_obj(&*cd))
                    .collect::<Vec<_>>()
            },
        )
        .reconcile_all_on(tokio_stream::wrappers::ReceiverStream::new(kick_rx))
        .with_config(ControllerConfig::default().concurrency(args.concurrency))
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(cd::reconcile, cd::error_policy, cd_ctx)
        .for_each(|r| {
            if let Err(e) = r {
                warn!(error = %e, "custom domain controller");
            }
            futures::future::ready(())
        });

    // /readyz turns ready once both controllers have their first full list.
    let ready_flags = readiness.clone();
    let (ts, cs) = (tenant_store.clone(), cd_store.clone());
    tokio::spawn(async move {
        // The Controller also waits on its store, and the store's ready signal wakes only one
        // waiter: poll with a short timeout instead of one long wait.
        if poll_ready(&ts).await {
            ready_flags.set("tenants", true);
        }
        if poll_ready(&cs).await {
            ready_flags.set("custom_domains", true);
        }
    });

    // The tenant finalizer only waits for CustomDomains (and operators that do not write a tenant
    // never see it go): drop the runtime and the metrics of deleted tenants here.
    let (sweep_tenants, sweep_store, sweep_metrics) =
        (tenants.clone(), tenant_store.clone(), metrics.clone());
    tokio::spawn(async move {
        if !poll_ready(&sweep_store).await {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            for name in sweep_tenants.retain_existing(|n| sweep_store.get(&ObjectRef::new(n)).is_some()) {
                info!(tenant = %name, "Auth0Tenant deleted; forgetting its client and metrics");
                sweep_metrics.forget_tenant(&name);
            }
        }
    });

    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested; finishing in-flight reconciles");
        signals.cancel();
    });

    tokio::select! {
        _ = async { tokio::join!(tenant_run, cd_run) } => {}
        _ = ns_stream => {}
        _ = creds_watch => {}
        () = lost_leadership(leadership.as_mut()) => {
            // Another replica may be writing already: stop at once (returning drops the
            // controllers mid-reconcile) and exit non-zero so Kubernetes restarts us as a standby.
            anyhow::bail!("lost the leader-election Lease; exiting so this replica restarts as a standby");
        }
    }
    shutdown.cancel();
    if let Some(l) = leadership {
        l.release().await;
    }
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_secs(5), server).await {
        warn!(error = %e, "metrics server");
    }
    info!("stopped");
    Ok(())
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
