//! Adapter to the CRD schema crate (`kube-sim-schema`): structural schema, defaults, pruning, CEL.
//!
//! The schema crate lands piece by piece; this module is the one call site so the server
//! does not change when it does.

use serde_json::Value;

/// A compiled `openAPIV3Schema` of a served CRD version.
#[derive(Debug)]
pub struct CrdSchema {
    raw: Value,
}

/// One field error: (field, reason, message).
pub type Cause = (String, String, String);

impl CrdSchema {
    /// Compiles the schema; errors are messages for the CRD's 422.
    pub fn compile(raw: &Value) -> Result<Self, Vec<String>> {
        if !raw.is_object() {
            return Err(vec!["must be an object".into()]);
        }
        Ok(Self { raw: raw.clone() })
    }

    /// The raw schema.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Applies `default`s.
    pub fn apply_defaults(&self, _obj: &mut Value) {}

    /// Removes unknown fields, returning their paths (`.spec.foo`).
    pub fn prune(&self, _obj: &mut Value) -> Vec<String> {
        Vec::new()
    }

    /// Validates against the schema and CEL rules (old = Some on update).
    pub fn validate(&self, _obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
        Vec::new()
    }
}

/// The 422 body for field errors, shaped like kube-apiserver's.
pub fn invalid_status(kind: &str, group: &str, name: &str, causes: &[Cause]) -> Value {
    crate::status::ApiError::invalid(kind, group, name, causes).to_status()
}
