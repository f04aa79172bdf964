//! What the operator holds per `Auth0Tenant` while it runs: the Management API client (token cache,
//! rate budget), the shared domain snapshot and the tenant's health, looked up by name.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::auth0::TenantClient;
use crate::resources::tenant::AllowedNamespaces;

use super::snapshot::Snapshot;

/// One tenant's runtime state.
#[derive(Debug)]
pub struct TenantRuntime {
    /// The `Auth0Tenant`'s name.
    pub name: String,
    /// Client of the tenant's Management API.
    pub client: TenantClient,
    /// The shared list of the tenant's domains.
    pub snapshot: Arc<Snapshot>,
    /// `spec.resyncInterval`.
    pub resync_interval: Duration,
    /// `spec.allowedNamespaces`.
    pub allowed_namespaces: AllowedNamespaces,
    /// Whether tenant setting `mtls.enable_endpoint_aliases` is on (as last read).
    mtls_aliases_enabled: AtomicBool,
    /// What identifies the client's configuration; a change rebuilds the client.
    pub fingerprint: u64,
    /// Where the snapshot's domains come from (`domain` + API URL); a change drops the snapshot.
    pub endpoint: String,
    health: RwLock<Health>,
}

/// Whether the tenant can be used, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Credentials work and the API answers.
    Ready,
    /// Not usable; the text is safe to show (never a secret).
    NotReady(String),
}

impl TenantRuntime {
    /// A runtime in state `NotReady("checking credentials")`.
    pub fn new(
        name: String,
        client: TenantClient,
        snapshot: Arc<Snapshot>,
        resync_interval: Duration,
        allowed_namespaces: AllowedNamespaces,
        fingerprint: u64,
        endpoint: String,
    ) -> Self {
        Self {
            name,
            client,
            snapshot,
            resync_interval,
            allowed_namespaces,
            mtls_aliases_enabled: AtomicBool::new(false),
            fingerprint,
            endpoint,
            health: RwLock::new(Health::NotReady("checking the tenant's credentials".to_owned())),
        }
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

/// All tenants by name; shared by both controllers.
#[derive(Default, Debug)]
pub struct Tenants {
    by_name: RwLock<HashMap<String, Arc<TenantRuntime>>>,
    /// Tenants whose `Auth0Tenant` exists but whose runtime could not be built, with the reason.
    broken: RwLock<HashMap<String, String>>,
}

impl Tenants {
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

    /// Names of all tenants with a runtime.
    pub fn names(&self) -> Vec<String> {
        read(&self.by_name).keys().cloned().collect()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
