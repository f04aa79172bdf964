//! Adapter to the CRD schema crate (`kube-sim-schema`): structural schema, defaults, pruning, CEL.

use kube_sim_schema::{FieldError, Schema};
use serde_json::Value;

/// A compiled `openAPIV3Schema` of a served CRD version.
#[derive(Debug)]
pub struct CrdSchema {
    inner: Schema,
}

/// One field error: (field, reason, message).
pub type Cause = (String, String, String);

fn cause(e: FieldError) -> Cause {
    (e.field, e.reason, e.message)
}

impl CrdSchema {
    /// Compiles the schema found at `path` of the CRD (e.g. `spec.versions[0].schema.openAPIV3Schema`);
    /// errors are the causes of the CRD's 422.
    pub fn compile(raw: &Value, path: &str) -> Result<Self, Vec<Cause>> {
        Schema::compile_at(raw, path)
            .map(|inner| Self { inner })
            .map_err(|errs| errs.into_iter().map(cause).collect())
    }

    /// Applies `default`s.
    pub fn apply_defaults(&self, obj: &mut Value) {
        self.inner.apply_defaults(obj);
    }

    /// Removes unknown fields, returning their paths (`spec.foo`).
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        self.inner.prune(obj)
    }

    /// Validates against the schema and CEL rules (old = Some on update).
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        self.inner.validate(obj, old).into_iter().map(cause).collect()
    }
}

/// The 422 body for field errors, shaped like kube-apiserver's.
pub fn invalid_status(kind: &str, group: &str, name: &str, causes: &[Cause]) -> Value {
    let errors: Vec<FieldError> = causes
        .iter()
        .map(|(f, r, m)| FieldError {
            field: f.clone(),
            reason: r.clone(),
            message: m.clone(),
        })
        .collect();
    kube_sim_schema::invalid_status(kind, group, name, &errors)
}
