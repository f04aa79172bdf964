//! CRD generation tests: committed YAML is current, and the schema is one a kube-apiserver accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

#[test]
fn committed_crds_match_types() {
    for (file, crd) in crds() {
        let path = format!("{}/crds/{file}", env!("CARGO_MANIFEST_DIR"));
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        let want = to_yaml(&crd).unwrap();
        assert!(
            have == want,
            "crds/{file} is stale: run `cargo run -- crd --write`"
        );
    }
}

use kube_sim_schema::{FieldError, Schema};
use serde_json::{Value, json};

/// The CRD's schema compiled the way kube-sim (and a real apiserver) compiles it: structural
/// checks, defaults validated, every CEL rule compiled.
fn schema(crd: &CustomResourceDefinition) -> Schema {
    let crd = serde_json::to_value(crd).unwrap();
    let s = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    Schema::compile(s).unwrap_or_else(|e| panic!("{} does not compile: {e:?}", crd["metadata"]["name"]))
}

/// The server's create/update path: prune, default, validate; messages as `kubectl` shows them.
fn admit(s: &Schema, kind: &str, spec: Value, old: Option<Value>) -> Vec<String> {
    let mut pruned = Vec::new();
    let mut wrap = |spec: Value| {
        let mut o = json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": kind,
                           "metadata": {"name": "x", "namespace": "team-a"}, "spec": spec});
        pruned.extend(s.prune(&mut o).into_iter().map(|p| format!("unknown field {p}")));
        s.apply_defaults(&mut o);
        o
    };
    let obj = wrap(spec);
    let old = old.map(&mut wrap);
    // Unknown (pruned) fields count as failures: a misspelt field name would vanish silently.
    let mut errs = pruned;
    errs.extend(s.validate(&obj, old.as_ref()).iter().map(FieldError::to_string));
    errs
}

fn merged(base: &Value, extra: Value) -> Value {
    let mut v = base.clone();
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    v
}

#[test]
fn both_crds_compile_as_structural_schemas() {
    for (file, crd) in crds() {
        schema(&crd);
        let v = serde_json::to_value(&crd).unwrap();
        let version = &v["spec"]["versions"][0];
        assert_eq!(
            version["subresources"]["status"],
            json!({}),
            "{file}: status subresource"
        );
        assert!(
            v["spec"]["names"]["categories"]
                .as_array()
                .unwrap()
                .contains(&json!("auth0")),
            "{file}"
        );
    }
}

#[test]
fn crds_use_only_formats_kube_apiserver_knows() {
    // kube-apiserver warns on every apply about other formats (schemars writes `uint32` for u32).
    const KNOWN: &[&str] = &[
        "int32",
        "int64",
        "float",
        "double",
        "byte",
        "date",
        "date-time",
        "password",
    ];
    fn walk(v: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(f)) = m.get("format")
                    && !KNOWN.contains(&f.as_str())
                {
                    bad.push(format!("{path}: {f}"));
                }
                for (k, v) in m {
                    walk(v, &format!("{path}/{k}"), bad);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, path, bad)),
            _ => {}
        }
    }
    let mut bad = Vec::new();
    for (file, crd) in crate::resources::crds() {
        walk(&serde_json::to_value(&crd).unwrap(), file, &mut bad);
    }
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn printer_columns_match_the_design() {
    let names = |crd: CustomResourceDefinition| -> Vec<String> {
        crd.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.to_uppercase())
            .collect()
    };
    assert_eq!(
        names(CustomDomain::crd()),
        [
            "DOMAIN",
            "TYPE",
            "STATE",
            "VERIFIED",
            "CERTIFICATE",
            "READY",
            "REASON",
            "AGE",
            "MESSAGE"
        ]
    );
    assert_eq!(
        names(Auth0Tenant::crd()),
        [
            "DOMAIN", "READY", "DOMAINS", "DEFAULT", "REASON", "AGE", "MESSAGE"
        ]
    );
    // The message is for `-o wide` only: a plain `kubectl get` stays one short line per object.
    for crd in [CustomDomain::crd(), Auth0Tenant::crd()] {
        let cols = crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap_or_default();
        let wide: Vec<&str> = cols
            .iter()
            .filter(|c| c.priority == Some(1))
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(wide, ["Message"]);
    }
    assert_eq!(
        CustomDomain::crd().spec.names.short_names,
        Some(vec!["acd".to_owned()])
    );
    assert_eq!(
        Auth0Tenant::crd().spec.names.short_names,
        Some(vec!["a0t".to_owned()])
    );
    assert_eq!(Auth0Tenant::crd().spec.scope, "Cluster");
    assert_eq!(CustomDomain::crd().spec.scope, "Namespaced");
}

#[test]
fn custom_domain_admission() {
    let s = schema(&CustomDomain::crd());
    let am = json!({"domain": "login.example.com", "type": "Auth0ManagedCerts"});
    let sm = json!({"domain": "login.example.com", "type": "SelfManagedCerts"});
    let good = [
        am.clone(),
        merged(
            &sm,
            json!({"verificationMethod": "TXT", "mtls": {"enabled": true},
            "certificate": {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
            "metadata": (0..9).map(|i| (format!("k{i}"), json!("v".repeat(255)))).collect::<serde_json::Map<_, _>>(),
            "customClientIPHeader": "cf-connecting-ip", "secretName": "edge.login", "deletionPolicy": "Orphan",
            "relyingPartyIdentifier": "example.com", "dnsEndpoint": {"enabled": true}, "tenantRef": {"name": "eu"}}),
        ),
        merged(&am, json!({"mtls": {"enabled": false}, "certificate": {}})),
        merged(&am, json!({"domain": format!("{}.example.com", "a".repeat(63))})),
        merged(&am, json!({"domain": "xn--lgin-5qa.example.com"})),
        merged(
            &am,
            json!({"domain": "1.example.com", "tenantRef": {"name": "eu.tenant-1"}}),
        ),
        merged(&sm, json!({"relyingPartyIdentifier": "login.example.com"})),
        merged(&am, json!({"tlsPolicy": "recommended"})),
    ];
    for spec in good {
        assert_eq!(
            admit(&s, "CustomDomain", spec.clone(), None),
            Vec::<String>::new(),
            "{spec}"
        );
        assert_eq!(
            admit(&s, "CustomDomain", spec.clone(), Some(spec.clone())),
            Vec::<String>::new(),
            "{spec}"
        );
    }

    // (spec, old spec, text the rejection must contain)
    let bad: Vec<(Value, Option<Value>, &str)> = vec![
        (
            merged(&am, json!({"domain": "*.example.com"})),
            None,
            "wildcard domains are not supported by Auth0: create one CustomDomain per host name",
        ),
        (
            merged(&am, json!({"domain": "login.example.com."})),
            None,
            "remove the trailing dot from domain",
        ),
        (
            merged(&am, json!({"domain": "Login.Example.com"})),
            None,
            "domain must be lower-case",
        ),
        (
            merged(&am, json!({"domain": "localhost"})),
            None,
            "spec.domain must be a lower-case host name like login.example.com",
        ),
        (
            merged(&am, json!({"domain": format!("{}.example.com", "a".repeat(64))})),
            None,
            "spec.domain must be a lower-case host name like login.example.com",
        ),
        // Each type's own field only: Auth0 answers 400 to the other one.
        (
            merged(&sm, json!({"tlsPolicy": "recommended"})),
            None,
            "tlsPolicy is only valid for Auth0ManagedCerts",
        ),
        (
            merged(&am, json!({"customClientIPHeader": "true-client-ip"})),
            None,
            "customClientIPHeader is only valid for SelfManagedCerts",
        ),
        // Rules added with the bad-input corpus (tests/bad-input).
        (
            merged(&am, json!({"domain": "192.168.10.20"})),
            None,
            "top-level domain that starts with a letter (no scheme, port, path, IP address",
        ),
        (
            merged(&am, json!({"domain": "login.example.123"})),
            None,
            "spec.domain must be a lower-case host name",
        ),
        (
            merged(&am, json!({"domain": "https://login.example.com"})),
            None,
            "spec.domain: Invalid value: \"string\": spec.domain must be a lower-case host name",
        ),
        (
            merged(&am, json!({"domain": "lögin.example.com"})),
            None,
            "write an internationalised name in its xn-- punycode form",
        ),
        (
            merged(&am, json!({"domain": "login.*.example.com"})),
            None,
            "wildcard domains are not supported by Auth0",
        ),
        (
            merged(&am, json!({"tenantRef": {"name": "eu"}})),
            Some(am.clone()),
            "spec.tenantRef: Invalid value: \"object\": spec.tenantRef is immutable",
        ),
        (
            merged(&am, json!({"tenantRef": {"name": "EU_tenant"}})),
            None,
            "spec.tenantRef.name in body should match",
        ),
        (
            merged(&sm, json!({"relyingPartyIdentifier": "https://example.com"})),
            None,
            "spec.relyingPartyIdentifier must be a lower-case host name",
        ),
        (
            merged(&sm, json!({"relyingPartyIdentifier": "example.org"})),
            None,
            "spec.relyingPartyIdentifier: Invalid value: \"object\": spec.relyingPartyIdentifier must be spec.domain or a parent domain",
        ),
        (
            merged(
                &sm,
                json!({"domain": "login.myexample.com", "relyingPartyIdentifier": "example.com"}),
            ),
            None,
            "must be spec.domain or a parent domain",
        ),
        (
            merged(
                &am,
                json!({"domain": format!("{}.com", vec!["a".repeat(60); 5].join("."))}),
            ),
            None,
            "spec.domain: Too long: may not be more than 253",
        ),
        (
            merged(&am, json!({"domain": "other.example.com"})),
            Some(am.clone()),
            "domain is immutable: create a new CustomDomain to use a different domain",
        ),
        (
            merged(&am, json!({"type": "SelfManagedCerts"})),
            Some(am.clone()),
            "type is immutable: create a new CustomDomain",
        ),
        (
            merged(&am, json!({"type": "Self"})),
            None,
            "spec.type: Unsupported value: \"Self\"",
        ),
        (
            merged(&am, json!({"verificationMethod": "TXT"})),
            None,
            "spec: Invalid value: \"object\": verificationMethod is only valid for SelfManagedCerts",
        ),
        (
            merged(&sm, json!({"verificationMethod": "CNAME"})),
            None,
            "spec.verificationMethod: Unsupported value",
        ),
        (
            merged(&am, json!({"mtls": {"enabled": true}})),
            None,
            "mTLS is only supported on SelfManagedCerts domains: remove spec.mtls",
        ),
        (
            merged(&am, json!({"certificate": {"issuerRef": {"name": "le"}}})),
            None,
            "certificate.issuerRef is only valid for SelfManagedCerts",
        ),
        (
            merged(&am, json!({"tlsPolicy": "compatible"})),
            None,
            "spec.tlsPolicy: Unsupported value: \"compatible\"",
        ),
        (
            merged(&am, json!({"customClientIPHeader": "x-real-ip"})),
            None,
            "spec.customClientIPHeader: Unsupported value",
        ),
        (
            merged(&am, json!({"deletionPolicy": "Retain"})),
            None,
            "spec.deletionPolicy: Unsupported value",
        ),
        (
            merged(
                &am,
                json!({"metadata": (0..10).map(|i| (format!("k{i}"), "v")).collect::<std::collections::BTreeMap<_, _>>()}),
            ),
            None,
            "spec.metadata: Too many: 10: must have at most 9 items",
        ),
        (
            merged(&am, json!({"metadata": {"k": "v".repeat(256)}})),
            None,
            "spec.metadata.k: Too long: may not be more than 255",
        ),
        (
            merged(&am, json!({"metadata": {"k8s_owner": "me"}})),
            None,
            "metadata key k8s_owner is reserved",
        ),
        (
            merged(&am, json!({"metadata": {"k".repeat(256): "v"}})),
            None,
            "metadata keys must be 1 to 255 characters long",
        ),
        (
            merged(&am, json!({"secretName": "Bad_Name"})),
            None,
            "spec.secretName in body should match",
        ),
        (
            json!({"domain": "login.example.com"}),
            None,
            "spec.type: Required value",
        ),
    ];
    let mut failures = Vec::new();
    for (spec, old, want) in bad {
        let errs = admit(&s, "CustomDomain", spec.clone(), old);
        if !errs.iter().any(|e| e.contains(want)) {
            failures.push(format!("{spec}: want {want:?}, got {errs:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn custom_domain_defaults() {
    let s = schema(&CustomDomain::crd());
    let mut o = json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
        "metadata": {"name": "x", "namespace": "a"}, "spec": {"domain": "a.example.com", "type": "Auth0ManagedCerts"}});
    s.apply_defaults(&mut o);
    assert_eq!(o["spec"]["tenantRef"]["name"], "default");
    // Not defaulted: Auth0 applies `recommended` itself, and refuses it on self-managed domains.
    assert_eq!(o["spec"]["tlsPolicy"], serde_json::Value::Null);
    assert_eq!(o["spec"]["deletionPolicy"], "Delete");
    // The defaulted object is what the operator reads.
    let cd: CustomDomain = serde_json::from_value(o).unwrap();
    assert_eq!(cd.secret_name(), "x-auth0-edge");
}

#[test]
fn auth0_tenant_admission_and_defaults() {
    let s = schema(&Auth0Tenant::crd());
    let base = json!({"domain": "acme.eu.auth0.com", "credentialsSecretRef": {"namespace": "auth0", "name": "creds"}});
    let mut o = json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": "default"}, "spec": base.clone()});
    s.apply_defaults(&mut o);
    assert_eq!(
        o["spec"]["rateLimit"],
        json!({"requestsPerSecond": 2, "burst": 2})
    );
    assert_eq!(o["spec"]["resyncInterval"], "10m");
    assert_eq!(o["spec"]["entitlement"], 20);
    assert_eq!(o["spec"]["allowedNamespaces"]["from"], "All");
    assert_eq!(o["spec"]["credentialsSecretRef"]["clientIdKey"], "client_id");

    let good = [
        base.clone(),
        merged(
            &base,
            json!({"managementApiUrl": "http://127.0.0.1:8443", "resyncInterval": "1h30m",
            "allowedNamespaces": {"from": "Selector", "selector": {"matchLabels": {"auth0": "yes"}}},
            "rateLimit": {"requestsPerSecond": 50, "burst": 100}, "defaultCustomDomain": "login.example.com",
            "mtls": {"enableEndpointAliases": true}, "entitlement": 1000}),
        ),
        merged(&base, json!({"resyncInterval": "30s"})),
        merged(
            &base,
            json!({"resyncInterval": "99999h59m59s", "domain": "xn--acm-bma.auth0.com",
            "credentialsSecretRef": {"namespace": "a-1", "name": "c.d", "clientIdKey": "ID_1.x", "clientSecretKey": "s-e_c"}}),
        ),
    ];
    for spec in good {
        assert_eq!(
            admit(&s, "Auth0Tenant", spec.clone(), None),
            Vec::<String>::new(),
            "{spec}"
        );
    }
    let bad: Vec<(Value, &str)> = vec![
        (
            merged(&base, json!({"resyncInterval": "10s"})),
            "resyncInterval must be at least 30s",
        ),
        (
            merged(&base, json!({"resyncInterval": "10 minutes"})),
            "spec.resyncInterval in body should match",
        ),
        (
            merged(&base, json!({"managementApiUrl": "ftp://acme"})),
            "managementApiUrl must be an http(s) URL",
        ),
        (
            merged(&base, json!({"allowedNamespaces": {"from": "Selector"}})),
            "spec.allowedNamespaces: Invalid value: \"object\": allowedNamespaces.from is Selector: set allowedNamespaces.selector",
        ),
        (
            merged(&base, json!({"allowedNamespaces": {"from": "Some"}})),
            "Unsupported value: \"Some\"",
        ),
        (
            merged(&base, json!({"rateLimit": {"requestsPerSecond": 0}})),
            "spec.rateLimit.requestsPerSecond: Invalid value",
        ),
        (
            merged(&base, json!({"entitlement": 0})),
            "spec.entitlement: Invalid value",
        ),
        (
            merged(&base, json!({"domain": "ACME.auth0.com"})),
            "spec.domain must be the tenant's Auth0 host name",
        ),
        // Rules added with the bad-input corpus (tests/bad-input).
        (
            merged(&base, json!({"domain": "10.1.2.3"})),
            "spec.domain must be the tenant's Auth0 host name",
        ),
        (
            merged(&base, json!({"defaultCustomDomain": "*.example.com"})),
            "spec.defaultCustomDomain must be the host name of a verified custom domain",
        ),
        (
            merged(&base, json!({"resyncInterval": "99999999999999h"})),
            "spec.resyncInterval in body should match",
        ),
        (
            merged(&base, json!({"resyncInterval": "1h1h1h1h"})),
            "spec.resyncInterval in body should match",
        ),
        (
            merged(
                &base,
                json!({"credentialsSecretRef": {"namespace": "Auth0", "name": "creds"}}),
            ),
            "spec.credentialsSecretRef.namespace in body should match",
        ),
        (
            merged(
                &base,
                json!({"credentialsSecretRef": {"namespace": "auth0", "name": "auth0_creds"}}),
            ),
            "spec.credentialsSecretRef.name in body should match",
        ),
        (
            merged(
                &base,
                json!({"credentialsSecretRef": {"namespace": "auth0", "name": "c", "clientSecretKey": "../x"}}),
            ),
            "spec.credentialsSecretRef.clientSecretKey in body should match",
        ),
        (
            merged(
                &base,
                json!({"credentialsSecretRef": {"namespace": "auth0", "name": "c", "clientIdKey": ""}}),
            ),
            "spec.credentialsSecretRef.clientIdKey",
        ),
        (
            json!({"domain": "acme.eu.auth0.com"}),
            "spec.credentialsSecretRef: Required value",
        ),
    ];
    let mut failures = Vec::new();
    for (spec, want) in bad {
        let errs = admit(&s, "Auth0Tenant", spec.clone(), None);
        if !errs.iter().any(|e| e.contains(want)) {
            failures.push(format!("{spec}: want {want:?}, got {errs:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn planner_status_passes_the_status_schema() {
    use crate::resources::conditions::{ConditionType, Reason, condition};
    use crate::resources::custom_domain::*;
    let s = schema(&CustomDomain::crd());
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let status = CustomDomainStatus {
        custom_domain_id: Some("cd_0123456789abcdef".into()),
        state: Some(DomainState::PendingVerification),
        phase: Some(Phase::PendingVerification),
        is_default: Some(false),
        primary: Some(false),
        origin_domain_name: Some("o.example".into()),
        mtls_alias: Some("mtls.login.example.com".into()),
        verification: Some(VerificationStatus {
            status: Some("pending".into()),
            records: vec![VerificationRecordStatus {
                type_: "TXT".into(),
                name: "n".into(),
                value: "v".into(),
            }],
            error_message: Some("missing".into()),
            last_verified_at: None,
            dns_observed: Some(false),
            verify_expected_at: None,
        }),
        certificate: Some(CertificateStatus {
            status: Some("provisioning".into()),
            ..Default::default()
        }),
        secret_ref: Some(SecretRef {
            name: "x-auth0-edge".into(),
        }),
        observed_generation: Some(2),
        adoption: Some(AdoptionRecord {
            adopted_at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now),
            key_in_secret: false,
        }),
        last_synced_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
        create_refused: Some(CreateRefusal {
            generation: 2,
            retry_after: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
        }),
        conditions: vec![
            condition(
                ConditionType::Ready,
                false,
                Reason::AwaitingDns,
                "Create TXT record …",
                Some(2),
                now,
            ),
            condition(
                ConditionType::Reconciling,
                true,
                Reason::AwaitingDns,
                "Create TXT record …",
                Some(2),
                now,
            ),
        ],
    };
    let mut obj = json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
        "metadata": {"name": "x", "namespace": "a"},
        "spec": {"domain": "login.example.com", "type": "SelfManagedCerts"},
        "status": serde_json::to_value(&status).unwrap()});
    let pruned = s.prune(&mut obj);
    assert!(pruned.is_empty(), "status fields pruned: {pruned:?}");
    s.apply_defaults(&mut obj);
    let errs: Vec<String> = s.validate(&obj, None).iter().map(FieldError::to_string).collect();
    assert_eq!(errs, Vec::<String>::new());
    let back: CustomDomain = serde_json::from_value(obj).unwrap();
    assert_eq!(back.status, Some(status));
}

#[test]
fn examples_are_admitted_and_read_back() {
    let cd = schema(&CustomDomain::crd());
    let tenant = schema(&Auth0Tenant::crd());
    let dir = format!("{}/examples", env!("CARGO_MANIFEST_DIR"));
    let mut seen = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let obj = <Value as serde::Deserialize>::deserialize(doc).unwrap();
            let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
            let errs = match kind.as_str() {
                "CustomDomain" => {
                    serde_json::from_value::<CustomDomain>(obj.clone()).unwrap();
                    admit(&cd, &kind, obj["spec"].clone(), None)
                }
                "Auth0Tenant" => {
                    serde_json::from_value::<Auth0Tenant>(obj.clone()).unwrap();
                    admit(&tenant, &kind, obj["spec"].clone(), None)
                }
                _ => continue,
            };
            assert_eq!(errs, Vec::<String>::new(), "{}", path.display());
            *seen.entry(kind).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.get("Auth0Tenant"), Some(&1));
    assert_eq!(seen.get("CustomDomain"), Some(&5));
}

/// `plan::validate_spec` (the operator's re-check for clusters without CRD validation) and the
/// CRD's admission agree on every spec the operator can read.
#[test]
fn validate_spec_agrees_with_admission() {
    let s = schema(&CustomDomain::crd());
    let long_label = "a".repeat(64);
    let specs = [
        json!({"domain": "login.example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": "a.b", "type": "SelfManagedCerts"}),
        json!({"domain": "x-1.example.co.uk", "type": "SelfManagedCerts", "verificationMethod": "TXT"}),
        json!({"domain": "*.example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": "login.example.com.", "type": "Auth0ManagedCerts"}),
        json!({"domain": "LOGIN.example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": "localhost", "type": "Auth0ManagedCerts"}),
        json!({"domain": "-a.example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": "a-.example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": "a..example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": "a_b.example.com", "type": "Auth0ManagedCerts"}),
        json!({"domain": format!("{long_label}.example.com"), "type": "Auth0ManagedCerts"}),
        json!({"domain": format!("{}.com", vec!["a".repeat(63); 4].join(".")), "type": "Auth0ManagedCerts"}),
        json!({"domain": format!("{}.com", vec!["a".repeat(61); 4].join(".")), "type": "Auth0ManagedCerts"}),
        json!({"domain": "login.example.com", "type": "Auth0ManagedCerts", "verificationMethod": "TXT"}),
        json!({"domain": "login.example.com", "type": "Auth0ManagedCerts", "mtls": {"enabled": true}}),
        json!({"domain": "login.example.com", "type": "Auth0ManagedCerts", "mtls": {"enabled": false}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "mtls": {"enabled": true}}),
        json!({"domain": "login.example.com", "type": "Auth0ManagedCerts", "certificate": {"issuerRef": {"name": "x"}}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "certificate": {"issuerRef": {"name": "x"}}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "metadata": {"k8s_owner": "x"}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "metadata": {"": "x"}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "metadata": {"k": "v".repeat(255)}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "metadata": {"k": "v".repeat(256)}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "metadata": {"k".repeat(255): "v"}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "metadata": {"k".repeat(256): "v"}}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts",
               "metadata": (0..9).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts",
               "metadata": (0..10).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "secretName": "edge.login-1"}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "secretName": "Edge"}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "secretName": "edge-"}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "relyingPartyIdentifier": ""}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "relyingPartyIdentifier": "example.com"}),
        json!({"domain": "login.example.com", "type": "SelfManagedCerts", "tenantRef": {"name": ""}}),
    ];
    let mut disagreements = Vec::new();
    for spec in specs {
        let admitted = admit(&s, "CustomDomain", spec.clone(), None);
        let parsed: CustomDomainSpec = serde_json::from_value(spec.clone()).unwrap();
        let checked = crate::custom_domain::plan::validate_spec(&parsed);
        if admitted.is_empty() != checked.is_ok() {
            disagreements.push(format!(
                "{spec}\n  admission: {admitted:?}\n  validate_spec: {checked:?}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
