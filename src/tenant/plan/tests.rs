//! Table tests of the tenant plan: every decision of `plan.rs` is a row here.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::resources::conditions::find_condition;
use crate::tenant::access::CredentialsScope;
use crate::tenant::decide;

const RESYNC: Duration = Duration::from_secs(600);
const FRESH: Duration = Duration::from_secs(60);

fn tenant(extra: serde_json::Value) -> Auth0Tenant {
    let mut spec = serde_json::json!({
        "domain": "acme.eu.auth0.com",
        "credentialsSecretRef": {"namespace": "auth0", "name": "creds"},
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "auth0.domain-operator.dev/v1alpha1",
        "kind": "Auth0Tenant",
        "metadata": {"name": "default", "generation": 3},
        "spec": spec,
    }))
    .unwrap()
}

fn domain(name: &str, status: &str, is_default: bool) -> std::sync::Arc<auth0::types::CustomDomain> {
    serde_json::from_value::<auth0::types::CustomDomain>(serde_json::json!({
        "custom_domain_id": format!("cd_{name}"), "domain": name, "status": status,
        "type": "self_managed_certs", "is_default": is_default,
    }))
    .map(std::sync::Arc::new)
    .unwrap()
}

fn granted(scopes: &[&str]) -> Access {
    Access::Checked(Ok(CredentialsCheck {
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }))
}

/// Every scope: custom domains and tenant settings.
fn all_scopes() -> Access {
    let mut s = CUSTOM_DOMAIN_SCOPES.to_vec();
    s.extend(TENANT_SETTINGS_SCOPES);
    granted(&s)
}

fn refused(reason: Reason, message: &str) -> Refusal {
    refusal(reason, message)
}

struct Case {
    tenant: Auth0Tenant,
    access: Access,
    domains: Option<Vec<std::sync::Arc<auth0::types::CustomDomain>>>,
    memory: Memory,
    answers: Answers,
    hold: Option<&'static str>,
}

impl Case {
    fn new(tenant: Auth0Tenant, access: Access) -> Self {
        Self {
            tenant,
            access,
            domains: Some(Vec::new()),
            memory: Memory::default(),
            answers: Answers::default(),
            hold: None,
        }
    }

    /// Memory that makes no read necessary: default read a minute ago (canonical), settings too.
    fn settled_memory(mut self) -> Self {
        self.memory = Memory {
            default_read: Some((None, FRESH)),
            settings_read: Some(FRESH),
        };
        self
    }

    fn plan(&self) -> TenantPlan {
        plan(&TenantInput {
            tenant: &self.tenant,
            now: Timestamp::from_second(1_700_000_000).unwrap(),
            hold: self.hold,
            access: &self.access,
            domains: self.domains.as_deref(),
            memory: &self.memory,
            answers: &self.answers,
        })
    }
}

/// `(status, reason)` of a condition, or `None` when absent.
fn cond(p: &TenantPlan, t: ConditionType) -> Option<(String, String)> {
    find_condition(&p.status.conditions, t).map(|c| (c.status.clone(), c.reason.clone()))
}

fn is(status: &str, reason: Reason) -> Option<(String, String)> {
    Some((status.to_owned(), reason.as_str().to_owned()))
}

#[test]
fn credentials_table() {
    // (access, Ready, Stalled, Reconciling, health is ready, plan refused)
    let unbuilt = |reason| Access::Unbuilt(refused(reason, "x"));
    let failed = |reason| Access::Checked(Err(refused(reason, "x")));
    #[rustfmt::skip]
    let rows: Vec<(Access, Reason, bool, bool)> = vec![
        (unbuilt(Reason::TenantDomainNotAllowed), Reason::TenantDomainNotAllowed, true, false),
        (unbuilt(Reason::CredentialsNotFound), Reason::CredentialsNotFound, true, false),
        (unbuilt(Reason::InvalidTenant), Reason::InvalidTenant, true, false),
        (failed(Reason::CredentialsRejected), Reason::CredentialsRejected, true, false),
        (failed(Reason::MissingScopes), Reason::MissingScopes, true, false),
        (failed(Reason::PlanRefused), Reason::PlanRefused, true, true),
        (failed(Reason::Auth0Unreachable), Reason::Auth0Unreachable, false, false),
        (failed(Reason::Auth0Error), Reason::Auth0Error, false, false),
    ];
    for (i, (access, reason, stalled, plan_refused)) in rows.into_iter().enumerate() {
        let mut case = Case::new(tenant(serde_json::json!({})), access);
        // A stale Stalled (or Reconciling) from an earlier failure is replaced, not kept beside.
        let mut old = Auth0TenantStatus::default();
        set_condition(
            &mut old.conditions,
            condition(
                if stalled {
                    ConditionType::Reconciling
                } else {
                    ConditionType::Stalled
                },
                true,
                Reason::Auth0Error,
                "old",
                Some(2),
                Timestamp::UNIX_EPOCH,
            ),
        );
        case.tenant.status = Some(old);
        let p = case.plan();
        assert_eq!(cond(&p, ConditionType::Ready), is("False", reason), "row {i}");
        let (kept, gone) = if stalled {
            (ConditionType::Stalled, ConditionType::Reconciling)
        } else {
            (ConditionType::Reconciling, ConditionType::Stalled)
        };
        assert_eq!(cond(&p, kept), is("True", reason), "row {i}");
        assert_eq!(cond(&p, gone), None, "row {i}");
        assert!(p.steps.is_empty(), "row {i}: {:?}", p.steps);
        assert_eq!(p.requeue, NOT_READY_RECHECK, "row {i}");
        assert_eq!(
            matches!(p.health, Health::PlanRefused(_)),
            plan_refused,
            "row {i}"
        );
        assert!(!matches!(p.health, Health::Ready | Health::Checking), "row {i}");
        assert_eq!(p.status.observed_generation, Some(3), "row {i}");
    }
}

#[test]
fn rejected_credentials_name_the_secret_and_keys() {
    let case = Case::new(
        tenant(serde_json::json!({})),
        Access::Checked(Err(refused(
            Reason::CredentialsRejected,
            "Auth0 token request answered 401",
        ))),
    );
    let p = case.plan();
    let Health::NotReady(message) = &p.health else {
        panic!("{:?}", p.health)
    };
    assert!(
        message.contains("Secret auth0/creds (keys client_id and client_secret)")
            && message.contains("Management API of acme.eu.auth0.com"),
        "{message}"
    );
    let ready = find_condition(&p.status.conditions, ConditionType::Ready).unwrap();
    assert_eq!(&ready.message, message);
}

#[test]
fn ready_reads_the_default_and_settings_first_then_settles() {
    let case = Case::new(tenant(serde_json::json!({})), all_scopes());
    let p = case.plan();
    assert_eq!(p.steps, vec![Step::ReadDefault, Step::ReadSettings]);
    assert_eq!(p.health, Health::Ready);
    assert_eq!(cond(&p, ConditionType::Ready), is("True", Reason::TenantReady));
    // Answered: nothing more to do; one verified domain needs no default.
    let mut case = case;
    case.domains = Some(vec![domain("a.example.com", "ready", false)]);
    case.answers.default_read = Some(Ok(None));
    case.answers.settings_read = Some(Ok(true));
    let p = case.plan();
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(
        cond(&p, ConditionType::DefaultDomain),
        is("True", Reason::DefaultDomainNotNeeded)
    );
    assert_eq!(
        cond(&p, ConditionType::MtlsAliases),
        None,
        "spec.mtls unset: no condition"
    );
    assert_eq!(p.mtls_aliases, Some(true), "learnt for the domains");
    assert_eq!(p.requeue, RESYNC);
    assert_eq!(p.counts.as_ref().map(|c| (c.total, c.ready)), Some((1, 1)));
    let ready = find_condition(&p.status.conditions, ConditionType::Ready).unwrap();
    assert_eq!(ready.message, "credentials work; 1 domains on the tenant");
}

#[test]
fn default_domain_rounds() {
    let t = tenant(serde_json::json!({"defaultCustomDomain": "a.example.com"}));
    let domains = vec![
        domain("a.example.com", "ready", false),
        domain("b.example.com", "ready", true),
    ];
    // The list says b is the default, the last read said the canonical domain: read again.
    let mut case = Case::new(t, all_scopes()).settled_memory();
    case.domains = Some(domains.clone());
    assert_eq!(case.plan().steps, vec![Step::ReadDefault]);
    // The read agrees with the list: set a.
    case.answers.default_read = Some(Ok(Some("b.example.com".into())));
    let p = case.plan();
    assert_eq!(p.steps, vec![Step::SetDefault("a.example.com".into())]);
    // Set: one Normal Event, the status names the new default.
    case.answers.default_set = Some(Ok(Some("a.example.com".into())));
    let p = case.plan();
    assert!(p.steps.is_empty());
    assert_eq!(p.status.default_custom_domain.as_deref(), Some("a.example.com"));
    assert_eq!(
        cond(&p, ConditionType::DefaultDomain),
        is("True", Reason::DefaultDomainSet)
    );
    assert_eq!(
        p.events.iter().map(|e| (e.type_, e.reason)).collect::<Vec<_>>(),
        vec![(EventType::Normal, Reason::DefaultDomainSet)]
    );
    assert_eq!(p.requeue, RESYNC);
    // Auth0 refused the set: the condition says so and the tenant looks again soon.
    case.answers.default_set = Some(Err(refused(Reason::Auth0Error, "400 bad")));
    let p = case.plan();
    let c = find_condition(&p.status.conditions, ConditionType::DefaultDomain).unwrap();
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "Auth0Error"));
    assert_eq!(c.message, "making a.example.com the default: 400 bad");
    assert_eq!(p.status.default_custom_domain.as_deref(), Some("b.example.com"));
    assert!(p.events.is_empty());
    assert_eq!(p.requeue, NOT_READY_RECHECK);
}

#[test]
fn a_failed_default_read_leaves_the_default_as_it_was() {
    let mut case = Case::new(tenant(serde_json::json!({})), all_scopes()).settled_memory();
    case.memory.default_read = None;
    case.tenant.status = Some(Auth0TenantStatus {
        default_custom_domain: Some("a.example.com".into()),
        ..Auth0TenantStatus::default()
    });
    case.answers.default_read = Some(Err(refused(Reason::Auth0Unreachable, "503")));
    let p = case.plan();
    let c = find_condition(&p.status.conditions, ConditionType::DefaultDomain).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("Auth0Unreachable", "reading the default domain: 503")
    );
    assert_eq!(p.status.default_custom_domain.as_deref(), Some("a.example.com"));
    assert_eq!(p.requeue, NOT_READY_RECHECK);
}

#[test]
fn a_fresh_agreeing_read_costs_no_call() {
    let mut case = Case::new(tenant(serde_json::json!({})), all_scopes()).settled_memory();
    case.domains = Some(vec![domain("a.example.com", "ready", false)]);
    let p = case.plan();
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.requeue, RESYNC);
    // Only a minute short of the hour: still no read. The hour: read.
    case.memory.default_read = Some((None, decide::TENANT_FACT_TTL));
    assert_eq!(case.plan().steps, vec![Step::ReadDefault]);
}

#[test]
fn mtls_table() {
    // (spec.mtls, granted scopes, settings answer, patch answer) →
    // (steps, MtlsAliases, aliases told to the domains, settled)
    type Row = (
        Option<bool>,
        Vec<&'static str>,
        Option<Result<bool, Refusal>>,
        Option<Result<(), Refusal>>,
        Vec<Step>,
        Option<(String, String)>,
        Option<bool>,
        bool,
    );
    let rd = READ_TENANT_SETTINGS;
    let both = TENANT_SETTINGS_SCOPES.to_vec();
    let (ok, err) = (|v| Some(Ok(v)), |reason| Some(Err(refused(reason, "x"))));
    let (on, off) = (
        is("True", Reason::MtlsAliasesEnabled),
        is("False", Reason::MtlsAliasesDisabled),
    );
    let (read, patch) = (|| vec![Step::ReadSettings], |v| vec![Step::PatchSettings(v)]);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        // Unmanaged, readable: learn the setting; a failed read is only logged.
        (None, vec![rd], None, None, read(), None, None, true),
        (None, vec![rd], ok(false), None, vec![], None, Some(false), true),
        (None, vec![rd], err(Reason::Auth0Unreachable), None, vec![], None, None, true),
        // Unmanaged, not readable: nothing.
        (None, vec![], None, None, vec![], None, None, true),
        // Managed without the scopes.
        (Some(true), vec![rd], None, None, vec![], is("False", Reason::MissingScopes), None, true),
        // Managed: read, then patch when it differs.
        (Some(true), both.clone(), None, None, read(), None, None, false),
        (Some(true), both.clone(), ok(false), None, patch(true), None, None, false),
        (Some(true), both.clone(), ok(false), Some(Ok(())), vec![], on.clone(), Some(true), true),
        (Some(true), both.clone(), ok(true), None, vec![], on.clone(), Some(true), true),
        (Some(false), both.clone(), ok(false), None, vec![], off.clone(), Some(false), true),
        (Some(false), both.clone(), ok(true), None, patch(false), None, None, false),
        // Failures: the condition names the call, the tenant looks again soon.
        (Some(true), both.clone(), err(Reason::Auth0Unreachable), None, vec![], is("False", Reason::Auth0Unreachable), None, false),
        (Some(true), both.clone(), ok(false), Some(Err(refused(Reason::Auth0Error, "x"))), vec![], is("False", Reason::Auth0Error), None, false),
    ];
    for (i, (mtls, scopes, read, patch, steps, condition, told, settled)) in rows.into_iter().enumerate() {
        let extra = match mtls {
            Some(on) => serde_json::json!({"mtls": {"enableEndpointAliases": on}}),
            None => serde_json::json!({}),
        };
        let mut all = CUSTOM_DOMAIN_SCOPES.to_vec();
        all.extend(scopes);
        let mut case = Case::new(tenant(extra), granted(&all)).settled_memory();
        if mtls.is_none() {
            case.memory.settings_read = None;
        }
        case.answers.settings_read = read;
        case.answers.settings_patch = patch;
        let p = case.plan();
        assert_eq!(p.steps, steps, "row {i}");
        assert_eq!(cond(&p, ConditionType::MtlsAliases), condition, "row {i}");
        assert_eq!(p.mtls_aliases, told, "row {i}");
        if p.steps.is_empty() {
            let want = if settled { RESYNC } else { NOT_READY_RECHECK };
            assert_eq!(p.requeue, want, "row {i}");
        }
    }
}

#[test]
fn entitlement_warns_once_and_clears() {
    let t = tenant(serde_json::json!({"entitlement": 2}));
    let mut case = Case::new(t, all_scopes()).settled_memory();
    case.domains = Some(vec![
        domain("a.example.com", "ready", false),
        domain("b.example.com", "pending", false),
    ]);
    let p = case.plan();
    assert_eq!(
        cond(&p, ConditionType::EntitlementExceeded),
        is("True", Reason::EntitlementExceeded)
    );
    assert_eq!(
        p.events
            .iter()
            .filter(|e| e.reason == Reason::EntitlementExceeded)
            .count(),
        1
    );
    assert_eq!(p.events[0].type_, EventType::Warning);
    // Already warned: no second Event.
    case.tenant.status = Some(p.status.clone());
    let p = case.plan();
    assert!(p.events.is_empty(), "{:?}", p.events);
    assert_eq!(
        cond(&p, ConditionType::EntitlementExceeded),
        is("True", Reason::EntitlementExceeded)
    );
    // A domain gone: cleared.
    case.tenant.status = Some(p.status.clone());
    case.domains = Some(vec![domain("a.example.com", "ready", false)]);
    assert_eq!(cond(&case.plan(), ConditionType::EntitlementExceeded), None);
    // The list not read: counts and the condition stay as they were.
    case.tenant.status = Some(p.status);
    case.domains = None;
    let p = case.plan();
    assert_eq!(
        cond(&p, ConditionType::EntitlementExceeded),
        is("True", Reason::EntitlementExceeded)
    );
    assert_eq!(p.status.custom_domains.as_ref().map(|c| c.total), Some(2));
    assert_eq!(p.counts, None);
}

#[test]
fn a_held_deletion_reports_the_remaining_domains_once() {
    let mut case = Case::new(tenant(serde_json::json!({})), all_scopes()).settled_memory();
    case.hold = Some("deletion waits for 1 CustomDomain(s)");
    let p = case.plan();
    assert_eq!(
        cond(&p, ConditionType::Deleting),
        is("True", Reason::DomainsRemain)
    );
    assert_eq!(
        cond(&p, ConditionType::Ready),
        is("True", Reason::TenantReady),
        "Ready stays"
    );
    assert_eq!(p.requeue, DELETING_RECHECK);
    assert_eq!(p.events.len(), 1);
    case.tenant.status = Some(p.status);
    let p = case.plan();
    assert!(p.events.is_empty());
    // No longer held: the condition goes.
    case.tenant.status = Some(p.status);
    case.hold = None;
    assert_eq!(cond(&case.plan(), ConditionType::Deleting), None);
}

#[test]
fn admit_table() {
    let policy = TenantPolicy::new(&[], false, CredentialsScope::Only(vec!["auth0".into()]));
    let open = TenantPolicy::new(&[], true, CredentialsScope::Any);
    let spec = |extra: serde_json::Value| tenant(extra).spec;
    let other_ns = serde_json::json!({"credentialsSecretRef": {"namespace": "kube-system", "name": "x"}});
    let http = serde_json::json!({"managementApiUrl": "http://127.0.0.1:1"});
    #[rustfmt::skip]
    let rows: Vec<(Auth0TenantSpec, &TenantPolicy, bool, Result<Duration, Reason>)> = vec![
        (spec(serde_json::json!({})), &policy, false, Ok(RESYNC)),
        (spec(serde_json::json!({"resyncInterval": "10s"})), &policy, false, Ok(Duration::from_secs(30))),
        (spec(serde_json::json!({"domain": "evil.example.com"})), &policy, false, Err(Reason::TenantDomainNotAllowed)),
        (spec(serde_json::json!({"managementApiUrl": "https://x.example"})), &policy, false, Err(Reason::ManagementApiUrlNotAllowed)),
        (spec(http.clone()), &open, false, Err(Reason::InvalidTenant)),
        (spec(http), &open, true, Ok(RESYNC)),
        (spec(serde_json::json!({"resyncInterval": "soon"})), &policy, false, Err(Reason::InvalidTenant)),
        (spec(other_ns), &policy, false, Err(Reason::CredentialsNamespaceNotAllowed)),
    ];
    for (i, (spec, policy, insecure, want)) in rows.into_iter().enumerate() {
        assert_eq!(
            admit(&spec, policy, insecure).map_err(|r| r.reason),
            want,
            "row {i}"
        );
    }
}

#[test]
fn credentials_come_from_the_named_keys() {
    let r: CredentialsSecretRef =
        serde_json::from_value(serde_json::json!({"namespace": "auth0", "name": "creds"})).unwrap();
    let secret = |data: serde_json::Value| -> Secret {
        serde_json::from_value(serde_json::json!({"data": data})).unwrap()
    };
    // base64 of "id" and " s3cret\n" (trimmed).
    let ok = secret(serde_json::json!({"client_id": "aWQ=", "client_secret": "IHMzY3JldAo="}));
    let (id, value) = credentials(Some(&ok), &r).unwrap();
    assert_eq!((id.as_str(), value.expose().as_str()), ("id", "s3cret"));
    let missing = credentials(None, &r).unwrap_err();
    assert_eq!(missing.reason, Reason::CredentialsNotFound);
    assert!(
        missing.message.contains("auth0/creds not found"),
        "{}",
        missing.message
    );
    let lacking = credentials(Some(&secret(serde_json::json!({"client_id": "aWQ="}))), &r).unwrap_err();
    assert!(
        lacking.message.contains("lacks key client_id or client_secret"),
        "{}",
        lacking.message
    );
    assert!(!format!("{lacking:?}{missing:?}").contains("s3cret"));
}

#[test]
fn auth0_failures_are_classified() {
    let api = |status: u16, code: Option<&str>| auth0::Error::Api {
        endpoint: "GET /custom-domains",
        status,
        error_code: code.map(Into::into),
        message: "m".into(),
        ratelimit_reset: None,
    };
    assert_eq!(classify(&api(401, None)).reason, Reason::CredentialsRejected);
    assert_eq!(
        classify(&api(403, Some("insufficient_scope"))).reason,
        Reason::CredentialsRejected
    );
    assert_eq!(classify(&api(403, None)).reason, Reason::PlanRefused);
    assert_eq!(classify(&api(503, None)).reason, Reason::Auth0Unreachable);
    assert_eq!(classify(&api(400, None)).reason, Reason::Auth0Error);
    assert!(
        check_failure(&api(403, None))
            .message
            .contains("upgrade it or add a verified card")
    );
    assert!(!classify(&api(403, None)).message.contains("upgrade"));
}

#[test]
fn scopes_must_all_be_granted() {
    assert!(
        scopes(&CredentialsCheck {
            scopes: CUSTOM_DOMAIN_SCOPES.iter().map(|s| (*s).to_owned()).collect()
        })
        .is_ok()
    );
    let r = scopes(&CredentialsCheck {
        scopes: vec!["read:custom_domains".into()],
    })
    .unwrap_err();
    assert_eq!(r.reason, Reason::MissingScopes);
    assert!(
        r.message
            .contains("create:custom_domains, update:custom_domains, delete:custom_domains"),
        "{}",
        r.message
    );
}

#[test]
fn gauge_states_use_the_status_state_spelling() {
    let domains: Vec<_> = [
        ("a.example.com", "ready"),
        ("b.example.com", "ready"),
        ("c.example.com", "pending_verification"),
        ("d.example.com", "failed"),
        ("e.example.com", "something_new"),
    ]
    .into_iter()
    .map(|(name, status)| domain(name, status, false))
    .collect();
    let got = metric_states(&domains);
    assert_eq!(
        got,
        vec![
            ("Failed", 1),
            ("Pending", 1),
            ("PendingVerification", 1),
            ("Ready", 2)
        ]
    );
    for (state, _) in &got {
        assert!(
            crate::telemetry::metrics::DOMAIN_STATES.contains(state),
            "{state}"
        );
    }
    let c = count(&domains);
    assert_eq!((c.total, c.ready, c.pending, c.failed), (5, 2, 2, 1));
}
