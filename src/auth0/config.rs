//! How to reach one tenant ([`TenantConfig`]) and how to retry ([`RetryPolicy`]).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use rand::Rng as _;
use url::Url;

use super::budget::RateLimit;
use super::error::Error;
use super::redact::Redacted;

/// Retry schedule for transient failures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (≥ 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt (doubles each time).
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// Jittered backoff after failed attempt `attempt` (1-based): uniformly in [d/2, d] with
    /// d = base · 2^(attempt-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let d = exp.min(self.max_delay);
        let half = d / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().try_into().unwrap_or(u64::MAX));
        half + Duration::from_millis(jitter)
    }
}

/// The delays between a call's attempts: [`RetryPolicy::backoff`] after each failed attempt but
/// the last, so [`backon`] retries a call at most `max_attempts - 1` times.
#[derive(Clone, Debug)]
pub struct RetryDelays {
    policy: RetryPolicy,
    failed: u32,
}

impl Iterator for RetryDelays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.failed += 1;
        (self.failed < self.policy.max_attempts).then(|| self.policy.backoff(self.failed))
    }
}

impl backon::BackoffBuilder for RetryPolicy {
    type Backoff = RetryDelays;

    fn build(self) -> RetryDelays {
        RetryDelays {
            policy: self,
            failed: 0,
        }
    }
}

/// How to reach and use one Auth0 tenant.
#[derive(Clone, Debug)]
pub struct TenantConfig {
    /// Name of the `Auth0Tenant` (metric label and log field).
    pub name: String,
    /// The tenant's Auth0 domain (`acme.eu.auth0.com`).
    pub domain: String,
    /// Overrides `https://{domain}` (simulators, private cloud).
    pub management_api_url: Option<String>,
    /// Token audience; default `https://{domain}/api/v2/`.
    pub audience: Option<String>,
    /// M2M application id.
    pub client_id: String,
    /// M2M application secret.
    pub client_secret: Redacted<String>,
    /// Allow `http://` URLs (`--allow-insecure-auth0`, tests only).
    pub allow_insecure: bool,
    /// Extra trusted CA certificates (PEM bundle), added to the system roots.
    pub extra_root_ca_pem: Option<String>,
    /// Tenant-wide budget (`spec.rateLimit`).
    pub rate_limit: RateLimit,
    /// `verify`'s own budget.
    pub verify_limit: RateLimit,
    /// Longest pause a 429 or low `x-ratelimit-remaining` may impose.
    pub max_pause: Duration,
    /// Timeout of one HTTP request (connect + answer).
    pub request_timeout: Duration,
    /// Retry schedule.
    pub retry: RetryPolicy,
}

impl TenantConfig {
    /// A config with default budgets, timeouts and retries.
    pub fn new(
        name: impl Into<String>,
        domain: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Redacted<String>,
    ) -> Self {
        Self {
            name: name.into(),
            domain: domain.into(),
            management_api_url: None,
            audience: None,
            client_id: client_id.into(),
            client_secret,
            allow_insecure: false,
            extra_root_ca_pem: None,
            rate_limit: RateLimit::DEFAULT_TENANT,
            verify_limit: RateLimit::DEFAULT_VERIFY,
            max_pause: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

impl TenantConfig {
    /// What a client is built from, apart from its budgets: where it connects, as whom, and how.
    /// Two configs with the same identity can share one client (its rate limits are changed in
    /// place, so its token, buckets and 429 pauses are kept); a different identity needs a new one.
    pub fn identity(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.domain.hash(&mut h);
        self.management_api_url.hash(&mut h);
        self.audience.hash(&mut h);
        self.client_id.hash(&mut h);
        self.client_secret.expose().hash(&mut h);
        self.allow_insecure.hash(&mut h);
        self.extra_root_ca_pem.hash(&mut h);
        self.max_pause.hash(&mut h);
        self.request_timeout.hash(&mut h);
        self.retry.max_attempts.hash(&mut h);
        self.retry.base_delay.hash(&mut h);
        self.retry.max_delay.hash(&mut h);
        h.finish()
    }
}

/// Normalizes the configured URL to the tenant's origin and checks the scheme.
pub(crate) fn origin_url(cfg: &TenantConfig) -> Result<Url, Error> {
    let raw = cfg
        .management_api_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", cfg.domain));
    let invalid = |reason: &str| Error::InvalidUrl {
        url: raw.clone(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(&raw).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if cfg.allow_insecure => {}
        "http" => return Err(Error::InsecureUrl { url: raw }),
        _ => return Err(invalid("scheme must be https")),
    }
    if url.host().is_none() {
        return Err(invalid("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL are not allowed; use credentialsSecretRef",
        ));
    }
    // Accept `https://host/api/v2` as well as `https://host`.
    let path = url
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/api/v2")
        .to_string();
    url.set_path(&format!("{path}/"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// A tenant configuration for unit tests (`acme.eu.auth0.com`, secret `very-secret`).
#[cfg(test)]
pub(crate) fn test_config(url: Option<&str>) -> TenantConfig {
    let mut c = TenantConfig::new(
        "t",
        "acme.eu.auth0.com",
        "id",
        Redacted::new("very-secret".into()),
    );
    c.management_api_url = url.map(Into::into);
    c
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    use super::test_config as cfg;

    #[test]
    fn urls() {
        assert_eq!(
            origin_url(&cfg(None)).unwrap().as_str(),
            "https://acme.eu.auth0.com/"
        );
        assert_eq!(
            origin_url(&cfg(Some("https://127.0.0.1:8443/api/v2/")))
                .unwrap()
                .as_str(),
            "https://127.0.0.1:8443/"
        );
        assert!(matches!(
            origin_url(&cfg(Some("http://127.0.0.1:1"))),
            Err(Error::InsecureUrl { .. })
        ));
        let mut insecure = cfg(Some("http://127.0.0.1:1"));
        insecure.allow_insecure = true;
        assert!(origin_url(&insecure).is_ok());
        assert!(matches!(
            origin_url(&cfg(Some("ftp://x"))),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            origin_url(&cfg(Some("https://u:p@x"))),
            Err(Error::InvalidUrl { .. })
        ));
    }

    #[test]
    fn identity_ignores_budgets_only() {
        let base = cfg(None);
        let mut budget = cfg(None);
        budget.rate_limit = RateLimit::per(10, Duration::from_secs(1));
        budget.verify_limit = RateLimit::per(1, Duration::from_secs(1));
        assert_eq!(
            base.identity(),
            budget.identity(),
            "a budget edit keeps the client"
        );
        let mut rotated = cfg(None);
        rotated.client_secret = Redacted::new("rotated".into());
        let mut moved = cfg(Some("https://127.0.0.1:8443"));
        moved.domain = base.domain.clone();
        let mut other_id = cfg(None);
        other_id.client_id = "id2".into();
        for changed in [rotated, moved, other_id] {
            assert_ne!(base.identity(), changed.identity(), "{changed:?}");
        }
    }

    #[test]
    fn a_policy_gives_backon_one_delay_per_retry() {
        use backon::BackoffBuilder as _;
        let p = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let delays: Vec<Duration> = p.build().collect();
        assert_eq!(delays.len(), 3, "four attempts: three waits");
        for (i, d) in delays.iter().enumerate() {
            let cap = Duration::from_millis(100) * (1 << i);
            assert!(*d >= cap / 2 && *d <= cap, "retry {i}: {d:?}");
        }
        let once = RetryPolicy { max_attempts: 1, ..p };
        assert_eq!(once.build().count(), 0, "one attempt: no retry");
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 1..10 {
            let d = p.backoff(attempt);
            let cap = (Duration::from_millis(100) * (1 << (attempt - 1))).min(Duration::from_secs(1));
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?}");
        }
    }
}
