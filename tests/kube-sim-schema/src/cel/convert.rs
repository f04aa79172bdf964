//! JSON to CEL values, typed by the schema as `UnstructuredToVal` does: `number` fields are doubles
//! even when written as `1`, `date-time` strings are timestamps, and the resource root exposes only
//! `metadata.name`/`metadata.generateName`.

use std::collections::HashMap;
use std::sync::Arc;

use cel_interpreter::Value as Cel;
use cel_interpreter::objects::{Key, Map};
use serde_json::Value;

use crate::schema::Node;

/// Converts `v` (typed by `n`, when known) into a CEL value.
pub(crate) fn to_cel(n: Option<&Node>, v: &Value, is_root: bool) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(num) => {
            let is_double = n.and_then(|n| n.type_.as_deref()) == Some("number");
            match (num.as_i64(), is_double) {
                (Some(i), false) => Cel::Int(i),
                _ => match num.as_u64() {
                    Some(u) if !is_double => Cel::UInt(u),
                    _ => Cel::Float(num.as_f64().unwrap_or(0.0)),
                },
            }
        }
        Value::String(s) => {
            let format = n.and_then(|n| n.format.as_deref());
            if matches!(format, Some("date-time") | Some("datetime"))
                && let Ok(ts) = cel_interpreter::functions::timestamp(Arc::new(s.clone()))
            {
                return ts;
            }
            if format == Some("duration")
                && let Ok(d) = cel_interpreter::functions::duration(Arc::new(s.clone()))
            {
                return d;
            }
            Cel::String(Arc::new(s.clone()))
        }
        Value::Array(items) => {
            let item_schema = n.and_then(|n| n.items.as_deref());
            Cel::List(Arc::new(
                items.iter().map(|it| to_cel(item_schema, it, false)).collect(),
            ))
        }
        Value::Object(map) => {
            let mut out: HashMap<Key, Cel> = HashMap::with_capacity(map.len());
            for (k, val) in map {
                let child = n.and_then(|n| n.property(k).or_else(|| n.additional_schema()));
                let converted = if is_root && k == "metadata" {
                    root_metadata(val)
                } else if child.is_none() && n.is_some_and(|n| n.embedded_resource) && k == "metadata" {
                    to_cel(None, val, false)
                } else {
                    to_cel(child, val, false)
                };
                out.insert(Key::String(Arc::new(k.clone())), converted);
            }
            Cel::Map(Map { map: Arc::new(out) })
        }
    }
}

/// `model.WithTypeAndObjectMeta`: rules on the root see only `metadata.name` and `metadata.generateName`.
fn root_metadata(v: &Value) -> Cel {
    let mut out: HashMap<Key, Cel> = HashMap::new();
    if let Some(m) = v.as_object() {
        for k in ["name", "generateName"] {
            if let Some(Value::String(s)) = m.get(k) {
                out.insert(
                    Key::String(Arc::new(k.to_string())),
                    Cel::String(Arc::new(s.clone())),
                );
            }
        }
    }
    Cel::Map(Map { map: Arc::new(out) })
}
