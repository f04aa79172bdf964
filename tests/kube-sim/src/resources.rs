//! The resource types the simulator serves: built-ins and those registered by CRDs.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::validation::CrdSchema;

/// One printer column (from `additionalPrinterColumns` or a built-in default).
#[derive(Debug, Clone)]
pub struct Column {
    /// Header shown by kubectl.
    pub name: String,
    /// OpenAPI type: string, integer, number, boolean, date.
    pub type_: String,
    /// JSONPath into the object (`.spec.domain`), or a built-in computed column key starting with `@`.
    pub json_path: String,
    /// Description for `columnDefinitions`.
    pub description: String,
    /// 0 = default view, > 0 = `-o wide` only.
    pub priority: i64,
    /// OpenAPI format (e.g. `name` for the first column).
    pub format: String,
}

impl Column {
    fn builtin(name: &str, type_: &str, path: &str, priority: i64) -> Self {
        Self {
            name: name.into(),
            type_: type_.into(),
            json_path: path.into(),
            description: String::new(),
            priority,
            format: String::new(),
        }
    }
}

/// A resource type the server knows how to serve.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Served version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural (URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced or cluster scoped.
    pub namespaced: bool,
    /// Short names (`acd`).
    pub short_names: Vec<String>,
    /// Categories (`all`, `auth0`).
    pub categories: Vec<String>,
    /// Whether `/status` is a separate subresource.
    pub status_subresource: bool,
    /// Printer columns after NAME.
    pub columns: Vec<Column>,
    /// Compiled CRD schema (None = schemaless).
    pub schema: Option<Arc<CrdSchema>>,
    /// The raw `openAPIV3Schema` (for OpenAPI documents and explain).
    pub raw_schema: Option<Value>,
    /// Whether the type comes from a CRD.
    pub from_crd: bool,
    /// Whether `metadata.generation` is maintained.
    pub has_generation: bool,
    /// CRD `selectableFields` (paths without the leading dot: `spec.color`).
    pub selectable_fields: Vec<String>,
    /// CRD `subresources.scale`.
    pub scale: Option<ScaleSpec>,
    /// A virtual, create-only type (access reviews): answered, never stored.
    pub review: bool,
}

/// A CRD's `subresources.scale` (JSON paths without the leading dot).
#[derive(Debug, Clone)]
pub struct ScaleSpec {
    /// `specReplicasPath` (`spec.replicas`).
    pub spec_replicas_path: String,
    /// `statusReplicasPath` (`status.replicas`).
    pub status_replicas_path: String,
    /// `labelSelectorPath`, if any.
    pub label_selector_path: Option<String>,
}

impl ResourceType {
    /// `group/version` or `v1` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The key used to index types and objects.
    pub fn key(&self) -> ResKey {
        ResKey {
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }

    /// `customdomains.auth0...` / `secrets`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Verbs listed in discovery.
    pub fn verbs(&self) -> Vec<&'static str> {
        if self.review {
            return vec!["create"];
        }
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// Checks a field selector label as the type's field label conversion does; `Err` is the
    /// message of the server's 400.
    pub fn check_field_label(&self, label: &str) -> Result<(), String> {
        let unsupported = || Err(format!("field label not supported: {label}"));
        if self.from_crd {
            return match label {
                "metadata.name" => Ok(()),
                "metadata.namespace" if self.namespaced => Ok(()),
                l if self.selectable_fields.iter().any(|f| f == l) => Ok(()),
                _ => unsupported(),
            };
        }
        let specific: Option<&[&str]> = match (self.group.as_str(), self.plural.as_str()) {
            ("", "secrets") => Some(&["type", "metadata.namespace", "metadata.name"]),
            ("", "namespaces") => Some(&["status.phase", "metadata.name"]),
            ("", "services") => Some(&[
                "metadata.namespace",
                "metadata.name",
                "spec.clusterIP",
                "spec.type",
            ]),
            ("", "events") => Some(&[
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
                "metadata.namespace",
                "metadata.name",
            ]),
            ("events.k8s.io", "events") => Some(&[
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "regarding.apiVersion",
                "regarding.resourceVersion",
                "regarding.fieldPath",
                "reason",
                "reportingController",
                "type",
                "metadata.namespace",
                "metadata.name",
            ]),
            ("", "pods") => Some(&[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ]),
            _ => None,
        };
        match specific {
            Some(labels) if labels.contains(&label) => Ok(()),
            Some(_) => unsupported(),
            // Types without their own conversion accept only the ObjectMeta fields.
            None if matches!(label, "metadata.name" | "metadata.namespace") => Ok(()),
            None => Err(format!(
                "\"{label}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )),
        }
    }

    /// The `metadata.name` rules: built-ins and CRs are DNS subdomains, namespaces DNS labels.
    pub fn name_is_label(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }
}

/// Group + plural: the identity of a resource type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ResKey {
    /// API group.
    pub group: String,
    /// Plural.
    pub plural: String,
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    short: &[&str],
    categories: &[&str],
    status: bool,
    columns: Vec<Column>,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        status_subresource: status,
        columns,
        schema: None,
        raw_schema: None,
        from_crd: false,
        has_generation: !group.is_empty() || matches!(plural, "services"),
        selectable_fields: Vec::new(),
        scale: None,
        review: false,
    }
}

fn review(kind: &str, plural: &str) -> ResourceType {
    let mut t = builtin(
        "authorization.k8s.io",
        "v1",
        kind,
        plural,
        false,
        &[],
        &[],
        false,
        Vec::new(),
    );
    t.review = true;
    t.has_generation = false;
    t
}

fn age() -> Column {
    Column::builtin("Age", "date", ".metadata.creationTimestamp", 0)
}

/// The built-in resource types.
pub fn builtins() -> Vec<ResourceType> {
    let c = Column::builtin;
    vec![
        review("SelfSubjectAccessReview", "selfsubjectaccessreviews"),
        review("SelfSubjectRulesReview", "selfsubjectrulesreviews"),
        builtin(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &["ns"],
            &[],
            true,
            vec![c("Status", "string", ".status.phase", 0), age()],
        ),
        builtin(
            "",
            "v1",
            "Secret",
            "secrets",
            true,
            &[],
            &[],
            false,
            vec![
                c("Type", "string", ".type", 0),
                c("Data", "integer", "@count:.data", 0),
                age(),
            ],
        ),
        builtin(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["cm"],
            &[],
            false,
            vec![c("Data", "integer", "@count:.data", 0), age()],
        ),
        builtin(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            &[],
            false,
            vec![c("Secrets", "integer", "@count:.secrets", 0), age()],
        ),
        builtin(
            "",
            "v1",
            "Event",
            "events",
            true,
            &["ev"],
            &[],
            false,
            vec![
                c("Last Seen", "string", "@age:.lastTimestamp", 0),
                c("Type", "string", ".type", 0),
                c("Reason", "string", ".reason", 0),
                c("Object", "string", "@object", 0),
                c("Message", "string", ".message", 0),
                c("Name", "string", ".metadata.name", 1),
            ],
        ),
        builtin(
            "",
            "v1",
            "Service",
            "services",
            true,
            &["svc"],
            &["all"],
            true,
            vec![
                c("Type", "string", ".spec.type", 0),
                c("Cluster-IP", "string", ".spec.clusterIP", 0),
                age(),
            ],
        ),
        builtin(
            "",
            "v1",
            "Pod",
            "pods",
            true,
            &["po"],
            &["all"],
            true,
            vec![c("Status", "string", ".status.phase", 0), age()],
        ),
        builtin(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            true,
            &["ev"],
            &[],
            false,
            vec![
                c("Reason", "string", ".reason", 0),
                c("Note", "string", ".note", 0),
                age(),
            ],
        ),
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            &[],
            false,
            vec![c("Holder", "string", ".spec.holderIdentity", 0), age()],
        ),
        builtin(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["deploy"],
            &["all"],
            true,
            vec![
                c("Ready", "string", "@ready", 0),
                c("Up-to-date", "integer", ".status.updatedReplicas", 0),
                c("Available", "integer", ".status.availableReplicas", 0),
                age(),
            ],
        ),
        builtin(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            &["pdb"],
            &[],
            true,
            vec![
                c("Min Available", "string", ".spec.minAvailable", 0),
                c("Max Unavailable", "string", ".spec.maxUnavailable", 0),
                age(),
            ],
        ),
        builtin(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
            &["netpol"],
            &[],
            false,
            vec![age()],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            &[],
            false,
            vec![c("Created At", "string", ".metadata.creationTimestamp", 0)],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            &[],
            false,
            vec![c("Role", "string", "@roleRef", 0), age()],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            &[],
            false,
            vec![c("Created At", "string", ".metadata.creationTimestamp", 0)],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            &[],
            false,
            vec![c("Role", "string", "@roleRef", 0), age()],
        ),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            false,
            &[],
            &[],
            false,
            vec![age()],
        ),
        builtin(
            "monitoring.coreos.com",
            "v1",
            "ServiceMonitor",
            "servicemonitors",
            true,
            &[],
            &[],
            false,
            vec![age()],
        ),
        builtin(
            "monitoring.coreos.com",
            "v1",
            "PrometheusRule",
            "prometheusrules",
            true,
            &[],
            &[],
            false,
            vec![age()],
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            &["api-extensions"],
            true,
            vec![c("Created At", "string", ".metadata.creationTimestamp", 0)],
        ),
    ]
}

/// Errors turning a CRD into a served type.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// A required field is missing or malformed.
    #[error("{field}: {message}")]
    Invalid {
        /// Field path.
        field: String,
        /// `FieldValueInvalid`, `FieldValueRequired`, ...
        reason: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: &str, message: &str) -> CrdError {
    let reason = if message.starts_with("Required value") {
        "FieldValueRequired"
    } else {
        "FieldValueInvalid"
    };
    CrdError::Invalid {
        field: field.into(),
        reason: reason.into(),
        message: message.into(),
    }
}

/// Where errors in a version's schema are reported: kube-apiserver validates the internal form
/// of a CRD, in which versions that all share one schema have it at `spec.validation`.
fn schema_path(versions: &[Value], index: usize) -> String {
    let first = versions
        .first()
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"));
    if versions
        .iter()
        .all(|v| v.pointer("/schema/openAPIV3Schema") == first)
    {
        "spec.validation.openAPIV3Schema".to_string()
    } else {
        format!("spec.versions[{index}].schema.openAPIV3Schema")
    }
}

/// Builds the served type from a CRD object (storage version, or first served version).
pub fn from_crd(crd: &Value) -> Result<ResourceType, Vec<CrdError>> {
    let spec = crd
        .get("spec")
        .ok_or_else(|| vec![invalid("spec", "Required value")])?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let group = s(spec, "group");
    let names = spec.get("names").cloned().unwrap_or(json!({}));
    let plural = s(&names, "plural");
    let kind = s(&names, "kind");
    let mut errs = Vec::new();
    if group.is_empty() {
        errs.push(invalid("spec.group", "Required value"));
    }
    if plural.is_empty() {
        errs.push(invalid("spec.names.plural", "Required value"));
    }
    if kind.is_empty() {
        errs.push(invalid("spec.names.kind", "Required value"));
    }
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        errs.push(invalid(
            "metadata.name",
            &format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let scope = s(spec, "scope");
    if scope != "Namespaced" && scope != "Cluster" {
        errs.push(invalid(
            "spec.scope",
            &format!("Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let chosen = versions
        .iter()
        .enumerate()
        .find(|(_, v)| v.get("storage").and_then(Value::as_bool) == Some(true))
        .or_else(|| {
            versions
                .iter()
                .enumerate()
                .find(|(_, v)| v.get("served").and_then(Value::as_bool) == Some(true))
        })
        .map(|(i, v)| (i, v.clone()));
    let Some((index, version)) = chosen else {
        errs.push(invalid(
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version",
        ));
        return Err(errs);
    };
    let raw_schema = version.pointer("/schema/openAPIV3Schema").cloned();
    let schema = match &raw_schema {
        Some(raw) => match CrdSchema::compile(raw, &schema_path(&versions, index)) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                for (field, reason, message) in e {
                    errs.push(CrdError::Invalid {
                        field,
                        reason,
                        message,
                    });
                }
                None
            }
        },
        None => None,
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let mut columns: Vec<Column> = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| Column {
                    name: s(c, "name"),
                    type_: s(c, "type"),
                    json_path: s(c, "jsonPath"),
                    description: s(c, "description"),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    format: s(c, "format"),
                })
                .collect()
        })
        .unwrap_or_default();
    if version.get("additionalPrinterColumns").is_none() {
        columns.push(age());
    }
    let singular = names
        .get("singular")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| kind.to_lowercase());
    Ok(ResourceType {
        group,
        version: s(&version, "name"),
        kind,
        plural,
        singular,
        namespaced: scope == "Namespaced",
        short_names: strings(names.get("shortNames")),
        categories: strings(names.get("categories")),
        status_subresource: version.pointer("/subresources/status").is_some(),
        columns,
        schema,
        raw_schema,
        from_crd: true,
        has_generation: true,
        selectable_fields: version
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|f| s(f, "jsonPath").trim_start_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default(),
        scale: version.pointer("/subresources/scale").map(|sc| ScaleSpec {
            spec_replicas_path: s(sc, "specReplicasPath").trim_start_matches('.').to_string(),
            status_replicas_path: s(sc, "statusReplicasPath").trim_start_matches('.').to_string(),
            label_selector_path: sc
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .map(|p| p.trim_start_matches('.').to_string()),
        }),
        review: false,
    })
}
