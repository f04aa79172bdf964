//! The write and read verbs on objects: create, update, patch, apply, delete, get, list.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::crds;
use crate::lifecycle::{self, Propagation};
use crate::managed_fields::{self, ApplyRequest};
use crate::patch;
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, Target};
use crate::store::{ObjKey, World, now, str_at, uuid};

/// `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Reject unknown fields (400).
    Strict,
    /// Drop them and answer with `Warning` headers (server default).
    Warn,
    /// Drop them silently.
    Ignore,
}

/// Options shared by write requests.
#[derive(Debug, Clone)]
pub struct WriteOpts {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldManager`, or derived from the user agent.
    pub manager: String,
    /// Whether `fieldManager` was given explicitly.
    pub manager_explicit: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `force` (apply).
    pub force: bool,
}

/// Result of a write.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Object to return.
    pub obj: Value,
    /// HTTP code (200/201).
    pub code: u16,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

fn target<'a>(rt: &'a ResourceType, name: &'a str) -> Target<'a> {
    Target {
        group: &rt.group,
        plural: &rt.plural,
        name,
    }
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

/// Go `%q`.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn metadata_causes(rt: &ResourceType, obj: &Value) -> Vec<(String, String, String)> {
    let name = str_at(obj, "/metadata/name");
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push((
            "metadata.name".into(),
            "FieldValueRequired".into(),
            "Required value: name or generateName is required".into(),
        ));
    } else if rt.name_is_label() {
        if !is_label(name) {
            causes.push((
                "metadata.name".into(),
                "FieldValueInvalid".into(),
                format!("Invalid value: {}: {LABEL_MSG}", q(name)),
            ));
        }
    } else if !is_subdomain(name) {
        causes.push((
            "metadata.name".into(),
            "FieldValueInvalid".into(),
            format!("Invalid value: {}: {SUBDOMAIN_MSG}", q(name)),
        ));
    }
    causes.extend(crate::names::metadata_causes(obj));
    causes
}

/// Strict/warn handling, pruning, defaulting and validation (schema + CEL + metadata).
fn admit(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    opts: &WriteOpts,
) -> Result<Vec<String>, ApiError> {
    let mut warnings = Vec::new();
    let (mut causes, event_strict) = if crate::events::is_new_events(&rt.key()) {
        match old {
            Some(o) => crate::events::update_causes(obj, o),
            None => crate::events::create_causes(obj),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    causes.extend(old.and_then(|o| crate::names::no_new_finalizers(o, obj)));
    causes.extend(metadata_causes(rt, obj));
    causes.extend(event_strict);
    if let Some(schema) = &rt.schema {
        let unknown = schema.prune(obj);
        if !unknown.is_empty() {
            let fields: Vec<String> = unknown
                .iter()
                .map(|p| format!("unknown field {}", q(p.trim_start_matches('.'))))
                .collect();
            match opts.validation {
                FieldValidation::Strict => {
                    return Err(ApiError::bad_request(format!(
                        "{} in version {} cannot be handled as a {}: strict decoding error: {}",
                        rt.kind,
                        q(&rt.version),
                        rt.kind,
                        fields.join(", ")
                    )));
                }
                FieldValidation::Warn => warnings.extend(fields),
                FieldValidation::Ignore => {}
            }
        }
        schema.apply_defaults(obj);
        causes.extend(schema.validate(obj, old));
    }
    if causes.is_empty() {
        Ok(warnings)
    } else {
        let name = str_at(obj, "/metadata/name").to_string();
        Err(ApiError::from_status_body(crate::validation::invalid_status(
            &rt.kind, &rt.group, &name, &causes,
        )))
    }
}

/// Checks `apiVersion`/`kind` of a request body against the URL's type.
pub fn check_type(rt: &ResourceType, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type object)",
        ));
    }
    let kind = str_at(body, "/kind");
    let av = str_at(body, "/apiVersion");
    if kind.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            body
        )));
    }
    if av.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'apiVersion' is missing in '{}'",
            body
        )));
    }
    if av != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    Ok(())
}

fn builtin_defaults(rt: &ResourceType, obj: &mut Value) {
    if !rt.group.is_empty() {
        return;
    }
    match rt.plural.as_str() {
        "secrets" => {
            if obj.get("type").is_none() {
                obj["type"] = json!("Opaque");
            }
            if let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
                let data = obj
                    .as_object_mut()
                    .map(|m| m.entry("data").or_insert_with(|| json!({})));
                if let Some(Value::Object(d)) = data {
                    for (k, v) in sd {
                        let s = v.as_str().unwrap_or_default();
                        d.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(s)));
                    }
                }
            }
        }
        "namespaces" => {
            let name = str_at(obj, "/metadata/name").to_string();
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            if obj.pointer("/metadata/deletionTimestamp").is_none() {
                obj["status"] = json!({"phase": "Active"});
            }
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = m.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    l.insert("kubernetes.io/metadata.name".into(), json!(name));
                }
            }
        }
        _ => {}
    }
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        // Unreachable: just inserted an object above.
        _ => unreachable_meta(),
    }
}

#[allow(clippy::panic)]
fn unreachable_meta() -> &'static mut Map<String, Value> {
    panic!("metadata is an object")
}

fn check_namespace(
    w: &World,
    rt: &ResourceType,
    ns: &str,
    obj: &mut Value,
    creating: bool,
) -> Result<(), ApiError> {
    if !rt.namespaced {
        meta_mut(obj).remove("namespace");
        return Ok(());
    }
    let body_ns = str_at(obj, "/metadata/namespace").to_string();
    if !body_ns.is_empty() && body_ns != ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    meta_mut(obj).insert("namespace".into(), json!(ns));
    if creating {
        match w.namespace_state(ns) {
            None => {
                return Err(ApiError::not_found(Target {
                    group: "",
                    plural: "namespaces",
                    name: ns,
                }));
            }
            Some(true) => {
                let mut e = ApiError::new(
                    403,
                    "Forbidden",
                    format!(
                        "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        rt.qualified(),
                        str_at(obj, "/metadata/name")
                    ),
                );
                e.details = Some(
                    json!({"name": str_at(obj, "/metadata/name"), "group": rt.group, "kind": rt.plural, "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]}),
                );
                return Err(e);
            }
            Some(false) => {}
        }
    }
    Ok(())
}

/// POST: creates an object (or, with `applied`, the create half of server-side apply).
pub fn create(
    w: &mut World,
    rt: &Arc<ResourceType>,
    ns: &str,
    mut obj: Value,
    opts: &WriteOpts,
    apply: bool,
) -> Result<Outcome, ApiError> {
    check_type(rt, &obj)?;
    {
        let m = meta_mut(&mut obj);
        if m.get("resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            // The storage layer refuses it with a plain error, which the server answers as a
            // 500 whose Status has no reason.
            return Err(ApiError::new(
                500,
                "",
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty()
            && let Some(prefix) = m.get("generateName").and_then(Value::as_str)
        {
            const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let suffix: String = (0..5)
                .map(|_| ALPHA[rand::random_range(0..ALPHA.len())] as char)
                .collect();
            m.insert("name".into(), json!(format!("{prefix}{suffix}")));
        }
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            m.remove(k);
        }
        if !apply {
            m.remove("managedFields");
        }
    }
    check_namespace(w, rt, ns, &mut obj, true)?;
    if rt.status_subresource
        && rt.from_crd
        && !apply
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    builtin_defaults(rt, &mut obj);
    let warnings = admit(rt, &mut obj, None, opts)?;
    let name = str_at(&obj, "/metadata/name").to_string();
    let key: ObjKey = (
        if rt.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name.clone(),
    );
    if w.get(&rt.key(), &key).is_some() {
        return Err(ApiError::already_exists(target(rt, &name)));
    }
    let crd_type = if crds::is_crd(&rt.key()) {
        Some(crds::prepare(&mut obj)?)
    } else {
        None
    };
    let t = now();
    {
        let m = meta_mut(&mut obj);
        m.insert("uid".into(), json!(uuid()));
        m.insert("creationTimestamp".into(), json!(t));
        if rt.has_generation {
            m.insert("generation".into(), json!(1));
        }
    }
    if !apply {
        managed_fields::record_update(None, &mut obj, &opts.manager, &rt.api_version(), "", &t);
    }
    if opts.dry_run {
        return Ok(Outcome {
            obj,
            code: 201,
            warnings,
        });
    }
    let owned = obj.pointer("/metadata/ownerReferences").is_some();
    let stored = w.store(&rt.key(), obj, "ADDED");
    if owned && !lifecycle::owners_intact(w, &stored) {
        // A dependent whose owners are all gone is collected right away, as the GC would.
        w.gc_dirty = true;
        lifecycle::settle(w);
    }
    if let Some(ct) = crd_type {
        crds::register(w, ct);
    }
    Ok(Outcome {
        obj: stored,
        code: 201,
        warnings,
    })
}

fn content_equal(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            // Ownership changes count as changes; timestamps alone do not.
            if let Some(Value::Array(entries)) = m.get_mut("managedFields") {
                for e in entries.iter_mut() {
                    if let Some(em) = e.as_object_mut() {
                        em.remove("time");
                    }
                }
            }
        }
        v
    };
    strip(a) == strip(b)
}

fn outside(v: &Value, skip_status: bool) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        if skip_status {
            m.remove("status");
        }
    }
    v
}

/// Stores `new` as the next state of `old` (PUT, PATCH, apply on an existing object).
///
/// `new` is what the client asked for; server-owned metadata is taken from `old`.
#[allow(clippy::too_many_arguments)]
pub fn commit_update(
    w: &mut World,
    rt: &Arc<ResourceType>,
    old: &Value,
    mut new: Value,
    subresource: &str,
    opts: &WriteOpts,
    managed: ManagedUpdate,
) -> Result<Outcome, ApiError> {
    let name = str_at(old, "/metadata/name").to_string();
    // Optimistic concurrency: a resourceVersion in the request must match.
    let want_rv = str_at(&new, "/metadata/resourceVersion").to_string();
    if !want_rv.is_empty() && want_rv != str_at(old, "/metadata/resourceVersion") {
        return Err(ApiError::conflict(target(rt, &name)));
    }
    if !new.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type object)",
        ));
    }
    new["apiVersion"] = json!(rt.api_version());
    new["kind"] = json!(rt.kind);
    let body_name = str_at(&new, "/metadata/name").to_string();
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if subresource == "status" {
        let status = new.get("status").cloned();
        let mut merged = old.clone();
        match status {
            Some(s) => merged["status"] = s,
            None => {
                if let Some(m) = merged.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if let (Some(mf), Some(m)) = (
            new.pointer("/metadata/managedFields").cloned(),
            merged.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            m.insert("managedFields".into(), mf);
        }
        new = merged;
    } else if rt.status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    {
        let ns = str_at(old, "/metadata/namespace").to_string();
        let m = meta_mut(&mut new);
        m.insert("name".into(), json!(name));
        if rt.namespaced {
            m.insert("namespace".into(), json!(ns));
        } else {
            m.remove("namespace");
        }
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
        ] {
            match old.pointer(&format!("/metadata/{k}")) {
                Some(v) => {
                    m.insert(k.into(), v.clone());
                }
                None => {
                    m.remove(k);
                }
            }
        }
        if matches!(managed, ManagedUpdate::Record) {
            // managedFields the request changed (kubectl's client-side to server-side apply
            // upgrade rewrites them with a JSON patch) replace the stored ones, as in
            // kube-apiserver; absent or empty, the stored ones stay.
            let stored = old.pointer("/metadata/managedFields");
            let supplied = m
                .remove("managedFields")
                .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()) && Some(v) != stored);
            if let Some(mf) = supplied.or_else(|| stored.cloned()) {
                m.insert("managedFields".into(), mf);
            }
        }
    }
    builtin_defaults(rt, &mut new);
    let warnings = admit(rt, &mut new, Some(old), opts)?;
    if crds::is_crd(&rt.key()) {
        let t = crds::prepare(&mut new)?;
        if !opts.dry_run {
            crds::register(w, t);
        }
    }
    if rt.has_generation && outside(&new, rt.status_subresource) != outside(old, rt.status_subresource) {
        let g = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(&mut new).insert("generation".into(), json!(g + 1));
    }
    let t = now();
    if matches!(managed, ManagedUpdate::Record) {
        managed_fields::record_update(
            Some(old),
            &mut new,
            &opts.manager,
            &rt.api_version(),
            subresource,
            &t,
        );
    }
    if content_equal(&new, old) {
        return Ok(Outcome {
            obj: old.clone(),
            code: 200,
            warnings,
        });
    }
    if opts.dry_run {
        return Ok(Outcome {
            obj: new,
            code: 200,
            warnings,
        });
    }
    if new.pointer("/metadata/deletionTimestamp").is_some() {
        let fins = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0);
        if fins == 0 && !rt.name_is_label() {
            let key = crate::store::obj_key(old);
            w.store(&rt.key(), new, "MODIFIED");
            let removed = w.remove(&rt.key(), &key);
            if let Some(o) = &removed {
                crds::on_removed(w, &rt.key(), o);
            }
            lifecycle::settle(w);
            return Ok(Outcome {
                obj: removed.unwrap_or(Value::Null),
                code: 200,
                warnings,
            });
        }
    }
    let stored = w.store(&rt.key(), new, "MODIFIED");
    if !lifecycle::owners_intact(w, &stored) {
        w.gc_dirty = true;
    }
    lifecycle::settle(w);
    Ok(Outcome {
        obj: stored,
        code: 200,
        warnings,
    })
}

/// How managedFields are maintained by [`commit_update`].
#[derive(Debug, Clone, Copy)]
pub enum ManagedUpdate {
    /// Record an `Update` by the request's manager.
    Record,
    /// Already computed (server-side apply).
    Keep,
}

fn lookup<'a>(w: &'a World, rt: &ResourceType, ns: &str, name: &str) -> Result<&'a Value, ApiError> {
    let key = (
        if rt.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name.to_string(),
    );
    w.get(&rt.key(), &key)
        .ok_or_else(|| ApiError::not_found(target(rt, name)))
}

/// GET one object.
pub fn get(w: &World, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
    lookup(w, rt, ns, name).cloned()
}

/// PUT.
pub fn replace(
    w: &mut World,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    body: Value,
    sub: &str,
    opts: &WriteOpts,
) -> Result<Outcome, ApiError> {
    check_type(rt, &body)?;
    let old = lookup(w, rt, ns, name)?.clone();
    commit_update(w, rt, &old, body, sub, opts, ManagedUpdate::Record)
}

/// Patch flavours by Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml`.
    Apply,
}

impl PatchKind {
    /// From the Content-Type header.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
            _ => Err(ApiError::unsupported_patch(ct)),
        }
    }
}

/// PATCH (all flavours, incl. server-side apply).
#[allow(clippy::too_many_arguments)]
pub fn patch(
    w: &mut World,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    sub: &str,
    opts: &WriteOpts,
) -> Result<Outcome, ApiError> {
    let parsed: Value = if kind == PatchKind::Apply {
        serde_yaml_ng::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
    };
    if kind == PatchKind::Strategic && rt.from_crd {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ));
    }
    let key = (
        if rt.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name.to_string(),
    );
    let existing = w.get(&rt.key(), &key).cloned();
    if kind == PatchKind::Apply {
        if !opts.manager_explicit {
            return Err(ApiError::new(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        check_type(rt, &parsed)?;
        let mut parsed = parsed;
        if str_at(&parsed, "/metadata/name").is_empty() {
            meta_mut(&mut parsed).insert("name".into(), json!(name));
        }
        let body_name = str_at(&parsed, "/metadata/name");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let t = now();
        let req = ApplyRequest {
            manager: &opts.manager,
            force: opts.force,
            api_version: &rt.api_version(),
            subresource: sub,
            has_status_sub: rt.status_subresource,
            time: &t,
        };
        return match existing {
            None => {
                if sub == "status" {
                    return Err(ApiError::not_found(target(rt, name)));
                }
                let obj = managed_fields::apply(None, &parsed, &req)?;
                create(w, rt, ns, obj, opts, true)
            }
            Some(old) => {
                let mut new = managed_fields::apply(Some(&old), &parsed, &req)?;
                if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                if let Some(rv) = parsed.pointer("/metadata/resourceVersion") {
                    meta_mut(&mut new).insert("resourceVersion".into(), rv.clone());
                }
                commit_update(w, rt, &old, new, sub, opts, ManagedUpdate::Keep)
            }
        };
    }
    let old = existing.ok_or_else(|| ApiError::not_found(target(rt, name)))?;
    let mut new = old.clone();
    match kind {
        PatchKind::Merge => patch::merge_patch(&mut new, &parsed),
        PatchKind::Json => patch::json_patch(&mut new, &parsed)?,
        PatchKind::Strategic => patch::strategic_merge(&mut new, &parsed)?,
        PatchKind::Apply => {}
    }
    commit_update(w, rt, &old, new, sub, opts, ManagedUpdate::Record)
}

/// DELETE one object.
pub fn delete(
    w: &mut World,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    prop: Propagation,
    precondition_rv: Option<&str>,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let old = lookup(w, rt, ns, name)?.clone();
    if let Some(rv) = precondition_rv
        && rv != str_at(&old, "/metadata/resourceVersion")
    {
        let mut e = ApiError::conflict(target(rt, name));
        e.message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
            rt.qualified(),
            str_at(&old, "/metadata/resourceVersion")
        );
        return Err(e);
    }
    let key = crate::store::obj_key(&old);
    Ok(lifecycle::begin_delete(w, &rt.key(), &key, prop, dry_run).unwrap_or(old))
}

/// Parsed list options.
#[derive(Debug, Clone, Default)]
pub struct ListOpts {
    /// Label selector.
    pub labels: Option<LabelSelector>,
    /// Field selector.
    pub fields: Option<FieldSelector>,
    /// Page size.
    pub limit: Option<usize>,
    /// Continue token.
    pub continue_token: Option<String>,
}

impl ListOpts {
    /// Whether an object passes the selectors.
    pub fn matches(&self, o: &Value) -> bool {
        self.labels.as_ref().is_none_or(|l| l.matches(o)) && self.fields.as_ref().is_none_or(|f| f.matches(o))
    }
}

/// LIST: (objects, list metadata).
pub fn list(
    w: &World,
    rt: &ResourceType,
    ns: Option<&str>,
    opts: &ListOpts,
) -> Result<(Vec<Value>, Value), ApiError> {
    let start = match &opts.continue_token {
        Some(t) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| ApiError::bad_request("continue key is not valid: illegal base64 data"))?;
            let v: Value = serde_json::from_slice(&raw).map_err(|_| ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
            Some((str_at(&v, "/ns").to_string(), str_at(&v, "/name").to_string()))
        }
        None => None,
    };
    let empty = Default::default();
    let bucket = w.bucket(&rt.key()).unwrap_or(&empty);
    let mut items = Vec::new();
    let mut next: Option<ObjKey> = None;
    let mut remaining = 0u64;
    for (k, o) in bucket.iter() {
        if let Some(n) = ns
            && k.0 != n
        {
            continue;
        }
        if let Some(s) = &start
            && k <= s
        {
            continue;
        }
        if !opts.matches(o) {
            continue;
        }
        if let Some(limit) = opts.limit
            && limit > 0
            && items.len() >= limit
        {
            if next.is_none() {
                next = items.last().map(crate::store::obj_key);
            }
            remaining += 1;
            continue;
        }
        items.push((**o).clone());
    }
    let mut meta = json!({"resourceVersion": w.rv.to_string()});
    if let Some((n, name)) = next {
        let tok = base64::engine::general_purpose::STANDARD
            .encode(json!({"ns": n, "name": name, "rv": w.rv}).to_string());
        meta["continue"] = json!(tok);
        meta["remainingItemCount"] = json!(remaining);
    }
    Ok((items, meta))
}
