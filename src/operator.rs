//! `auth0-domain-operator run`: wires the two controllers, the DNS gate and the HTTP endpoints.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::Config as ControllerConfig,
        events::{Recorder, Reporter},
        metadata_watcher,
        reflector::{self, ObjectRef},
        watcher,
    },
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth0::RateLimit;
use crate::cli::RunArgs;
use crate::custom_domain::{MANAGER, plan::PlanOptions, reconcile as cd};
use crate::dns::{DnsChecker, DnsConfig, parse_nameservers};
use crate::resources::{custom_domain::CustomDomain, tenant::Auth0Tenant};
use crate::telemetry::{
    http::{self, Readiness},
    metrics::Metrics,
};
use crate::tenant::{reconcile as tenant, runtime::Tenants};

/// Label selector of the Secrets this operator writes.
const MANAGED_SECRETS: &str = "app.kubernetes.io/managed-by=auth0-domain-operator";

/// Runs the operator until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.leader_election {
        anyhow::bail!(
            "--leader-election is not available in this build yet: run a single replica without it"
        );
    }
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

    let tenants = Arc::new(Tenants::default());
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

    let tenant_ctx = Arc::new(tenant::Context {
        client: client.clone(),
        tenants: tenants.clone(),
        metrics: metrics.clone(),
        allow_insecure: args.allow_insecure_auth0,
        verify_limit: RateLimit::per(args.verify_limit.0, args.verify_limit.1),
        kick: kick_tx,
        recorder: recorder.clone(),
    });
    let tenant_controller = Controller::new(
        Api::<Auth0Tenant>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    );
    let tenant_store = tenant_controller.store();

    let cd_api: Api<CustomDomain> = match &args.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let secrets_api: Api<Secret> = match &args.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let cd_controller = Controller::new(cd_api, watcher::Config::default().any_semantic());
    let cd_store = cd_controller.store();

    let cd_ctx = Arc::new(cd::Context::new(
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
    ));

    // Credentials rotation: a change to a Secret some tenant references re-runs the tenant
    // controller at once (metadata only: the Secret's data never passes through this watch).
    let (creds_tx, creds_rx) = tokio::sync::mpsc::channel::<()>(4);
    let referencing = tenant_store.clone();
    let creds_watch = metadata_watcher(Api::<Secret>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .touched_objects()
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
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(tenant::reconcile, tenant::error_policy, tenant_ctx)
        .for_each(|r| {
            if let Err(e) = r {
                warn!(error = %e, "tenant controller");
            }
            futures::future::ready(())
        });

    let by_namespace = cd_store.clone();
    let cd_run = cd_controller
        .owns(secrets_api, watcher::Config::default().labels(MANAGED_SECRETS))
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
    }
    shutdown.cancel();
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
