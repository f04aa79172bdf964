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
    Api, ResourceExt,
    api::{Patch, PatchParams},
    runtime::controller::Action,
};
use serde_json::json;
use tracing::{info, instrument, warn};

use super::runtime::{Health, TenantRuntime, Tenants};
use super::snapshot::Snapshot;
use crate::auth0::{self, RateLimit, Redacted, TenantClient, TenantConfig, types::DomainStatus};
use crate::custom_domain::MANAGER;
use crate::resources::conditions::{ConditionType, Reason, condition, set_condition};
use crate::resources::tenant::{Auth0Tenant, Auth0TenantSpec, Auth0TenantStatus, DomainCounts};
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
    let (outcome, counts, runtime) = match build_runtime(&tenant, &ctx).await? {
        Err(nr) => {
            if ctx.tenants.broken_reason(&name).as_deref() != Some(nr.message.as_str()) {
                ctx.tenants.set_broken(&name, nr.message.clone());
                let _ = ctx.kick.try_send(());
            }
            (Err(nr), None, None)
        }
        Ok(rt) => {
            let checked = check(&rt).await;
            let health = match &checked {
                Ok(()) => Health::Ready,
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
    if let Some(c) = &counts {
        ctx.metrics.set_custom_domains(
            &name,
            [
                ("ready", i64::from(c.ready)),
                ("pending", i64::from(c.pending)),
                ("failed", i64::from(c.failed)),
            ],
        );
    }
    let mut status = tenant.status.clone().unwrap_or_default();
    let generation = tenant.metadata.generation;
    let now = Timestamp::now();
    let requeue = match &outcome {
        Ok(()) => {
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
            resync
        }
        Err(nr) => {
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
            NOT_READY_RECHECK
        }
    };
    if counts.is_some() {
        status.custom_domains = counts;
    }
    status.observed_generation = generation;
    if tenant.status.as_ref() != Some(&status) {
        write_status(&api, &name, &status).await?;
    }
    drop(runtime);
    Ok(Action::requeue(requeue))
}

/// Counts the tenant's domains by state.
fn count(snapshot: &Snapshot) -> DomainCounts {
    let mut c = DomainCounts::default();
    for d in snapshot.all() {
        c.total += 1;
        match d.status {
            DomainStatus::Ready => c.ready += 1,
            DomainStatus::Failed | DomainStatus::Disabled => c.failed += 1,
            _ => c.pending += 1,
        }
    }
    c
}

/// Credentials, scopes and the domain list, in that order.
async fn check(rt: &TenantRuntime) -> Result<(), NotReady> {
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
    Ok(())
}

fn classify(e: &auth0::Error) -> NotReady {
    let reason = if e.is_auth() {
        Reason::CredentialsRejected
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
    let value = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
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
