//! [`Clients`]: one [`TenantClient`] per `Auth0Tenant`, kept across reconciles so the token,
//! buckets and pauses survive; rebuilt only when the tenant's identity (URL, credentials, TLS
//! trust) changes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::client::{TenantClient, TenantConfig};
use super::error::Error;
use crate::telemetry::metrics::Metrics;

struct Entry {
    config: TenantConfig,
    client: TenantClient,
}

/// The per-tenant clients of the operator. Cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct Clients {
    metrics: Option<Arc<Metrics>>,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("Clients")
            .field("tenants", &names)
            .finish_non_exhaustive()
    }
}

/// True when a client built for `a` can serve `b` (only budgets or retries differ).
fn same_identity(a: &TenantConfig, b: &TenantConfig) -> bool {
    a.domain == b.domain
        && a.management_api_url == b.management_api_url
        && a.audience == b.audience
        && a.client_id == b.client_id
        && a.client_secret == b.client_secret
        && a.allow_insecure == b.allow_insecure
        && a.extra_root_ca_pem == b.extra_root_ca_pem
        && a.request_timeout == b.request_timeout
        && a.retry == b.retry
        && a.max_pause == b.max_pause
}

impl Clients {
    /// An empty registry; clients it builds report to `metrics`.
    pub fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Self {
            metrics,
            entries: Arc::default(),
        }
    }

    /// The client for `config.name`: the existing one when its identity is unchanged (its rate
    /// limits are updated in place), else a new one (new token, fresh buckets).
    pub fn ensure(&self, config: TenantConfig) -> Result<TenantClient, Error> {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&config.name)
            && same_identity(&entry.config, &config)
        {
            if entry.config.rate_limit != config.rate_limit
                || entry.config.verify_limit != config.verify_limit
            {
                entry
                    .client
                    .set_rate_limits(config.rate_limit, config.verify_limit);
                entry.config.rate_limit = config.rate_limit;
                entry.config.verify_limit = config.verify_limit;
            }
            return Ok(entry.client.clone());
        }
        let client = TenantClient::new(config.clone(), self.metrics.clone())?;
        entries.insert(
            config.name.clone(),
            Entry {
                config,
                client: client.clone(),
            },
        );
        Ok(client)
    }

    /// The client of a tenant, if one was built.
    pub fn get(&self, tenant: &str) -> Option<TenantClient> {
        self.lock().get(tenant).map(|e| e.client.clone())
    }

    /// Forgets a tenant (its `Auth0Tenant` was deleted).
    pub fn remove(&self, tenant: &str) -> Option<TenantClient> {
        self.lock().remove(tenant).map(|e| e.client)
    }

    /// Names of the tenants with a client.
    pub fn tenants(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().keys().cloned().collect();
        names.sort();
        names
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Poisoning only means a panic elsewhere mid-insert; the map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::auth0::{RateLimit, Redacted};

    fn cfg(secret: &str) -> TenantConfig {
        TenantConfig::new(
            "default",
            "acme.eu.auth0.com",
            "id",
            Redacted::new(secret.to_string()),
        )
    }

    #[test]
    fn reuses_until_identity_changes() {
        let clients = Clients::new(None);
        let a = clients.ensure(cfg("s1")).unwrap();
        let mut faster = cfg("s1");
        faster.rate_limit = RateLimit {
            requests_per_second: 10.0,
            burst: 20,
        };
        let b = clients.ensure(faster).unwrap();
        assert!(
            Arc::ptr_eq(&a.inner_for_tests(), &b.inner_for_tests()),
            "same client, new limits"
        );
        assert_eq!(clients.tenants(), vec!["default"]);
        let c = clients.ensure(cfg("s2")).unwrap();
        assert!(
            !Arc::ptr_eq(&a.inner_for_tests(), &c.inner_for_tests()),
            "rotated secret → new client"
        );
        assert!(!format!("{clients:?}").contains("s2"));
        assert!(clients.remove("default").is_some());
        assert!(clients.get("default").is_none());
    }
}
