//! Structural defaulting (apiextensions-apiserver `pkg/apiserver/schema/defaulting`): defaults of
//! missing properties are set, then the walk descends, so defaults nested in a fresh default or in
//! `items`/`additionalProperties` apply too; non-nullable `null`s without a default are dropped
//! (`PruneNonNullableNullsWithoutDefaults`).

use serde_json::Value;

use crate::schema::Node;

/// Applies defaults to `v` in place.
pub(crate) fn apply(n: &Node, v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, p) in &n.properties {
                match map.get(k) {
                    None => {
                        if let Some(d) = &p.default {
                            map.insert(k.clone(), d.clone());
                        }
                    }
                    Some(Value::Null) if !p.nullable => match &p.default {
                        Some(d) => {
                            map.insert(k.clone(), d.clone());
                        }
                        None => {
                            map.remove(k);
                        }
                    },
                    Some(_) => {}
                }
            }
            if let Some(s) = n.additional_schema() {
                let nulls: Vec<String> = map
                    .iter()
                    .filter(|(k, val)| val.is_null() && n.property(k).is_none())
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in nulls {
                    if s.nullable {
                        continue;
                    }
                    match &s.default {
                        Some(d) => {
                            map.insert(k, d.clone());
                        }
                        None => {
                            map.remove(&k);
                        }
                    }
                }
            }
            for (k, val) in map.iter_mut() {
                if let Some(p) = n.property(k) {
                    apply(p, val);
                } else if let Some(s) = n.additional_schema() {
                    apply(s, val);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = &n.items {
                for it in items.iter_mut() {
                    if it.is_null()
                        && !s.nullable
                        && let Some(d) = &s.default
                    {
                        *it = d.clone();
                    }
                    apply(s, it);
                }
            }
        }
        _ => {}
    }
}
