//! Prometheus metrics (prefix `auth0_domain_operator_`).
//!
//! Labels are bounded: controller names, error categories, tenant names, route templates, HTTP
//! status codes and states. Never object names or error text.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Metric name prefix.
pub const PREFIX: &str = "auth0_domain_operator";

/// `CustomDomain` states the `custom_domains` gauge always reports (zero when absent).
pub const DOMAIN_STATES: [&str; 5] = ["Pending", "PendingVerification", "Ready", "Failed", "Disabled"];

/// Auth0 `certificate.status` values the `certificates` gauge always reports (zero when absent);
/// any other value Auth0 may add is counted under [`CERTIFICATE_OTHER`] (labels stay bounded).
pub const CERTIFICATE_STATUSES: [&str; 4] = [
    "provisioning",
    "provisioned",
    "provisioning_failed",
    "renewing_failed",
];

/// `status` label of certificates whose Auth0 status is none of [`CERTIFICATE_STATUSES`].
pub const CERTIFICATE_OTHER: &str = "other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    controller: String,
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    tenant: String,
    endpoint: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantEndpointLabels {
    tenant: String,
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainStateLabels {
    tenant: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    tenant: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 5 ms … ~80 s
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

fn wait_histogram() -> Histogram {
    // 10 ms … ~160 s: rate-limit pauses are bounded at about a minute
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

/// All operator metrics and the registry that exposes them.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ControllerLabels, Counter>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    reconcile_duration: HistogramFamily<ControllerLabels>,
    auth0_requests: Family<RequestLabels, Counter>,
    auth0_ratelimit_wait: HistogramFamily<TenantLabels>,
    auth0_ratelimited: Family<TenantEndpointLabels, Counter>,
    auth0_rate_share: Family<TenantLabels, Gauge<f64, AtomicU64>>,
    custom_domains: Family<DomainStateLabels, Gauge>,
    tenant_ready: Family<TenantLabels, Gauge>,
    certificates: Family<CertificateLabels, Gauge>,
    dns_lookups: Family<ResultLabels, Counter>,
    undecodable_objects: Family<KindLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers `metric` under `name` and hands it back (the registry keeps a clone that shares
/// its values).
fn registered<M>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let reconciles = registered(
            &mut registry,
            "reconciles",
            "Reconciliations started",
            Family::default(),
        );
        let reconcile_errors = registered(
            &mut registry,
            "reconcile_errors",
            "Reconciliations that failed, by category",
            Family::default(),
        );
        let reconcile_duration = registered(
            &mut registry,
            "reconcile_duration_seconds",
            "Duration of reconciliations",
            Family::new_with_constructor(duration_histogram as fn() -> Histogram),
        );
        let auth0_requests = registered(
            &mut registry,
            "auth0_requests",
            "Auth0 Management API requests by route template and HTTP status (or transport error)",
            Family::default(),
        );
        let auth0_ratelimit_wait = registered(
            &mut registry,
            "auth0_ratelimit_wait_seconds",
            "Time calls waited for the tenant's rate-limit budget",
            Family::new_with_constructor(wait_histogram as fn() -> Histogram),
        );
        let auth0_ratelimited = registered(
            &mut registry,
            "auth0_ratelimited",
            "Auth0 answers with HTTP 429",
            Family::default(),
        );
        let auth0_rate_share = registered(
            &mut registry,
            "auth0_rate_share",
            "Share of the tenant's configured request rate this operator spends: 1 is all of it, \
             lower while Auth0's rate-limit headers show another client spending from the same tenant",
            Family::default(),
        );
        let custom_domains = registered(
            &mut registry,
            "custom_domains",
            "CustomDomain resources by tenant and state",
            Family::default(),
        );
        let tenant_ready = registered(
            &mut registry,
            "tenant_ready",
            "1 when the tenant's credentials work and its Management API answers, else 0",
            Family::default(),
        );
        let certificates = registered(
            &mut registry,
            "certificates",
            "Auth0-managed certificates of the tenant's domains by Auth0 certificate status",
            Family::default(),
        );
        let dns_lookups = registered(
            &mut registry,
            "dns_lookups",
            "DNS gate lookups by result",
            Family::default(),
        );
        let undecodable_objects = registered(
            &mut registry,
            "undecodable_objects",
            "Objects the operator skips because they do not decode into their kind",
            Family::default(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            auth0_requests,
            auth0_ratelimit_wait,
            auth0_ratelimited,
            auth0_rate_share,
            custom_domains,
            tenant_ready,
            certificates,
            dns_lookups,
            undecodable_objects,
        }
    }

    /// Sets how many objects of `kind` are skipped because they do not decode.
    pub fn set_undecodable(&self, kind: &str, n: usize) {
        self.undecodable_objects
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Renders the registry in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// Counts a reconciliation of `controller` and returns a guard that records its duration
    /// when dropped.
    pub fn reconcile_timer(&self, controller: &str) -> ReconcileTimer<'_> {
        let labels = ControllerLabels {
            controller: controller.to_string(),
        };
        self.reconciles.get_or_create(&labels).inc();
        ReconcileTimer {
            metrics: self,
            labels,
            start: Instant::now(),
        }
    }

    /// Counts a failed reconciliation; `category` is a bounded error class (e.g. `auth0_transient`).
    pub fn reconcile_error(&self, controller: &str, category: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                controller: controller.to_string(),
                category: category.to_string(),
            })
            .inc();
    }

    /// Counts an Auth0 request. `endpoint` is a route template (`POST /custom-domains/{id}/verify`),
    /// `status` the HTTP status code or a transport outcome (`timeout`, `connect`, `error`).
    pub fn auth0_request(&self, tenant: &str, endpoint: &str, status: &str) {
        self.auth0_requests
            .get_or_create(&RequestLabels {
                tenant: tenant.to_string(),
                endpoint: endpoint.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    /// Records how long a call waited for the tenant's rate-limit budget.
    pub fn auth0_ratelimit_wait(&self, tenant: &str, seconds: f64) {
        self.auth0_ratelimit_wait
            .get_or_create(&TenantLabels {
                tenant: tenant.to_string(),
            })
            .observe(seconds);
    }

    /// Counts an HTTP 429 from Auth0.
    pub fn auth0_ratelimited(&self, tenant: &str, endpoint: &str) {
        self.auth0_ratelimited
            .get_or_create(&TenantEndpointLabels {
                tenant: tenant.to_string(),
                endpoint: endpoint.to_string(),
            })
            .inc();
    }

    /// Sets the share of `tenant`'s configured rate the operator spends (`Budget::tenant_share`).
    pub fn set_auth0_rate_share(&self, tenant: &str, share: f64) {
        self.auth0_rate_share
            .get_or_create(&TenantLabels {
                tenant: tenant.to_string(),
            })
            .set(share);
    }

    /// Sets the number of `CustomDomain`s of `tenant` per state. States of [`DOMAIN_STATES`] not in
    /// `counts` are set to zero so a state that emptied does not keep its old value.
    pub fn set_custom_domains<'a>(&self, tenant: &str, counts: impl IntoIterator<Item = (&'a str, i64)>) {
        let counts: Vec<(&str, i64)> = counts.into_iter().collect();
        for state in DOMAIN_STATES {
            if !counts.iter().any(|(s, _)| *s == state) {
                self.custom_domains
                    .get_or_create(&DomainStateLabels {
                        tenant: tenant.to_string(),
                        state: state.to_string(),
                    })
                    .set(0);
            }
        }
        for (state, n) in counts {
            self.custom_domains
                .get_or_create(&DomainStateLabels {
                    tenant: tenant.to_string(),
                    state: state.to_string(),
                })
                .set(n);
        }
    }

    /// Sets whether `tenant` is ready (its credentials work and the Management API answers).
    pub fn set_tenant_ready(&self, tenant: &str, ready: bool) {
        self.tenant_ready
            .get_or_create(&TenantLabels {
                tenant: tenant.to_string(),
            })
            .set(i64::from(ready));
    }

    /// Sets the number of the tenant's certificates per Auth0 `certificate.status` (one item per
    /// domain that has a certificate block). Statuses of [`CERTIFICATE_STATUSES`] not seen are set
    /// to zero; unknown ones are counted as [`CERTIFICATE_OTHER`].
    pub fn set_certificates<'a>(&self, tenant: &str, statuses: impl IntoIterator<Item = &'a str>) {
        let mut counts: Vec<(&str, i64)> = CERTIFICATE_STATUSES
            .iter()
            .chain(std::iter::once(&CERTIFICATE_OTHER))
            .map(|s| (*s, 0))
            .collect();
        for status in statuses {
            let label = if CERTIFICATE_STATUSES.contains(&status) {
                status
            } else {
                CERTIFICATE_OTHER
            };
            if let Some(c) = counts.iter_mut().find(|(s, _)| *s == label) {
                c.1 += 1;
            }
        }
        for (status, n) in counts {
            // The catch-all appears only while something is in it.
            if status == CERTIFICATE_OTHER && n == 0 {
                self.certificates.remove(&CertificateLabels {
                    tenant: tenant.to_string(),
                    status: status.to_string(),
                });
                continue;
            }
            self.certificates
                .get_or_create(&CertificateLabels {
                    tenant: tenant.to_string(),
                    status: status.to_string(),
                })
                .set(n);
        }
    }

    /// Drops every per-tenant gauge series of a tenant (`custom_domains`, `tenant_ready`,
    /// `certificates`): the tenant was deleted.
    pub fn forget_tenant(&self, tenant: &str) {
        for state in DOMAIN_STATES {
            self.custom_domains.remove(&DomainStateLabels {
                tenant: tenant.to_string(),
                state: state.to_string(),
            });
        }
        self.tenant_ready.remove(&TenantLabels {
            tenant: tenant.to_string(),
        });
        self.auth0_rate_share.remove(&TenantLabels {
            tenant: tenant.to_string(),
        });
        for status in CERTIFICATE_STATUSES.iter().chain([&CERTIFICATE_OTHER]) {
            self.certificates.remove(&CertificateLabels {
                tenant: tenant.to_string(),
                status: status.to_string(),
            });
        }
    }

    /// Counts a DNS gate lookup; `result` is `visible`, `missing` or `unresolvable`.
    pub fn dns_lookup(&self, result: &str) {
        self.dns_lookups
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
    }
}

/// Records a reconciliation's duration when dropped (also on early return or panic unwinding).
#[must_use = "the duration is recorded when the timer is dropped"]
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    labels: ControllerLabels,
    start: Instant,
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .reconcile_duration
            .get_or_create(&self.labels)
            .observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_are_exposed() {
        let m = Metrics::new();
        {
            let _t = m.reconcile_timer("custom_domain");
        }
        m.reconcile_error("custom_domain", "auth0_transient");
        m.auth0_request("default", "POST /custom-domains/{id}/verify", "200");
        m.auth0_ratelimited("default", "GET /custom-domains");
        m.auth0_ratelimit_wait("default", 0.5);
        m.set_auth0_rate_share("default", 0.5);
        m.set_custom_domains("default", [("Ready", 3)]);
        m.set_tenant_ready("default", true);
        m.set_tenant_ready("broken", false);
        m.set_certificates("default", ["provisioned", "provisioned", "renewing_failed"]);
        m.dns_lookup("missing");
        let text = m.encode().unwrap();
        for needle in [
            "auth0_domain_operator_reconciles_total{controller=\"custom_domain\"} 1",
            "auth0_domain_operator_reconcile_errors_total{controller=\"custom_domain\",category=\"auth0_transient\"} 1",
            "auth0_domain_operator_reconcile_duration_seconds_count{controller=\"custom_domain\"} 1",
            "auth0_domain_operator_auth0_requests_total{tenant=\"default\",endpoint=\"POST /custom-domains/{id}/verify\",status=\"200\"} 1",
            "auth0_domain_operator_auth0_ratelimited_total{tenant=\"default\",endpoint=\"GET /custom-domains\"} 1",
            "auth0_domain_operator_auth0_ratelimit_wait_seconds_count{tenant=\"default\"} 1",
            "auth0_domain_operator_auth0_rate_share{tenant=\"default\"} 0.5",
            "auth0_domain_operator_custom_domains{tenant=\"default\",state=\"Ready\"} 3",
            "auth0_domain_operator_custom_domains{tenant=\"default\",state=\"Failed\"} 0",
            "auth0_domain_operator_dns_lookups_total{result=\"missing\"} 1",
            "auth0_domain_operator_tenant_ready{tenant=\"default\"} 1",
            "auth0_domain_operator_tenant_ready{tenant=\"broken\"} 0",
            "auth0_domain_operator_certificates{tenant=\"default\",status=\"provisioned\"} 2",
            "auth0_domain_operator_certificates{tenant=\"default\",status=\"renewing_failed\"} 1",
            "auth0_domain_operator_certificates{tenant=\"default\",status=\"provisioning_failed\"} 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(!text.contains("status=\"other\""), "{text}");
        m.forget_tenant("default");
        let text = m.encode().unwrap();
        assert!(!text.contains("state=\"Ready\""));
        assert!(!text.contains("tenant_ready{tenant=\"default\"}"), "{text}");
        assert!(!text.contains("rate_share{tenant=\"default\"}"), "{text}");
        assert!(!text.contains("certificates{tenant=\"default\""), "{text}");
        assert!(text.contains("tenant_ready{tenant=\"broken\"} 0"), "{text}");
    }

    #[test]
    fn certificate_counts_are_reset_and_unknown_statuses_bounded() {
        let m = Metrics::new();
        m.set_certificates("t", ["provisioning_failed", "revoked_by_ca", "another_new_one"]);
        let text = m.encode().unwrap();
        assert!(
            text.contains("certificates{tenant=\"t\",status=\"provisioning_failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("certificates{tenant=\"t\",status=\"other\"} 2"),
            "{text}"
        );
        assert!(!text.contains("revoked_by_ca"), "{text}");
        // The failure was fixed: the series drops to zero and the catch-all disappears.
        m.set_certificates("t", ["provisioned"]);
        let text = m.encode().unwrap();
        assert!(
            text.contains("certificates{tenant=\"t\",status=\"provisioning_failed\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("certificates{tenant=\"t\",status=\"provisioned\"} 1"),
            "{text}"
        );
        assert!(!text.contains("status=\"other\""), "{text}");
    }
}
