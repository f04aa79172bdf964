//! Table tests: one row per behaviour of docs/design.md#plan-table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use super::*;
use crate::auth0::types::Field;
use crate::resources::conditions::{ConditionType, Reason, find_condition};
use crate::resources::custom_domain::{
    ClientIpHeader, CustomDomainSpec, CustomDomainStatus, DeletionPolicy, DomainMtls, DomainState,
};

const MARKER: &str = "c1/team-a/login";
const RESYNC: Duration = Duration::from_secs(600);

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn spec(type_: &str) -> CustomDomainSpec {
    serde_json::from_value(json!({"domain": "login.example.com", "type": type_})).unwrap()
}

fn resource(spec: CustomDomainSpec) -> CustomDomain {
    let mut cd = CustomDomain::new("login", spec);
    cd.metadata.namespace = Some("team-a".into());
    cd.metadata.generation = Some(3);
    cd
}

fn self_managed() -> CustomDomain {
    resource(spec("SelfManagedCerts"))
}

fn auth0_managed() -> CustomDomain {
    resource(spec("Auth0ManagedCerts"))
}

fn annotate(mut cd: CustomDomain, key: &str) -> CustomDomain {
    cd.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), "true".into());
    cd
}

fn with_status_id(mut cd: CustomDomain, id: &str) -> CustomDomain {
    cd.status = Some(CustomDomainStatus {
        custom_domain_id: Some(id.into()),
        ..Default::default()
    });
    cd
}

/// Adopted by this resource; its key has not been in the Secret since.
fn adopted(cd: CustomDomain) -> CustomDomain {
    let mut cd = with_status_id(cd, "cd_0123456789abcdef");
    if let Some(s) = cd.status.as_mut() {
        s.adoption = Some(crate::resources::custom_domain::AdoptionRecord {
            adopted_at: Time(now()),
            key_in_secret: false,
        });
    }
    cd
}

fn without_origin(mut d: wire::CustomDomain) -> wire::CustomDomain {
    d.origin_domain_name = None;
    d
}

/// Ready for the current generation, as the previous reconcile wrote it.
fn was_ready(cd: CustomDomain) -> CustomDomain {
    let mut cd = with_status_id(cd, "cd_0123456789abcdef");
    let generation = cd.metadata.generation;
    if let Some(s) = cd.status.as_mut() {
        s.origin_domain_name = Some(ORIGIN.into());
        s.conditions.push(crate::resources::conditions::condition(
            ConditionType::Ready,
            true,
            Reason::Ready,
            "login.example.com is verified",
            generation,
            now(),
        ));
    }
    cd
}

fn deleting(mut cd: CustomDomain) -> CustomDomain {
    cd.metadata.deletion_timestamp = Some(Time(now()));
    cd.metadata.finalizers = Some(vec![crate::custom_domain::FINALIZER.into()]);
    cd
}

fn tenant() -> TenantView {
    TenantView {
        name: "default".into(),
        health: TenantHealth::Ready,
        allowed: true,
        fence: None,
        cluster_id: "c1".into(),
        mtls_aliases_enabled: false,
        resync_interval: RESYNC,
        create_refused: None,
        adoption: AdoptionVerdict::Off,
        claim: ClaimVerdict::Allowed,
    }
}

fn adoption_allowed() -> TenantView {
    TenantView {
        adoption: AdoptionVerdict::Allowed,
        ..tenant()
    }
}

/// An Auth0 domain as the API returns it.
fn wire_domain(type_: &str, status: &str, marker: Option<&str>) -> wire::CustomDomain {
    let mut md = serde_json::Map::new();
    if let Some(m) = marker {
        md.insert("k8s_owner".into(), json!(m));
    }
    // Shaped like real answers (docs/auth0-api.md#the-domain-object): upper-case method names;
    // each type carries only its own field; `origin_domain_name` only on a ready self-managed domain.
    let mut d = json!({
        "custom_domain_id": "cd_0123456789abcdef",
        "domain": "login.example.com",
        "primary": false,
        "is_default": false,
        "status": status,
        "type": type_,
        "domain_metadata": md,
        "created_at": "2026-01-27T13:59:53.172Z",
    });
    if type_ == "self_managed_certs" {
        d["verification"] = json!({"methods": [{"name": "TXT", "record": "txt-value-123", "domain": "_cf-custom-hostname.login.example.com"}]});
        d["custom_client_ip_header"] = json!(null);
        if status == "ready" {
            d["origin_domain_name"] = json!(ORIGIN);
        }
    } else {
        d["verification"] = json!({"methods": [{"name": "CNAME", "record": "acme-cd-x.edge.tenants.eu.auth0.com", "domain": "login.example.com"}]});
        d["tls_policy"] = json!("recommended");
    }
    serde_json::from_value(d).unwrap()
}

fn sm(status: &str) -> wire::CustomDomain {
    wire_domain("self_managed_certs", status, Some(MARKER))
}

fn am(status: &str) -> wire::CustomDomain {
    wire_domain("auth0_managed_certs", status, Some(MARKER))
}

fn with_cert(mut d: wire::CustomDomain, status: &str, error: Option<&str>) -> wire::CustomDomain {
    d.certificate = Some(wire::Certificate {
        status: Some(status.into()),
        error_msg: error.map(Into::into),
        ..Default::default()
    });
    d
}

fn with_verification_status(mut d: wire::CustomDomain, status: &str) -> wire::CustomDomain {
    if let Some(v) = d.verification.as_mut() {
        v.status = Some(status.into());
    }
    d
}

/// `origin_domain_name` of a ready self-managed domain in these tests.
const ORIGIN: &str = "acme-cd-x.edge.tenants.eu.auth0.com";

const KEY_OK: SecretState<'static> = SecretState::Present {
    has_key: true,
    origin: Some(ORIGIN),
    owner: SecretOwner::ThisResource,
};
const NO_KEY: SecretState<'static> = SecretState::Present {
    has_key: false,
    origin: None,
    owner: SecretOwner::ThisResource,
};

/// What the remote snapshot holds in a row.
enum RemoteRow {
    NotLoaded,
    Absent,
    /// The domain, read `age` seconds before `now`.
    Found(Box<wire::CustomDomain>, i64),
}

fn found(d: wire::CustomDomain, age: i64) -> RemoteRow {
    RemoteRow::Found(Box::new(d), age)
}

struct Row {
    name: &'static str,
    resource: CustomDomain,
    tenant: TenantView,
    remote: RemoteRow,
    dns: Option<DnsAnswer>,
    secret: SecretState<'static>,
    pending_key: Option<PendingKey<'static>>,
    attempts: Attempts,
    verify_wait: Option<VerifyWait>,
    options: PlanOptions,
    want: Want,
}

struct Want {
    steps: &'static [&'static str],
    /// `(status, reason)` of `Ready`.
    ready: (bool, Reason),
    /// `Some(reason)` when `Stalled=True` is expected; `None` when `Stalled` must be absent.
    stalled: Option<Reason>,
    reconciling: bool,
    requeue: Duration,
    /// Reasons of the Events, in order.
    events: &'static [Reason],
    /// Text the Ready message must contain.
    message: &'static str,
}

fn row(name: &'static str, resource: CustomDomain, remote: RemoteRow, want: Want) -> Row {
    Row {
        name,
        resource,
        tenant: tenant(),
        remote,
        dns: None,
        secret: SecretState::Absent,
        pending_key: None,
        attempts: Attempts::default(),
        verify_wait: None,
        options: PlanOptions::default(),
        want,
    }
}

fn run(r: &Row) -> Plan {
    let remote = match &r.remote {
        RemoteRow::NotLoaded => Remote::NotLoaded,
        RemoteRow::Absent => Remote::Absent,
        RemoteRow::Found(d, age) => Remote::Found {
            domain: d,
            fetched_at: now().checked_sub(jiff::SignedDuration::from_secs(*age)).unwrap(),
        },
    };
    plan(&PlanInput {
        resource: &r.resource,
        tenant: &r.tenant,
        remote,
        dns: r.dns.as_ref(),
        secret: r.secret,
        previous_secret: None,
        pending_key: r.pending_key,
        attempts: r.attempts,
        verify_wait: r.verify_wait,
        options: r.options,
        now: now(),
    })
}

fn rows() -> Vec<Row> {
    let visible = Some(DnsAnswer::Visible);
    let missing = Some(DnsAnswer::Missing { seen: vec![] });
    vec![
        row(
            "create new",
            self_managed(),
            RemoteRow::Absent,
            Want {
                steps: &["create"],
                ready: (false, Reason::Creating),
                stalled: None,
                reconciling: true,
                requeue: AFTER_WRITE_RECHECK,
                events: &[Reason::Creating],
                message: "creating Auth0 domain login.example.com",
            },
        ),
        Row {
            tenant: TenantView {
                claim: ClaimVerdict::Refused(
                    "no rule of its spec.allowedDomains selects this namespace".into(),
                ),
                ..tenant()
            },
            ..row(
                "name the namespace may not claim -> Stalled DomainNotAllowed, nothing sent",
                self_managed(),
                RemoteRow::Absent,
                Want {
                    steps: &[],
                    ready: (false, Reason::DomainNotAllowed),
                    stalled: Some(Reason::DomainNotAllowed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::DomainNotAllowed],
                    message: "namespace team-a may not claim login.example.com on Auth0Tenant default: no rule of its spec.allowedDomains selects this namespace",
                },
            )
        },
        Row {
            tenant: TenantView {
                claim: ClaimVerdict::Refused("x".into()),
                ..adoption_allowed()
            },
            ..row(
                "adoption allowed but the name may not be claimed -> Stalled DomainNotAllowed, no PATCH",
                annotate(self_managed(), ADOPT_ANNOTATION),
                found(wire_domain("self_managed_certs", "ready", None), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::DomainNotAllowed),
                    stalled: Some(Reason::DomainNotAllowed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::DomainNotAllowed],
                    message: "ask the tenant's owner to add it to spec.allowedDomains",
                },
            )
        },
        Row {
            secret: NO_KEY,
            ..row(
                "resume ours: pending, secret exists, look up DNS",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &["lookup_dns"],
                    ready: (false, Reason::AwaitingSnapshot),
                    stalled: None,
                    reconciling: false,
                    requeue: DNS_FIRST_RECHECK,
                    events: &[],
                    message: "",
                },
            )
        },
        row(
            "unmarked domain -> Stalled AlreadyExists",
            self_managed(),
            found(wire_domain("self_managed_certs", "ready", None), 0),
            Want {
                steps: &[],
                ready: (false, Reason::AlreadyExists),
                stalled: Some(Reason::AlreadyExists),
                reconciling: false,
                requeue: RESYNC,
                events: &[Reason::AlreadyExists],
                message: "auth0-domain-operator.dev/adopt: \"true\"",
            },
        ),
        Row {
            tenant: adoption_allowed(),
            ..row(
                "unmarked domain + adopt annotation, tenant allows -> Adopt",
                annotate(self_managed(), ADOPT_ANNOTATION),
                found(wire_domain("self_managed_certs", "ready", None), 0),
                Want {
                    steps: &["adopt"],
                    ready: (false, Reason::Adopted),
                    stalled: None,
                    reconciling: true,
                    requeue: AFTER_WRITE_RECHECK,
                    events: &[Reason::Adopted],
                    message: "adopting",
                },
            )
        },
        row(
            "unmarked domain + adopt annotation, tenant has no spec.adoption -> Stalled AdoptionNotAllowed, nothing sent",
            annotate(self_managed(), ADOPT_ANNOTATION),
            found(wire_domain("self_managed_certs", "ready", None), 0),
            Want {
                steps: &[],
                ready: (false, Reason::AdoptionNotAllowed),
                stalled: Some(Reason::AdoptionNotAllowed),
                reconciling: false,
                requeue: RESYNC,
                events: &[Reason::AdoptionNotAllowed],
                message: "it has no spec.adoption",
            },
        ),
        Row {
            tenant: TenantView {
                adoption: AdoptionVerdict::NamespaceNotSelected("adopt=yes".into()),
                ..tenant()
            },
            ..row(
                "adopt annotation, namespace not selected -> Stalled AdoptionNotAllowed naming the selector",
                annotate(self_managed(), ADOPT_ANNOTATION),
                found(wire_domain("self_managed_certs", "ready", None), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AdoptionNotAllowed),
                    stalled: Some(Reason::AdoptionNotAllowed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::AdoptionNotAllowed],
                    message: "namespace team-a does not match its spec.adoption.namespaceSelector (adopt=yes)",
                },
            )
        },
        Row {
            tenant: TenantView {
                adoption: AdoptionVerdict::DomainNotListed,
                ..tenant()
            },
            ..row(
                "adopt annotation, domain not listed -> Stalled AdoptionNotAllowed",
                annotate(self_managed(), ADOPT_ANNOTATION),
                found(wire_domain("self_managed_certs", "ready", None), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AdoptionNotAllowed),
                    stalled: Some(Reason::AdoptionNotAllowed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::AdoptionNotAllowed],
                    message: "login.example.com is not among its spec.adoption.domains",
                },
            )
        },
        row(
            "unmarked domain of another type + adopt -> Stalled AlreadyExists",
            annotate(auth0_managed(), ADOPT_ANNOTATION),
            found(wire_domain("self_managed_certs", "ready", None), 0),
            Want {
                steps: &[],
                ready: (false, Reason::AlreadyExists),
                stalled: Some(Reason::AlreadyExists),
                reconciling: false,
                requeue: RESYNC,
                events: &[Reason::AlreadyExists],
                message: "type self_managed_certs",
            },
        ),
        row(
            "owned elsewhere -> Stalled OwnedElsewhere, never touched",
            annotate(self_managed(), ADOPT_ANNOTATION),
            found(
                wire_domain("self_managed_certs", "ready", Some("c2/team-b/other")),
                0,
            ),
            Want {
                steps: &[],
                ready: (false, Reason::OwnedElsewhere),
                stalled: Some(Reason::OwnedElsewhere),
                reconciling: false,
                requeue: RESYNC,
                events: &[Reason::OwnedElsewhere],
                message: "owned by c2/team-b/other",
            },
        ),
        Row {
            secret: NO_KEY,
            dns: missing.clone(),
            ..row(
                "DNS missing -> no verify, names the record, 1 s",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AwaitingDns),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(1),
                    events: &[Reason::AwaitingDns],
                    message: "Create TXT record _cf-custom-hostname.login.example.com with value \"txt-value-123\" — not visible in DNS yet",
                },
            )
        },
        Row {
            secret: NO_KEY,
            dns: missing.clone(),
            attempts: Attempts {
                dns_checks: 5,
                verifies: 0,
            },
            ..row(
                "DNS missing, 6th check -> 20 s",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AwaitingDns),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(20),
                    events: &[Reason::AwaitingDns],
                    message: "not visible in DNS yet",
                },
            )
        },
        Row {
            secret: NO_KEY,
            dns: missing.clone(),
            attempts: Attempts {
                dns_checks: 9,
                verifies: 0,
            },
            ..row(
                "DNS missing, many checks -> capped at the default 20 s",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AwaitingDns),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(20),
                    events: &[Reason::AwaitingDns],
                    message: "not visible in DNS yet",
                },
            )
        },
        Row {
            secret: NO_KEY,
            dns: missing.clone(),
            attempts: Attempts {
                dns_checks: 9,
                verifies: 0,
            },
            options: PlanOptions {
                dns_preflight: true,
                dns_recheck_max: Duration::from_secs(12),
            },
            ..row(
                "DNS missing -> capped by --dns-recheck-max",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AwaitingDns),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(12),
                    events: &[Reason::AwaitingDns],
                    message: "not visible in DNS yet",
                },
            )
        },
        Row {
            secret: NO_KEY,
            dns: Some(DnsAnswer::Unresolvable("SERVFAIL".into())),
            ..row(
                "DNS unresolvable -> no verify",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AwaitingDns),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(1),
                    events: &[Reason::AwaitingDns],
                    message: "DNS did not answer: SERVFAIL",
                },
            )
        },
        Row {
            secret: NO_KEY,
            dns: visible.clone(),
            ..row(
                "DNS visible -> verify",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &["verify"],
                    ready: (false, Reason::AwaitingVerification),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(5),
                    events: &[Reason::AwaitingVerification],
                    message: "is visible in DNS; verification requested",
                },
            )
        },
        Row {
            secret: NO_KEY,
            options: PlanOptions {
                dns_preflight: false,
                dns_recheck_max: DNS_RECHECK_MAX_DEFAULT,
            },
            ..row(
                "preflight off -> verify without DNS",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &["verify"],
                    ready: (false, Reason::AwaitingVerification),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(5),
                    events: &[Reason::AwaitingVerification],
                    message: "verification requested",
                },
            )
        },
        Row {
            dns: visible.clone(),
            ..row(
                "self-managed without Secret -> EnsureSecret before Verify",
                self_managed(),
                found(sm("pending_verification"), 0),
                Want {
                    steps: &["ensure_secret", "verify"],
                    ready: (false, Reason::AwaitingVerification),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(5),
                    events: &[Reason::AwaitingVerification],
                    message: "verification requested",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "ready + key present -> Ready",
                self_managed(),
                found(sm("ready"), 0),
                Want {
                    steps: &[],
                    ready: (true, Reason::Ready),
                    stalled: None,
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::Ready],
                    message: "key is in Secret login-auth0-edge",
                },
            )
        },
        Row {
            secret: SecretState::Present {
                has_key: true,
                origin: Some("old.example"),
                owner: SecretOwner::ThisResource,
            },
            ..row(
                "ready + key, origin differs -> EnsureSecret",
                self_managed(),
                found(sm("ready"), 0),
                Want {
                    steps: &["ensure_secret"],
                    ready: (false, Reason::SecretPending),
                    stalled: None,
                    reconciling: true,
                    requeue: AFTER_WRITE_RECHECK,
                    events: &[Reason::SecretPending],
                    message: "origin-domain-name",
                },
            )
        },
        Row {
            secret: NO_KEY,
            ..row(
                "ready + no key -> CnameApiKeyLost",
                self_managed(),
                found(sm("ready"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::CnameApiKeyLost),
                    stalled: Some(Reason::CnameApiKeyLost),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::CnameApiKeyLost],
                    message: "recreate-on-key-loss",
                },
            )
        },
        Row {
            secret: NO_KEY,
            pending_key: Some(PendingKey {
                write_error: None,
                escrow: None,
            }),
            ..row(
                "ready + key held in memory -> not lost",
                self_managed(),
                found(sm("ready"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::SecretPending),
                    stalled: None,
                    reconciling: true,
                    requeue: AFTER_WRITE_RECHECK,
                    events: &[Reason::SecretPending],
                    message: "writing the cname-api-key",
                },
            )
        },
        Row {
            secret: NO_KEY,
            pending_key: Some(PendingKey {
                write_error: Some("admission webhook denied the request"),
                escrow: Some("auth0-domain-operator/auth0-key-escrow-u1"),
            }),
            ..row(
                "ready + key whose Secret write failed -> KeyPendingWrite naming the escrow, Warning, retried",
                annotate(self_managed(), RECREATE_ON_KEY_LOSS_ANNOTATION),
                found(sm("ready"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::KeyPendingWrite),
                    stalled: None,
                    reconciling: true,
                    requeue: KEY_WRITE_RETRY,
                    events: &[Reason::KeyPendingWrite],
                    message: "a copy is kept in escrow Secret auth0-domain-operator/auth0-key-escrow-u1",
                },
            )
        },
        Row {
            secret: NO_KEY,
            ..row(
                "ready + no key + annotation -> Recreate",
                annotate(self_managed(), RECREATE_ON_KEY_LOSS_ANNOTATION),
                found(sm("ready"), 0),
                Want {
                    steps: &["recreate_for_key_loss"],
                    ready: (false, Reason::Recreating),
                    stalled: None,
                    reconciling: true,
                    requeue: AFTER_WRITE_RECHECK,
                    events: &[Reason::Recreating],
                    message: "deleting and recreating",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "drift -> Patch (and still Ready)",
                {
                    let mut cd = self_managed();
                    cd.spec.custom_client_ip_header = Some(ClientIpHeader::CfConnectingIp);
                    cd
                },
                found(sm("ready"), 0),
                Want {
                    steps: &["patch"],
                    ready: (true, Reason::Ready),
                    stalled: None,
                    reconciling: true,
                    requeue: RESYNC,
                    events: &[Reason::Updating, Reason::Ready],
                    message: "verified",
                },
            )
        },
        row(
            "remote deleted (status had an id) -> RemoteDeleted + Create",
            with_status_id(self_managed(), "cd_gone"),
            RemoteRow::Absent,
            Want {
                steps: &["create"],
                ready: (false, Reason::RemoteDeleted),
                stalled: None,
                reconciling: true,
                requeue: AFTER_WRITE_RECHECK,
                events: &[Reason::RemoteDeleted],
                message: "deleted outside the operator",
            },
        ),
        row(
            "delete with Delete -> DELETE then release",
            deleting(with_status_id(self_managed(), "cd_0123456789abcdef")),
            found(sm("ready"), 0),
            Want {
                steps: &["delete", "release_finalizer"],
                ready: (false, Reason::Deleting),
                stalled: None,
                reconciling: true,
                requeue: RESYNC,
                events: &[Reason::Deleting],
                message: "being deleted",
            },
        ),
        row(
            "delete with Delete, domain already gone -> release",
            deleting(self_managed()),
            RemoteRow::Absent,
            Want {
                steps: &["release_finalizer"],
                ready: (false, Reason::Deleting),
                stalled: None,
                reconciling: true,
                requeue: RESYNC,
                events: &[Reason::Deleting],
                message: "being deleted",
            },
        ),
        row(
            "delete, domain owned elsewhere -> release only",
            deleting(self_managed()),
            found(wire_domain("self_managed_certs", "ready", Some("c2/x/y")), 0),
            Want {
                steps: &["release_finalizer"],
                ready: (false, Reason::Deleting),
                stalled: None,
                reconciling: true,
                requeue: RESYNC,
                events: &[Reason::Deleting],
                message: "being deleted",
            },
        ),
        row(
            "delete, snapshot not loaded, id in status -> DELETE by id",
            deleting(with_status_id(self_managed(), "cd_known")),
            RemoteRow::NotLoaded,
            Want {
                steps: &["delete", "release_finalizer"],
                ready: (false, Reason::Deleting),
                stalled: None,
                reconciling: true,
                requeue: RESYNC,
                events: &[Reason::Deleting],
                message: "being deleted",
            },
        ),
        Row {
            secret: KEY_OK,
            ..row(
                "delete with Orphan -> orphan Secret, release",
                deleting({
                    let mut cd = self_managed();
                    cd.spec.deletion_policy = DeletionPolicy::Orphan;
                    cd
                }),
                found(sm("ready"), 0),
                Want {
                    steps: &["orphan_secret", "release_finalizer"],
                    ready: (false, Reason::Deleting),
                    stalled: None,
                    reconciling: true,
                    requeue: RESYNC,
                    events: &[Reason::Deleting],
                    message: "being deleted",
                },
            )
        },
        Row {
            tenant: TenantView {
                health: TenantHealth::NotFound,
                ..tenant()
            },
            ..row(
                "delete, tenant gone -> release with warning",
                deleting(self_managed()),
                RemoteRow::NotLoaded,
                Want {
                    steps: &["release_finalizer"],
                    ready: (false, Reason::Deleting),
                    stalled: None,
                    reconciling: true,
                    requeue: RESYNC,
                    events: &[Reason::TenantNotFound, Reason::Deleting],
                    message: "being deleted",
                },
            )
        },
        Row {
            tenant: TenantView {
                health: TenantHealth::NotFound,
                ..tenant()
            },
            ..row(
                "delete, tenant gone, domain was created -> finalizer kept, Stalled naming the two ways out",
                deleting(with_status_id(self_managed(), "cd_known")),
                RemoteRow::NotLoaded,
                Want {
                    steps: &[],
                    ready: (false, Reason::TenantNotFound),
                    stalled: Some(Reason::TenantNotFound),
                    reconciling: false,
                    requeue: TENANT_RECHECK,
                    events: &[Reason::TenantNotFound],
                    message: "restore the Auth0Tenant (the deletion then completes), or set spec.deletionPolicy: Orphan",
                },
            )
        },
        row(
            "delete, adopted domain whose key never reached the Secret -> left in Auth0, release",
            deleting(adopted(self_managed())),
            found(sm("ready"), 0),
            Want {
                steps: &["release_finalizer"],
                ready: (false, Reason::Deleting),
                stalled: None,
                reconciling: true,
                requeue: RESYNC,
                events: &[Reason::Deleting],
                message: "being deleted",
            },
        ),
        Row {
            secret: NO_KEY,
            ..row(
                "adopted, key never in Secret + recreate annotation -> never recreated, Stalled CnameApiKeyLost",
                annotate(adopted(self_managed()), RECREATE_ON_KEY_LOSS_ANNOTATION),
                found(sm("ready"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::CnameApiKeyLost),
                    stalled: Some(Reason::CnameApiKeyLost),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::CnameApiKeyLost],
                    message: "was adopted",
                },
            )
        },
        Row {
            secret: SecretState::Present {
                has_key: false,
                origin: None,
                owner: SecretOwner::Other {
                    controller: Some(("CustomDomain", "other")),
                },
            },
            ..row(
                "secretName names another CustomDomain's Secret -> Stalled SecretNotOwned, nothing sent",
                self_managed(),
                RemoteRow::Absent,
                Want {
                    steps: &[],
                    ready: (false, Reason::SecretNotOwned),
                    stalled: Some(Reason::SecretNotOwned),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::SecretNotOwned],
                    message: "belongs to CustomDomain other",
                },
            )
        },
        Row {
            secret: SecretState::Present {
                has_key: true,
                origin: None,
                owner: SecretOwner::ThisResource,
            },
            ..row(
                "ready + key, nobody knows the origin -> read the domain, not Ready",
                self_managed(),
                found(without_origin(sm("ready")), 120),
                Want {
                    steps: &["refresh"],
                    ready: (false, Reason::SecretPending),
                    stalled: None,
                    reconciling: true,
                    requeue: ORIGIN_REFRESH,
                    events: &[Reason::SecretPending],
                    message: "origin-domain-name",
                },
            )
        },
        row(
            "invalid spec -> Stalled InvalidSpec, no Auth0 step",
            {
                let mut cd = auth0_managed();
                cd.spec.domain = "*.example.com".into();
                cd
            },
            RemoteRow::Absent,
            Want {
                steps: &[],
                ready: (false, Reason::InvalidSpec),
                stalled: Some(Reason::InvalidSpec),
                reconciling: false,
                requeue: RESYNC,
                events: &[Reason::InvalidSpec],
                message: "wildcard domains are not supported",
            },
        ),
        Row {
            tenant: TenantView {
                health: TenantHealth::NotReady("credentials rejected (401)".into()),
                ..tenant()
            },
            ..row(
                "tenant not ready -> no Auth0 step",
                self_managed(),
                RemoteRow::Absent,
                Want {
                    steps: &[],
                    ready: (false, Reason::TenantNotReady),
                    stalled: None,
                    reconciling: true,
                    requeue: TENANT_RECHECK,
                    events: &[Reason::TenantNotReady],
                    message: "credentials rejected",
                },
            )
        },
        Row {
            tenant: TenantView {
                allowed: false,
                ..tenant()
            },
            ..row(
                "tenant not allowed -> no Auth0 step",
                self_managed(),
                RemoteRow::Absent,
                Want {
                    steps: &[],
                    ready: (false, Reason::TenantNotAllowed),
                    stalled: Some(Reason::TenantNotAllowed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::TenantNotAllowed],
                    message: "namespace team-a may not use Auth0Tenant default",
                },
            )
        },
        Row {
            tenant: TenantView {
                allowed: false,
                fence: Some("team=a".into()),
                ..tenant()
            },
            ..row(
                "tenant fenced by a selector -> the message names the labels to add",
                self_managed(),
                RemoteRow::Absent,
                Want {
                    steps: &[],
                    ready: (false, Reason::TenantNotAllowed),
                    stalled: Some(Reason::TenantNotAllowed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::TenantNotAllowed],
                    message: "label the namespace so it matches the tenant's spec.allowedNamespaces.selector (team=a), e.g. kubectl label namespace team-a",
                },
            )
        },
        Row {
            tenant: TenantView {
                health: TenantHealth::NotFound,
                ..tenant()
            },
            ..row(
                "tenant not found -> Stalled",
                self_managed(),
                RemoteRow::Absent,
                Want {
                    steps: &[],
                    ready: (false, Reason::TenantNotFound),
                    stalled: Some(Reason::TenantNotFound),
                    reconciling: false,
                    requeue: TENANT_RECHECK,
                    events: &[Reason::TenantNotFound],
                    message: "Auth0Tenant default does not exist",
                },
            )
        },
        row(
            "snapshot not loaded -> wait, no step",
            self_managed(),
            RemoteRow::NotLoaded,
            Want {
                steps: &[],
                ready: (false, Reason::AwaitingSnapshot),
                stalled: None,
                reconciling: true,
                requeue: SNAPSHOT_RECHECK,
                events: &[Reason::AwaitingSnapshot],
                message: "reading the custom domains",
            },
        ),
        Row {
            secret: KEY_OK,
            ..row(
                "certificate failed (Auth0 status failed) -> Stalled CertificateFailed",
                auth0_managed(),
                found(
                    with_cert(
                        am("failed"),
                        "provisioning_failed",
                        Some("CAA record forbids letsencrypt"),
                    ),
                    0,
                ),
                Want {
                    steps: &[],
                    ready: (false, Reason::CertificateFailed),
                    stalled: Some(Reason::CertificateFailed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::CertificateFailed],
                    message: "CAA record forbids letsencrypt",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "Auth0-managed verified, certificate provisioning -> not Ready, refresh",
                auth0_managed(),
                found(
                    with_cert(
                        with_verification_status(am("pending_verification"), "verified"),
                        "provisioning",
                        None,
                    ),
                    20,
                ),
                Want {
                    steps: &["refresh"],
                    ready: (false, Reason::Provisioning),
                    stalled: None,
                    reconciling: true,
                    requeue: REFRESH_AFTER,
                    events: &[Reason::Provisioning],
                    message: "Auth0 is issuing the certificate",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "Auth0-managed provisioning, fresh copy -> wait without a call",
                auth0_managed(),
                found(
                    with_cert(
                        with_verification_status(am("pending_verification"), "verified"),
                        "provisioning",
                        None,
                    ),
                    5,
                ),
                Want {
                    steps: &[],
                    ready: (false, Reason::Provisioning),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(10),
                    events: &[Reason::Provisioning],
                    message: "Auth0 is issuing the certificate",
                },
            )
        },
        Row {
            secret: KEY_OK,
            dns: missing.clone(),
            ..row(
                "Auth0-managed pending, CNAME missing -> names the CNAME",
                auth0_managed(),
                found(with_cert(am("pending_verification"), "provisioning", None), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::AwaitingDns),
                    stalled: None,
                    reconciling: true,
                    requeue: Duration::from_secs(1),
                    events: &[Reason::AwaitingDns],
                    message: "Create CNAME record login.example.com pointing to acme-cd-x.edge.tenants.eu.auth0.com — not visible in DNS yet",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "Auth0-managed ready + provisioned -> Ready, no Secret key needed",
                auth0_managed(),
                found(with_cert(am("ready"), "provisioned", None), 0),
                Want {
                    steps: &[],
                    ready: (true, Reason::Ready),
                    stalled: None,
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::Ready],
                    message: "Auth0 serves its certificate",
                },
            )
        },
        row(
            "Auth0-managed ready with an origin (older API shape), no Secret yet -> EnsureSecret for origin",
            auth0_managed(),
            found(
                {
                    let mut d = with_cert(am("ready"), "provisioned", None);
                    d.origin_domain_name = Some("acme-cd-x.edge.tenants.eu.auth0.com".into());
                    d
                },
                0,
            ),
            Want {
                steps: &["ensure_secret"],
                ready: (true, Reason::Ready),
                stalled: None,
                reconciling: false,
                requeue: RESYNC,
                events: &[Reason::Ready],
                message: "verified",
            },
        ),
        Row {
            secret: KEY_OK,
            ..row(
                "Auth0 reports the domain disabled -> Stalled DomainFailed",
                self_managed(),
                found(sm("disabled"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::DomainFailed),
                    stalled: Some(Reason::DomainFailed),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::DomainFailed],
                    message: "Auth0 reports login.example.com as disabled",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "type changed behind admission -> InvalidSpec",
                self_managed(),
                found(am("ready"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::InvalidSpec),
                    stalled: Some(Reason::InvalidSpec),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::InvalidSpec],
                    message: "type is immutable",
                },
            )
        },
        Row {
            secret: SecretState::Absent,
            ..row(
                "ready, Secret deleted -> CnameApiKeyLost, Secret recreated for the key",
                self_managed(),
                found(sm("ready"), 0),
                Want {
                    steps: &["ensure_secret"],
                    ready: (false, Reason::CnameApiKeyLost),
                    stalled: Some(Reason::CnameApiKeyLost),
                    reconciling: false,
                    requeue: RESYNC,
                    events: &[Reason::CnameApiKeyLost],
                    message: "put the key back into the Secret",
                },
            )
        },
        Row {
            secret: KEY_OK,
            ..row(
                "unknown Auth0 status -> wait, not Stalled",
                self_managed(),
                found(sm("suspended_for_review"), 0),
                Want {
                    steps: &[],
                    ready: (false, Reason::Auth0Error),
                    stalled: None,
                    reconciling: true,
                    requeue: RESYNC,
                    events: &[Reason::Auth0Error],
                    message: "\"suspended_for_review\"",
                },
            )
        },
    ]
}

#[test]
fn every_row_of_design_section_2() {
    let mut failures = Vec::new();
    for r in rows() {
        let p = run(&r);
        let steps: Vec<&str> = p.steps.iter().map(Step::label).collect();
        let conds = &p.status.conditions;
        let ready = find_condition(conds, ConditionType::Ready);
        let stalled = find_condition(conds, ConditionType::Stalled);
        let reconciling = find_condition(conds, ConditionType::Reconciling);
        let events: Vec<Reason> = p.events.iter().map(|e| e.reason).collect();
        let mut bad = Vec::new();
        if steps != r.want.steps {
            bad.push(format!("steps {steps:?} != {:?}", r.want.steps));
        }
        // A row whose plan ends in an observation has no Ready verdict yet, only when Ready was unset.
        let want_ready = (
            if r.want.ready.0 { "True" } else { "False" },
            r.want.ready.1.as_str(),
        );
        let is_observation_only = steps == ["lookup_dns"];
        if !is_observation_only {
            match ready {
                Some(c) if (c.status.as_str(), c.reason.as_str()) == want_ready => {}
                other => bad.push(format!(
                    "Ready {:?} != {want_ready:?}",
                    other.map(|c| (c.status.clone(), c.reason.clone()))
                )),
            }
            if !ready.is_some_and(|c| c.message.contains(r.want.message)) {
                bad.push(format!(
                    "Ready message {:?} lacks {:?}",
                    ready.map(|c| &c.message),
                    r.want.message
                ));
            }
        }
        match (r.want.stalled, stalled) {
            (None, None) => {}
            (Some(want), Some(c)) if c.status == "True" && c.reason == want.as_str() => {}
            (want, got) => bad.push(format!("Stalled {got:?} != {want:?}")),
        }
        if r.want.reconciling != reconciling.is_some_and(|c| c.status == "True") {
            bad.push(format!(
                "Reconciling {reconciling:?}, want {}",
                r.want.reconciling
            ));
        }
        if p.requeue_after != r.want.requeue {
            bad.push(format!("requeue {:?} != {:?}", p.requeue_after, r.want.requeue));
        }
        if !is_observation_only && events != r.want.events {
            bad.push(format!("events {events:?} != {:?}", r.want.events));
        }
        if p.status.observed_generation != Some(3) {
            bad.push("observedGeneration not 3".into());
        }
        if p.status
            .conditions
            .iter()
            .any(|c| c.observed_generation != Some(3))
        {
            bad.push("a condition lacks observedGeneration 3".into());
        }
        if !bad.is_empty() {
            failures.push(format!("{}:\n  {}", r.name, bad.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Plans with a given tenant view and verify turn (the rest as `plan_one`).
fn plan_with(
    resource: &CustomDomain,
    tenant: &TenantView,
    remote: Remote<'_>,
    dns: Option<&DnsAnswer>,
    secret: SecretState<'_>,
    verify_wait: Option<VerifyWait>,
) -> Plan {
    plan(&PlanInput {
        resource,
        tenant,
        remote,
        dns,
        secret,
        previous_secret: None,
        pending_key: None,
        attempts: Attempts::default(),
        verify_wait,
        options: PlanOptions::default(),
        now: now(),
    })
}

fn plan_one(
    resource: &CustomDomain,
    remote: Remote<'_>,
    dns: Option<&DnsAnswer>,
    secret: SecretState<'_>,
) -> Plan {
    plan_with(resource, &tenant(), remote, dns, secret, None)
}

#[test]
fn create_carries_the_ownership_marker_and_the_spec() {
    let mut cd = self_managed();
    cd.spec.metadata.insert("team".into(), "identity".into());
    cd.spec.custom_client_ip_header = Some(ClientIpHeader::TrueClientIp);
    cd.spec.verification_method = Some(crate::resources::custom_domain::VerificationMethod::Txt);
    let p = plan_one(&cd, Remote::Absent, None, SecretState::Absent);
    let [Step::Create(body)] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(body.domain, "login.example.com");
    assert_eq!(body.type_, wire::DomainType::SelfManagedCerts);
    assert_eq!(body.verification_method, Some(wire::VerificationMethodName::Txt));
    assert_eq!(
        body.domain_metadata.get("k8s_owner").map(String::as_str),
        Some(MARKER)
    );
    assert_eq!(
        body.domain_metadata.get("team").map(String::as_str),
        Some("identity")
    );
    assert_eq!(body.custom_client_ip_header.as_deref(), Some("true-client-ip"));
    assert_eq!(
        body.tls_policy, None,
        "Auth0 refuses tls_policy on self-managed domains"
    );
}

#[test]
fn each_type_sends_only_its_own_fields() {
    // A spec that carries both (a cluster without the CRD's rules) is stalled before any create;
    // the bodies themselves never carry the other type's field either.
    let mut cd = auth0_managed();
    cd.spec.tls_policy = Some(crate::resources::custom_domain::TlsPolicy::Recommended);
    cd.spec.custom_client_ip_header = Some(ClientIpHeader::TrueClientIp);
    let body = create_body(&cd.spec, MARKER);
    assert_eq!(body.tls_policy, Some(wire::TlsPolicy::Recommended));
    assert_eq!(body.custom_client_ip_header, None);
    let p = plan_one(&cd, Remote::Absent, None, SecretState::Absent);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    let ready = find_condition(&p.status.conditions, ConditionType::Ready).unwrap();
    assert_eq!(ready.reason, Reason::InvalidSpec.as_str());
    assert!(
        ready.message.contains("remove spec.customClientIPHeader"),
        "{}",
        ready.message
    );

    // Auth0-managed: a header set in the dashboard is not "drift" the operator could fix.
    let mut remote = am("ready");
    remote.custom_client_ip_header = Some("x-forwarded-for".into());
    assert!(drift_patch(&auth0_managed().spec, &remote, MARKER).is_empty());
    // Self-managed: a legacy tls_policy is left alone (Auth0 refuses to change it there).
    let mut remote = sm("ready");
    remote.tls_policy = Some(wire::TlsPolicy::Compatible);
    assert!(drift_patch(&self_managed().spec, &remote, MARKER).is_empty());
}

#[test]
fn adopt_adds_the_marker_and_keeps_nothing_foreign() {
    let cd = annotate(self_managed(), ADOPT_ANNOTATION);
    let mut remote = wire_domain("self_managed_certs", "ready", None);
    remote.domain_metadata.insert("dashboard".into(), "x".into());
    let p = plan_with(
        &cd,
        &adoption_allowed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
        None,
    );
    let record = p
        .status
        .adoption
        .as_ref()
        .expect("the adoption is recorded with the PATCH");
    assert!(
        !record.key_in_secret,
        "a self-managed domain's key is not in our Secret yet"
    );
    let [Step::Adopt { id, patch }] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(id, "cd_0123456789abcdef");
    let md = patch.domain_metadata.as_ref().unwrap();
    assert_eq!(md.get("k8s_owner"), Some(&Some(MARKER.to_owned())));
    assert_eq!(
        md.get("dashboard"),
        Some(&None),
        "keys not in the spec are removed"
    );
}

#[test]
fn drift_patch_sends_only_what_differs_and_nulls_removals() {
    let mut cd = self_managed();
    cd.spec.metadata.insert("keep".into(), "1".into());
    cd.spec.relying_party_identifier = Some("example.com".into());
    let mut remote = sm("ready");
    remote.domain_metadata.insert("keep".into(), "1".into());
    remote.domain_metadata.insert("removed".into(), "old".into());
    remote.custom_client_ip_header = Some("x-forwarded-for".into());
    let patch = drift_patch(&cd.spec, &remote, MARKER);
    assert_eq!(patch.tls_policy, None);
    assert_eq!(patch.custom_client_ip_header, Field::Null);
    let mut legacy = am("ready");
    legacy.tls_policy = Some(wire::TlsPolicy::Compatible);
    assert_eq!(
        drift_patch(&auth0_managed().spec, &legacy, MARKER).tls_policy,
        Some(wire::TlsPolicy::Recommended)
    );
    assert_eq!(patch.relying_party_identifier, Field::Value("example.com".into()));
    let md = patch.domain_metadata.unwrap();
    assert_eq!(md.get("removed"), Some(&None));
    assert_eq!(md.get("keep"), Some(&Some("1".into())));
    assert_eq!(md.get("k8s_owner"), Some(&Some(MARKER.into())));

    // In line: nothing to send.
    let remote = sm("ready");
    assert!(drift_patch(&self_managed().spec, &remote, MARKER).is_empty());
    // Auth0's default rpId (the domain itself) is not drift when the spec leaves it unset.
    let mut remote = sm("ready");
    remote.relying_party_identifier = Some("login.example.com".into());
    assert!(drift_patch(&self_managed().spec, &remote, MARKER).is_empty());
    // A removed rpId is PATCHed to null.
    remote.relying_party_identifier = Some("example.com".into());
    assert_eq!(
        drift_patch(&self_managed().spec, &remote, MARKER).relying_party_identifier,
        Field::Null
    );
}

#[test]
fn ready_domain_costs_no_auth0_call() {
    let remote = sm("ready");
    let p = plan_one(
        &self_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert!(
        p.steps.iter().all(|s| !s.changes_auth0() && !s.is_observation()),
        "{:?}",
        p.steps
    );
    assert_eq!(p.status.state, Some(DomainState::Ready));
    assert_eq!(p.status.custom_domain_id.as_deref(), Some("cd_0123456789abcdef"));
    assert_eq!(
        p.status.origin_domain_name.as_deref(),
        Some("acme-cd-x.edge.tenants.eu.auth0.com")
    );
    assert_eq!(
        p.status.secret_ref.as_ref().map(|s| s.name.as_str()),
        Some("login-auth0-edge")
    );
    assert_eq!(p.status.last_synced_at, Some(Time(now())));
    for (t, ok) in [
        (ConditionType::Ready, "True"),
        (ConditionType::Verified, "True"),
        (ConditionType::CertificateReady, "True"),
        (ConditionType::SecretStored, "True"),
    ] {
        assert_eq!(
            find_condition(&p.status.conditions, t).map(|c| c.status.as_str()),
            Some(ok),
            "{t}"
        );
    }
}

#[test]
fn status_records_come_from_the_api_answer() {
    let remote = sm("pending_verification");
    let dns = DnsAnswer::Missing {
        seen: vec!["wrong".into()],
    };
    let p = plan_one(
        &self_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        Some(&dns),
        NO_KEY,
    );
    let v = p.status.verification.unwrap();
    assert_eq!(v.records.len(), 1);
    assert_eq!(v.records[0].type_, "TXT");
    assert_eq!(v.records[0].name, "_cf-custom-hostname.login.example.com");
    assert_eq!(v.records[0].value, "txt-value-123");
    assert_eq!(v.dns_observed, Some(false));
    assert!(v.error_message.unwrap().contains("found instead: wrong"));
    let verified = find_condition(&p.status.conditions, ConditionType::Verified).unwrap();
    assert_eq!(
        (verified.status.as_str(), verified.reason.as_str()),
        ("False", "AwaitingDns")
    );
}

#[test]
fn lookup_dns_is_an_observation_and_comes_last() {
    let remote = sm("pending_verification");
    let p = plan_one(
        &self_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        SecretState::Absent,
    );
    assert_eq!(
        p.steps.iter().map(Step::label).collect::<Vec<_>>(),
        ["ensure_secret", "lookup_dns"]
    );
    let Step::LookupDns(rec) = &p.steps[1] else {
        panic!()
    };
    assert_eq!(rec.name, "_cf-custom-hostname.login.example.com");
    assert!(p.steps.last().unwrap().is_observation());
}

#[test]
fn events_only_on_transitions() {
    let remote = sm("ready");
    let first = plan_one(
        &self_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert_eq!(first.events.len(), 1);
    let mut again = self_managed();
    again.status = Some(first.status.clone());
    let second = plan_one(
        &again,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert!(second.events.is_empty(), "{:?}", second.events);
    // Conditions unchanged: transition times kept, so the status write can be skipped.
    assert_eq!(first.status, second.status);
}

fn refused(mut cd: CustomDomain, reason: Reason, retry_after: Option<i64>) -> CustomDomain {
    let mut status = CustomDomainStatus::default();
    mark_stalled(&mut status, reason, "Auth0 refused to create it", Some(3), now());
    status.create_refused = Some(crate::resources::custom_domain::CreateRefusal {
        generation: 3,
        retry_after: retry_after
            .map(|s| Time(now().checked_add(jiff::SignedDuration::from_secs(s)).unwrap())),
    });
    cd.status = Some(status);
    cd
}

#[test]
fn a_refused_create_is_not_sent_again_until_its_retry_time_or_a_spec_change() {
    // Entitlement / plan: one more try after the retry time.
    let mut cd = refused(self_managed(), Reason::EntitlementExceeded, Some(900));
    let p = plan_one(&cd, Remote::Absent, None, SecretState::Absent);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.requeue_after, Duration::from_secs(900));
    assert!(p.events.is_empty(), "no new transition: {:?}", p.events);
    let stalled = find_condition(&p.status.conditions, ConditionType::Stalled).unwrap();
    assert_eq!(stalled.reason, "EntitlementExceeded");
    let due = refused(self_managed(), Reason::EntitlementExceeded, Some(0));
    let p = plan_one(&due, Remote::Absent, None, SecretState::Absent);
    assert_eq!(p.steps.iter().map(Step::label).collect::<Vec<_>>(), ["create"]);
    assert_eq!(p.status.create_refused, None);
    // A body Auth0 refused (400): never again for this generation.
    let bad = refused(self_managed(), Reason::CreateRefused, None);
    let p = plan_one(&bad, Remote::Absent, None, SecretState::Absent);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.requeue_after, RESYNC);
    // A new generation (spec edited) retries at once.
    cd.metadata.generation = Some(4);
    let p = plan_one(&cd, Remote::Absent, None, SecretState::Absent);
    assert_eq!(p.steps.iter().map(Step::label).collect::<Vec<_>>(), ["create"]);
    // The domain showing up (e.g. the other tenant let it go, then we adopted it) clears it.
    let remote = sm("pending_verification");
    let p = plan_one(
        &refused(self_managed(), Reason::AlreadyExists, Some(900)),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        NO_KEY,
    );
    assert_eq!(p.status.create_refused, None);
}

#[test]
fn a_tenant_wide_refusal_holds_every_new_domain_without_calling_auth0() {
    let cd = self_managed();
    let mut t = tenant();
    t.create_refused = Some(TenantRefusal {
        reason: Reason::EntitlementExceeded,
        message: "You reached the maximum number of custom domains for your account.".into(),
        retry_in: Duration::from_secs(600),
    });
    let p = plan_with(&cd, &t, Remote::Absent, None, SecretState::Absent, None);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.requeue_after, Duration::from_secs(600));
    let stalled = find_condition(&p.status.conditions, ConditionType::Stalled).unwrap();
    assert_eq!(stalled.reason, "EntitlementExceeded");
    assert!(
        stalled.message.contains("maximum number") && stalled.message.contains("10 min"),
        "{}",
        stalled.message
    );
}

/// A pending self-managed domain whose record DNS shows, with the executor's verify turn.
fn visible_with_turn(ahead: usize, wait: Duration, per_minute: f64) -> Plan {
    let remote = sm("pending_verification");
    plan_with(
        &self_managed(),
        &tenant(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        Some(&DnsAnswer::Visible),
        NO_KEY,
        Some(VerifyWait {
            ahead,
            wait,
            per_minute,
        }),
    )
}

#[test]
fn waiting_for_the_verify_budget_says_where_in_the_queue() {
    let p = visible_with_turn(7, Duration::from_secs(150), 5.0);
    assert!(p.steps.iter().all(|s| !s.changes_auth0()), "{:?}", p.steps);
    assert_eq!(p.requeue_after, Duration::from_secs(150));
    let verified = find_condition(&p.status.conditions, ConditionType::Verified).unwrap();
    assert_eq!(verified.reason, "AwaitingVerifyBudget");
    assert!(
        verified
            .message
            .contains("waiting for the verify budget (5 per minute): 7 ahead, about 3 min"),
        "{}",
        verified.message
    );
    assert_eq!(p.status.verification.as_ref().unwrap().dns_observed, Some(true));
    assert_eq!(
        p.status.verification.as_ref().unwrap().error_message,
        None,
        "waiting is not an error"
    );
    assert_eq!(
        p.status.verification.as_ref().unwrap().verify_expected_at,
        Some(Time(Timestamp::from_second(1_800_000_150).unwrap())),
        "the turn as a time, to the second"
    );
}

#[test]
fn the_expected_verify_time_is_rounded_to_the_second_and_gone_once_verifying() {
    let p = visible_with_turn(0, Duration::from_millis(8_499), 5.0);
    assert_eq!(
        p.status.verification.as_ref().unwrap().verify_expected_at,
        Some(Time(Timestamp::from_second(1_800_000_008).unwrap()))
    );
    // A turn too close to show: the verify is sent and no time is promised.
    let p = visible_with_turn(0, Duration::from_millis(100), 5.0);
    assert_eq!(p.status.verification.as_ref().unwrap().verify_expected_at, None);
}

#[test]
fn a_tenant_whose_plan_has_no_custom_domains_stalls_its_domains_without_calls() {
    let mut t = tenant();
    t.health = TenantHealth::PlanRefused(
        "Auth0 answered 403: The account is not allowed to perform this operation.".into(),
    );
    let p = plan_with(
        &self_managed(),
        &t,
        Remote::NotLoaded,
        None,
        SecretState::Absent,
        None,
    );
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    let stalled = find_condition(&p.status.conditions, ConditionType::Stalled).unwrap();
    assert_eq!(stalled.reason, "PlanRefused");
    assert!(stalled.message.contains("not allowed"), "{}", stalled.message);
}

#[test]
fn deleting_in_a_refused_namespace_releases_at_once_without_calling_auth0() {
    let mut t = tenant();
    t.allowed = false;
    for (cd, kind) in [
        (deleting(self_managed()), EventKind::Normal),
        (
            deleting(with_status_id(self_managed(), "cd_0123456789abcdef")),
            EventKind::Warning,
        ),
    ] {
        let p = plan_with(&cd, &t, Remote::NotLoaded, None, SecretState::Absent, None);
        assert_eq!(p.steps, vec![Step::ReleaseFinalizer]);
        let why: Vec<EventKind> = p
            .events
            .iter()
            .filter(|e| e.reason == Reason::TenantNotAllowed)
            .map(|e| e.kind)
            .collect();
        assert_eq!(why, vec![kind], "{:?}", p.events);
    }
}

#[test]
fn a_name_too_long_for_a_label_is_invalid_without_calling_auth0() {
    let mut cd = self_managed();
    cd.metadata.name = Some("n".repeat(64));
    let p = plan_one(&cd, Remote::Absent, None, SecretState::Absent);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    let ready = find_condition(&p.status.conditions, ConditionType::Ready).unwrap();
    assert_eq!(ready.reason, "InvalidSpec");
    assert!(
        ready.message.contains("at most 63 characters"),
        "{}",
        ready.message
    );
}

#[test]
fn a_verify_turn_seconds_away_keeps_the_status_and_comes_back_then() {
    let p = visible_with_turn(3, Duration::from_millis(1500), 1200.0);
    assert!(p.steps.iter().all(|s| !s.changes_auth0()), "{:?}", p.steps);
    assert_eq!(p.requeue_after, Duration::from_millis(1500));
    let verified = find_condition(&p.status.conditions, ConditionType::Verified).unwrap();
    assert_eq!(verified.reason, "AwaitingVerification", "{}", verified.message);
}

#[test]
fn a_verified_domain_does_not_keep_a_stale_dns_miss() {
    let mut cd = self_managed();
    cd.status = Some(CustomDomainStatus {
        verification: Some(crate::resources::custom_domain::VerificationStatus {
            dns_observed: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    });
    let remote = sm("ready");
    let p = plan_one(
        &cd,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert_eq!(p.status.verification.as_ref().unwrap().dns_observed, None);
}

#[test]
fn mtls_alias_and_disabled_aliases_condition() {
    let mut cd = self_managed();
    cd.spec.mtls = Some(DomainMtls { enabled: true });
    let remote = sm("ready");
    let p = plan_one(
        &cd,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert_eq!(p.status.mtls_alias.as_deref(), Some("mtls.login.example.com"));
    let c = find_condition(&p.status.conditions, ConditionType::MtlsAliases).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "MtlsAliasesDisabled")
    );
    assert!(c.message.contains("enableEndpointAliases"));
    // Still usable without mTLS.
    assert!(crate::resources::conditions::is_true(
        &p.status.conditions,
        ConditionType::Ready
    ));
    let Step::EnsureSecret(content) = &plan_one(
        &cd,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        SecretState::Present {
            has_key: true,
            origin: Some("old.example"),
            owner: SecretOwner::ThisResource,
        },
    )
    .steps[0] else {
        panic!()
    };
    assert_eq!(content.mtls_domain.as_deref(), Some("mtls.login.example.com"));
}

#[test]
fn dns_backoff_doubles_from_1s_to_the_cap() {
    let max = Duration::from_secs(20);
    let got: Vec<u64> = (0..7).map(|n| dns_backoff(n, max).as_secs()).collect();
    assert_eq!(got, [1, 2, 4, 8, 16, 20, 20]);
    assert_eq!(
        dns_backoff(u32::MAX, Duration::from_secs(300)),
        Duration::from_secs(300)
    );
}

type Mutation = Box<dyn Fn(&mut CustomDomainSpec)>;

#[test]
fn validate_spec_mirrors_admission() {
    assert!(validate_spec(&self_managed().spec).is_ok());
    let cases: Vec<(&str, Mutation)> = vec![
        ("wildcard", Box::new(|s| s.domain = "*.example.com".into())),
        (
            "trailing dot",
            Box::new(|s| s.domain = "login.example.com.".into()),
        ),
        ("lower-case", Box::new(|s| s.domain = "Login.example.com".into())),
        ("fully qualified", Box::new(|s| s.domain = "localhost".into())),
        (
            "label",
            Box::new(|s| s.domain = format!("{}.example.com", "a".repeat(64))),
        ),
        (
            "253",
            Box::new(|s| s.domain = format!("{}.com", vec!["a".repeat(60); 5].join("."))),
        ),
        (
            "valid host name",
            Box::new(|s| s.domain = "-bad.example.com".into()),
        ),
        (
            "more than 9 keys",
            Box::new(|s| s.metadata = (0..10).map(|i| (format!("k{i}"), "v".into())).collect()),
        ),
        (
            "reserved",
            Box::new(|s| {
                s.metadata.insert("k8s_owner".into(), "me".into());
            }),
        ),
        (
            "255",
            Box::new(|s| {
                s.metadata.insert("k".into(), "v".repeat(256));
            }),
        ),
        (
            "1 to 255",
            Box::new(|s| {
                s.metadata.insert("k".repeat(256), "v".into());
            }),
        ),
        (
            "secretName",
            Box::new(|s| s.secret_name = Some("Bad_Name".into())),
        ),
        (
            "verificationMethod",
            Box::new(|s| {
                s.type_ = DomainType::Auth0ManagedCerts;
                s.verification_method = Some(crate::resources::custom_domain::VerificationMethod::Txt);
            }),
        ),
        (
            "mTLS",
            Box::new(|s| {
                s.type_ = DomainType::Auth0ManagedCerts;
                s.mtls = Some(DomainMtls { enabled: true });
            }),
        ),
        (
            "issuerRef",
            Box::new(|s| {
                s.type_ = DomainType::Auth0ManagedCerts;
                s.certificate = Some(crate::resources::custom_domain::CertificateSpec {
                    issuer_ref: Some(crate::resources::custom_domain::IssuerRef {
                        name: "le".into(),
                        kind: None,
                        group: None,
                    }),
                });
            }),
        ),
    ];
    for (want, mutate) in cases {
        let mut s = self_managed().spec;
        mutate(&mut s);
        let errs = validate_spec(&s).expect_err(want);
        assert!(errs.iter().any(|e| e.contains(want)), "{want}: {errs:?}");
    }
    // Self-managed may use all of them.
    let mut s = self_managed().spec;
    s.verification_method = Some(crate::resources::custom_domain::VerificationMethod::Txt);
    s.mtls = Some(DomainMtls { enabled: true });
    s.metadata = (0..9).map(|i| (format!("k{i}"), "v".repeat(255))).collect();
    assert!(validate_spec(&s).is_ok());
}

#[test]
fn executor_retrying_keeps_ready() {
    let remote = sm("ready");
    let mut status = plan_one(
        &self_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    )
    .status;
    mark_retrying(
        &mut status,
        Reason::RateLimited,
        "Auth0 rate limit reached; retrying at reset",
        Some(3),
        now(),
    );
    assert!(crate::resources::conditions::is_true(
        &status.conditions,
        ConditionType::Ready
    ));
    let r = find_condition(&status.conditions, ConditionType::Reconciling).unwrap();
    assert_eq!((r.status.as_str(), r.reason.as_str()), ("True", "RateLimited"));
}

#[test]
fn a_tenant_outage_leaves_ready_alone_and_says_so_in_tenant_reachable() {
    let down = TenantView {
        health: TenantHealth::NotReady("Auth0 refused the credentials (401)".into()),
        ..tenant()
    };
    let cd = was_ready(self_managed());
    let p = plan_with(&cd, &down, Remote::NotLoaded, None, KEY_OK, None);
    assert!(p.steps.is_empty());
    let ready = find_condition(&p.status.conditions, ConditionType::Ready).unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", "Ready"));
    assert!(find_condition(&p.status.conditions, ConditionType::Reconciling).is_none());
    let reach = find_condition(&p.status.conditions, ConditionType::TenantReachable).unwrap();
    assert_eq!(reach.status, "False");
    assert!(reach.message.contains("401"), "{}", reach.message);
    assert!(
        p.events.is_empty(),
        "no Event for a domain that goes on serving: {:?}",
        p.events
    );

    // A domain that was not Ready yet waits, as before.
    let p = plan_with(&self_managed(), &down, Remote::NotLoaded, None, KEY_OK, None);
    let ready = find_condition(&p.status.conditions, ConditionType::Ready).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "TenantNotReady")
    );

    // Back: the condition goes, Ready stays.
    let mut after = cd.clone();
    after.status = Some(p.status.clone());
    let mut cd2 = was_ready(self_managed());
    if let Some(s) = cd2.status.as_mut() {
        s.conditions.extend(
            after
                .status
                .iter()
                .flat_map(|s| s.conditions.iter())
                .filter(|c| c.type_ == "TenantReachable")
                .cloned(),
        );
    }
    let remote = sm("ready");
    let p = plan_with(
        &cd2,
        &tenant(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
        None,
    );
    assert!(find_condition(&p.status.conditions, ConditionType::TenantReachable).is_none());
    assert!(crate::resources::conditions::is_true(
        &p.status.conditions,
        ConditionType::Ready
    ));
}

#[test]
fn the_origin_is_kept_when_an_answer_leaves_it_out() {
    let cd = was_ready(self_managed());
    let remote = without_origin(sm("ready"));
    let p = plan_one(
        &cd,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.status.origin_domain_name.as_deref(), Some(ORIGIN));
    assert!(crate::resources::conditions::is_true(
        &p.status.conditions,
        ConditionType::Ready
    ));
    // The Secret lacks the origin (a key restored by hand): it is written, and Ready waits for it.
    let restored = SecretState::Present {
        has_key: true,
        origin: None,
        owner: SecretOwner::ThisResource,
    };
    let p = plan_one(
        &cd,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        restored,
    );
    let [Step::EnsureSecret(content)] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(content.origin_domain_name.as_deref(), Some(ORIGIN));
    assert!(!crate::resources::conditions::is_true(
        &p.status.conditions,
        ConditionType::Ready
    ));
}

#[test]
fn an_adoption_completes_once_the_key_is_in_the_secret() {
    let cd = adopted(self_managed());
    let remote = sm("ready");
    let p = plan_with(
        &cd,
        &adoption_allowed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
        None,
    );
    assert!(p.status.adoption.as_ref().is_some_and(|a| a.key_in_secret));
}

#[test]
fn adoption_verdicts_follow_the_tenant_spec() {
    use crate::resources::tenant::{Adoption, DomainPattern};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let labels = BTreeMap::from([("team".to_owned(), "identity".to_owned())]);
    assert_eq!(
        adoption_verdict(None, &labels, "login.example.com"),
        AdoptionVerdict::Off
    );
    let rule = Adoption {
        namespace_selector: LabelSelector {
            match_labels: Some(BTreeMap::from([("team".to_owned(), "identity".to_owned())])),
            ..Default::default()
        },
        domains: vec![DomainPattern("*.example.com".into())],
    };
    assert_eq!(
        adoption_verdict(Some(&rule), &labels, "login.example.com"),
        AdoptionVerdict::Allowed
    );
    assert_eq!(
        adoption_verdict(Some(&rule), &labels, "login.example.org"),
        AdoptionVerdict::DomainNotListed
    );
    assert_eq!(
        adoption_verdict(Some(&rule), &BTreeMap::new(), "login.example.com"),
        AdoptionVerdict::NamespaceNotSelected("team=identity".into())
    );
}

#[test]
fn domain_claims_follow_the_tenant_spec() {
    use crate::resources::tenant::{DomainClaim, DomainPattern};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let team = |t: &str| BTreeMap::from([("team".to_owned(), t.to_owned())]);
    let rule = |t: &str, names: &[&str]| DomainClaim {
        namespace_selector: LabelSelector {
            match_labels: Some(team(t)),
            ..Default::default()
        },
        domains: names.iter().map(|n| DomainPattern((*n).into())).collect(),
    };
    assert_eq!(
        claim_verdict(&[], &team("a"), "login.b.example.com"),
        ClaimVerdict::Allowed,
        "no rules: any name"
    );
    let rules = [
        rule("a", &["*.a.example.com"]),
        rule("b", &["login.b.example.com"]),
    ];
    assert_eq!(
        claim_verdict(&rules, &team("a"), "id.a.example.com"),
        ClaimVerdict::Allowed
    );
    assert_eq!(
        claim_verdict(&rules, &team("b"), "login.b.example.com"),
        ClaimVerdict::Allowed
    );
    assert_eq!(
        claim_verdict(&rules, &team("a"), "login.b.example.com"),
        ClaimVerdict::Refused(
            "its spec.allowedDomains lets this namespace claim only *.a.example.com".into()
        ),
        "team a may not claim team b's name"
    );
    assert_eq!(
        claim_verdict(&rules, &team("a"), "a.example.com"),
        ClaimVerdict::Refused(
            "its spec.allowedDomains lets this namespace claim only *.a.example.com".into()
        ),
        "*. covers names below, not the name itself"
    );
    assert_eq!(
        claim_verdict(&rules, &team("c"), "id.a.example.com"),
        ClaimVerdict::Refused("no rule of its spec.allowedDomains selects this namespace".into())
    );
}

#[test]
fn a_secret_name_edit_moves_the_key_instead_of_recreating() {
    let mut cd = annotate(was_ready(self_managed()), RECREATE_ON_KEY_LOSS_ANNOTATION);
    if let Some(s) = cd.status.as_mut() {
        s.secret_ref = Some(crate::resources::custom_domain::SecretRef {
            name: "login-auth0-edge".into(),
        });
    }
    cd.spec.secret_name = Some("edge-v2".into());
    let remote = sm("ready");
    let p = plan(&PlanInput {
        resource: &cd,
        tenant: &tenant(),
        remote: Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        dns: None,
        secret: SecretState::Absent,
        previous_secret: Some(KEY_OK),
        pending_key: None,
        attempts: Attempts::default(),
        verify_wait: None,
        options: PlanOptions::default(),
        now: now(),
    });
    let [Step::CopyKey { from, to }] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!((from.as_str(), to.name.as_str()), ("login-auth0-edge", "edge-v2"));
    assert_eq!(to.origin_domain_name.as_deref(), Some(ORIGIN));
}

#[test]
fn the_state_column_is_never_empty_and_never_contradicts_verified() {
    use crate::resources::custom_domain::Phase;
    let phase = |p: &Plan| p.status.phase;
    // Nothing in Auth0 yet: creating.
    assert_eq!(
        phase(&plan_one(
            &self_managed(),
            Remote::Absent,
            None,
            SecretState::Absent
        )),
        Some(Phase::Creating)
    );
    // Stalled before anything exists in Auth0.
    let mut bad = auth0_managed();
    bad.spec.domain = "*.example.com".into();
    assert_eq!(
        phase(&plan_one(&bad, Remote::Absent, None, SecretState::Absent)),
        Some(Phase::Stalled)
    );
    // Tenant not found: stalled, not empty.
    let gone = TenantView {
        health: TenantHealth::NotFound,
        ..tenant()
    };
    let p = plan_with(
        &self_managed(),
        &gone,
        Remote::NotLoaded,
        None,
        SecretState::Absent,
        None,
    );
    assert_eq!(phase(&p), Some(Phase::Stalled));
    // Verified Auth0-managed domain whose certificate is being issued.
    let remote = with_verification_status(am("pending_verification"), "verified");
    let p = plan_one(
        &auth0_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        SecretState::Absent,
    );
    assert_eq!(phase(&p), Some(Phase::Provisioning));
    let remote = sm("pending_verification");
    let p = plan_one(
        &self_managed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert_eq!(phase(&p), Some(Phase::PendingVerification));
    assert_eq!(
        phase(&plan_one(
            &deleting(self_managed()),
            Remote::Absent,
            None,
            SecretState::Absent
        )),
        Some(Phase::Deleting)
    );
}

#[test]
fn markers_carry_the_uid_and_a_predecessor_must_be_adopted() {
    let mut cd = self_managed();
    cd.metadata.uid = Some("u-2".into());
    assert_eq!(owner_marker("c1", &cd), "c1/team-a/login/u-2");
    let with = |marker: &str| wire_domain("self_managed_certs", "ready", Some(marker));
    assert_eq!(
        owner_of(&with("c1/team-a/login/u-2"), "c1", &cd),
        Owner::ThisResource
    );
    // From before uids: ours, and the next PATCH writes the uid.
    let legacy = with("c1/team-a/login");
    assert_eq!(owner_of(&legacy, "c1", &cd), Owner::ThisResource);
    let patch = drift_patch(&cd.spec, &legacy, &owner_marker("c1", &cd));
    assert_eq!(
        patch.domain_metadata.as_ref().and_then(|m| m.get("k8s_owner")),
        Some(&Some("c1/team-a/login/u-2".to_owned()))
    );
    assert_eq!(
        owner_of(&with("c1/team-a/login/u-1"), "c1", &cd),
        Owner::Predecessor("u-1".into())
    );
    assert_eq!(
        owner_of(&with("c1/team-a/login-2/u-1"), "c1", &cd),
        Owner::Other("c1/team-a/login-2/u-1".into())
    );
    assert_eq!(
        owner_of(&with("c2/team-a/login/u-2"), "c1", &cd),
        Owner::Other("c2/team-a/login/u-2".into())
    );

    // A predecessor's domain (namespace re-created, or an Orphan left behind) is not inherited.
    let remote = with("c1/team-a/login/u-1");
    let p = plan_one(
        &cd,
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
    );
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    let stalled = find_condition(&p.status.conditions, ConditionType::Stalled).unwrap();
    assert_eq!(stalled.reason, "AlreadyExists");
    assert!(
        stalled
            .message
            .contains("earlier CustomDomain team-a/login (uid u-1)"),
        "{}",
        stalled.message
    );
    // With the tenant's consent and the annotation, it is adopted like any unowned domain.
    let cd = annotate(cd, ADOPT_ANNOTATION);
    let p = plan_with(
        &cd,
        &adoption_allowed(),
        Remote::Found {
            domain: &remote,
            fetched_at: now(),
        },
        None,
        KEY_OK,
        None,
    );
    assert!(
        matches!(p.steps.as_slice(), [Step::Adopt { .. }]),
        "{:?}",
        p.steps
    );
}

#[test]
fn the_verify_step_carries_the_secret_a_key_goes_into() {
    let mut domain = sm("pending_verification");
    domain.origin_domain_name = Some("tenant-cd-x.edge.tenants.us.auth0.com".into());
    let found = |d| Remote::Found {
        domain: d,
        fetched_at: now(),
    };
    let p = plan_one(&self_managed(), found(&domain), Some(&DnsAnswer::Visible), NO_KEY);
    let [
        Step::Verify {
            id,
            secret: Some(secret),
        },
    ] = p.steps.as_slice()
    else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(id, &domain.custom_domain_id);
    assert_eq!(secret.name, "login-auth0-edge");
    assert_eq!(secret.domain, "login.example.com");
    assert_eq!(
        secret.origin_domain_name.as_deref(),
        Some("tenant-cd-x.edge.tenants.us.auth0.com")
    );
    // Auth0-managed domains get no key, so no Secret.
    let managed = am("pending_verification");
    let p = plan_one(
        &auth0_managed(),
        found(&managed),
        Some(&DnsAnswer::Visible),
        SecretState::Absent,
    );
    assert!(
        matches!(p.steps.as_slice(), [Step::Verify { secret: None, .. }]),
        "{:?}",
        p.steps
    );
}

#[test]
fn changed_fields_names_fields_and_condition_types() {
    let status = |v: serde_json::Value| -> CustomDomainStatus { serde_json::from_value(v).unwrap() };
    let cond = |t: &str, s: &str| {
        json!({"type": t, "status": s, "reason": "Verified", "message": "m",
               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    };
    let old = status(json!({
        "customDomainId": "cd_1", "originDomainName": "o.example",
        "conditions": [cond("Ready", "True"), cond("TenantReachable", "True")],
    }));
    let new = status(json!({
        "customDomainId": "cd_1", "lastSyncedAt": "2026-01-01T00:00:01Z",
        "conditions": [cond("Ready", "True"), cond("TenantReachable", "False")],
    }));
    assert_eq!(
        changed_fields(Some(&old), &new),
        vec!["conditions.TenantReachable", "lastSyncedAt", "originDomainName"]
    );
    assert!(changed_fields(Some(&new), &new).is_empty());
    assert_eq!(changed_fields(None, &old).len(), 4, "everything is new");
}

#[test]
fn a_read_that_found_nothing_new_moves_last_synced_at_only_hourly() {
    let at = |secs: i64| Some(Time(Timestamp::from_second(1_800_000_000 + secs).unwrap()));
    let mut old = CustomDomainStatus {
        custom_domain_id: Some("cd_1".into()),
        last_synced_at: at(0),
        ..Default::default()
    };
    // A resync 10 minutes later that changed nothing else: no write.
    let mut new = CustomDomainStatus {
        last_synced_at: at(600),
        ..old.clone()
    };
    hold_synced_at(Some(&old), &mut new);
    assert_eq!(new.last_synced_at, at(0));
    assert!(changed_fields(Some(&old), &new).is_empty());
    // An hour on, the heartbeat is written.
    let hour = SYNCED_AT_REFRESH.as_secs() as i64;
    let mut new = CustomDomainStatus {
        last_synced_at: at(hour),
        ..old.clone()
    };
    hold_synced_at(Some(&old), &mut new);
    assert_eq!(new.last_synced_at, at(hour));
    // With any other change the new read time goes along.
    let mut new = CustomDomainStatus {
        last_synced_at: at(30),
        state: Some(DomainState::Ready),
        ..old.clone()
    };
    hold_synced_at(Some(&old), &mut new);
    assert_eq!(new.last_synced_at, at(30));
    // A clock that went back, or nothing stored yet, is taken as it is.
    let mut new = CustomDomainStatus {
        last_synced_at: at(-5),
        ..old.clone()
    };
    hold_synced_at(Some(&old), &mut new);
    assert_eq!(new.last_synced_at, at(-5));
    old.last_synced_at = None;
    let mut new = CustomDomainStatus {
        last_synced_at: at(5),
        ..old.clone()
    };
    hold_synced_at(Some(&old), &mut new);
    assert_eq!(new.last_synced_at, at(5));
}
