//! Pure tenant-wide decisions: which default domain to apply (and what to say about it), and
//! whether the domain count has reached the plan's entitlement. No I/O, so table-tested.

use std::sync::Arc;
use std::time::Duration;

use crate::auth0::types::{CustomDomain, DomainStatus};
use crate::resources::conditions::Reason;

/// How long a tenant fact that only changes by hand (the default domain, an unmanaged mTLS
/// setting) is trusted before it is read again. At `resyncInterval` 10m reading both at every
/// resync would cost 12 of the ~70 calls an hour a 1,000-domain tenant can afford.
pub const TENANT_FACT_TTL: Duration = Duration::from_secs(3600);

/// The custom domain the tenant's list marks `is_default`, if any.
pub fn listed_default(domains: &[Arc<CustomDomain>]) -> Option<&str> {
    domains.iter().find(|d| d.is_default).map(|d| d.domain.as_str())
}

/// Whether `GET /custom-domains/default` is needed, given the last read (`None` inside: the
/// canonical domain was the default) and its age, and what the fresh list says. The list's
/// `is_default` flags answer the question for free while they agree with the last read; a
/// disagreement (a change made in the dashboard, or a tenant that does not fill `is_default`)
/// and the hourly refresh ask Auth0.
pub fn must_read_default(last: Option<(Option<&str>, Duration)>, listed: Option<&str>) -> bool {
    match last {
        None => true,
        Some((_, age)) if age >= TENANT_FACT_TTL => true,
        Some((value, _)) => value != listed,
    }
}

/// Whether tenant settings must be read: always when `spec.mtls` manages them (drift is repaired
/// every resync), otherwise only to learn the setting once an hour.
pub fn must_read_settings(managed: bool, last_read_age: Option<Duration>) -> bool {
    managed || last_read_age.is_none_or(|age| age >= TENANT_FACT_TTL)
}

/// What to do about the tenant's default custom domain, and the `DefaultDomain` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultDecision {
    /// `PATCH /custom-domains/default` with this domain, when set.
    pub set: Option<String>,
    /// Condition status (after a successful `set`).
    pub ok: bool,
    /// Condition reason.
    pub reason: Reason,
    /// Condition message.
    pub message: String,
}

/// Decides the default domain from the spec (`wanted`), the current custom default (`None` when
/// the canonical tenant domain is the default) and the tenant's domains.
pub fn decide_default(
    wanted: Option<&str>,
    current: Option<&str>,
    domains: &[Arc<CustomDomain>],
) -> DefaultDecision {
    let verified = domains.iter().filter(|d| d.status == DomainStatus::Ready).count();
    let decision = |set: Option<String>, ok: bool, reason: Reason, message: String| DefaultDecision {
        set,
        ok,
        reason,
        message,
    };
    let Some(wanted) = wanted else {
        return match current {
            Some(c) => decision(
                None,
                true,
                Reason::DefaultDomainSet,
                format!("{c} is the default (set outside this resource: spec.defaultCustomDomain is unset)"),
            ),
            None if verified > 1 => decision(
                None,
                false,
                Reason::NoDefaultDomain,
                format!(
                    "{verified} verified custom domains and no default: email-sending Management API calls \
                     (verification emails, password-change and email-verification tickets, invitations, user \
                     create/update) must send the auth0-custom-domain header or Auth0 answers 409; set \
                     spec.defaultCustomDomain"
                ),
            ),
            None => decision(
                None,
                true,
                Reason::DefaultDomainNotNeeded,
                format!("{verified} verified custom domain(s): no default needed"),
            ),
        };
    };
    if current == Some(wanted) {
        return decision(
            None,
            true,
            Reason::DefaultDomainSet,
            format!("{wanted} is the default"),
        );
    }
    let was = current.unwrap_or("the canonical tenant domain");
    match domains.iter().find(|d| d.domain == wanted) {
        None => decision(
            None,
            false,
            Reason::DefaultDomainNotFound,
            format!(
                "spec.defaultCustomDomain {wanted} is not a custom domain of this tenant (create a CustomDomain \
                 for it); the default stays {was}"
            ),
        ),
        Some(d) if d.status != DomainStatus::Ready => decision(
            None,
            false,
            Reason::DefaultDomainNotReady,
            format!(
                "spec.defaultCustomDomain {wanted} is {}: Auth0 accepts only a verified, ready domain as the \
                 default; the default stays {was} until then",
                d.status
            ),
        ),
        Some(_) => decision(
            Some(wanted.to_owned()),
            true,
            Reason::DefaultDomainSet,
            format!("{wanted} is the default (was {was})"),
        ),
    }
}

/// The `EntitlementExceeded` message when `total` has reached `entitlement`, else `None`.
///
/// Auth0 refuses the create that would go past the plan, so the warning starts when the count
/// reaches the entitlement (the next create will be refused), not one later.
pub fn entitlement_warning(total: u32, entitlement: u32) -> Option<String> {
    if total < entitlement {
        return None;
    }
    Some(if total == entitlement {
        format!(
            "{total} custom domains: the plan's entitlement of {entitlement} is used up; Auth0 will refuse \
             the next create (raise spec.entitlement if the plan includes more)"
        )
    } else {
        format!(
            "{total} custom domains, more than the plan's entitlement of {entitlement}: Auth0 refuses further \
             creates (raise spec.entitlement if the plan includes more)"
        )
    })
}

#[cfg(test)]
mod read_tests {
    use super::*;

    fn listed(default: Option<&str>) -> Vec<Arc<CustomDomain>> {
        ["a.example.com", "b.example.com"]
            .iter()
            .map(|d| {
                serde_json::from_value::<CustomDomain>(serde_json::json!({
                    "custom_domain_id": format!("cd_{d}"), "domain": d, "status": "ready",
                    "type": "self_managed_certs", "is_default": Some(*d) == default,
                }))
                .map(Arc::new)
                .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect()
    }

    #[test]
    fn the_list_answers_while_it_agrees() {
        let fresh = Duration::from_secs(60);
        let doms = listed(Some("b.example.com"));
        assert_eq!(listed_default(&doms), Some("b.example.com"));
        assert_eq!(listed_default(&listed(None)), None);
        assert!(must_read_default(None, Some("b.example.com")), "first look reads");
        assert!(!must_read_default(
            Some((Some("b.example.com"), fresh)),
            Some("b.example.com")
        ));
        assert!(
            !must_read_default(Some((None, fresh)), None),
            "canonical, none flagged"
        );
        assert!(
            must_read_default(Some((None, fresh)), Some("b.example.com")),
            "set in the dashboard"
        );
        assert!(
            must_read_default(Some((Some("b.example.com"), fresh)), None),
            "unset, or no is_default"
        );
        assert!(
            must_read_default(Some((None, TENANT_FACT_TTL)), None),
            "hourly refresh"
        );
    }

    #[test]
    fn settings_are_read_every_resync_only_when_managed() {
        assert!(must_read_settings(true, Some(Duration::from_secs(1))));
        assert!(must_read_settings(false, None));
        assert!(!must_read_settings(false, Some(Duration::from_secs(599))));
        assert!(must_read_settings(false, Some(TENANT_FACT_TTL)));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn domain(name: &str, status: DomainStatus) -> Arc<CustomDomain> {
        let mut d: CustomDomain = serde_json::from_value(serde_json::json!({
            "custom_domain_id": format!("cd_{:0>16}", name.len()),
            "domain": name,
            "type": "self_managed_certs",
        }))
        .unwrap();
        d.status = status;
        Arc::new(d)
    }

    #[test]
    fn default_domain_table() {
        use DomainStatus::{PendingVerification, Ready};
        let a = || domain("a.example.com", Ready);
        let b = || domain("b.example.com", Ready);
        let p = || domain("p.example.com", PendingVerification);
        // (wanted, current, domains, set, ok, reason)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Vec<Arc<CustomDomain>>,
            Option<&'a str>,
            bool,
            Reason,
        );
        let (a_, b_, p_, x_) = (
            Some("a.example.com"),
            Some("b.example.com"),
            Some("p.example.com"),
            Some("x.example.com"),
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (None, None, vec![], None, true, Reason::DefaultDomainNotNeeded),
            (None, None, vec![a(), p()], None, true, Reason::DefaultDomainNotNeeded),
            (None, None, vec![a(), b()], None, false, Reason::NoDefaultDomain),
            (None, a_, vec![a(), b()], None, true, Reason::DefaultDomainSet),
            (a_, a_, vec![a(), b()], None, true, Reason::DefaultDomainSet),
            // Drift: someone picked b in the dashboard.
            (a_, b_, vec![a(), b()], a_, true, Reason::DefaultDomainSet),
            (a_, None, vec![a()], a_, true, Reason::DefaultDomainSet),
            (x_, None, vec![a(), b()], None, false, Reason::DefaultDomainNotFound),
            (p_, a_, vec![a(), p()], None, false, Reason::DefaultDomainNotReady),
        ];
        for (i, (wanted, current, domains, set, ok, reason)) in cases.into_iter().enumerate() {
            let d = decide_default(wanted, current, &domains);
            assert_eq!(d.set.as_deref(), set, "case {i}: {d:?}");
            assert_eq!(d.ok, ok, "case {i}: {d:?}");
            assert_eq!(d.reason, reason, "case {i}: {d:?}");
        }
    }

    #[test]
    fn no_default_message_names_the_header() {
        let d = decide_default(
            None,
            None,
            &[
                domain("a.example.com", DomainStatus::Ready),
                domain("b.example.com", DomainStatus::Ready),
            ],
        );
        assert!(d.message.contains("auth0-custom-domain"), "{}", d.message);
        assert!(d.message.contains("409"), "{}", d.message);
        let nr = decide_default(
            Some("p.example.com"),
            Some("a.example.com"),
            &[domain("p.example.com", DomainStatus::PendingVerification)],
        );
        assert!(nr.message.contains("stays a.example.com"), "{}", nr.message);
    }

    #[test]
    fn entitlement_table() {
        assert_eq!(entitlement_warning(0, 20), None);
        assert_eq!(entitlement_warning(19, 20), None);
        assert!(entitlement_warning(20, 20).is_some_and(|m| m.contains("used up")));
        assert!(entitlement_warning(21, 20).is_some_and(|m| m.contains("more than")));
        assert!(entitlement_warning(1, 1).is_some());
    }
}
