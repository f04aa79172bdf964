//! The optional children of a `CustomDomain` (external-dns `DNSEndpoint`, cert-manager
//! `Certificate`) against the in-process Kubernetes API simulator, with the vendored CRDs from
//! `tests/fixtures/` (kube-sim validates custom resources against their CRD schema): applied and
//! owned by the CustomDomain, the mTLS alias in the certificate, deleted when switched off, a clear
//! message (no panic, no error) when a CRD is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use auth0_domain_operator::auth0::types as wire;
use auth0_domain_operator::custom_domain::children::{
    self, CONDITION_TYPE, ChildKind, ChildState, ChildrenReport,
};
use auth0_domain_operator::resources::conditions::Reason;
use auth0_domain_operator::resources::custom_domain::CustomDomain;
use jiff::Timestamp;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type TestResult = Result<(), BoxError>;

const NS: &str = "default";
const CD_CRD: &str = include_str!("../crds/customdomains.yaml");
const DNS_CRD: &str = include_str!("fixtures/external-dns/dnsendpoint-crd.yaml");
const CERT_CRD: &str = include_str!("fixtures/cert-manager/certificate-crd.yaml");

async fn sim() -> Result<(kube_sim::KubeSim, Client), common::BoxError> {
    common::kube_sim().await
}

async fn install_crd(client: &Client, yaml: &str) -> TestResult {
    let crd: Value = serde_yaml_ng::from_str(yaml)?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    api.create(&PostParams::default(), &serde_json::from_value(crd)?)
        .await?;
    Ok(())
}

/// Creates the CustomDomain in the simulator (so it has a real uid for ownerReferences).
async fn create_cd(client: &Client, spec: Value) -> Result<CustomDomain, BoxError> {
    let api: Api<CustomDomain> = Api::namespaced(client.clone(), NS);
    let mut cd = CustomDomain::new("login", serde_json::from_value(spec)?);
    cd.metadata.namespace = Some(NS.to_owned());
    Ok(api.create(&PostParams::default(), &cd).await?)
}

fn remote() -> wire::CustomDomain {
    serde_json::from_value(json!({
        "custom_domain_id": "cd_1", "domain": "login.example.com", "status": "pending_verification",
        "type": "self_managed_certs",
        "verification": {"methods": [{"name": "txt", "record": "\"abc\"", "domain": "_cf-custom-hostname.login.example.com"}]},
    }))
    .unwrap()
}

fn spec_on() -> Value {
    json!({
        "tenantRef": {"name": "prod"}, "domain": "login.example.com", "type": "SelfManagedCerts",
        "mtls": {"enabled": true},
        "dnsEndpoint": {"enabled": true},
        "certificate": {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
    })
}

/// The tenant's `allowedClusterIssuers` in these tests.
fn issuers() -> Vec<String> {
    vec!["letsencrypt".to_owned()]
}

fn api_of(client: &Client, kind: ChildKind) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), NS, &kind.api_resource())
}

/// What the reconcile does with the report: the condition goes into the status it writes.
fn with_condition(mut cd: CustomDomain, report: &ChildrenReport) -> CustomDomain {
    let mut status = cd.status.take().unwrap_or_default();
    status.conditions.retain(|c| c.type_ != CONDITION_TYPE);
    status
        .conditions
        .extend(report.condition(cd.metadata.generation, Timestamp::now()));
    cd.status = Some(status);
    cd
}

#[tokio::test]
async fn children_applied_owned_validated_and_removed() -> TestResult {
    let (_sim, client) = sim().await?;
    for crd in [CD_CRD, DNS_CRD, CERT_CRD] {
        install_crd(&client, crd).await?;
    }
    let cd = create_cd(&client, spec_on()).await?;
    let uid = cd.uid().unwrap();

    // The resource holds no Auth0 domain yet: neither child is made (a name is claimed in Auth0
    // first), the condition says they wait.
    let early = children::sync(&client, &cd, None, &issuers()).await;
    assert_eq!(early.dns_endpoint, ChildState::Waiting);
    assert_eq!(early.certificate, ChildState::Waiting);
    assert!(
        api_of(&client, ChildKind::Certificate)
            .get_opt("login-tls")
            .await?
            .is_none()
    );
    let waiting = early.condition(cd.metadata.generation, Timestamp::now()).unwrap();
    assert_eq!(
        (waiting.status.as_str(), waiting.reason.as_str()),
        ("False", Reason::ChildObjectsWaiting.as_str())
    );

    let report = children::sync(&client, &cd, Some(&remote()), &issuers()).await;
    assert_eq!(
        report.dns_endpoint,
        ChildState::Applied("login-auth0-verification".into())
    );
    assert_eq!(report.certificate, ChildState::Applied("login-tls".into()));
    let cond = report
        .condition(cd.metadata.generation, Timestamp::now())
        .unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("True", Reason::ChildObjectsApplied.as_str())
    );

    let de = api_of(&client, ChildKind::DnsEndpoint)
        .get("login-auth0-verification")
        .await?;
    assert_eq!(
        de.data["spec"]["endpoints"],
        json!([{"dnsName": "_cf-custom-hostname.login.example.com", "recordType": "TXT",
                "recordTTL": 300, "targets": ["abc"]},
               {"dnsName": "mtls.login.example.com", "recordType": "CNAME",
                "recordTTL": 300, "targets": ["login.example.com"]}])
    );
    let cert = api_of(&client, ChildKind::Certificate).get("login-tls").await?;
    assert_eq!(cert.data["spec"]["secretName"], "login-tls");
    assert_eq!(
        cert.data["spec"]["dnsNames"],
        json!(["login.example.com", "mtls.login.example.com"])
    );
    assert_eq!(
        cert.data["spec"]["issuerRef"],
        json!({"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"})
    );
    for obj in [&de, &cert] {
        let owners = obj.metadata.owner_references.clone().unwrap_or_default();
        assert_eq!(owners.len(), 1, "{:?}", obj.metadata.name);
        assert_eq!(owners[0].uid, uid);
        assert_eq!(owners[0].kind, "CustomDomain");
        assert_eq!(owners[0].controller, Some(true));
        assert_eq!(
            obj.labels()["app.kubernetes.io/managed-by"],
            "auth0-domain-operator"
        );
        let managers: Vec<_> = obj
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| m.manager.clone())
            .collect();
        assert!(
            managers.iter().any(|m| m == "auth0-domain-operator"),
            "{managers:?}"
        );
    }

    // The vendored schema is enforced: an invalid privateKey algorithm is refused by the simulator.
    let mut bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "bad", "namespace": NS},
        "spec": {"secretName": "x", "issuerRef": {"name": "i"}, "privateKey": {"algorithm": "DSA"}},
    }))?;
    let err = api_of(&client, ChildKind::Certificate)
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("schema must reject DSA");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 422), "{err:?}");
    bad.data["spec"]["privateKey"]["algorithm"] = json!("ECDSA");
    api_of(&client, ChildKind::Certificate)
        .create(&PostParams::default(), &bad)
        .await?;

    // Applying again is idempotent (same objects, no error).
    let again = children::sync(&client, &cd, Some(&remote()), &issuers()).await;
    assert_eq!(again, report);

    // Switch both off: the status remembers children, so both are deleted and the condition goes.
    let mut off = with_condition(cd.clone(), &report);
    off.spec.dns_endpoint = None;
    off.spec.certificate = None;
    let gone = children::sync(&client, &off, Some(&remote()), &issuers()).await;
    assert_eq!(gone.dns_endpoint, ChildState::Deleted);
    assert_eq!(gone.certificate, ChildState::Deleted);
    assert_eq!(gone.condition(None, Timestamp::now()), None);
    assert!(
        api_of(&client, ChildKind::DnsEndpoint)
            .get_opt("login-auth0-verification")
            .await?
            .is_none()
    );
    assert!(
        api_of(&client, ChildKind::Certificate)
            .get_opt("login-tls")
            .await?
            .is_none()
    );
    assert!(
        api_of(&client, ChildKind::Certificate)
            .get_opt("bad")
            .await?
            .is_some(),
        "only ours deleted"
    );

    // Once the condition is gone nothing is requested and no DELETE is sent any more.
    let quiet = with_condition(off, &gone);
    let report = children::sync(&client, &quiet, Some(&remote()), &issuers()).await;
    assert_eq!(report.dns_endpoint, ChildState::NotRequested);
    assert_eq!(report.certificate, ChildState::NotRequested);
    Ok(())
}

#[tokio::test]
async fn missing_crds_give_a_clear_message() -> TestResult {
    let (_sim, client) = sim().await?;
    install_crd(&client, CD_CRD).await?;
    let cd = create_cd(&client, spec_on()).await?;

    let report = children::sync(&client, &cd, Some(&remote()), &issuers()).await;
    assert_eq!(report.dns_endpoint, ChildState::CrdMissing);
    assert_eq!(report.certificate, ChildState::CrdMissing);
    let cond = report.condition(Some(1), Timestamp::now()).unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", Reason::ChildCrdNotInstalled.as_str())
    );
    assert!(
        cond.message.contains(
            "external-dns DNSEndpoint CRD is not installed; install external-dns or disable spec.dnsEndpoint"
        ),
        "{}",
        cond.message
    );
    assert!(
        cond.message
            .contains("cert-manager Certificate CRD is not installed"),
        "{}",
        cond.message
    );

    // Installing the CRDs later lets the next sync apply them.
    install_crd(&client, DNS_CRD).await?;
    install_crd(&client, CERT_CRD).await?;
    let report = children::sync(&client, &cd, Some(&remote()), &issuers()).await;
    assert_eq!(
        report.dns_endpoint,
        ChildState::Applied("login-auth0-verification".into())
    );
    assert_eq!(report.certificate, ChildState::Applied("login-tls".into()));

    // Owned by the CustomDomain: the garbage collector removes both with it.
    let cds: Api<CustomDomain> = Api::namespaced(client.clone(), NS);
    cds.delete("login", &Default::default()).await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let de = api_of(&client, ChildKind::DnsEndpoint)
            .get_opt("login-auth0-verification")
            .await?;
        let cert = api_of(&client, ChildKind::Certificate)
            .get_opt("login-tls")
            .await?;
        if de.is_none() && cert.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "children not garbage-collected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn foreign_objects_and_unlisted_cluster_issuers_are_left_alone() -> TestResult {
    let (_sim, client) = sim().await?;
    for crd in [CD_CRD, DNS_CRD, CERT_CRD] {
        install_crd(&client, crd).await?;
    }
    let cd = create_cd(&client, spec_on()).await?;

    // A DNSEndpoint somebody else made under the child's name is neither taken over nor deleted.
    let foreign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
        "metadata": {"name": "login-auth0-verification", "namespace": NS},
        "spec": {"endpoints": [{"dnsName": "other.example.com", "recordType": "A", "targets": ["192.0.2.1"]}]},
    }))?;
    let foreign = api_of(&client, ChildKind::DnsEndpoint)
        .create(&PostParams::default(), &foreign)
        .await?;
    // The tenant does not list the ClusterIssuer: no Certificate, a condition saying why.
    let report = children::sync(&client, &cd, Some(&remote()), &[]).await;
    let ChildState::Refused(why) = &report.certificate else {
        panic!("{:?}", report.certificate)
    };
    assert!(why.contains("spec.allowedClusterIssuers"), "{why}");
    let cond = report.condition(Some(1), Timestamp::now()).unwrap();
    assert_eq!(cond.reason, Reason::IssuerNotAllowed.as_str());
    assert!(
        api_of(&client, ChildKind::Certificate)
            .get_opt("login-tls")
            .await?
            .is_none()
    );

    let report = children::sync(&client, &cd, Some(&remote()), &issuers()).await;
    let ChildState::NotOwned(why) = &report.dns_endpoint else {
        panic!("{:?}", report.dns_endpoint)
    };
    assert!(why.contains("was not created by this CustomDomain"), "{why}");
    let after = api_of(&client, ChildKind::DnsEndpoint)
        .get("login-auth0-verification")
        .await?;
    assert_eq!(after.metadata.resource_version, foreign.metadata.resource_version);
    // Switched off while the status still names it: the foreign object survives.
    let mut off = with_condition(cd.clone(), &report);
    off.spec.dns_endpoint = None;
    let report = children::sync(&client, &off, Some(&remote()), &issuers()).await;
    assert_eq!(report.dns_endpoint, ChildState::Deleted);
    assert!(
        api_of(&client, ChildKind::DnsEndpoint)
            .get_opt("login-auth0-verification")
            .await?
            .is_some(),
        "a DNSEndpoint this CustomDomain did not create was deleted"
    );
    Ok(())
}
