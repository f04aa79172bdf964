//! The `Auth0Tenant` controller's executor: observes the tenant (its finalizer, its credentials
//! through the runtime registry, its domain list), asks the pure [`plan`](super::plan) what to do,
//! runs the plan's steps against Auth0 and plans again with their answers, then applies the
//! outcome: the runtime's health, metrics, the status and Events (`docs/design.md#tenant-side`).

use std::{sync::Arc, time::Duration};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{controller::Action, events::Event, reflector::Store},
};
use serde_json::json;
use tracing::{info, instrument, warn};

use super::access::{Refusal, TenantPolicy};
use super::lifecycle::{self, FinalizerStep};
use super::plan::{self, Access, Answers, EventNote, Memory, Step, TenantInput, TenantPlan};
use super::runtime::{TenantRuntime, Tenants};
use crate::auth0::{
    self, RateLimit,
    types::{TenantMtls as Auth0Mtls, TenantSettings},
};
use crate::custom_domain::store::StoredDomain;
use crate::names::MANAGER;
use crate::resources::conditions::Reason;
use crate::resources::tenant::{Auth0Tenant, Auth0TenantStatus};
use crate::telemetry::events::Recorder;
use crate::telemetry::metrics::Metrics;

/// Plan rounds per reconcile: reads, then writes, then the final status.
const MAX_ROUNDS: usize = 4;

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
    /// Told which tenant's health flipped, so its CustomDomains re-plan at once.
    pub kick: tokio::sync::mpsc::UnboundedSender<String>,
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
    pub domains: Store<StoredDomain>,
}

impl Context {
    /// Tells the CustomDomain controller to re-plan the domains of `tenant` (closed channel: the
    /// controller is stopping, nothing to tell).
    fn kick(&self, tenant: &str) {
        let _ = self.kick.send(tenant.to_owned());
    }
}

/// Reconciles one `Auth0Tenant`.
#[instrument(skip_all, fields(tenant = %tenant.name_any()))]
pub async fn reconcile(tenant: Arc<Auth0Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile_timer("tenant");
    let name = tenant.name_any();
    let api: Api<Auth0Tenant> = Api::all(ctx.client.clone());
    let owner = lifecycle::writes_tenant(
        ctx.namespace_scoped,
        &ctx.home_namespace,
        &tenant.spec.credentials_secret_ref.namespace,
    );
    let deleting = tenant.metadata.deletion_timestamp.is_some();
    let has_finalizer = tenant.finalizers().iter().any(|f| f == lifecycle::FINALIZER);
    // Only a complete list of CustomDomains can say none is left (after a restart the store
    // starts empty).
    let listed = matches!(
        futures::FutureExt::now_or_never(ctx.domains.wait_until_ready()),
        Some(Ok(()))
    );
    let remaining = match deleting {
        true => lifecycle::remaining_domains(&name, ctx.domains.state().iter().map(|cd| &**cd)),
        false => Vec::new(),
    };
    let hold = match lifecycle::finalizer_step(
        owner,
        deleting,
        has_finalizer,
        listed.then_some(remaining.as_slice()),
    ) {
        FinalizerStep::None => None,
        FinalizerStep::Hold(message) => Some(message),
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
        FinalizerStep::AwaitDomainList => return Ok(Action::requeue(Duration::from_secs(1))),
    };

    let (access, runtime) = observe_access(&tenant, &ctx).await?;
    let rt = runtime.as_deref();
    let memory = rt.map_or_else(Memory::default, |rt| Memory {
        default_read: rt.last_default_read(),
        settings_read: rt.last_settings_read(),
    });
    let domains = rt
        .filter(|rt| rt.snapshot.is_loaded())
        .map(|rt| rt.snapshot.all());
    let now = Timestamp::now();
    let mut answers = Answers::default();
    let mut round = 0;
    let plan = loop {
        round += 1;
        let plan = plan::plan(&TenantInput {
            tenant: &tenant,
            now,
            hold: hold.as_deref(),
            access: &access,
            domains: domains.as_deref(),
            memory: &memory,
            answers: &answers,
        });
        match rt {
            Some(rt) if !plan.steps.is_empty() && round < MAX_ROUNDS => {
                for step in &plan.steps {
                    run_step(step, rt, &mut answers).await;
                }
            }
            _ => break plan,
        }
    };

    apply_outcome(&ctx, &name, &access, rt, &plan);
    if !owner {
        // Another operator (the one in the credentials' namespace) writes this tenant.
        return Ok(Action::requeue(plan.requeue));
    }
    if plan.events.iter().any(|e| e.reason == Reason::DomainsRemain) {
        warn!(
            remaining = remaining.len(),
            "tenant deletion waits for CustomDomains"
        );
    }
    if tenant.status.as_ref() != Some(&plan.status) {
        write_status(&api, &name, &plan.status).await?;
    }
    for note in plan.events {
        publish(&ctx.recorder, &tenant, note).await;
    }
    Ok(Action::requeue(plan.requeue))
}

/// Vets the spec, reads the credentials Secret, gets the tenant's runtime from the registry and
/// checks the credentials (token, scopes, domain list), stopping at the first refusal.
async fn observe_access(
    tenant: &Auth0Tenant,
    ctx: &Context,
) -> Result<(Access, Option<Arc<TenantRuntime>>), Error> {
    let name = tenant.name_any();
    let spec = &tenant.spec;
    // Before the Secret is read and before any request: where the secret may come from and go.
    let resync = match plan::admit(spec, &ctx.policy, ctx.allow_insecure) {
        Ok(resync) => resync,
        Err(r) => return Ok((Access::Unbuilt(r), None)),
    };
    let r = &spec.credentials_secret_ref;
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), &r.namespace)
        .get_opt(&r.name)
        .await
        .map_err(|source| Error::Kube {
            action: "read the credentials Secret of",
            name: name.clone(),
            source,
        })?;
    let credentials = match plan::credentials(secret.as_ref(), r) {
        Ok(c) => c,
        Err(r) => return Ok((Access::Unbuilt(r), None)),
    };
    let desired = plan::desired(
        &name,
        spec,
        resync,
        credentials,
        ctx.allow_insecure,
        ctx.verify_limit,
    );
    let rt = match ctx.tenants.ensure(&desired, Some(ctx.metrics.clone())) {
        Ok(ensured) => {
            if ensured.changed {
                ctx.kick(&name);
            }
            ensured.runtime
        }
        Err(e) => {
            let refusal = Refusal {
                reason: Reason::InvalidTenant,
                message: e.to_string(),
            };
            return Ok((Access::Unbuilt(refusal), None));
        }
    };
    let checked = async {
        let granted = rt
            .client
            .check_credentials()
            .await
            .map_err(|e| plan::check_failure(&e))?;
        plan::scopes(&granted)?;
        rt.snapshot
            .refresh_if_older(&rt.client, rt.resync_interval())
            .await
            .map_err(|e| plan::check_failure(&e))?;
        Ok(granted)
    }
    .await;
    Ok((Access::Checked(checked), Some(rt)))
}

/// Runs one step against Auth0 and records its answer; failures are logged here and reported
/// by the next plan.
async fn run_step(step: &Step, rt: &TenantRuntime, answers: &mut Answers) {
    let failed = |e: &auth0::Error| {
        warn!(?step, error = %e, "tenant step failed");
        plan::classify(e)
    };
    match step {
        Step::ReadDefault => {
            let read = rt.client.get_default_domain().await.map(|d| {
                let current = d.is_custom().then_some(d.domain);
                rt.remember_default(current.clone());
                current
            });
            answers.default_read = Some(read.map_err(|e| failed(&e)));
        }
        Step::SetDefault(domain) => {
            let set = rt.client.set_default_domain(domain).await.map(|d| {
                info!(default = %d.domain, "default custom domain set");
                let current = d.is_custom().then_some(d.domain);
                rt.remember_default(current.clone());
                // `is_default` moved on two domains: re-list on the next look.
                rt.snapshot.invalidate();
                current
            });
            answers.default_set = Some(set.map_err(|e| failed(&e)));
        }
        Step::ReadSettings => {
            let read = rt.client.get_tenant_settings().await.map(|s| {
                rt.remember_settings_read();
                s.mtls.and_then(|m| m.enable_endpoint_aliases).unwrap_or(false)
            });
            answers.settings_read = Some(read.map_err(|e| failed(&e)));
        }
        Step::PatchSettings(on) => {
            let patch = TenantSettings {
                mtls: Some(Auth0Mtls {
                    enable_endpoint_aliases: Some(*on),
                }),
            };
            let done = rt.client.patch_tenant_settings(&patch).await.map(|_| {
                info!(enable_endpoint_aliases = on, "tenant mtls setting applied");
            });
            answers.settings_patch = Some(done.map_err(|e| failed(&e)));
        }
    }
}

/// Tells the CustomDomain side what changed (health, mTLS aliases) and feeds the metrics.
fn apply_outcome(ctx: &Context, name: &str, access: &Access, rt: Option<&TenantRuntime>, plan: &TenantPlan) {
    let refusal = match access {
        Access::Unbuilt(r) | Access::Checked(Err(r)) => Some(r),
        Access::Checked(Ok(_)) => None,
    };
    if let Some(r) = refusal {
        warn!(reason = r.reason.as_str(), message = %r.message, "tenant not ready");
    }
    match rt {
        // No runtime: the CustomDomain side reads why from the registry.
        None => {
            if let Some(r) = refusal
                && ctx.tenants.broken_reason(name).as_deref() != Some(r.message.as_str())
            {
                ctx.tenants.set_broken(name, r.message.clone());
                ctx.kick(name);
            }
        }
        Some(rt) => {
            if rt.health() != plan.health {
                rt.set_health(plan.health.clone());
                ctx.kick(name);
            }
            if let Some(on) = plan.mtls_aliases
                && rt.mtls_aliases_enabled() != on
            {
                rt.set_mtls_aliases_enabled(on);
                ctx.kick(name);
            }
            if rt.snapshot.is_loaded() {
                let domains = rt.snapshot.all();
                ctx.metrics
                    .set_custom_domains(name, plan::metric_states(&domains));
                let statuses = domains
                    .iter()
                    .filter_map(|d| d.certificate.as_ref()?.status.as_ref())
                    .map(|s| s.as_str());
                ctx.metrics.set_certificates(name, statuses);
            }
        }
    }
    ctx.metrics.set_tenant_ready(name, refusal.is_none());
}

async fn publish(recorder: &Recorder, tenant: &Auth0Tenant, note: EventNote) {
    let event = Event {
        type_: note.type_,
        reason: note.reason.as_str().to_owned(),
        note: Some(note.note),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &tenant.object_ref(&())).await {
        warn!(error = %e, "publishing an Event failed");
    }
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
