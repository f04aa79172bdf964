//! The object store: one global resourceVersion counter, bounded event history, watch fan-out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::resources::{ResKey, ResourceType, builtins};

/// `(namespace, name)`; namespace is empty for cluster-scoped objects.
pub type ObjKey = (String, String);

/// A change to one object, as sent on watches.
#[derive(Debug, Clone)]
pub struct Change {
    /// resourceVersion of this change.
    pub rv: u64,
    /// Resource type.
    pub res: ResKey,
    /// ADDED, MODIFIED, DELETED.
    pub kind: &'static str,
    /// The object after the change (before, for DELETED, with the new resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change (None for ADDED), so selector watches can tell an object
    /// entering or leaving their selection.
    pub prev: Option<Arc<Value>>,
}

/// All state of the simulated cluster.
#[derive(Debug)]
pub struct World {
    /// Served resource types.
    pub types: BTreeMap<ResKey, Arc<ResourceType>>,
    /// Objects by type and key.
    pub objects: HashMap<ResKey, BTreeMap<ObjKey, Arc<Value>>>,
    // Objects are shared with the watch history, so a change costs one copy, not two.
    /// Last issued resourceVersion.
    pub rv: u64,
    /// Recent changes (bounded).
    pub history: VecDeque<Arc<Change>>,
    /// How many changes to keep.
    pub history_limit: usize,
    /// Watches from a resourceVersion below this get 410 Gone.
    pub oldest_rv: u64,
    /// Fan-out to watches.
    pub tx: broadcast::Sender<Arc<Change>>,
    /// Set when something was deleted or marked for deletion (GC has work).
    pub gc_dirty: bool,
}

/// Current time as RFC 3339 with seconds precision (`metav1.Time`).
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A random UUID v4 string.
pub fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        ["8", "9", "a", "b"][(b[8] & 3) as usize],
        &h[17..20],
        &h[20..32]
    )
}

impl World {
    /// An empty world with the built-in types and the default namespaces.
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(65536);
        let mut w = Self {
            types: BTreeMap::new(),
            objects: HashMap::new(),
            rv: 1,
            history: VecDeque::new(),
            history_limit: history_limit.max(16),
            oldest_rv: 1,
            tx,
            gc_dirty: false,
        };
        for t in builtins() {
            w.types.insert(t.key(), Arc::new(t));
        }
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uuid(), "creationTimestamp": now(), "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            w.store(
                &ResKey {
                    group: String::new(),
                    plural: "namespaces".into(),
                },
                obj,
                "ADDED",
            );
        }
        w
    }

    /// Finds a type by group and plural.
    pub fn rtype(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&ResKey {
                group: group.into(),
                plural: plural.into(),
            })
            .cloned()
    }

    /// Finds a type by apiVersion and kind.
    pub fn rtype_by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.types
            .values()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    /// Objects of one type.
    pub fn bucket(&self, res: &ResKey) -> Option<&BTreeMap<ObjKey, Arc<Value>>> {
        self.objects.get(res)
    }

    /// One object.
    pub fn get(&self, res: &ResKey, key: &ObjKey) -> Option<&Value> {
        self.objects.get(res).and_then(|b| b.get(key)).map(|o| o.as_ref())
    }

    /// Stores an object under a new resourceVersion and emits the change.
    pub fn store(&mut self, res: &ResKey, mut obj: Value, kind: &'static str) -> Value {
        self.rv += 1;
        set_rv(&mut obj, self.rv);
        let key = obj_key(&obj);
        let shared = Arc::new(obj);
        let prev = self
            .objects
            .entry(res.clone())
            .or_default()
            .insert(key, shared.clone());
        self.emit(res, kind, shared.clone(), prev);
        let obj = Arc::unwrap_or_clone(shared);
        if crate::events::is_new_events(res) {
            let core_res = crate::events::core_events();
            let core = crate::events::to_core(&obj);
            let kind = if self.get(&core_res, &obj_key(&core)).is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            };
            self.store(&core_res, core, kind);
        }
        obj
    }

    /// Removes an object, emitting DELETED with a new resourceVersion.
    pub fn remove(&mut self, res: &ResKey, key: &ObjKey) -> Option<Value> {
        let mut obj = Arc::unwrap_or_clone(self.objects.get_mut(res)?.remove(key)?);
        self.rv += 1;
        set_rv(&mut obj, self.rv);
        let last = Arc::new(obj.clone());
        self.emit(res, "DELETED", last.clone(), Some(last));
        self.gc_dirty = true;
        if crate::events::is_new_events(res) {
            self.remove(&crate::events::core_events(), key);
        }
        Some(obj)
    }

    fn emit(&mut self, res: &ResKey, kind: &'static str, obj: Arc<Value>, prev: Option<Arc<Value>>) {
        let change = Arc::new(Change {
            rv: self.rv,
            res: res.clone(),
            kind,
            object: obj,
            prev,
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.oldest_rv = old.rv;
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(change);
    }

    /// Makes every resourceVersion before the current one unavailable to watches (fault injection).
    pub fn compact(&mut self) {
        self.history.clear();
        self.oldest_rv = self.rv;
    }

    /// Whether a namespace exists, and whether it is terminating.
    pub fn namespace_state(&self, ns: &str) -> Option<bool> {
        let res = ResKey {
            group: String::new(),
            plural: "namespaces".into(),
        };
        self.get(&res, &(String::new(), ns.to_string()))
            .map(|o| o.pointer("/metadata/deletionTimestamp").is_some())
    }
}

/// Sets `metadata.resourceVersion`.
pub fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

/// `(namespace, name)` of an object.
pub fn obj_key(obj: &Value) -> ObjKey {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("/metadata/namespace"), s("/metadata/name"))
}

/// A string at a JSON pointer, or "".
pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}
