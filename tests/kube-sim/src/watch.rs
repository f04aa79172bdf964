//! Watch streams: replay from a resourceVersion, live changes, bookmarks, 410 Gone, timeouts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt;
use futures::channel::mpsc;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::control::Control;
use crate::resources::ResourceType;
use crate::status::ApiError;
use crate::store::{Change, World};
use crate::table::{self, Include};
use crate::verbs::ListOpts;

/// Parameters of one watch request.
#[derive(Debug, Clone)]
pub struct WatchParams {
    /// Namespace filter.
    pub namespace: Option<String>,
    /// Selectors.
    pub list: ListOpts,
    /// `resourceVersion` ("" or "0" = from now, with synthetic ADDED events).
    pub resource_version: String,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// Table rows instead of objects.
    pub table: Option<Include>,
    /// `PartialObjectMetadata` instead of objects.
    pub meta_only: bool,
    /// Single object watch (`fieldSelector=metadata.name=` is the usual form; this is for `/watch/.../name`).
    pub name: Option<String>,
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn matches(rt: &ResourceType, p: &WatchParams, obj: &Value) -> bool {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(want) = &p.namespace
        && rt.namespaced
        && want != ns
    {
        return false;
    }
    if let Some(n) = &p.name
        && obj.pointer("/metadata/name").and_then(Value::as_str) != Some(n.as_str())
    {
        return false;
    }
    p.list.matches(obj)
}

/// What a watch with these parameters sends for a change, as the watch cache does: an object
/// that starts matching the selectors is ADDED, one that stops matching is DELETED (with its
/// previous content and the change's resourceVersion), and changes outside the selection are
/// not sent.
fn event_for(rt: &ResourceType, p: &WatchParams, c: &Change) -> Option<(&'static str, Value)> {
    if c.res != rt.key() {
        return None;
    }
    let now = c.kind != "DELETED" && matches(rt, p, &c.object);
    let before = c.prev.as_deref().is_some_and(|o| matches(rt, p, o));
    match (before, now) {
        (false, true) => Some(("ADDED", render(rt, p, &c.object))),
        (true, true) => Some((c.kind, render(rt, p, &c.object))),
        (true, false) => {
            let mut last = c.prev.as_deref().cloned().unwrap_or(Value::Null);
            crate::store::set_rv(&mut last, c.rv);
            Some(("DELETED", render(rt, p, &last)))
        }
        (false, false) => None,
    }
}

fn render(rt: &ResourceType, p: &WatchParams, obj: &Value) -> Value {
    if p.meta_only {
        return crate::server::partial_metadata(obj);
    }
    match p.table {
        Some(inc) => table::table(
            rt,
            &[obj],
            inc,
            json!({"resourceVersion": obj.pointer("/metadata/resourceVersion")}),
        ),
        None => obj.clone(),
    }
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Value {
    let mut m = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        m["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": m})
}

/// What a started watch sends first, where it listens, and the resourceVersion it starts at.
pub type Started = (Vec<Bytes>, broadcast::Receiver<Arc<Change>>, u64);

/// Prepares a watch under the store lock.
pub fn start(w: &World, rt: &ResourceType, p: &WatchParams) -> Result<Started, ApiError> {
    let rx = w.tx.subscribe();
    let mut first = Vec::new();
    let from_now = p.resource_version.is_empty() || p.resource_version == "0";
    if p.send_initial_events || from_now {
        if let Some(b) = w.bucket(&rt.key()) {
            for o in b.values().filter(|o| matches(rt, p, o)) {
                first.push(line("ADDED", &render(rt, p, o)));
            }
        }
        if p.send_initial_events {
            first.push(line("BOOKMARK", &bookmark(rt, w.rv, true)));
        }
        return Ok((first, rx, w.rv));
    }
    let rv: u64 = p
        .resource_version
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {}", p.resource_version)))?;
    if rv < w.oldest_rv {
        return Err(ApiError::gone(rv, w.oldest_rv));
    }
    for c in w.history.iter().filter(|c| c.rv > rv) {
        if let Some((kind, obj)) = event_for(rt, p, c) {
            first.push(line(kind, &obj));
        }
    }
    Ok((first, rx, w.rv))
}

/// The Status object of an ERROR watch event.
pub fn error_line(e: &ApiError) -> Bytes {
    line("ERROR", &e.to_status())
}

/// Streams a watch until timeout, client disconnect, lag, or a close signal.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    rt: Arc<ResourceType>,
    p: WatchParams,
    first: Vec<Bytes>,
    mut rx: broadcast::Receiver<Arc<Change>>,
    start_rv: u64,
    control: Control,
    bookmark_every: Duration,
    mut tx: mpsc::Sender<Bytes>,
) {
    for l in first {
        if tx.send(l).await.is_err() {
            return;
        }
    }
    let mut signals = control.inner.signals.subscribe();
    let base = *signals.borrow_and_update();
    let mut last_seen = start_rv;
    let deadline = tokio::time::Instant::now() + p.timeout.unwrap_or(Duration::from_secs(1800));
    let mut tick = tokio::time::interval(bookmark_every);
    tick.tick().await;
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(c) => {
                    last_seen = c.rv;
                    if let Some((kind, obj)) = event_for(&rt, &p, &c)
                        && tx.send(line(kind, &obj)).await.is_err()
                    {
                        return;
                    }
                }
                // Lagged or closed: end the stream; the client re-watches from its last resourceVersion.
                Err(_) => return,
            },
            _ = tick.tick() => {
                if p.bookmarks && tx.send(line("BOOKMARK", &bookmark(&rt, last_seen, false))).await.is_err() {
                    return;
                }
            }
            changed = signals.changed() => {
                if changed.is_err() {
                    return;
                }
                let s = *signals.borrow_and_update();
                if s.close != base.close {
                    return;
                }
                if p.bookmarks {
                    // Drain what is already queued so the bookmark does not skip changes.
                    while let Ok(c) = rx.try_recv() {
                        last_seen = c.rv;
                        if let Some((kind, obj)) = event_for(&rt, &p, &c)
                            && tx.send(line(kind, &obj)).await.is_err()
                        {
                            return;
                        }
                    }
                    if tx.send(line("BOOKMARK", &bookmark(&rt, last_seen, false))).await.is_err() {
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
}
