//! Injected faults (seeded, replayable) and the call counters.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Faults applied to `/api/v2` and `/oauth/token` requests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Faults {
    /// Share (0..=1) of requests answered with `error_status` instead of being served.
    pub error_rate: f64,
    /// Status of injected errors (default 503).
    pub error_status: Option<u16>,
    /// Share (0..=1) of requests whose connection is closed without a response.
    pub drop_rate: f64,
    /// Fixed latency added before serving, milliseconds.
    pub latency_ms: u64,
    /// Extra uniformly random latency, 0..=jitter_ms milliseconds.
    pub jitter_ms: u64,
    /// Only requests whose endpoint template equals this (e.g.
    /// `POST /api/v2/custom-domains/{id}/verify`) are affected; all when `None`.
    pub endpoint: Option<String>,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Sleep first.
    pub delay: Duration,
    /// Close the connection without answering.
    pub drop: bool,
    /// Answer this status instead of serving.
    pub error: Option<u16>,
}

/// Faults plus their seeded random source.
#[derive(Debug)]
pub struct FaultState {
    /// Current faults.
    pub faults: Faults,
    rng: StdRng,
    seed: u64,
}

impl FaultState {
    /// No faults, RNG seeded.
    pub fn new(seed: u64) -> Self {
        Self {
            faults: Faults::default(),
            rng: StdRng::seed_from_u64(seed),
            seed,
        }
    }

    /// Replaces the faults and reseeds, so the same sequence of requests sees the same faults.
    pub fn set(&mut self, faults: Faults) {
        self.faults = faults;
        self.rng = StdRng::seed_from_u64(self.seed);
    }

    /// Decides the fate of a request to `template`.
    pub fn decide(&mut self, template: &str) -> Decision {
        let f = &self.faults;
        let none = Decision {
            delay: Duration::ZERO,
            drop: false,
            error: None,
        };
        if f.endpoint.as_deref().is_some_and(|e| e != template) {
            return none;
        }
        if f.error_rate <= 0.0 && f.drop_rate <= 0.0 && f.latency_ms == 0 && f.jitter_ms == 0 {
            return none;
        }
        let jitter = if f.jitter_ms > 0 {
            self.rng.random_range(0..=f.jitter_ms)
        } else {
            0
        };
        let delay = Duration::from_millis(f.latency_ms + jitter);
        let drop = f.drop_rate > 0.0 && self.rng.random_bool(f.drop_rate.clamp(0.0, 1.0));
        let error = (!drop && f.error_rate > 0.0 && self.rng.random_bool(f.error_rate.clamp(0.0, 1.0)))
            .then(|| f.error_status.unwrap_or(503));
        Decision { delay, drop, error }
    }
}

/// Counters read by tests and benchmarks.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls by `"METHOD /template"` then status.
    pub calls: BTreeMap<String, BTreeMap<u16, u64>>,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// Injected 5xx answers.
    pub injected_errors: u64,
    /// Connections dropped on purpose.
    pub dropped: u64,
    /// Tokens issued by `/oauth/token`.
    pub tokens_issued: u64,
    /// `cname_api_key`s issued (whole state lifetime).
    pub keys_issued: u64,
    /// Domains created (whole state lifetime).
    pub domains_created: u64,
    /// DNS lookups made by verify.
    pub dns_lookups: u64,
    /// Edge requests accepted / refused.
    pub edge_accepted: u64,
    /// Edge requests refused (wrong or missing key, unknown host).
    pub edge_refused: u64,
}

impl Counters {
    /// Counts one call.
    pub fn record(&mut self, template: &str, status: u16) {
        *self
            .calls
            .entry(template.to_string())
            .or_default()
            .entry(status)
            .or_default() += 1;
        if status == 429 {
            self.rate_limited += 1;
        }
    }

    /// Calls to a template with a status.
    pub fn count(&self, template: &str, status: u16) -> u64 {
        self.calls
            .get(template)
            .and_then(|m| m.get(&status))
            .copied()
            .unwrap_or(0)
    }

    /// All calls to a template.
    pub fn total(&self, template: &str) -> u64 {
        self.calls.get(template).map(|m| m.values().sum()).unwrap_or(0)
    }
}

/// Route template of a request, e.g. `POST /api/v2/custom-domains/{id}/verify`.
pub fn template(method: &str, path: &str) -> String {
    let path = path.trim_end_matches('/');
    let t = if let Some(rest) = path.strip_prefix("/api/v2/custom-domains/") {
        match rest.split_once('/') {
            _ if rest == "default" => "/api/v2/custom-domains/default".to_string(),
            Some((_, tail)) => format!("/api/v2/custom-domains/{{id}}/{tail}"),
            None => "/api/v2/custom-domains/{id}".to_string(),
        }
    } else {
        path.to_string()
    };
    format!("{method} {t}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            template("POST", "/api/v2/custom-domains/cd_x/verify"),
            "POST /api/v2/custom-domains/{id}/verify"
        );
        assert_eq!(
            template("GET", "/api/v2/custom-domains/default"),
            "GET /api/v2/custom-domains/default"
        );
        assert_eq!(
            template("GET", "/api/v2/custom-domains"),
            "GET /api/v2/custom-domains"
        );
        assert_eq!(
            template("PATCH", "/api/v2/custom-domains/cd_1"),
            "PATCH /api/v2/custom-domains/{id}"
        );
    }

    #[test]
    fn seeded_faults_replay() {
        let faults = Faults {
            error_rate: 0.5,
            ..Faults::default()
        };
        let run = || {
            let mut s = FaultState::new(7);
            s.set(faults.clone());
            (0..64)
                .map(|_| s.decide("GET /x").error.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|e| *e) && a.iter().any(|e| !*e));
    }
}
