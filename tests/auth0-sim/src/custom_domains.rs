//! Custom-domain operations of the tenant (create, read, patch, delete, verify, test, default).

use std::time::Duration;

use axum::http::StatusCode;
use hickory_proto::rr::RecordType;
use rand::Rng;
use serde_json::{Value, json};

use crate::api_error::ApiError;
use crate::dns;
use crate::domain::{
    self, CertificateState, Domain, DomainStatus, DomainType, RenderOptions, VerificationState, View,
};
use crate::tenant::{Tenant, lock};
use crate::validate::{self, CreateRequest, PatchRequest};
use crate::world::{IssuedKey, World, random_alnum};

/// Checks the `cd_` + 16 alphanumerics id format (400 `invalid_uri` otherwise).
pub fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = id.len() == 19 && id.starts_with("cd_") && id.bytes().skip(3).all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_uri(format!(
            "Path validation error: 'String does not match pattern ^cd_[A-Za-z0-9]{{16}}$: {id}' on property id (ID of the custom domain)."
        )))
    }
}

fn txt_value(rng: &mut impl Rng) -> String {
    let b: [u8; 16] = rng.random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Result of a verification lookup.
enum Lookup {
    Found,
    Missing(String),
    /// The lookup itself failed (no server, timeout, SERVFAIL): nothing is known.
    Unknown(String),
}

/// 128 hexadecimal characters: a `cname_api_key`.
fn cname_api_key(rng: &mut impl Rng) -> String {
    let b: [u8; 64] = rng.random();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Tenant {
    pub(crate) fn render(&self, world: &World, d: &Domain, view: View<'_>) -> Value {
        let is_default = world.default_domain.as_deref() == Some(d.domain.as_str());
        d.render(view, is_default, RenderOptions::from(&self.readings()))
    }

    /// Runs a domain's due timers and persists if anything changed.
    fn advance(&self, world: &mut World, id: &str) -> Result<(), ApiError> {
        let now = domain::now_ms();
        let changed = match world.domains.get_mut(id) {
            Some(d) => d.advance(now),
            None => false,
        };
        if changed { self.persist(world) } else { Ok(()) }
    }

    /// Runs every domain's due timers (before listing).
    pub(crate) fn advance_all(&self, world: &mut World) -> Result<(), ApiError> {
        let now = domain::now_ms();
        let mut changed = false;
        for d in world.domains.values_mut() {
            if d.next_due_ms().is_some_and(|t| t <= now) {
                changed |= d.advance(now);
            }
        }
        if changed { self.persist(world) } else { Ok(()) }
    }

    /// 403 when the plan has no custom domains (every custom-domain endpoint).
    pub fn check_plan(&self) -> Result<(), ApiError> {
        if self.cfg.custom_domains_plan {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "The account is not allowed to perform this operation.",
                None,
            ))
        }
    }

    /// `POST /custom-domains`.
    pub fn create_domain(&self, req: CreateRequest) -> Result<Value, ApiError> {
        let mut world = lock(&self.world);
        if world.id_by_name(&req.domain).is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "The specified custom domain already exists",
                None,
            ));
        }
        if world.domains.len() >= self.cfg.max_domains {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "You reached the maximum number of custom domains for your account.",
                None,
            ));
        }
        let (id, txt) = {
            let mut rng = lock(&self.rng);
            let mut id = format!("cd_{}", random_alnum(&mut *rng, 16));
            while world.domains.contains_key(&id) || world.tombstones.contains_key(&id) {
                id = format!("cd_{}", random_alnum(&mut *rng, 16));
            }
            (id, txt_value(&mut *rng))
        };
        let origin = self.origin_name(&id);
        let now = domain::now_ms();
        world.seq += 1;
        world.domains_created += 1;
        let auth0_managed = req.kind == DomainType::Auth0ManagedCerts;
        let d = Domain {
            id: id.clone(),
            primary: world.domains.is_empty(),
            domain: req.domain,
            kind: req.kind,
            status: DomainStatus::PendingVerification,
            origin_domain_name: origin,
            txt_record: (!auth0_managed).then_some(txt),
            verification: None,
            certificate: None,
            cert_ready_at_ms: None,
            pending_check_at_ms: auth0_managed.then(|| now.saturating_add(ms(self.cfg.pending_check_delay))),
            fail_at_ms: auth0_managed.then(|| now.saturating_add(ms(self.cfg.verification_timeout))),
            cert_failure: None,
            tls_policy: req.tls_policy,
            custom_client_ip_header: req.custom_client_ip_header,
            metadata_set: req.metadata_sent,
            domain_metadata: req.domain_metadata,
            relying_party_identifier: req.relying_party_identifier,
            key_issued: false,
            created_seq: world.seq,
            created_ms: now,
        };
        let body = self.render(&world, &d, View::Plain);
        let host = d.domain.clone();
        world.insert(d);
        self.persist(&world)?;
        // The host is logged so a checker can tell which ids a domain ever had, even when the
        // caller died before it saw the answer.
        tracing::info!(%id, domain = %host, "custom domain created");
        Ok(body)
    }

    /// CNAME target (Auth0-managed) or origin (self-managed) of a domain id:
    /// `{tenant}-cd-{lower-cased id suffix}.edge.tenants.{origin_suffix}`.
    pub fn origin_name(&self, id: &str) -> String {
        let tenant: String = self
            .cfg
            .tenant
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let suffix = id.strip_prefix("cd_").unwrap_or(id).to_ascii_lowercase();
        format!("{tenant}-cd-{suffix}.edge.tenants.{}", self.cfg.origin_suffix)
    }

    /// `GET /custom-domains/{id}`.
    pub fn get_domain(&self, id: &str) -> Result<Value, ApiError> {
        check_id(id)?;
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let d = world
            .domains
            .get(id)
            .ok_or_else(|| ApiError::domain_not_found(id))?;
        Ok(self.render(&world, d, View::Plain))
    }

    /// `PATCH /custom-domains/{id}`.
    pub fn patch_domain(&self, id: &str, req: PatchRequest) -> Result<Value, ApiError> {
        check_id(id)?;
        let readings = self.readings();
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let mut d = world
            .domains
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::domain_not_found(id))?;
        if readings.strict_type_fields {
            validate::check_type_fields(
                d.kind,
                req.tls_policy.is_some(),
                matches!(req.custom_client_ip_header, Some(Some(_))),
            )?;
        }
        if let Some(Some(rp)) = &req.relying_party_identifier {
            validate::check_relying_party(&d.domain, rp)?;
        }
        if let Some(p) = req.tls_policy {
            d.tls_policy = Some(p);
        }
        if let Some(h) = req.custom_client_ip_header {
            d.custom_client_ip_header = h;
        }
        if let Some(changes) = &req.domain_metadata {
            d.domain_metadata =
                validate::apply_metadata(&d.domain_metadata, changes, readings.metadata_merge)?;
            d.metadata_set = true;
        }
        if let Some(r) = req.relying_party_identifier {
            d.relying_party_identifier = r;
        }
        let body = self.render(&world, &d, View::Plain);
        world.domains.insert(id.to_string(), d);
        self.persist(&world)?;
        Ok(body)
    }

    fn in_progress(d: &Domain) -> bool {
        d.kind == DomainType::Auth0ManagedCerts
            && d.verification.as_ref().is_some_and(|v| v.status == "verified")
            && d.certificate
                .as_ref()
                .is_some_and(|c| c.status_str() == "provisioning")
    }

    /// `DELETE /custom-domains/{id}`: 204, also for an id that is already gone.
    pub fn delete_domain(&self, id: &str) -> Result<(), ApiError> {
        check_id(id)?;
        let conflict = self.readings().conflict_while_provisioning;
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let Some(d) = world.domains.get(id) else {
            return Ok(());
        };
        if conflict && Self::in_progress(d) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "There is an operation in progress on this custom domain. Try again later.",
                None,
            ));
        }
        world.remove(id);
        self.persist(&world)?;
        tracing::info!(%id, "custom domain deleted");
        Ok(())
    }

    async fn look_up(&self, d: &Domain, count: bool) -> Lookup {
        if count {
            lock(&self.counters).dns_lookups += 1;
        }
        let timeout = self.cfg.dns_timeout;
        let server = self.cfg.dns_server;
        match d.kind {
            DomainType::SelfManagedCerts => {
                let name = domain::txt_record_name(&d.domain);
                let want = d.txt_record.clone().unwrap_or_default();
                match dns::lookup(server, &name, RecordType::TXT, timeout).await {
                    Ok(values) if values.iter().any(|v| v == &want) => Lookup::Found,
                    Ok(_) => Lookup::Missing(format!(
                        "The TXT record {name} with the expected value was not found."
                    )),
                    Err(e) => Lookup::Unknown(format!("Unable to look up the TXT record {name}: {e}.")),
                }
            }
            DomainType::Auth0ManagedCerts => {
                match dns::lookup(server, &d.domain, RecordType::CNAME, timeout).await {
                    Ok(values) if values.iter().any(|v| v == &d.origin_domain_name) => Lookup::Found,
                    Ok(values) if values.is_empty() => {
                        Lookup::Missing(format!("No CNAME record was found for {}.", d.domain))
                    }
                    Ok(values) => Lookup::Missing(format!(
                        "The CNAME record for {} points to {} instead of {}.",
                        d.domain,
                        values.join(","),
                        d.origin_domain_name
                    )),
                    Err(e) => Lookup::Unknown(format!(
                        "Unable to look up the CNAME record of {}: {e}.",
                        d.domain
                    )),
                }
            }
        }
    }

    fn already_verified() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "Custom domain already verified.", None)
    }

    /// `POST /custom-domains/{id}/verify`.
    pub async fn verify_domain(&self, id: &str) -> Result<Value, ApiError> {
        check_id(id)?;
        let snapshot = {
            let mut world = lock(&self.world);
            self.advance(&mut world, id)?;
            let d = world
                .domains
                .get(id)
                .ok_or_else(|| ApiError::domain_not_found(id))?;
            let settled = match d.kind {
                DomainType::SelfManagedCerts => d.status == DomainStatus::Ready || d.key_issued,
                DomainType::Auth0ManagedCerts => {
                    d.verification.as_ref().is_some_and(|v| v.status == "verified")
                }
            };
            if settled {
                // Nothing to look up; above all, never a second key.
                return Err(Self::already_verified());
            }
            d.clone()
        };
        // DNS happens without the lock so slow lookups do not stall the tenant.
        let found = self.look_up(&snapshot, true).await;
        let readings = self.readings();
        let mut world = lock(&self.world);
        let now = domain::now_ms();
        let Some(d) = world.domains.get_mut(id) else {
            return Err(ApiError::domain_not_found(id));
        };
        match (found, d.kind) {
            (Lookup::Found, DomainType::SelfManagedCerts) => {
                if d.key_issued || d.status == DomainStatus::Ready {
                    // A concurrent verify won the race: it got the key.
                    return Err(Self::already_verified());
                }
                let key = cname_api_key(&mut *lock(&self.rng));
                d.key_issued = true;
                d.status = DomainStatus::Ready;
                let d = d.clone();
                world.issued_keys.push(IssuedKey {
                    id: d.id.clone(),
                    domain: d.domain.clone(),
                    cname_api_key: key.clone(),
                    issued_at: domain::iso_ms(now),
                });
                self.persist(&world)?;
                tracing::info!(%id, "custom domain verified, cname_api_key issued");
                Ok(self.render(&world, &d, View::FirstVerify { cname_api_key: &key }))
            }
            (Lookup::Found, DomainType::Auth0ManagedCerts) => {
                if d.verification.as_ref().is_some_and(|v| v.status == "verified") {
                    return Err(Self::already_verified());
                }
                d.verification = Some(VerificationState {
                    status: "verified".into(),
                    error_msg: None,
                    last_verified_at: Some(domain::iso_secs(now)),
                });
                if d.status == DomainStatus::Ready {
                    // Ready, but the background re-check had lost the record: it is back.
                    let d = d.clone();
                    self.persist(&world)?;
                    return Ok(self.render(&world, &d, View::Verify));
                }
                d.certificate = Some(CertificateState {
                    status: Some("provisioning".into()),
                    ..CertificateState::waiting()
                });
                d.pending_check_at_ms = None;
                d.fail_at_ms = None;
                if d.status == DomainStatus::Failed {
                    d.status = DomainStatus::PendingVerification;
                }
                d.cert_ready_at_ms = Some(now.saturating_add(ms(self.cfg.cert_delay)));
                d.advance(now);
                let d = d.clone();
                self.persist(&world)?;
                Ok(self.render(&world, &d, View::Verify))
            }
            (Lookup::Missing(msg) | Lookup::Unknown(msg), _) => {
                // Nothing changes: the answer is the domain as it was.
                let d = d.clone();
                if readings.verify_failure_400 {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("The custom domain could not be verified. {msg}"),
                        Some("custom_domain_not_verified"),
                    ));
                }
                Ok(self.render(&world, &d, View::Verify))
            }
        }
    }

    /// Background re-check of every ready Auth0-managed domain's CNAME: a record that went away
    /// turns `verification.status` to `failed` (`status` stays `ready`); a record that is back
    /// turns it to `verified` again.
    pub async fn recheck(&self) {
        let snapshot: Vec<Domain> = {
            let world = lock(&self.world);
            world
                .domains
                .values()
                .filter(|d| {
                    d.kind == DomainType::Auth0ManagedCerts
                        && d.status == DomainStatus::Ready
                        && d.verification.is_some()
                })
                .cloned()
                .collect()
        };
        for d in snapshot {
            let found = self.look_up(&d, false).await;
            let now = domain::now_ms();
            let mut world = lock(&self.world);
            let Some(cur) = world.domains.get_mut(&d.id) else {
                continue;
            };
            let Some(v) = cur.verification.as_mut() else {
                continue;
            };
            let before = v.clone();
            match found {
                Lookup::Found => {
                    v.status = "verified".into();
                    v.error_msg = None;
                    v.last_verified_at = Some(domain::iso_secs(now));
                }
                Lookup::Missing(_) => v.status = "failed".into(),
                // A failed lookup proves nothing: keep what was known.
                Lookup::Unknown(_) => {}
            }
            if *v != before {
                tracing::info!(id = %d.id, status = %v.status, "background re-check");
                let _ = self.persist(&world);
            }
        }
    }

    /// `POST /custom-domains/{id}/test`.
    pub fn test_domain(&self, id: &str) -> Result<Value, ApiError> {
        check_id(id)?;
        let conflict = self.readings().conflict_while_provisioning;
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let d = world
            .domains
            .get(id)
            .ok_or_else(|| ApiError::domain_not_found(id))?;
        if conflict && Self::in_progress(d) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "There is an operation in progress on this custom domain. Try again later.",
                None,
            ));
        }
        if d.status != DomainStatus::Ready {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "The custom domain is not ready.",
                None,
            ));
        }
        Ok(
            json!({"success": true, "message": format!("The custom domain {} is set up correctly.", d.domain)}),
        )
    }

    /// `GET /custom-domains/default`.
    pub fn get_default(&self) -> Result<Value, ApiError> {
        let mut world = lock(&self.world);
        let id = world
            .default_domain
            .as_ref()
            .and_then(|n| world.id_by_name(n))
            .cloned();
        match id {
            Some(id) => {
                self.advance(&mut world, &id)?;
                let d = world
                    .domains
                    .get(&id)
                    .ok_or_else(|| ApiError::domain_not_found(&id))?;
                Ok(self.render(&world, d, View::Plain))
            }
            None => Ok(json!({"domain": self.tenant_domain})),
        }
    }

    /// `PATCH /custom-domains/default`.
    pub fn set_default(&self, body: &[u8]) -> Result<Value, ApiError> {
        let obj = validate::parse_object(body)?;
        if let Some(extra) = obj.keys().find(|k| k.as_str() != "domain") {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: 'Additional properties not allowed: {extra}'."
            )));
        }
        let name = match obj.get("domain") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(ApiError::invalid_body(format!(
                    "Payload validation error: 'Expected type string but found type {}' on property domain.",
                    validate::type_name(other)
                )));
            }
            None => {
                return Err(ApiError::invalid_body(
                    "Payload validation error: 'Missing required property: domain'.",
                ));
            }
        };
        let mut world = lock(&self.world);
        if name == self.tenant_domain {
            world.default_domain = None;
            self.persist(&world)?;
            return Ok(json!({"domain": self.tenant_domain}));
        }
        let id = world.id_by_name(&name).cloned();
        if let Some(id) = &id {
            self.advance(&mut world, id)?;
        }
        let Some(d) = id
            .and_then(|id| world.domains.get(&id))
            .filter(|d| d.status == DomainStatus::Ready)
            .cloned()
        else {
            return Err(ApiError::invalid_body(
                "The domain must be verified before it can be set as default.",
            ));
        };
        world.default_domain = Some(name);
        self.persist(&world)?;
        Ok(self.render(&world, &d, View::Plain))
    }

    /// The custom domain that endpoints building user-facing URLs use: the `auth0-custom-domain`
    /// header when it names a verified custom domain (or the canonical domain), else the default
    /// domain, else the only verified one. Several verified domains and neither → 409
    /// `custom_domain_conflict`.
    pub fn email_domain(&self, header: Option<&str>) -> Result<String, ApiError> {
        let mut world = lock(&self.world);
        self.advance_all(&mut world)?;
        let ready: Vec<&str> = world
            .domains
            .values()
            .filter(|d| d.status == DomainStatus::Ready)
            .map(|d| d.domain.as_str())
            .collect();
        if let Some(h) = header {
            if h == self.tenant_domain || ready.contains(&h) {
                return Ok(h.to_string());
            }
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("The custom domain {h} is not a verified custom domain of this tenant."),
                Some("invalid_custom_domain"),
            ));
        }
        if let Some(d) = &world.default_domain {
            return Ok(d.clone());
        }
        match ready.as_slice() {
            [] => Ok(self.tenant_domain.clone()),
            [one] => Ok((*one).to_string()),
            _ => Err(ApiError::new(
                StatusCode::CONFLICT,
                "The tenant has multiple verified custom domains.",
                Some("custom_domain_conflict"),
            )),
        }
    }

    /// How long a verify call waits for DNS at most (for documentation and tests).
    pub fn dns_timeout(&self) -> Duration {
        self.cfg.dns_timeout
    }
}
