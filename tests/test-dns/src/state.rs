//! State shared by the DNS listeners, the control API and the handle.

use std::sync::{
    RwLock, RwLockReadGuard, RwLockWriteGuard,
    atomic::{AtomicU32, Ordering},
};

use crate::{
    error::Error,
    faults::Faults,
    records::{RecordData, RecordKind, Source, Store, normalize_name},
    stats::{Stats, StatsSnapshot},
};

/// Records, faults, counters and TTL; owned jointly through an `Arc`.
#[derive(Debug)]
pub(crate) struct Shared {
    store: RwLock<Store>,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    ttl_secs: AtomicU32,
}

impl Shared {
    pub(crate) fn new(ttl_secs: u32) -> Self {
        Shared {
            store: RwLock::new(Store::default()),
            faults: Faults::default(),
            stats: Stats::default(),
            ttl_secs: AtomicU32::new(ttl_secs),
        }
    }

    pub(crate) fn ttl_secs(&self) -> u32 {
        self.ttl_secs.load(Ordering::Relaxed)
    }

    pub(crate) fn set_ttl_secs(&self, secs: u32) {
        self.ttl_secs.store(secs, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        // Store operations do not panic half-way, so a poisoned lock still holds a whole store.
        self.store.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds one record from the API side (survives zone-file reloads).
    pub(crate) fn add(&self, name: &str, data: RecordData) -> Result<(), Error> {
        let key = normalize_name(name)?;
        self.write().add(key, data, Source::Api);
        Ok(())
    }

    /// Removes the records of `kind` (or all) at `name`; returns how many went.
    pub(crate) fn remove(&self, name: &str, kind: Option<RecordKind>) -> usize {
        match normalize_name(name) {
            Ok(key) => self.write().remove(&key, kind),
            Err(_) => 0,
        }
    }

    /// Removes one exact record; returns whether it existed.
    pub(crate) fn remove_data(&self, name: &str, data: &RecordData) -> bool {
        match normalize_name(name) {
            Ok(key) => self.write().remove_data(&key, data),
            Err(_) => false,
        }
    }

    /// Queries seen for `name` (any case, with or without trailing dot).
    pub(crate) fn queries_for(&self, name: &str) -> u64 {
        normalize_name(name)
            .map(|key| self.stats.for_name(&key))
            .unwrap_or(0)
    }

    /// Queries seen for `name` with query type `qtype` (as DNS writes it: `TXT`, `A`, ...).
    pub(crate) fn queries_for_type(&self, name: &str, qtype: &str) -> u64 {
        normalize_name(name)
            .map(|key| self.stats.for_name_type(&key, qtype))
            .unwrap_or(0)
    }

    pub(crate) fn stats_snapshot(&self) -> StatsSnapshot {
        let records = self.read().len();
        self.stats.snapshot(records)
    }
}
