//! Control of the simulator: the same operations in-process (`Control`) and over HTTP (`/__sim/`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Readings;
use crate::domain::{self, Domain, DomainStatus};
use crate::faults::{Counters, Faults};
use crate::tenant::{Tenant, lock};
use crate::world::World;

/// Why a control operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such domain.
    #[error("no custom domain {0}")]
    NotFound(String),
    /// The edit does not produce a valid domain.
    #[error("invalid edit: {0}")]
    Invalid(String),
    /// The state file could not be written.
    #[error("state file write failed")]
    Persist,
}

/// A domain as control lists it, including the key issued for it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DomainRecord {
    /// Id.
    pub custom_domain_id: String,
    /// Hostname.
    pub domain: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Status.
    pub status: String,
    /// Origin name.
    pub origin_domain_name: String,
    /// Key issued by the first successful verify, if any.
    pub cname_api_key: Option<String>,
    /// TXT record name and value to publish (self-managed).
    pub txt: Option<(String, String)>,
    /// The full stored record.
    pub stored: Domain,
}

/// Handle on a running simulator's state.
#[derive(Clone, Debug)]
pub struct Control {
    pub(crate) tenant: Arc<Tenant>,
}

impl Control {
    fn persist(&self, world: &World) -> Result<(), ControlError> {
        self.tenant.persist(world).map_err(|_| ControlError::Persist)
    }

    /// Replaces the injected faults (5xx rate, latency, dropped connections); reseeds the RNG.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.tenant.faults).set(faults);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.set_faults(Faults::default());
    }

    /// Answers every `/api/v2` call with 429 for `duration`.
    pub fn storm(&self, duration: Duration) {
        lock(&self.tenant.limits).storm_until = Some(Instant::now() + duration);
    }

    /// Refills the rate-limit buckets and ends a storm.
    pub fn refill_buckets(&self) {
        self.tenant.reset_limits();
    }

    /// Expires every token issued so far.
    pub fn expire_tokens(&self) {
        let mut world = lock(&self.tenant.world);
        world.token_generation += 1;
        let _ = self.persist(&world);
    }

    /// Deletes a domain behind the client's back.
    pub fn delete_domain(&self, id: &str) -> Result<(), ControlError> {
        let mut world = lock(&self.tenant.world);
        world
            .remove(id)
            .ok_or_else(|| ControlError::NotFound(id.to_string()))?;
        self.persist(&world)
    }

    /// Edits stored fields of a domain behind the client's back: `patch` is merged into the stored
    /// record (see [`Domain`]'s serialized form, e.g. `{"status":"failed"}` or
    /// `{"domain_metadata":{"k":"v"}}`).
    pub fn edit_domain(&self, id: &str, patch: Value) -> Result<Value, ControlError> {
        let mut world = lock(&self.tenant.world);
        let d = world
            .domains
            .get(id)
            .ok_or_else(|| ControlError::NotFound(id.to_string()))?;
        let mut stored = serde_json::to_value(d).map_err(|e| ControlError::Invalid(e.to_string()))?;
        let (Value::Object(s), Value::Object(p)) = (&mut stored, patch) else {
            return Err(ControlError::Invalid("edit must be a JSON object".into()));
        };
        for (k, v) in p {
            s.insert(k, v);
        }
        let mut edited: Domain =
            serde_json::from_value(stored).map_err(|e| ControlError::Invalid(e.to_string()))?;
        edited.id = id.to_string();
        world.domains.insert(id.to_string(), edited.clone());
        world.reindex();
        self.persist(&world)?;
        Ok(edited.render(
            domain::View::Plain,
            false,
            domain::RenderOptions::from(&self.tenant.readings()),
        ))
    }

    /// Fails the certificate of an Auth0-managed domain: `provisioning_failed` (status `failed`)
    /// now if it is provisioning after verification, when provisioning would finish if not verified
    /// yet, and `renewing_failed` if it is already provisioned.
    pub fn fail_certificate(&self, id: &str, message: &str) -> Result<(), ControlError> {
        let mut world = lock(&self.tenant.world);
        let d = world
            .domains
            .get_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_string()))?;
        if d.kind != domain::DomainType::Auth0ManagedCerts {
            return Err(ControlError::Invalid(
                "self-managed domains have no Auth0 certificate".into(),
            ));
        }
        let Some(cert) = d.certificate.as_mut() else {
            // Not looked at yet: fail when provisioning would finish.
            d.cert_failure = Some(message.to_string());
            return self.persist(&world);
        };
        match cert.status_str() {
            "provisioned" => {
                cert.status = Some("renewing_failed".into());
                cert.error_msg = Some(message.to_string());
            }
            _ if d.verification.as_ref().is_some_and(|v| v.status == "verified") => {
                cert.status = Some("provisioning_failed".into());
                cert.error_msg = Some(message.to_string());
                d.cert_ready_at_ms = None;
                d.status = DomainStatus::Failed;
            }
            _ => d.cert_failure = Some(message.to_string()),
        }
        self.persist(&world)
    }

    /// Inserts a domain given as the API renders it (e.g. a recorded response): id, name, type,
    /// status, verification, certificate, metadata, `created_at` are taken as they are. The CNAME
    /// target (Auth0-managed) or TXT value (self-managed) is `verification.methods[0].record`.
    /// Returns the id.
    pub fn seed_domain(&self, wire: &Value) -> Result<String, ControlError> {
        let d = domain_from_wire(wire, &self.tenant)?;
        let id = d.id.clone();
        let mut world = lock(&self.tenant.world);
        if world.domains.contains_key(&id) || world.id_by_name(&d.domain).is_some() {
            return Err(ControlError::Invalid(format!(
                "{id} / {} exists already",
                d.domain
            )));
        }
        world.seq += 1;
        let d = Domain {
            created_seq: world.seq,
            ..d
        };
        world.insert(d);
        self.persist(&world)?;
        Ok(id)
    }

    /// Makes a domain the default whatever its status (the API itself only accepts verified ones);
    /// `None` restores the canonical domain.
    pub fn force_default(&self, name: Option<&str>) -> Result<(), ControlError> {
        let mut world = lock(&self.tenant.world);
        if let Some(n) = name
            && world.id_by_name(n).is_none()
        {
            return Err(ControlError::NotFound(n.to_string()));
        }
        world.default_domain = name.map(str::to_string);
        self.persist(&world)
    }

    /// Runs Auth0's first background look at an Auth0-managed domain now (instead of after
    /// `pending_check_delay`): reads then show `verification.status: "pending"` and the certificate.
    pub fn run_pending_check(&self, id: &str) -> Result<(), ControlError> {
        let mut world = lock(&self.tenant.world);
        let d = world
            .domains
            .get_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_string()))?;
        let now = domain::now_ms();
        if d.pending_check_at_ms.is_some() {
            d.pending_check_at_ms = Some(now);
        }
        d.advance(now);
        self.persist(&world)
    }

    /// Runs the background re-check of ready Auth0-managed domains now.
    pub async fn recheck(&self) {
        self.tenant.recheck().await;
    }

    /// Counters (calls by endpoint template and status, 429s, keys issued, domains created…).
    pub fn counters(&self) -> Counters {
        let mut c = lock(&self.tenant.counters).clone();
        let world = lock(&self.tenant.world);
        c.keys_issued = world.issued_keys.len() as u64;
        c.domains_created = world.domains_created;
        c
    }

    /// Every live domain with the key issued for it.
    pub fn domains(&self) -> Vec<DomainRecord> {
        let mut world = lock(&self.tenant.world);
        let now = domain::now_ms();
        for d in world.domains.values_mut() {
            d.advance(now);
        }
        let mut out: Vec<DomainRecord> = world
            .domains
            .values()
            .map(|d| DomainRecord {
                custom_domain_id: d.id.clone(),
                domain: d.domain.clone(),
                kind: d.kind.as_str().to_string(),
                status: d.status.as_str().to_string(),
                origin_domain_name: d.origin_domain_name.clone(),
                cname_api_key: world.key_of(&d.id).map(|k| k.cname_api_key.clone()),
                txt: d
                    .txt_record
                    .clone()
                    .map(|v| (domain::txt_record_name(&d.domain), v)),
                stored: d.clone(),
            })
            .collect();
        out.sort_by_key(|r| r.stored.created_seq);
        out
    }

    /// The domain with this hostname.
    pub fn domain_by_name(&self, name: &str) -> Option<DomainRecord> {
        self.domains().into_iter().find(|d| d.domain == name)
    }

    /// Current uncertain-behaviour switches.
    pub fn readings(&self) -> Readings {
        self.tenant.readings()
    }

    /// Changes the uncertain-behaviour switches at run time.
    pub fn set_readings(&self, readings: Readings) {
        *lock(&self.tenant.readings) = readings;
    }

    /// Forgets every domain, key, default and setting, counters, faults and buckets (tokens and
    /// the signing secret stay valid).
    pub fn reset(&self) {
        {
            let mut world = lock(&self.tenant.world);
            let secret = world.jwt_secret.clone();
            let generation = world.token_generation;
            let mut fresh = World::new(&self.tenant.cfg.tenant, &mut *lock(&self.tenant.rng));
            fresh.jwt_secret = secret;
            fresh.token_generation = generation;
            *world = fresh;
            let _ = self.persist(&world);
        }
        *lock(&self.tenant.counters) = Counters::default();
        self.clear_faults();
        *lock(&self.tenant.readings) = self.tenant.cfg.readings.clone();
        self.tenant.reset_limits();
    }
}

fn domain_from_wire(w: &Value, t: &Tenant) -> Result<Domain, ControlError> {
    let bad = |what: &str| ControlError::Invalid(format!("seed: {what}"));
    let text = |k: &str| w.get(k).and_then(Value::as_str).map(str::to_string);
    let id = text("custom_domain_id").ok_or_else(|| bad("custom_domain_id"))?;
    crate::custom_domains::check_id(&id).map_err(|e| bad(&e.message))?;
    let name = text("domain").ok_or_else(|| bad("domain"))?;
    let kind: crate::domain::DomainType =
        serde_json::from_value(w.get("type").cloned().unwrap_or(Value::Null)).map_err(|_| bad("type"))?;
    let status: DomainStatus = match w.get("status") {
        None => DomainStatus::PendingVerification,
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| bad("status"))?,
    };
    let v = w.get("verification");
    let record = v
        .and_then(|v| v.pointer("/methods/0/record"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let auth0 = kind == crate::domain::DomainType::Auth0ManagedCerts;
    let verification =
        v.and_then(|v| v.get("status"))
            .and_then(Value::as_str)
            .map(|s| domain::VerificationState {
                status: s.to_string(),
                error_msg: v
                    .and_then(|v| v.get("error_msg"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                last_verified_at: v
                    .and_then(|v| v.get("last_verified_at"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
    let certificate = match w.get("certificate") {
        None | Some(Value::Null) => None,
        Some(c) => Some(serde_json::from_value(c.clone()).map_err(|_| bad("certificate"))?),
    };
    let domain_metadata = match w.get("domain_metadata") {
        None | Some(Value::Null) => Default::default(),
        Some(m) => serde_json::from_value(m.clone()).map_err(|_| bad("domain_metadata"))?,
    };
    let created_ms = text("created_at")
        .and_then(|s| domain::parse_iso_ms(&s))
        .unwrap_or_else(domain::now_ms);
    Ok(Domain {
        origin_domain_name: match (auth0, &record) {
            (true, Some(r)) => r.clone(),
            _ => text("origin_domain_name").unwrap_or_else(|| t.origin_name(&id)),
        },
        txt_record: if auth0 { None } else { record },
        id,
        domain: name,
        kind,
        status,
        primary: w.get("primary").and_then(Value::as_bool).unwrap_or(false),
        verification,
        certificate,
        cert_ready_at_ms: None,
        pending_check_at_ms: None,
        fail_at_ms: None,
        cert_failure: None,
        tls_policy: text("tls_policy"),
        custom_client_ip_header: text("custom_client_ip_header"),
        metadata_set: w.get("domain_metadata").is_some(),
        domain_metadata,
        relying_party_identifier: text("relying_party_identifier"),
        key_issued: !auth0 && status == DomainStatus::Ready,
        created_seq: 0,
        created_ms,
    })
}

fn err(e: ControlError) -> Response {
    let status = match e {
        ControlError::NotFound(_) => StatusCode::NOT_FOUND,
        ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
        ControlError::Persist => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, axum::Json(json!({"error": e.to_string()}))).into_response()
}

fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": e.to_string()})),
            )
                .into_response(),
        )
    })
}

fn control(t: Arc<Tenant>) -> Control {
    Control { tenant: t }
}

async fn counters(State(t): State<Arc<Tenant>>) -> Response {
    axum::Json(control(t).counters()).into_response()
}

async fn domains(State(t): State<Arc<Tenant>>) -> Response {
    axum::Json(control(t).domains()).into_response()
}

async fn set_faults(State(t): State<Arc<Tenant>>, body: Bytes) -> Response {
    match parse::<Faults>(&body) {
        Ok(f) => {
            control(t).set_faults(f.clone());
            axum::Json(f).into_response()
        }
        Err(r) => *r,
    }
}

async fn clear_faults(State(t): State<Arc<Tenant>>) -> Response {
    control(t).clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize, Default)]
struct StormBody {
    #[serde(default)]
    seconds: f64,
}

async fn storm(State(t): State<Arc<Tenant>>, body: Bytes) -> Response {
    match parse::<StormBody>(&body) {
        Ok(s) if s.seconds.is_finite() && s.seconds >= 0.0 => {
            control(t).storm(Duration::from_secs_f64(s.seconds));
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "seconds must be >= 0"})),
        )
            .into_response(),
        Err(r) => *r,
    }
}

async fn refill(State(t): State<Arc<Tenant>>) -> Response {
    control(t).refill_buckets();
    StatusCode::NO_CONTENT.into_response()
}

async fn expire_tokens(State(t): State<Arc<Tenant>>) -> Response {
    control(t).expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_domain(State(t): State<Arc<Tenant>>, Path(id): Path<String>) -> Response {
    match control(t).delete_domain(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(e),
    }
}

async fn edit_domain(State(t): State<Arc<Tenant>>, Path(id): Path<String>, body: Bytes) -> Response {
    let patch = match parse::<Value>(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match control(t).edit_domain(&id, patch) {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => err(e),
    }
}

#[derive(Deserialize, Default)]
struct FailBody {
    #[serde(default)]
    message: Option<String>,
}

async fn fail_certificate(State(t): State<Arc<Tenant>>, Path(id): Path<String>, body: Bytes) -> Response {
    let msg = match parse::<FailBody>(&body) {
        Ok(b) => b
            .message
            .unwrap_or_else(|| "The certificate could not be provisioned (injected).".into()),
        Err(r) => return *r,
    };
    match control(t).fail_certificate(&id, &msg) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(e),
    }
}

async fn seed_domain(State(t): State<Arc<Tenant>>, body: Bytes) -> Response {
    let wire = match parse::<Value>(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match control(t).seed_domain(&wire) {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"custom_domain_id": id}))).into_response(),
        Err(e) => err(e),
    }
}

async fn force_default(State(t): State<Arc<Tenant>>, body: Bytes) -> Response {
    let v = match parse::<Value>(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match control(t).force_default(v.get("domain").and_then(Value::as_str)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(e),
    }
}

async fn pending_check(State(t): State<Arc<Tenant>>, Path(id): Path<String>) -> Response {
    match control(t).run_pending_check(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(e),
    }
}

async fn recheck(State(t): State<Arc<Tenant>>) -> Response {
    control(t).recheck().await;
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(t): State<Arc<Tenant>>) -> Response {
    control(t).reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_readings(State(t): State<Arc<Tenant>>) -> Response {
    axum::Json(readings_json(&control(t).readings())).into_response()
}

async fn put_readings(State(t): State<Arc<Tenant>>, body: Bytes) -> Response {
    let c = control(t);
    let mut r = c.readings();
    let patch = match parse::<Value>(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let flag = |name: &str, cur: bool| patch.get(name).and_then(Value::as_bool).unwrap_or(cur);
    r.verify_failure_400 = flag("verify_failure_400", r.verify_failure_400);
    r.pagination = flag("pagination", r.pagination);
    r.metadata_merge = flag("metadata_merge", r.metadata_merge);
    r.strict_type_fields = flag("strict_type_fields", r.strict_type_fields);
    r.origin_only_in_first_verify = flag("origin_only_in_first_verify", r.origin_only_in_first_verify);
    r.conflict_while_provisioning = flag("conflict_while_provisioning", r.conflict_while_provisioning);
    r.lowercase_method_names = flag("lowercase_method_names", r.lowercase_method_names);
    c.set_readings(r.clone());
    axum::Json(readings_json(&r)).into_response()
}

fn readings_json(r: &Readings) -> Value {
    json!({
        "verify_failure_400": r.verify_failure_400,
        "pagination": r.pagination,
        "metadata_merge": r.metadata_merge,
        "strict_type_fields": r.strict_type_fields,
        "origin_only_in_first_verify": r.origin_only_in_first_verify,
        "conflict_while_provisioning": r.conflict_while_provisioning,
        "lowercase_method_names": r.lowercase_method_names,
    })
}

/// Routes under `/__sim`.
pub fn router() -> Router<Arc<Tenant>> {
    Router::new()
        .route("/counters", get(counters))
        .route("/domains", get(domains).post(seed_domain))
        .route("/domains/{id}/pending-check", post(pending_check))
        .route("/default", axum::routing::put(force_default))
        .route("/recheck", post(recheck))
        .route("/domains/{id}", delete(delete_domain).patch(edit_domain))
        .route("/domains/{id}/fail-certificate", post(fail_certificate))
        .route("/faults", post(set_faults).put(set_faults).delete(clear_faults))
        .route("/storm", post(storm))
        .route("/refill", post(refill))
        .route("/expire-tokens", post(expire_tokens))
        .route("/readings", get(get_readings).put(put_readings))
        .route("/reset", post(reset))
}
