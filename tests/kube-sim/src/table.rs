//! `meta.k8s.io/v1 Table` responses for `kubectl get`.

use serde_json::{Value, json};

use crate::jsonpath;
use crate::resources::{Column, ResourceType};

/// How much of each object a Table row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// Nothing.
    None,
    /// PartialObjectMetadata (default).
    Metadata,
    /// The whole object.
    Object,
}

impl Include {
    /// From the query parameter.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Go `duration.HumanDuration`-like short age: `5s`, `3m2s`, `4h`, `2d`.
pub fn human_age(ts: &str) -> String {
    let Ok(t) = ts.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - t.as_second()).max(0);
    if secs < 60 * 2 {
        return format!("{secs}s");
    }
    let mins = secs / 60;
    if mins < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{mins}m")
        } else {
            format!("{mins}m{s}s")
        };
    }
    if mins < 60 * 3 {
        return format!("{mins}m");
    }
    let hours = mins / 60;
    if hours < 8 {
        let m = mins % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    format!("{}d", hours / 24)
}

fn cell(col: &Column, obj: &Value) -> Value {
    if let Some(path) = col.json_path.strip_prefix("@count:") {
        let n = jsonpath::select(obj, path).first().map(|v| match v {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        });
        return json!(n.unwrap_or(0));
    }
    if let Some(path) = col.json_path.strip_prefix("@age:") {
        return match jsonpath::select(obj, path).first().and_then(|v| v.as_str()) {
            Some(ts) => json!(human_age(ts)),
            None => json!("<unknown>"),
        };
    }
    match col.json_path.as_str() {
        "@object" => {
            let kind = obj
                .pointer("/involvedObject/kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase();
            let name = obj
                .pointer("/involvedObject/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return json!(format!("{kind}/{name}"));
        }
        "@roleRef" => {
            let kind = obj
                .pointer("/roleRef/kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = obj
                .pointer("/roleRef/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return json!(format!("{kind}/{name}"));
        }
        "@ready" => {
            let r = obj
                .pointer("/status/readyReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let s = obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            return json!(format!("{r}/{s}"));
        }
        _ => {}
    }
    let found = jsonpath::select(obj, &col.json_path);
    let Some(v) = found.first() else {
        return Value::Null;
    };
    match col.type_.as_str() {
        "date" => v.as_str().map(|s| json!(human_age(s))).unwrap_or(Value::Null),
        "integer" | "number" | "boolean" => (*v).clone(),
        _ => match v {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        },
    }
}

/// Whether the type places NAME itself (core Events show it only with `-o wide`).
fn has_name_column(rt: &ResourceType) -> bool {
    rt.columns.iter().any(|c| c.json_path == ".metadata.name")
}

/// The column definitions (NAME first unless the type places it).
pub fn column_definitions(rt: &ResourceType) -> Vec<Value> {
    let mut cols = if has_name_column(rt) {
        Vec::new()
    } else {
        vec![
            json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", "priority": 0}),
        ]
    };
    for c in &rt.columns {
        let ty = if c.type_ == "date" {
            "string"
        } else {
            c.type_.as_str()
        };
        let format = if c.type_ == "date" {
            "date".to_string()
        } else {
            c.format.clone()
        };
        cols.push(json!({"name": c.name, "type": ty, "format": format, "description": c.description, "priority": c.priority}));
    }
    cols
}

/// One Table row.
pub fn row(rt: &ResourceType, obj: &Value, include: Include) -> Value {
    let mut cells = if has_name_column(rt) {
        Vec::new()
    } else {
        vec![obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null)]
    };
    cells.extend(rt.columns.iter().map(|c| cell(c, obj)));
    let mut r = json!({"cells": cells});
    match include {
        Include::None => {}
        Include::Object => r["object"] = obj.clone(),
        Include::Metadata => {
            let mut meta = obj.get("metadata").cloned().unwrap_or(json!({}));
            if let Some(m) = meta.as_object_mut() {
                m.remove("managedFields");
            }
            r["object"] =
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta});
        }
    }
    r
}

/// A whole Table.
pub fn table(rt: &ResourceType, objs: &[&Value], include: Include, list_meta: Value) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions(rt),
        "rows": objs.iter().map(|o| row(rt, o, include)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        let t = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(3725))
            .map(|t| t.to_string())
            .unwrap_or_default();
        assert_eq!(human_age(&t), "62m");
        let t = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(5))
            .map(|t| t.to_string())
            .unwrap_or_default();
        assert_eq!(human_age(&t), "5s");
    }
}
