//! Decoding of the Kubernetes protobuf encoding for the few built-in kinds that kubectl's typed
//! `create` sub-commands send that way (`kubectl create secret|configmap|namespace|serviceaccount`).
//!
//! The envelope is `k8s\0` + `runtime.Unknown{typeMeta{apiVersion, kind}, raw}`; `raw` is the
//! `k8s.io/api/core/v1` generated message. Only the fields those commands set are read.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The protobuf content type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (num, ty) = (key >> 3, key & 7);
        let w = match ty {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            1 => {
                pos = pos.checked_add(8)?;
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                let b = buf.get(pos..end)?;
                pos = end;
                Wire::Bytes(b)
            }
            5 => {
                pos = pos.checked_add(4)?;
                Wire::Fixed
            }
            _ => return None,
        };
        out.push((num, w));
    }
    (pos == buf.len()).then_some(out)
}

fn string(b: &[u8]) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

/// A `map<string, string|bytes>` entry.
fn map_entry(b: &[u8], value_bytes: bool) -> Option<(String, Value)> {
    let mut k = String::new();
    let mut v = Value::String(String::new());
    for (n, w) in fields(b)? {
        if let Wire::Bytes(x) = w {
            match n {
                1 => k = string(x)?,
                2 if value_bytes => v = json!(base64::engine::general_purpose::STANDARD.encode(x)),
                2 => v = json!(string(x)?),
                _ => {}
            }
        }
    }
    Some((k, v))
}

fn object_meta(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(x)) => {
                m.insert("name".into(), json!(string(x)?));
            }
            (2, Wire::Bytes(x)) => {
                m.insert("generateName".into(), json!(string(x)?));
            }
            (3, Wire::Bytes(x)) => {
                m.insert("namespace".into(), json!(string(x)?));
            }
            (6, Wire::Bytes(x)) => {
                m.insert("resourceVersion".into(), json!(string(x)?));
            }
            (11, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, false)?;
                labels.insert(k, v);
            }
            (12, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, false)?;
                annotations.insert(k, v);
            }
            (14, Wire::Bytes(x)) => finalizers.push(json!(string(x)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Some(Value::Object(m))
}

fn decode_kind(kind: &str, raw: &[u8]) -> Option<Value> {
    let mut obj = Map::new();
    let mut data = Map::new();
    let mut binary = Map::new();
    let mut string_data = Map::new();
    for (n, w) in fields(raw)? {
        match (kind, n, w) {
            (_, 1, Wire::Bytes(x)) => {
                obj.insert("metadata".into(), object_meta(x)?);
            }
            ("Secret", 2, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, true)?;
                data.insert(k, v);
            }
            ("Secret", 3, Wire::Bytes(x)) => {
                obj.insert("type".into(), json!(string(x)?));
            }
            ("Secret", 4, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, false)?;
                string_data.insert(k, v);
            }
            ("Secret", 5, Wire::Varint(v)) | ("ConfigMap", 4, Wire::Varint(v)) => {
                obj.insert("immutable".into(), json!(v != 0));
            }
            ("ConfigMap", 2, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, false)?;
                data.insert(k, v);
            }
            ("ConfigMap", 3, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, true)?;
                binary.insert(k, v);
            }
            ("ServiceAccount", 4, Wire::Varint(v)) => {
                obj.insert("automountServiceAccountToken".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if !string_data.is_empty() {
        obj.insert("stringData".into(), Value::Object(string_data));
    }
    Some(Value::Object(obj))
}

/// Reads a message of string fields into an object, naming fields by number.
fn strings(b: &[u8], names: &[(u64, &str)]) -> Option<Value> {
    let mut m = Map::new();
    for (n, w) in fields(b)? {
        if let (Wire::Bytes(x), Some((_, name))) = (w, names.iter().find(|(k, _)| *k == n)) {
            m.insert((*name).to_string(), json!(string(x)?));
        }
    }
    Some(Value::Object(m))
}

/// `authorization.k8s.io/v1` SelfSubjectAccessReview / SelfSubjectRulesReview (what
/// `kubectl auth can-i` sends): metadata and spec.
fn decode_review(kind: &str, raw: &[u8]) -> Option<Value> {
    const RESOURCE: &[(u64, &str)] = &[
        (1, "namespace"),
        (2, "verb"),
        (3, "group"),
        (4, "version"),
        (5, "resource"),
        (6, "subresource"),
        (7, "name"),
    ];
    let mut obj = Map::new();
    let mut spec = Map::new();
    for (n, w) in fields(raw)? {
        match (n, w) {
            (1, Wire::Bytes(x)) => {
                obj.insert("metadata".into(), object_meta(x)?);
            }
            (2, Wire::Bytes(x)) if kind == "SelfSubjectRulesReview" => {
                spec = strings(x, &[(1, "namespace")])?.as_object()?.clone();
            }
            (2, Wire::Bytes(x)) => {
                for (sn, sw) in fields(x)? {
                    match (sn, sw) {
                        (1, Wire::Bytes(y)) => {
                            spec.insert("resourceAttributes".into(), strings(y, RESOURCE)?);
                        }
                        (2, Wire::Bytes(y)) => {
                            spec.insert(
                                "nonResourceAttributes".into(),
                                strings(y, &[(1, "path"), (2, "verb")])?,
                            );
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    obj.insert("spec".into(), Value::Object(spec));
    Some(Value::Object(obj))
}

/// Decodes a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let unsupported = || {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
        )
    };
    let rest = body.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request("provided object is not a protobuf message: missing k8s magic prefix")
    })?;
    let bad = || ApiError::bad_request("unable to decode protobuf message");
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for (n, w) in fields(rest).ok_or_else(bad)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (tn, tw) in fields(tm).ok_or_else(bad)? {
                    match (tn, tw) {
                        (1, Wire::Bytes(x)) => api_version = string(x).ok_or_else(bad)?,
                        (2, Wire::Bytes(x)) => kind = string(x).ok_or_else(bad)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(x)) => raw = Some(x),
            _ => {}
        }
    }
    let review = api_version == "authorization.k8s.io/v1"
        && matches!(
            kind.as_str(),
            "SelfSubjectAccessReview" | "SelfSubjectRulesReview"
        );
    if !review
        && (api_version != "v1"
            || !matches!(
                kind.as_str(),
                "Secret" | "ConfigMap" | "Namespace" | "ServiceAccount"
            ))
    {
        return Err(unsupported());
    }
    let mut obj = if review {
        decode_review(&kind, raw.unwrap_or_default())
    } else {
        decode_kind(&kind, raw.unwrap_or_default())
    }
    .ok_or_else(bad)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(num << 3 | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_secret() {
        let meta = [
            field(1, b"s1"),
            field(3, b"ns"),
            field(11, &[field(1, b"app"), field(2, b"x")].concat()),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
            field(3, b"Opaque"),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let obj = decode(&body).unwrap_or_default();
        assert_eq!(
            obj["metadata"],
            json!({"name": "s1", "namespace": "ns", "labels": {"app": "x"}})
        );
        assert_eq!(obj["data"], json!({"k": "dg=="}));
        assert_eq!(obj["type"], "Opaque");
        assert_eq!(obj["kind"], "Secret");
        assert_eq!(decode(b"nope").err().map(|e| e.code), Some(400));
    }

    #[test]
    fn decodes_a_self_subject_access_review() {
        let attrs = [field(1, b"default"), field(2, b"create"), field(5, b"pods")].concat();
        let review = [field(1, &[]), field(2, &field(1, &attrs))].concat();
        let type_meta = [
            field(1, b"authorization.k8s.io/v1"),
            field(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &review)].concat();
        let obj = decode(&body).unwrap_or_default();
        assert_eq!(
            obj["spec"],
            json!({"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}})
        );
        assert_eq!(obj["kind"], "SelfSubjectAccessReview");
    }
}
