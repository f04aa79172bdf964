//! Deletion: finalizers, `deletionTimestamp`, ownerReference garbage collection, namespace cascade.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::crds;
use crate::resources::ResKey;
use crate::store::{ObjKey, World, now, str_at};

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents deleted after the owner is gone (default).
    Background,
    /// Owner waits (finalizer `foregroundDeletion`) until dependents are gone.
    Foreground,
    /// Dependents lose their ownerReference (finalizer `orphan`).
    Orphan,
}

impl Propagation {
    /// From `propagationPolicy` (or `orphanDependents`).
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            _ => Propagation::Background,
        }
    }
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn is_namespaces(res: &ResKey) -> bool {
    res.group.is_empty() && res.plural == "namespaces"
}

/// Starts deleting an object: marks it (finalizers) or removes it. Returns the object as the
/// server answers a DELETE (marked, or last state).
pub fn begin_delete(
    w: &mut World,
    res: &ResKey,
    key: &ObjKey,
    prop: Propagation,
    dry_run: bool,
) -> Option<Value> {
    let mut obj = w.get(res, key)?.clone();
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return Some(obj);
    }
    let mut fins = finalizers(&obj);
    match prop {
        Propagation::Foreground if !fins.iter().any(|f| f == "foregroundDeletion") => {
            fins.push("foregroundDeletion".into())
        }
        Propagation::Orphan if !fins.iter().any(|f| f == "orphan") => fins.push("orphan".into()),
        _ => {}
    }
    let namespace = is_namespaces(res);
    if fins.is_empty() && !namespace {
        if dry_run {
            return Some(obj);
        }
        let removed = w.remove(res, key);
        if let Some(o) = &removed {
            crds::on_removed(w, res, o);
        }
        settle(w);
        return removed;
    }
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("deletionTimestamp".into(), json!(now()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        if !fins.is_empty() {
            m.insert("finalizers".into(), json!(fins));
        }
        if let Some(g) = m.get("generation").and_then(Value::as_i64) {
            m.insert("generation".into(), json!(g + 1));
        }
    }
    if namespace {
        obj["status"] = json!({"phase": "Terminating"});
    }
    if dry_run {
        return Some(obj);
    }
    let stored = w.store(res, obj, "MODIFIED");
    w.gc_dirty = true;
    settle(w);
    Some(stored)
}

/// Removes an object whose finalizers became empty while it was being deleted.
pub fn finish_if_done(w: &mut World, res: &ResKey, obj: &Value) -> bool {
    if obj.pointer("/metadata/deletionTimestamp").is_some()
        && finalizers(obj).is_empty()
        && !is_namespaces(res)
    {
        let key = crate::store::obj_key(obj);
        if let Some(o) = w.remove(res, &key) {
            crds::on_removed(w, res, &o);
        }
        return true;
    }
    false
}

/// Whether a write of `obj` leaves the garbage collector nothing to do: the object is not being
/// deleted, its namespace is not terminating, and every owner it names exists with that uid and is
/// not being deleted. Owners are found by their reference's coordinates, as the real collector
/// resolves them, so a write costs a few lookups instead of a scan of every object; when this
/// cannot tell, the caller runs the full collection.
pub fn owners_intact(w: &World, obj: &Value) -> bool {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return false;
    }
    let namespace = str_at(obj, "/metadata/namespace");
    // `Some(false)`: the namespace exists and is not terminating.
    if !namespace.is_empty() && w.namespace_state(namespace) != Some(false) {
        return false;
    }
    let Some(refs) = obj.pointer("/metadata/ownerReferences").and_then(Value::as_array) else {
        return true;
    };
    refs.iter().all(|r| {
        let Some(rt) = w.rtype_by_kind(str_at(r, "/apiVersion"), str_at(r, "/kind")) else {
            return false;
        };
        let key = if rt.namespaced {
            (namespace.to_string(), str_at(r, "/name").to_string())
        } else {
            (String::new(), str_at(r, "/name").to_string())
        };
        w.get(&rt.key(), &key).is_some_and(|owner| {
            str_at(owner, "/metadata/uid") == str_at(r, "/uid")
                && owner.pointer("/metadata/deletionTimestamp").is_none()
        })
    })
}

enum Action {
    Delete(ResKey, ObjKey, Propagation),
    DropOwner(ResKey, ObjKey, String),
    DropFinalizer(ResKey, ObjKey, &'static str),
    RemoveNamespace(ObjKey),
}

/// Runs garbage collection and namespace cleanup until nothing changes.
pub fn settle(w: &mut World) {
    if !w.gc_dirty {
        return;
    }
    w.gc_dirty = false;
    for _ in 0..1000 {
        let actions = plan(w);
        if actions.is_empty() {
            return;
        }
        for a in actions {
            match a {
                Action::Delete(res, key, prop) => {
                    begin_delete_inner(w, &res, &key, prop);
                }
                Action::DropOwner(res, key, uid) => {
                    if let Some(mut o) = w.get(&res, &key).cloned() {
                        if let Some(refs) = o
                            .pointer_mut("/metadata/ownerReferences")
                            .and_then(Value::as_array_mut)
                        {
                            refs.retain(|r| str_at(r, "/uid") != uid);
                            if refs.is_empty()
                                && let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut)
                            {
                                m.remove("ownerReferences");
                            }
                        }
                        w.store(&res, o, "MODIFIED");
                    }
                }
                Action::DropFinalizer(res, key, fin) => {
                    if let Some(mut o) = w.get(&res, &key).cloned() {
                        if let Some(f) = o
                            .pointer_mut("/metadata/finalizers")
                            .and_then(Value::as_array_mut)
                        {
                            f.retain(|x| x.as_str() != Some(fin));
                        }
                        if !finish_if_done(w, &res, &o) {
                            w.store(&res, o, "MODIFIED");
                        }
                    }
                }
                Action::RemoveNamespace(key) => {
                    let res = ResKey {
                        group: String::new(),
                        plural: "namespaces".into(),
                    };
                    w.remove(&res, &key);
                }
            }
        }
    }
}

fn begin_delete_inner(w: &mut World, res: &ResKey, key: &ObjKey, prop: Propagation) {
    // Same as begin_delete without the recursive settle (the loop in settle continues).
    let Some(mut obj) = w.get(res, key).cloned() else {
        return;
    };
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let mut fins = finalizers(&obj);
    if prop == Propagation::Foreground && !fins.iter().any(|f| f == "foregroundDeletion") {
        fins.push("foregroundDeletion".into());
    }
    if fins.is_empty() {
        if let Some(o) = w.remove(res, key) {
            crds::on_removed(w, res, &o);
        }
        return;
    }
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("deletionTimestamp".into(), json!(now()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        m.insert("finalizers".into(), json!(fins));
    }
    w.store(res, obj, "MODIFIED");
}

fn plan(w: &World) -> Vec<Action> {
    let mut live: HashMap<&str, &Value> = HashMap::new();
    let mut referenced: HashSet<&str> = HashSet::new();
    for bucket in w.objects.values() {
        for o in bucket.values() {
            live.insert(str_at(o, "/metadata/uid"), o);
            if let Some(refs) = o.pointer("/metadata/ownerReferences").and_then(Value::as_array) {
                for r in refs {
                    referenced.insert(str_at(r, "/uid"));
                }
            }
        }
    }
    let mut terminating_ns: Vec<String> = Vec::new();
    let ns_res = ResKey {
        group: String::new(),
        plural: "namespaces".into(),
    };
    if let Some(b) = w.bucket(&ns_res) {
        for o in b.values() {
            if o.pointer("/metadata/deletionTimestamp").is_some() {
                terminating_ns.push(str_at(o, "/metadata/name").to_string());
            }
        }
    }
    let mut actions = Vec::new();
    let mut ns_nonempty: HashSet<&str> = HashSet::new();
    for (res, bucket) in &w.objects {
        for (key, o) in bucket {
            let deleting = o.pointer("/metadata/deletionTimestamp").is_some();
            if !key.0.is_empty() && terminating_ns.iter().any(|n| n == &key.0) {
                ns_nonempty.insert(key.0.as_str());
                if !deleting {
                    actions.push(Action::Delete(res.clone(), key.clone(), Propagation::Background));
                    continue;
                }
            }
            if let Some(refs) = o.pointer("/metadata/ownerReferences").and_then(Value::as_array)
                && !refs.is_empty()
            {
                let solid: Vec<&Value> = refs
                    .iter()
                    .filter(|r| live.contains_key(str_at(r, "/uid")))
                    .collect();
                if solid.is_empty() {
                    if !deleting {
                        actions.push(Action::Delete(res.clone(), key.clone(), Propagation::Background));
                    }
                    continue;
                }
                for r in refs {
                    let uid = str_at(r, "/uid");
                    match live.get(uid) {
                        None => actions.push(Action::DropOwner(res.clone(), key.clone(), uid.to_string())),
                        Some(owner) if owner.pointer("/metadata/deletionTimestamp").is_some() => {
                            let of = finalizers(owner);
                            if of.iter().any(|f| f == "orphan") {
                                actions.push(Action::DropOwner(res.clone(), key.clone(), uid.to_string()));
                            } else if of.iter().any(|f| f == "foregroundDeletion") && !deleting {
                                actions.push(Action::Delete(
                                    res.clone(),
                                    key.clone(),
                                    Propagation::Foreground,
                                ));
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            if deleting {
                let uid = str_at(o, "/metadata/uid");
                let fins = finalizers(o);
                if !referenced.contains(uid) {
                    for f in ["orphan", "foregroundDeletion"] {
                        if fins.iter().any(|x| x == f) {
                            actions.push(Action::DropFinalizer(res.clone(), key.clone(), f));
                        }
                    }
                }
            }
        }
    }
    for ns in terminating_ns {
        if !ns_nonempty.contains(ns.as_str()) {
            let key = (String::new(), ns.clone());
            let meta_fins = w.get(&ns_res, &key).map(finalizers).unwrap_or_default();
            if meta_fins.is_empty() {
                actions.push(Action::RemoveNamespace(key));
            }
        }
    }
    // One action per object per round keeps the rounds simple to reason about.
    let mut seen = HashSet::new();
    actions.retain(|a| {
        let k = match a {
            Action::Delete(r, k, _) | Action::DropOwner(r, k, _) | Action::DropFinalizer(r, k, _) => {
                (r.clone(), k.clone())
            }
            Action::RemoveNamespace(k) => (ns_res.clone(), k.clone()),
        };
        seen.insert(k)
    });
    actions
}
