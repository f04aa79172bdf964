//! Tenants whose domain count changed and whose reconcile should recount it.
//!
//! A thousand CustomDomains applied in a row would otherwise run the tenant reconcile a thousand
//! times. Names are gathered in a set and handed out at most once per window, so creates in a row
//! collapse into one recount per tenant, and no tenant is ever dropped (a bounded channel would
//! lose one tenant's name while another's fill it). Only this trigger waits: the tenant's own
//! changes (its creation, its finalizer's echo, a credentials rotation) reconcile at once.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use tokio::sync::Notify;

use crate::sync::lock;

/// Gathers tenant names between recounts.
#[derive(Debug, Default)]
pub struct Recounts {
    pending: Mutex<BTreeSet<String>>,
    marked: Notify,
}

impl Recounts {
    /// An empty set, shared between the CustomDomain side (which marks) and the tenant
    /// controller (which consumes [`Recounts::stream`]).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// `tenant`'s domain count changed.
    pub fn mark(&self, tenant: &str) {
        lock(&self.pending).insert(tenant.to_owned());
        // Stores a permit when nobody waits: a mark made while a batch is handed out is not lost.
        self.marked.notify_one();
    }

    /// The marked names, each once per batch; a batch is taken `window` after the first mark
    /// following a quiet period.
    pub fn stream(self: Arc<Self>, window: Duration) -> impl Stream<Item = String> + Send + 'static {
        futures::stream::unfold((self, VecDeque::new()), move |(me, mut batch)| async move {
            loop {
                if let Some(name) = batch.pop_front() {
                    return Some((name, (me, batch)));
                }
                me.marked.notified().await;
                tokio::time::sleep(window).await;
                batch.extend(std::mem::take(&mut *lock(&me.pending)));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::*;

    const WINDOW: Duration = Duration::from_secs(2);

    /// The next name within `within`, or None.
    async fn next_within(s: &mut (impl Stream<Item = String> + Unpin), within: Duration) -> Option<String> {
        tokio::time::timeout(within, s.next()).await.ok().flatten()
    }

    #[tokio::test(start_paused = true)]
    async fn marks_in_a_row_collapse_into_one_name_per_tenant_after_the_window() {
        let r = Recounts::new();
        let mut s = Box::pin(r.clone().stream(WINDOW));
        for _ in 0..1000 {
            r.mark("a");
        }
        r.mark("b");
        let start = tokio::time::Instant::now();
        assert_eq!(next_within(&mut s, WINDOW * 2).await.as_deref(), Some("a"));
        assert!(
            start.elapsed() >= WINDOW,
            "handed out before the window: {:?}",
            start.elapsed()
        );
        assert_eq!(next_within(&mut s, WINDOW * 2).await.as_deref(), Some("b"));
        assert_eq!(
            next_within(&mut s, WINDOW * 5).await,
            None,
            "each tenant once per batch"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_mark_after_a_batch_comes_in_the_next_one() {
        let r = Recounts::new();
        let mut s = Box::pin(r.clone().stream(WINDOW));
        r.mark("a");
        assert_eq!(next_within(&mut s, WINDOW * 2).await.as_deref(), Some("a"));
        r.mark("a");
        r.mark("c");
        let mut got = vec![
            next_within(&mut s, WINDOW * 2).await,
            next_within(&mut s, WINDOW * 2).await,
        ];
        got.sort();
        assert_eq!(got, vec![Some("a".to_owned()), Some("c".to_owned())]);
    }

    #[tokio::test(start_paused = true)]
    async fn many_tenants_marked_at_once_are_all_handed_out() {
        let r = Recounts::new();
        let mut s = Box::pin(r.clone().stream(WINDOW));
        for i in 0..200 {
            r.mark(&format!("t{i}"));
        }
        let mut seen = BTreeSet::new();
        while let Some(n) = next_within(&mut s, WINDOW * 2).await {
            seen.insert(n);
        }
        assert_eq!(seen.len(), 200, "a bounded channel of 64 would have dropped some");
    }
}
