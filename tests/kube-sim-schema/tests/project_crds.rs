//! The project's generated CRDs (`crds/*.yaml`) compile, and `CustomDomain` admission rejects what
//! docs/design.md#admission lists, with the texts a user sees from a real 1.32 server.

use kube_sim_schema::{FieldError, RULES_NOT_CHECKED, Schema};
use serde_json::{Value, json};

fn crd_schema(file: &str) -> Schema {
    let path = format!("{}/../../crds/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let crd: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert!(schema.is_object(), "{file} has no openAPIV3Schema");
    Schema::compile(schema).unwrap_or_else(|e| panic!("{file} does not compile: {e:?}"))
}

fn custom_domain(spec: Value) -> Value {
    json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
           "metadata": {"name": "x", "namespace": "default"}, "spec": spec})
}

/// The server's create/update path: prune, default, validate.
fn admit(s: &Schema, spec: Value, old: Option<Value>) -> Vec<String> {
    let mut obj = custom_domain(spec);
    s.prune(&mut obj);
    s.apply_defaults(&mut obj);
    let old = old.map(|o| {
        let mut o = custom_domain(o);
        s.apply_defaults(&mut o);
        o
    });
    s.validate(&obj, old.as_ref())
        .iter()
        .map(FieldError::to_string)
        .collect()
}

#[test]
fn both_crds_compile() {
    crd_schema("customdomains.yaml");
    crd_schema("auth0tenants.yaml");
}

#[test]
fn good_custom_domains_are_admitted_and_defaulted() {
    let s = crd_schema("customdomains.yaml");
    let good = json!({"domain": "login.example.com", "type": "SelfManagedCerts", "verificationMethod": "TXT",
                      "metadata": {"team": "id"}, "mtls": {"enabled": true}});
    assert_eq!(admit(&s, good.clone(), None), Vec::<String>::new());
    assert_eq!(admit(&s, good.clone(), Some(good)), Vec::<String>::new());
    let mut obj = custom_domain(json!({"domain": "a.example.com", "type": "Auth0ManagedCerts"}));
    s.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["tenantRef"]["name"], "default");
    // Not defaulted: Auth0 applies `recommended` itself and refuses tls_policy on self-managed domains.
    assert_eq!(obj["spec"]["tlsPolicy"], Value::Null);
    assert_eq!(obj["spec"]["deletionPolicy"], "Delete");
}

#[test]
fn bad_custom_domains_are_rejected() {
    let s = crd_schema("customdomains.yaml");
    let base = |extra: Value| {
        let mut spec = json!({"domain": "login.example.com", "type": "Auth0ManagedCerts"});
        if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        spec
    };
    let pattern = domain_pattern();

    // Upper-case FQDN: pattern error plus the CEL lower-case rule (pattern errors do not block CEL).
    let e = admit(&s, base(json!({"domain": "Login.example.com"})), None);
    assert_eq!(
        e[0],
        format!(
            r#"spec.domain: Invalid value: "Login.example.com": spec.domain in body should match '{pattern}'"#
        )
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with(r#"spec.domain: Invalid value: "string": domain must be lower-case"#)),
        "{e:?}"
    );

    // Wildcard.
    let e = admit(&s, base(json!({"domain": "*.example.com"})), None);
    assert!(
        e.iter()
            .any(|m| m
                .starts_with(r#"spec.domain: Invalid value: "string": wildcard domains are not supported"#)),
        "{e:?}"
    );

    // Unknown enum value: blocks CEL.
    let e = admit(&s, base(json!({"type": "Foo"})), None);
    assert_eq!(
        e,
        vec![
            r#"spec.type: Unsupported value: "Foo": supported values: "Auth0ManagedCerts", "SelfManagedCerts""#.to_string(),
            format!(r#"<nil>: Invalid value: "null": {RULES_NOT_CHECKED}"#),
        ]
    );

    // Ten metadata keys.
    let many: serde_json::Map<String, Value> = (0..10).map(|i| (format!("k{i}"), json!("v"))).collect();
    let e = admit(&s, base(json!({"metadata": many})), None);
    assert_eq!(e[0], "spec.metadata: Too many: 10: must have at most 9 items");

    // Metadata value over 255 characters.
    let e = admit(&s, base(json!({"metadata": {"k": "v".repeat(256)}})), None);
    assert_eq!(e[0], "spec.metadata.k: Too long: may not be more than 255 bytes");

    // Metadata key over 255 characters (only CEL checks keys).
    let e = admit(&s, base(json!({"metadata": {"k".repeat(256): "v"}})), None);
    assert!(
        e.iter()
            .any(|m| m
                .starts_with(r#"spec.metadata: Invalid value: "object": metadata keys must be 1 to 255"#)),
        "{e:?}"
    );

    // Reserved metadata key.
    let e = admit(&s, base(json!({"metadata": {"k8s_owner": "me"}})), None);
    assert!(e.iter().any(|m| m.contains("k8s_owner is reserved")), "{e:?}");

    // verificationMethod on an Auth0-managed domain.
    let e = admit(&s, base(json!({"verificationMethod": "TXT"})), None);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            r#"spec: Invalid value: "object": verificationMethod is only valid for SelfManagedCerts"#
        ),
        "{e:?}"
    );

    // Changing domain or type.
    let old = base(json!({}));
    let e = admit(
        &s,
        base(json!({"domain": "other.example.com"})),
        Some(old.clone()),
    );
    assert_eq!(
        e,
        vec![
            r#"spec.domain: Invalid value: "string": domain is immutable: create a new CustomDomain to use a different domain"#
        ]
    );
    let e = admit(&s, base(json!({"type": "SelfManagedCerts"})), Some(old));
    assert_eq!(
        e,
        vec![
            r#"spec.type: Invalid value: "string": type is immutable: create a new CustomDomain to change the certificate type"#
        ]
    );

    // Missing required fields.
    let e = admit(&s, json!({}), None);
    assert_eq!(
        e[..2],
        [
            "spec.domain: Required value".to_string(),
            "spec.type: Required value".to_string()
        ]
    );
}

fn domain_pattern() -> String {
    let path = format!("{}/../../crds/customdomains.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let crd: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["domain"]["pattern"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Throughput of the full admission path on a CustomDomain (prune, default, validate with CEL).
/// `cargo test -p kube-sim-schema --release --test project_crds -- --ignored --nocapture`
#[test]
#[ignore = "measurement, not a check"]
fn admission_throughput() {
    let s = crd_schema("customdomains.yaml");
    let spec = json!({"domain": "login.example.com", "type": "SelfManagedCerts", "verificationMethod": "TXT",
                      "metadata": {"team": "id", "env": "prod"}});
    let n = 10_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let e = admit(&s, spec.clone(), Some(spec.clone()));
        assert!(e.is_empty());
    }
    let took = start.elapsed();
    println!(
        "{n} update admissions in {took:?} ({:.0}/s)",
        n as f64 / took.as_secs_f64()
    );
}

fn tenant_admit(s: &Schema, spec: Value) -> Vec<String> {
    let mut obj = json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "Auth0Tenant",
                         "metadata": {"name": "default"}, "spec": spec});
    s.prune(&mut obj);
    s.apply_defaults(&mut obj);
    s.validate(&obj, None).iter().map(FieldError::to_string).collect()
}

#[test]
fn auth0_tenant_admission() {
    let s = crd_schema("auth0tenants.yaml");
    let minimal =
        json!({"domain": "acme.eu.auth0.com", "credentialsSecretRef": {"name": "creds", "namespace": "ops"}});
    assert_eq!(tenant_admit(&s, minimal.clone()), Vec::<String>::new());
    let mut obj = json!({"spec": minimal.clone()});
    s.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["resyncInterval"], "10m");
    assert_eq!(obj["spec"]["allowedNamespaces"]["from"], "All");
    assert_eq!(
        obj["spec"]["rateLimit"],
        json!({"burst": 2, "requestsPerSecond": 2})
    );
    assert_eq!(obj["spec"]["credentialsSecretRef"]["clientIdKey"], "client_id");

    let with = |extra: Value| {
        let mut spec = minimal.clone();
        if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        spec
    };
    let e = tenant_admit(&s, with(json!({"resyncInterval": "10s"})));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            r#"spec.resyncInterval: Invalid value: "string": resyncInterval must be at least 30s"#
        ),
        "{e:?}"
    );
    let e = tenant_admit(&s, with(json!({"allowedNamespaces": {"from": "Selector"}})));
    assert!(
        e[0].starts_with(
            r#"spec.allowedNamespaces: Invalid value: "object": allowedNamespaces.from is Selector"#
        ),
        "{e:?}"
    );
    let e = tenant_admit(
        &s,
        with(json!({"managementApiUrl": "https://x.example.com/?q=1"})),
    );
    assert!(
        e[0].starts_with(
            r#"spec.managementApiUrl: Invalid value: "string": managementApiUrl must be an http(s) URL"#
        ),
        "{e:?}"
    );
    let e = tenant_admit(&s, with(json!({"entitlement": 0})));
    assert_eq!(
        e[0],
        "spec.entitlement: Invalid value: 0: spec.entitlement in body should be greater than or equal to 1"
    );
    assert_eq!(
        tenant_admit(
            &s,
            with(json!({"allowedNamespaces": {"from": "Selector", "selector": {"matchLabels": {"a": "b"}}}}))
        ),
        Vec::<String>::new()
    );
}
