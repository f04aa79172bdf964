//! The tenant's shared view of its Auth0 domains: one paginated LIST per resync interval feeds every
//! `CustomDomain` of the tenant, so a Ready, unchanged domain costs no per-domain call.
//!
//! Writes the operator makes (create, patch, verify, delete) are folded in at once, and survive a
//! LIST that was already in flight when they happened: the list result never overwrites an entry
//! touched after that list started.
//!
//! A LIST is folded in a page at a time, in place: an unchanged domain keeps the copy already
//! held, and a domain the LIST did not show goes only once the whole LIST has been read. At ten
//! tenants of 1,000 domains, building each new list beside the old one was the operator's second
//! largest allocation.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use jiff::Timestamp;

use crate::auth0::{Error, TenantClient, types::CustomDomain};

/// A domain and when this copy of it was read.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The domain as Auth0 returned it (never with its `cname_api_key`). Shared: the tenant
    /// controller reads every domain of the tenant on each pass, and at ten tenants of 1,000
    /// domains copies of them were the operator's largest allocation.
    pub domain: Arc<CustomDomain>,
    /// When it was read: the LIST's start, or the time of the write/GET that returned it.
    pub at: Timestamp,
}

/// A cached domain and the LIST that last showed it.
struct Entry {
    seen: Seen,
    /// Number of the LIST that last showed it (0: only written locally).
    listed_by: u64,
}

#[derive(Default)]
struct State {
    by_domain: HashMap<String, Entry>,
    fetched_at: Option<Instant>,
    /// When each domain was last written locally (upsert or remove).
    touched: HashMap<String, Instant>,
    /// Number of the last LIST begun.
    lists: u64,
}

impl State {
    /// Caches `domain` as read at `at` (by LIST `listed_by`, 0 for a local write), replacing
    /// what was there: never with its one-time key, and its lists at their length.
    fn put(&mut self, mut domain: CustomDomain, at: Timestamp, listed_by: u64) {
        domain.cname_api_key = None;
        domain.shrink_to_fit();
        let seen = Seen {
            domain: Arc::new(domain),
            at,
        };
        let entry = Entry { seen, listed_by };
        self.by_domain.insert(entry.seen.domain.domain.clone(), entry);
    }
}

/// Whether `domain` was written locally since `started`.
fn touched_since(touched: &HashMap<String, Instant>, domain: &str, started: Instant) -> bool {
    touched.get(domain).is_some_and(|at| *at >= started)
}

/// Cached list of one tenant's custom domains, keyed by host name.
#[derive(Default)]
pub struct Snapshot {
    state: Mutex<State>,
    /// Serialises refreshes so a thousand reconciles waiting on a cold cache cause one LIST.
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Snapshot")
            .field("domains", &s.by_domain.len())
            .field("age", &s.fetched_at.map(|t| t.elapsed()))
            .finish()
    }
}

impl Snapshot {
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// True once a LIST has succeeded.
    pub fn is_loaded(&self) -> bool {
        self.lock().fetched_at.is_some()
    }

    /// Time since the last successful LIST.
    pub fn age(&self) -> Option<Duration> {
        self.lock().fetched_at.map(|t| t.elapsed())
    }

    /// How long until the cache is older than `max_age`: `None` before the first LIST or once it
    /// is that old already.
    pub fn fresh_for(&self, max_age: Duration) -> Option<Duration> {
        let left = max_age.checked_sub(self.age()?)?;
        (!left.is_zero()).then_some(left)
    }

    /// The domain with this host name, as last seen.
    pub fn get(&self, domain: &str) -> Option<Seen> {
        self.lock().by_domain.get(domain).map(|e| e.seen.clone())
    }

    /// Every domain, in no particular order.
    pub fn all(&self) -> Vec<Arc<CustomDomain>> {
        self.lock()
            .by_domain
            .values()
            .map(|e| e.seen.domain.clone())
            .collect()
    }

    /// Forces the next [`Snapshot::refresh_if_older`] to list (after an ambiguous create or a 409).
    pub fn invalidate(&self) {
        self.lock().fetched_at = None;
    }

    /// Number of domains known.
    pub fn len(&self) -> usize {
        self.lock().by_domain.len()
    }

    /// True when no domain is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records a domain the operator just wrote or read.
    pub fn upsert(&self, domain: CustomDomain) {
        let mut s = self.lock();
        s.touched.insert(domain.domain.clone(), Instant::now());
        s.put(domain, Timestamp::now(), 0);
    }

    /// Forgets a domain the operator deleted (or found gone).
    pub fn remove(&self, domain: &str) {
        let mut s = self.lock();
        s.touched.insert(domain.to_owned(), Instant::now());
        s.by_domain.remove(domain);
    }

    /// Re-lists when the cache is older than `max_age` (or empty). Concurrent callers share one LIST.
    /// Returns whether this call listed.
    pub async fn refresh_if_older(&self, client: &TenantClient, max_age: Duration) -> Result<bool, Error> {
        if self.age().is_some_and(|a| a < max_age) {
            return Ok(false);
        }
        let _guard = self.refresh.lock().await;
        // Someone else may have refreshed while we waited.
        if self.age().is_some_and(|a| a < max_age) {
            return Ok(false);
        }
        let started = Instant::now();
        let at = Timestamp::now();
        let list = self.begin_list();
        client
            .for_each_domain_page(|page| self.fold_page(page, list, started, at))
            .await?;
        self.finish_list(list, started);
        Ok(true)
    }

    /// Numbers a new LIST.
    fn begin_list(&self) -> u64 {
        let mut s = self.lock();
        s.lists += 1;
        s.lists
    }

    /// Folds in one page of LIST `list`, requested at `started` (`at` on the wall clock).
    fn fold_page(&self, page: Vec<CustomDomain>, list: u64, started: Instant, at: Timestamp) {
        let mut s = self.lock();
        for mut domain in page {
            // A local write newer than the LIST request wins over what the LIST saw.
            if touched_since(&s.touched, &domain.domain, started) {
                continue;
            }
            // The cached copy never holds the key: compare without it.
            domain.cname_api_key = None;
            match s.by_domain.get_mut(&domain.domain) {
                // Unchanged: the copy already held stays.
                Some(entry) if *entry.seen.domain == domain => {
                    entry.seen.at = at;
                    entry.listed_by = list;
                }
                _ => s.put(domain, at, list),
            }
        }
    }

    /// Ends LIST `list` once every page is in: what it did not show is gone from Auth0, unless
    /// written locally since the LIST was requested.
    fn finish_list(&self, list: u64, started: Instant) {
        let mut s = self.lock();
        let State {
            by_domain, touched, ..
        } = &mut *s;
        by_domain.retain(|name, entry| entry.listed_by == list || touched_since(touched, name, started));
        touched.retain(|_, at| *at >= started);
        s.fetched_at = Some(started);
    }

    /// A whole LIST result at once (tests).
    #[cfg(test)]
    fn replace(&self, listed: Vec<CustomDomain>, started: Instant, at: Timestamp) {
        let list = self.begin_list();
        self.fold_page(listed, list, started, at);
        self.finish_list(list, started);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn domain(name: &str, status: &str) -> CustomDomain {
        serde_json::from_value(serde_json::json!({
            "custom_domain_id": format!("cd_{name}"),
            "domain": name,
            "status": status,
            "type": "self_managed_certs",
        }))
        .unwrap()
    }

    #[test]
    fn list_result_replaces_untouched_entries() {
        let s = Snapshot::default();
        s.replace(
            vec![domain("a.example.com", "ready"), domain("b.example.com", "ready")],
            Instant::now(),
            Timestamp::now(),
        );
        let later = Instant::now();
        s.replace(
            vec![domain("a.example.com", "pending_verification")],
            later,
            Timestamp::now(),
        );
        assert!(s.get("b.example.com").is_none(), "b vanished from Auth0");
        assert_eq!(
            s.get("a.example.com").unwrap().domain.status.to_string(),
            "pending_verification"
        );
        assert_eq!(s.len(), 1);
        assert!(s.is_loaded());
    }

    #[test]
    fn writes_during_an_inflight_list_survive_it() {
        let s = Snapshot::default();
        s.replace(
            vec![domain("gone.example.com", "ready")],
            Instant::now(),
            Timestamp::now(),
        );
        let started = Instant::now();
        // While the LIST is in flight the operator creates one domain and deletes another.
        s.upsert(domain("new.example.com", "pending_verification"));
        s.remove("gone.example.com");
        // The LIST (started before both writes) still shows the old world.
        s.replace(
            vec![domain("gone.example.com", "ready")],
            started,
            Timestamp::now(),
        );
        assert!(
            s.get("new.example.com").is_some(),
            "a create must not be hidden by an older LIST"
        );
        assert!(
            s.get("gone.example.com").is_none(),
            "a delete must not be undone by an older LIST"
        );
    }

    #[test]
    fn an_unchanged_domain_keeps_its_copy_and_unlisted_ones_go_only_at_the_end() {
        let s = Snapshot::default();
        s.replace(
            vec![domain("a.example.com", "ready"), domain("b.example.com", "ready")],
            Instant::now(),
            Timestamp::now(),
        );
        let before = s.get("a.example.com").unwrap().domain;
        let (started, at) = (Instant::now(), Timestamp::now());
        let list = s.begin_list();
        s.fold_page(vec![domain("a.example.com", "ready")], list, started, at);
        assert!(
            Arc::ptr_eq(&before, &s.get("a.example.com").unwrap().domain),
            "an equal domain is not copied again"
        );
        assert!(s.get("b.example.com").is_some(), "a later page may still show b");
        s.fold_page(vec![domain("c.example.com", "pending")], list, started, at);
        s.finish_list(list, started);
        assert!(s.get("b.example.com").is_none(), "no page showed b");
        assert!(s.get("c.example.com").is_some());
        assert_eq!(s.len(), 2);

        let list = s.begin_list();
        s.fold_page(
            vec![domain("a.example.com", "pending_verification")],
            list,
            Instant::now(),
            Timestamp::now(),
        );
        assert_eq!(
            s.get("a.example.com").unwrap().domain.status.to_string(),
            "pending_verification",
            "a changed domain is replaced"
        );
    }

    #[test]
    fn fresh_for_counts_down_from_the_last_list() {
        let s = Snapshot::default();
        assert_eq!(s.fresh_for(Duration::from_secs(30)), None, "never listed");
        s.replace(Vec::new(), Instant::now(), Timestamp::now());
        let left = s.fresh_for(Duration::from_secs(30)).unwrap();
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        s.replace(
            Vec::new(),
            Instant::now() - Duration::from_secs(31),
            Timestamp::now(),
        );
        assert_eq!(s.fresh_for(Duration::from_secs(30)), None, "stale already");
    }

    #[test]
    fn the_key_is_never_cached() {
        let s = Snapshot::default();
        let mut d = domain("k.example.com", "ready");
        d.cname_api_key = Some("secret-value".to_owned().into());
        s.upsert(d);
        assert!(s.get("k.example.com").unwrap().domain.cname_api_key.is_none());
    }
}
