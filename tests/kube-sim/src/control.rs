//! Fault injection and the request log (in-process handle and `/__sim/...` endpoints).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::store::World;

/// One recorded API request (what an RBAC rule would have to allow).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    /// API group ("" = core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource.
    pub resource: String,
    /// Subresource ("" or "status").
    pub subresource: String,
    /// Namespace ("" for cluster scope or all namespaces).
    pub namespace: String,
    /// Object name, if any.
    pub name: String,
    /// User-Agent header.
    pub user_agent: String,
    /// Response code.
    pub code: u16,
}

/// A fault rule: matching requests get a status code and/or latency.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultRule {
    /// Verb to match (None = any).
    pub verb: Option<String>,
    /// Resource (plural) to match (None = any).
    pub resource: Option<String>,
    /// Namespace to match (None = any, including cluster-scoped requests).
    pub namespace: Option<String>,
    /// Status code to answer with (None = answer normally, after the latency).
    pub status: Option<u16>,
    /// Added latency in milliseconds.
    pub latency_ms: u64,
    /// How many requests it applies to (None = until cleared).
    pub count: Option<u64>,
}

/// Signals to running watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchSignals {
    /// Bumped to close every watch.
    pub close: u64,
    /// Bumped to make every watch send a BOOKMARK now.
    pub bookmark: u64,
}

#[derive(Debug)]
pub(crate) struct Inner {
    conflicts: AtomicU64,
    gone: AtomicU64,
    rules: Mutex<Vec<FaultRule>>,
    log: Mutex<VecDeque<RequestRecord>>,
    pub(crate) signals: watch::Sender<WatchSignals>,
    pub(crate) world: Arc<Mutex<World>>,
}

/// Handle for tests: inject faults, read the request log.
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) inner: Arc<Inner>,
}

const LOG_LIMIT: usize = 100_000;

impl Control {
    pub(crate) fn new(world: Arc<Mutex<World>>) -> Self {
        let (signals, _) = watch::channel(WatchSignals::default());
        Self {
            inner: Arc::new(Inner {
                conflicts: AtomicU64::new(0),
                gone: AtomicU64::new(0),
                rules: Mutex::new(Vec::new()),
                log: Mutex::new(VecDeque::new()),
                signals,
                world,
            }),
        }
    }

    /// The next `n` writes (create, update, patch, delete) fail with 409 Conflict.
    pub fn conflict_next_writes(&self, n: u64) {
        self.inner.conflicts.store(n, Ordering::SeqCst);
    }

    pub(crate) fn take_conflict(&self) -> bool {
        self.inner
            .conflicts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
            .is_ok()
    }

    /// The next `n` watch requests get a 410 Gone ERROR event.
    pub fn gone_next_watches(&self, n: u64) {
        self.inner.gone.store(n, Ordering::SeqCst);
    }

    pub(crate) fn take_gone(&self) -> bool {
        self.inner
            .gone
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
            .is_ok()
    }

    /// Ends every open watch stream (clients re-watch from their last resourceVersion).
    pub fn close_watches(&self) {
        self.inner.signals.send_modify(|s| s.close += 1);
    }

    /// Makes every open watch that asked for bookmarks send one now.
    pub fn send_bookmarks(&self) {
        self.inner.signals.send_modify(|s| s.bookmark += 1);
    }

    /// Forgets the event history: watches from any older resourceVersion get 410 Gone.
    pub fn expire_history(&self) {
        if let Ok(mut w) = self.inner.world.lock() {
            w.compact();
        }
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        if let Ok(mut r) = self.inner.rules.lock() {
            r.push(rule);
        }
    }

    /// Removes every fault rule and pending conflict/gone counts.
    pub fn clear_faults(&self) {
        if let Ok(mut r) = self.inner.rules.lock() {
            r.clear();
        }
        self.inner.conflicts.store(0, Ordering::SeqCst);
        self.inner.gone.store(0, Ordering::SeqCst);
    }

    /// The first matching rule's (status, latency), consuming one use.
    pub(crate) fn match_fault(
        &self,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Option<(Option<u16>, Duration)> {
        let mut rules = self.inner.rules.lock().ok()?;
        let idx = rules.iter().position(|r| {
            r.verb.as_deref().is_none_or(|v| v == verb)
                && r.resource.as_deref().is_none_or(|x| x == resource)
                && r.namespace.as_deref().is_none_or(|n| Some(n) == namespace)
                && r.count != Some(0)
        })?;
        let r = &mut rules[idx];
        if let Some(c) = r.count.as_mut() {
            *c -= 1;
        }
        Some((r.status, Duration::from_millis(r.latency_ms)))
    }

    pub(crate) fn record(&self, rec: RequestRecord) {
        if let Ok(mut l) = self.inner.log.lock() {
            if l.len() >= LOG_LIMIT {
                l.pop_front();
            }
            l.push_back(rec);
        }
    }

    /// All recorded requests (oldest first).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner
            .log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        if let Ok(mut l) = self.inner.log.lock() {
            l.clear();
        }
    }

    /// Request counts keyed `verb group/resource[/subresource] user-agent`.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for r in self.requests() {
            let sub = if r.subresource.is_empty() {
                String::new()
            } else {
                format!("/{}", r.subresource)
            };
            *m.entry(format!(
                "{} {}/{}{} {}",
                r.verb, r.group, r.resource, sub, r.user_agent
            ))
            .or_insert(0) += 1;
        }
        m
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.world.lock().map(|w| w.rv).unwrap_or(0)
    }
}
