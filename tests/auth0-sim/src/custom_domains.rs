//! Custom-domain operations of the tenant (create, read, patch, delete, verify, test, default).

use std::time::Duration;

use axum::http::StatusCode;
use hickory_proto::rr::RecordType;
use rand::Rng;
use serde_json::{Value, json};

use crate::api_error::ApiError;
use crate::dns;
use crate::domain::{self, CertificateState, Domain, DomainStatus, DomainType, VerificationState, View};
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
}

impl Tenant {
    fn render(&self, world: &World, d: &Domain, view: View<'_>) -> Value {
        let is_default = world.default_domain.as_deref() == Some(d.domain.as_str());
        d.render(view, is_default, self.readings().origin_only_in_first_verify)
    }

    /// Advances a domain's certificate and persists if anything changed.
    fn advance(&self, world: &mut World, id: &str) -> Result<(), ApiError> {
        let now = domain::now_ms();
        let changed = match world.domains.get_mut(id) {
            Some(d) => {
                let before = (d.status, d.certificate.clone());
                d.advance(now);
                before != (d.status, d.certificate.clone())
            }
            None => false,
        };
        if changed { self.persist(world) } else { Ok(()) }
    }

    /// Advances every domain (before listing).
    pub(crate) fn advance_all(&self, world: &mut World) -> Result<(), ApiError> {
        let now = domain::now_ms();
        let mut changed = false;
        for d in world.domains.values_mut() {
            if d.cert_ready_at_ms.is_some_and(|t| t <= now) {
                d.advance(now);
                changed = true;
            }
        }
        if changed { self.persist(world) } else { Ok(()) }
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
                StatusCode::FORBIDDEN,
                format!(
                    "You reached the limit of {} custom domains allowed by your plan's entitlement. Upgrade your subscription or remove custom domains to add new ones.",
                    self.cfg.max_domains
                ),
                Some("operation_not_supported"),
            ));
        }
        let (id, origin, txt) = {
            let mut rng = lock(&self.rng);
            let mut id = format!("cd_{}", random_alnum(&mut *rng, 16));
            while world.domains.contains_key(&id) || world.tombstones.contains_key(&id) {
                id = format!("cd_{}", random_alnum(&mut *rng, 16));
            }
            let tenant: String = self
                .cfg
                .tenant
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let origin = format!(
                "{tenant}-cd-{}.edge.tenants.{}",
                random_alnum(&mut *rng, 16).to_ascii_lowercase(),
                self.cfg.origin_suffix
            );
            (id, origin, txt_value(&mut *rng))
        };
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
            verification: auth0_managed.then(|| VerificationState {
                status: "pending".into(),
                ..Default::default()
            }),
            certificate: auth0_managed.then(|| CertificateState {
                status: "provisioning".into(),
                error_msg: None,
                certificate_authority: None,
                renews_before: None,
            }),
            cert_ready_at_ms: None,
            cert_failure: None,
            tls_policy: req.tls_policy,
            custom_client_ip_header: req.custom_client_ip_header,
            domain_metadata: req.domain_metadata,
            relying_party_identifier: req.relying_party_identifier,
            key_issued: false,
            created_seq: world.seq,
        };
        let body = self.render(&world, &d, View::Plain);
        world.insert(d);
        self.persist(&world)?;
        tracing::info!(%id, "custom domain created");
        Ok(body)
    }

    /// `GET /custom-domains/{id}`.
    pub fn get_domain(&self, id: &str) -> Result<Value, ApiError> {
        check_id(id)?;
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let d = world.domains.get(id).ok_or_else(ApiError::domain_not_found)?;
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
            .ok_or_else(ApiError::domain_not_found)?;
        if readings.strict_type_fields {
            if req.tls_policy.is_some() && d.kind == DomainType::SelfManagedCerts {
                return Err(ApiError::invalid_body(
                    "Payload validation error: 'tls_policy is only allowed for auth0_managed_certs' on property tls_policy.",
                ));
            }
            if matches!(req.custom_client_ip_header, Some(Some(_))) && d.kind == DomainType::Auth0ManagedCerts
            {
                return Err(ApiError::invalid_body(
                    "Payload validation error: 'custom_client_ip_header is only allowed for self_managed_certs' on property custom_client_ip_header.",
                ));
            }
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
            && d.certificate.as_ref().is_some_and(|c| c.status == "provisioning")
    }

    /// `DELETE /custom-domains/{id}`.
    pub fn delete_domain(&self, id: &str) -> Result<(), ApiError> {
        check_id(id)?;
        let conflict = self.readings().conflict_while_provisioning;
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let d = world.domains.get(id).ok_or_else(ApiError::domain_not_found)?;
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

    async fn look_up(&self, d: &Domain) -> Lookup {
        lock(&self.counters).dns_lookups += 1;
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
                    Err(e) => Lookup::Missing(format!("Unable to look up the TXT record {name}: {e}.")),
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
                    Err(e) => Lookup::Missing(format!(
                        "Unable to look up the CNAME record of {}: {e}.",
                        d.domain
                    )),
                }
            }
        }
    }

    /// `POST /custom-domains/{id}/verify`.
    pub async fn verify_domain(&self, id: &str) -> Result<Value, ApiError> {
        check_id(id)?;
        let snapshot = {
            let mut world = lock(&self.world);
            self.advance(&mut world, id)?;
            let d = world.domains.get(id).ok_or_else(ApiError::domain_not_found)?;
            let settled = match d.kind {
                DomainType::SelfManagedCerts => d.status != DomainStatus::PendingVerification,
                DomainType::Auth0ManagedCerts => {
                    d.verification.as_ref().is_some_and(|v| v.status == "verified")
                }
            };
            if settled {
                // Nothing to look up; above all, never a second key.
                return Ok(self.render(&world, d, View::Plain));
            }
            d.clone()
        };
        // DNS happens without the lock so slow lookups do not stall the tenant.
        let found = self.look_up(&snapshot).await;
        let readings = self.readings();
        let mut world = lock(&self.world);
        let now = domain::now_ms();
        let Some(d) = world.domains.get_mut(id) else {
            return Err(ApiError::domain_not_found());
        };
        match (found, d.kind) {
            (Lookup::Found, DomainType::SelfManagedCerts) => {
                if d.key_issued || d.status != DomainStatus::PendingVerification {
                    // A concurrent verify won the race: it got the key.
                    let d = d.clone();
                    return Ok(self.render(&world, &d, View::Plain));
                }
                let key = random_alnum(&mut *lock(&self.rng), 64);
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
                d.verification = Some(VerificationState {
                    status: "verified".into(),
                    error_msg: None,
                    last_verified_at: Some(domain::iso_ms(now)),
                });
                let delay = i64::try_from(self.cfg.cert_delay.as_millis()).unwrap_or(i64::MAX);
                d.cert_ready_at_ms = Some(now.saturating_add(delay));
                d.advance(now);
                let d = d.clone();
                self.persist(&world)?;
                Ok(self.render(&world, &d, View::Plain))
            }
            (Lookup::Missing(msg), kind) => {
                if kind == DomainType::Auth0ManagedCerts {
                    d.verification = Some(VerificationState {
                        status: "failed".into(),
                        error_msg: Some(msg.clone()),
                        last_verified_at: d.verification.as_ref().and_then(|v| v.last_verified_at.clone()),
                    });
                }
                let d = d.clone();
                self.persist(&world)?;
                if readings.verify_failure_400 {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("The custom domain could not be verified. {msg}"),
                        Some("custom_domain_not_verified"),
                    ));
                }
                Ok(self.render(&world, &d, View::Plain))
            }
        }
    }

    /// `POST /custom-domains/{id}/test`.
    pub fn test_domain(&self, id: &str) -> Result<Value, ApiError> {
        check_id(id)?;
        let conflict = self.readings().conflict_while_provisioning;
        let mut world = lock(&self.world);
        self.advance(&mut world, id)?;
        let d = world.domains.get(id).ok_or_else(ApiError::domain_not_found)?;
        if conflict && Self::in_progress(d) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "There is an operation in progress on this custom domain. Try again later.",
                None,
            ));
        }
        Ok(if d.status == DomainStatus::Ready {
            json!({"success": true, "message": format!("The custom domain {} is set up correctly.", d.domain)})
        } else {
            json!({"success": false, "message": format!("The custom domain {} is not ready ({}).", d.domain, d.status.as_str())})
        })
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
                let d = world.domains.get(&id).ok_or_else(ApiError::domain_not_found)?;
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
            return Err(ApiError::invalid_body(format!(
                "The domain {name} is neither a verified custom domain of this tenant nor the canonical domain."
            )));
        };
        world.default_domain = Some(name);
        self.persist(&world)?;
        Ok(self.render(&world, &d, View::Plain))
    }

    /// How long a verify call waits for DNS at most (for documentation and tests).
    pub fn dns_timeout(&self) -> Duration {
        self.cfg.dns_timeout
    }
}
