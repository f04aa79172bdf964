//! The simulated tenant: shared state behind both servers and the control API.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::api_error::ApiError;
use crate::config::{Readings, SimConfig};
use crate::error::Error;
use crate::faults::{Counters, FaultState};
use crate::ratelimit::{Bucket, RateHeaders};
use crate::token::Signer;
use crate::world::World;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (state stays usable).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The rate-limit buckets and the 429 storm.
#[derive(Debug)]
pub struct Limits {
    /// Tenant-wide Management API bucket.
    pub tenant: Bucket,
    /// `verify`'s own bucket.
    pub verify: Bucket,
    /// Every `/api/v2` call is refused until then.
    pub storm_until: Option<Instant>,
}

/// Outcome of the rate-limit check of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateOutcome {
    /// Served or refused.
    pub allowed: bool,
    /// Headers to send.
    pub headers: RateHeaders,
}

/// Shared runtime state of one simulated tenant.
#[derive(Debug)]
pub struct Tenant {
    /// Start configuration.
    pub cfg: SimConfig,
    /// Domain SDKs use, e.g. `127.0.0.1:PORT`; also the canonical domain.
    pub tenant_domain: String,
    /// Persistent state.
    pub world: Mutex<World>,
    /// Random source for ids and keys.
    pub rng: Mutex<StdRng>,
    /// Injected faults.
    pub faults: Mutex<FaultState>,
    /// Counters.
    pub counters: Mutex<Counters>,
    /// Buckets.
    pub limits: Mutex<Limits>,
    /// Switches for uncertain behaviour (changeable at run time through control).
    pub readings: Mutex<Readings>,
    /// Token signer.
    pub signer: Signer,
}

fn unix_now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Tenant {
    /// Loads or creates the state.
    pub fn new(cfg: SimConfig, tenant_domain: String) -> Result<Self, Error> {
        let loaded = match &cfg.state_file {
            Some(p) => World::load(p)?,
            None => None,
        };
        // Reseed past the ids already handed out so a restart with the same seed cannot collide.
        let seq = loaded.as_ref().map(|w| w.seq).unwrap_or(0);
        let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_add(seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let world = match loaded {
            Some(w) => w,
            None => {
                let w = World::new(&cfg.tenant, &mut rng);
                if let Some(p) = &cfg.state_file {
                    w.save(p)?;
                }
                w
            }
        };
        use base64::Engine as _;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(&world.jwt_secret)
            .map_err(|e| Error::Config(format!("state jwt_secret: {e}")))?;
        Ok(Self {
            signer: Signer::new(&secret),
            limits: Mutex::new(Limits {
                tenant: Bucket::new(cfg.rate_limit),
                verify: Bucket::new(cfg.verify_limit),
                storm_until: None,
            }),
            faults: Mutex::new(FaultState::new(cfg.seed)),
            counters: Mutex::new(Counters::default()),
            readings: Mutex::new(cfg.readings.clone()),
            world: Mutex::new(world),
            rng: Mutex::new(rng),
            tenant_domain,
            cfg,
        })
    }

    /// Current switches.
    pub fn readings(&self) -> Readings {
        lock(&self.readings).clone()
    }

    /// Writes the state file (if any); called with the world lock held so writes are ordered.
    pub fn persist(&self, world: &World) -> Result<(), ApiError> {
        let Some(path) = &self.cfg.state_file else {
            return Ok(());
        };
        world.save(path).map_err(|e| {
            tracing::error!(error = %e, "state file write failed");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                Some("internal"),
            )
        })
    }

    /// Takes a token from the tenant bucket (and verify's bucket for verify calls).
    pub fn rate_check(&self, is_verify: bool) -> RateOutcome {
        let now = Instant::now();
        let unix = unix_now_f64();
        let mut l = lock(&self.limits);
        if let Some(until) = l.storm_until {
            if now < until {
                let left = until.saturating_duration_since(now).as_secs_f64();
                let limit = l.tenant.peek(now, unix).limit;
                return RateOutcome {
                    allowed: false,
                    headers: RateHeaders {
                        limit,
                        remaining: 0,
                        reset: (unix + left).ceil() as i64,
                    },
                };
            }
            l.storm_until = None;
        }
        let (ok, tenant) = l.tenant.take(now, unix);
        if !ok || !is_verify {
            return RateOutcome {
                allowed: ok,
                headers: tenant,
            };
        }
        let (ok, verify) = l.verify.take(now, unix);
        RateOutcome {
            allowed: ok,
            headers: verify,
        }
    }

    /// Headers of the tenant bucket without taking a token.
    pub fn rate_peek(&self) -> RateHeaders {
        lock(&self.limits).tenant.peek(Instant::now(), unix_now_f64())
    }

    /// Refills both buckets and ends a storm.
    pub fn reset_limits(&self) {
        let mut l = lock(&self.limits);
        l.tenant = Bucket::new(self.cfg.rate_limit);
        l.verify = Bucket::new(self.cfg.verify_limit);
        l.storm_until = None;
    }
}
