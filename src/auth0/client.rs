//! [`TenantClient`]: the Management API client of one Auth0 tenant.
//!
//! Every call awaits the tenant's budget (and verify also its own), carries a cached
//! client-credentials token (refreshed once on a 401), and is retried with jittered exponential
//! backoff when the failure is transient — except `POST /custom-domains`, which is retried only
//! when Auth0 certainly did not process it (429, connection refused) and otherwise reports
//! [`Error::CreateOutcomeUnknown`] so the caller looks before creating again.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::Retryable as _;
use http::StatusCode;
use tracing::{debug, info, warn};
use url::Url;

use super::budget::{Budget, RateLimit, RateLimitHeaders, Scope};
use super::config::origin_url;
pub use super::config::{RetryPolicy, TenantConfig};
pub use super::endpoint::Endpoint;
use super::error::{Error, ErrorBody, TransportKind, decode_detail};
use super::redact::Redacted;
use super::request::{Call, Reply, api_error, parse, parse_list, to_json, transport_detail, transport_kind};
use super::token::{AccessToken, TokenCache, TokenRequest, TokenResponse};
use super::types::{
    CreateDomain, CustomDomain, DefaultDomain, PatchDomain, SetDefaultDomain, TenantSettings, VerifyResponse,
};
use crate::telemetry::metrics::Metrics;

/// Scopes the operator needs for custom domains.
pub const CUSTOM_DOMAIN_SCOPES: [&str; 4] = [
    "read:custom_domains",
    "create:custom_domains",
    "update:custom_domains",
    "delete:custom_domains",
];

/// Scopes needed when the tenant's `mtls` settings are managed: read and update.
pub const TENANT_SETTINGS_SCOPES: [&str; 2] = ["read:tenant_settings", "update:tenant_settings"];

/// Page size of checkpoint pagination.
pub const PAGE_SIZE: u32 = 100;

/// The scope that lets the operator read (not change) tenant settings.
pub const READ_TENANT_SETTINGS: &str = TENANT_SETTINGS_SCOPES[0];

/// Largest response body the client reads. A checkpoint page of 100 domains is well under 1 MiB and a
/// plain list of 1,000 domains a few MiB; anything past this is refused ([`Error::BodyTooLarge`])
/// as it arrives, so memory stays bounded whatever a server or proxy sends.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Reads the body up to [`MAX_RESPONSE_BYTES`]; `None` when it is larger (the rest is not read).
async fn read_limited(mut resp: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Upper bound of pages read in one list (100,000 domains), against a server that loops.
const MAX_PAGES: usize = 1000;

/// What the credentials can do, from the token's granted scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialsCheck {
    /// Scopes granted to the M2M application.
    pub scopes: Vec<String>,
}

impl CredentialsCheck {
    /// Which of `required` are not granted.
    pub fn missing<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required
            .iter()
            .copied()
            .filter(|r| !self.scopes.iter().any(|s| s == r))
            .collect()
    }
}

/// Whether the tenant answers checkpoint pagination; learnt on the first list.
const PAGINATION_UNKNOWN: u8 = 0;
const PAGINATION_SUPPORTED: u8 = 1;
const PAGINATION_UNSUPPORTED: u8 = 2;

struct Inner {
    name: String,
    api_base: Url,
    token_url: Url,
    audience: String,
    client_id: String,
    client_secret: Redacted<String>,
    http: reqwest::Client,
    tokens: TokenCache,
    budget: Budget,
    retry: RetryPolicy,
    max_pause: Duration,
    pagination: AtomicU8,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    metrics: Option<Arc<Metrics>>,
}

/// The Management API client of one tenant. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TenantClient {
    inner: Arc<Inner>,
    /// Set by [`TenantClient::deferring`]: how long a create or verify may wait for budget.
    defer_beyond: Option<Duration>,
}

impl fmt::Debug for TenantClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantClient")
            .field("name", &self.inner.name)
            .field("api_base", &self.inner.api_base.as_str())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .finish_non_exhaustive()
    }
}

impl TenantClient {
    /// Builds the client (no network traffic until the first call).
    pub fn new(cfg: TenantConfig, metrics: Option<Arc<Metrics>>) -> Result<Self, Error> {
        let origin = origin_url(&cfg)?;
        let join = |p: &str| {
            origin.join(p).map_err(|e| Error::InvalidUrl {
                url: origin.to_string(),
                reason: e.to_string(),
            })
        };
        let api_base = join("api/v2/")?;
        let token_url = join("oauth/token")?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(!cfg.allow_insecure)
            .timeout(cfg.request_timeout)
            // The Management API never redirects; following one would send the client secret (token
            // request) or the bearer token to wherever the redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("auth0-domain-operator/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &cfg.extra_root_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| Error::Build(format!("extra CA bundle: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| Error::Build(transport_detail(e)))?;
        let audience = cfg
            .audience
            .clone()
            .unwrap_or_else(|| format!("https://{}/api/v2/", cfg.domain));
        Ok(Self {
            inner: Arc::new(Inner {
                name: cfg.name,
                api_base,
                token_url,
                audience,
                client_id: cfg.client_id,
                client_secret: cfg.client_secret,
                http,
                tokens: TokenCache::default(),
                budget: Budget::new(cfg.rate_limit, cfg.verify_limit, cfg.max_pause),
                retry: cfg.retry,
                max_pause: cfg.max_pause,
                pagination: AtomicU8::new(PAGINATION_UNKNOWN),
                counts: Mutex::new(BTreeMap::new()),
                metrics,
            }),
            defer_beyond: None,
        })
    }

    /// This client, except that a create or verify with no token due within `max_wait` sends
    /// nothing and returns [`Error::Deferred`]: a reconcile comes back later instead of holding
    /// its slot in the budget's queue.
    pub fn deferring(&self, max_wait: Duration) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            defer_beyond: Some(max_wait),
        }
    }

    /// The `Auth0Tenant` name this client serves.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `https://…/api/v2/`.
    pub fn api_base(&self) -> &Url {
        &self.inner.api_base
    }

    /// Changes the budgets (e.g. `spec.rateLimit` edited) without losing the token or pauses.
    pub fn set_rate_limits(&self, tenant: RateLimit, verify: RateLimit) {
        self.inner.budget.set_tenant_limit(tenant);
        self.inner.budget.set_verify_limit(verify);
    }

    /// The budget (pauses are visible for diagnostics and tests).
    pub fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// HTTP requests sent so far by route template (every attempt counts).
    pub fn request_counts(&self) -> BTreeMap<&'static str, u64> {
        self.inner.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Whether the tenant answered checkpoint pagination (`None` until the first list).
    pub fn supports_pagination(&self) -> Option<bool> {
        match self.inner.pagination.load(Ordering::Relaxed) {
            PAGINATION_SUPPORTED => Some(true),
            PAGINATION_UNSUPPORTED => Some(false),
            _ => None,
        }
    }

    /// Fetches (or reuses) a token and reports its scopes: proves the credentials work.
    pub async fn check_credentials(&self) -> Result<CredentialsCheck, Error> {
        let token = self.token().await?;
        Ok(CredentialsCheck { scopes: token.scopes })
    }

    /// Every custom domain of the tenant, collected (see [`TenantClient::for_each_domain_page`]).
    pub async fn list_domains(&self) -> Result<Vec<CustomDomain>, Error> {
        let mut all = Vec::new();
        self.for_each_domain_page(|page| all.extend(page)).await?;
        Ok(all)
    }

    /// Every custom domain of the tenant, handed to `each` a page at a time: checkpoint pages of
    /// [`PAGE_SIZE`] where the tenant supports them, else the plain list (a 400 to `take`/`from`
    /// is remembered). A caller that folds pages in as they come holds one page, not the tenant's
    /// whole list, and ten tenants refresh at once at the scale the benches run.
    ///
    /// A failure after some pages were handed over returns the error; the pages stay delivered.
    pub async fn for_each_domain_page(&self, mut each: impl FnMut(Vec<CustomDomain>)) -> Result<(), Error> {
        if self.inner.pagination.load(Ordering::Relaxed) != PAGINATION_UNSUPPORTED {
            let mut delivered = false;
            match self
                .list_paged(|page| {
                    delivered = true;
                    each(page)
                })
                .await
            {
                Ok(()) => {
                    self.inner
                        .pagination
                        .store(PAGINATION_SUPPORTED, Ordering::Relaxed);
                    return Ok(());
                }
                // Only the first page can tell that `take`/`from` are refused; after it, the plain
                // list would hand over the same domains twice.
                Err(e) if e.status() == Some(400) && !delivered => {
                    info!(tenant = %self.inner.name, "tenant refuses checkpoint pagination; using the plain list");
                    self.inner
                        .pagination
                        .store(PAGINATION_UNSUPPORTED, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        let reply = self
            .execute(Call::new(Endpoint::ListDomains, vec!["custom-domains"]))
            .await?;
        let (domains, _) = parse_list(Endpoint::ListDomains, &reply)?;
        each(domains);
        Ok(())
    }

    async fn list_paged(&self, mut each: impl FnMut(Vec<CustomDomain>)) -> Result<(), Error> {
        let mut from: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::new(Endpoint::ListDomains, vec!["custom-domains"]);
            call.query.push(("take", PAGE_SIZE.to_string()));
            if let Some(f) = &from {
                call.query.push(("from", f.clone()));
            }
            let reply = self.execute(call).await?;
            let (page, next) = parse_list(Endpoint::ListDomains, &reply)?;
            drop(reply);
            let empty = page.is_empty();
            each(page);
            match next {
                Some(n) if !empty && from.as_deref() != Some(n.as_str()) => from = Some(n),
                _ => return Ok(()),
            }
        }
        warn!(tenant = %self.inner.name, pages = MAX_PAGES, "custom-domain list did not end; using what was read");
        Ok(())
    }

    /// Looks a domain up by host name (`q=domain:<name>`, then an exact match on the result, so
    /// a tenant that ignores `q` still gives the right answer; a 400 to `q` falls back to the
    /// full list).
    pub async fn find_domain(&self, domain: &str) -> Result<Option<CustomDomain>, Error> {
        let mut call = Call::new(Endpoint::ListDomains, vec!["custom-domains"]);
        call.query.push(("q", format!("domain:{domain}")));
        let listed = match self.execute(call).await {
            Ok(reply) => parse_list(Endpoint::ListDomains, &reply)?.0,
            Err(e) if e.status() == Some(400) => self.list_domains().await?,
            Err(e) => return Err(e),
        };
        Ok(listed.into_iter().find(|d| d.domain.eq_ignore_ascii_case(domain)))
    }

    /// Creates a domain. Never retried after an ambiguous failure: see
    /// [`Error::CreateOutcomeUnknown`].
    pub async fn create_domain(&self, body: &CreateDomain) -> Result<CustomDomain, Error> {
        let mut call = Call::new(Endpoint::CreateDomain, vec!["custom-domains"]);
        call.body = Some(to_json(Endpoint::CreateDomain, body)?);
        call.creating = Some(&body.domain);
        call.defer_beyond = self.defer_beyond;
        let reply = self.execute(call).await?;
        parse(Endpoint::CreateDomain, &reply)
    }

    /// Reads one domain; `None` when Auth0 answers 404.
    pub async fn get_domain(&self, id: &str) -> Result<Option<CustomDomain>, Error> {
        match self
            .execute(Call::new(Endpoint::GetDomain, vec!["custom-domains", id]))
            .await
        {
            Ok(reply) => parse(Endpoint::GetDomain, &reply).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Changes the mutable fields of a domain.
    pub async fn patch_domain(&self, id: &str, patch: &PatchDomain) -> Result<CustomDomain, Error> {
        let mut call = Call::new(Endpoint::PatchDomain, vec!["custom-domains", id]);
        call.body = Some(to_json(Endpoint::PatchDomain, patch)?);
        let reply = self.execute(call).await?;
        parse(Endpoint::PatchDomain, &reply)
    }

    /// Deletes a domain; a 404 counts as done.
    pub async fn delete_domain(&self, id: &str) -> Result<(), Error> {
        match self
            .execute(Call::new(Endpoint::DeleteDomain, vec!["custom-domains", id]))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Asks Auth0 to verify the domain's DNS record. The one-time `cname_api_key` of a
    /// self-managed domain comes back in [`VerifyResponse::cname_api_key`]. A record Auth0 does not
    /// see yet gives either 200 with the domain still pending or a 400 `Error::Api` (tenants
    /// differ).
    pub async fn verify_domain(&self, id: &str) -> Result<VerifyResponse, Error> {
        let mut call = Call::new(Endpoint::VerifyDomain, vec!["custom-domains", id, "verify"]);
        call.defer_beyond = self.defer_beyond;
        let reply = self.execute(call).await?;
        let mut response: VerifyResponse = parse(Endpoint::VerifyDomain, &reply)?;
        if reply.scope == Scope::Verify {
            response.verifies_left = reply.limits.remaining;
        }
        if reply.lost_attempts > 0 {
            response.earlier_attempt_lost = true;
            if response.cname_api_key.is_none() {
                warn!(
                    tenant = %self.inner.name,
                    custom_domain_id = id,
                    "an earlier verify attempt got no answer; if it succeeded, its one-time cname_api_key is lost"
                );
            }
        }
        Ok(response)
    }

    /// The tenant's default domain (the canonical domain when no custom default is set).
    pub async fn get_default_domain(&self) -> Result<DefaultDomain, Error> {
        self.read(Endpoint::GetDefaultDomain, vec!["custom-domains", "default"])
            .await
    }

    /// Makes `domain` (a verified custom domain or the canonical domain) the default.
    pub async fn set_default_domain(&self, domain: &str) -> Result<DefaultDomain, Error> {
        let body = SetDefaultDomain {
            domain: domain.to_string(),
        };
        self.write(
            Endpoint::SetDefaultDomain,
            vec!["custom-domains", "default"],
            &body,
        )
        .await
    }

    /// Reads the tenant settings this operator cares about.
    pub async fn get_tenant_settings(&self) -> Result<TenantSettings, Error> {
        self.read(Endpoint::GetTenantSettings, vec!["tenants", "settings"])
            .await
    }

    /// Patches tenant settings (only the fields set in `settings` are sent).
    pub async fn patch_tenant_settings(&self, settings: &TenantSettings) -> Result<TenantSettings, Error> {
        self.write(
            Endpoint::PatchTenantSettings,
            vec!["tenants", "settings"],
            settings,
        )
        .await
    }

    /// One GET whose answer decodes into `T`.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        path: Vec<&str>,
    ) -> Result<T, Error> {
        let reply = self.execute(Call::new(endpoint, path)).await?;
        parse(endpoint, &reply)
    }

    /// One call with a JSON body whose answer decodes into `T`.
    async fn write<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        path: Vec<&str>,
        body: &B,
    ) -> Result<T, Error> {
        let mut call = Call::new(endpoint, path);
        call.body = Some(to_json(endpoint, body)?);
        let reply = self.execute(call).await?;
        parse(endpoint, &reply)
    }

    fn count(&self, endpoint: Endpoint, status: &str) {
        if let Ok(mut c) = self.inner.counts.lock() {
            *c.entry(endpoint.route()).or_default() += 1;
        }
        if let Some(m) = &self.inner.metrics {
            m.auth0_request(&self.inner.name, endpoint.route(), status);
        }
    }

    /// Publishes the share of the tenant's rate the budget spends now (it moves only on answers).
    fn report_share(&self) {
        if let Some(m) = &self.inner.metrics {
            m.set_auth0_rate_share(&self.inner.name, self.inner.budget.tenant_share());
        }
    }

    async fn token(&self) -> Result<AccessToken, Error> {
        self.inner.tokens.get(|| self.fetch_token()).await
    }

    /// One token, with transient failures (transport, 5xx, 429) retried on the tenant's
    /// [`RetryPolicy`]; a refusal of the credentials is returned at once.
    async fn fetch_token(&self) -> Result<TokenResponse, Error> {
        let inner = &self.inner;
        (|| self.request_token())
            .retry(inner.retry)
            .when(Error::is_transient)
            .notify(|failure, delay| {
                warn!(tenant = %inner.name, error = %failure, ?delay, "Auth0 token request failed; retrying");
            })
            .await
    }

    /// One `POST /oauth/token`.
    async fn request_token(&self) -> Result<TokenResponse, Error> {
        let inner = &self.inner;
        let body = TokenRequest {
            grant_type: "client_credentials",
            client_id: &inner.client_id,
            client_secret: &inner.client_secret,
            audience: &inner.audience,
        };
        let resp = match inner.http.post(inner.token_url.clone()).json(&body).send().await {
            Ok(resp) => resp,
            Err(e) => {
                let kind = transport_kind(&e);
                self.count(Endpoint::Token, kind.label());
                return Err(Error::Transport {
                    endpoint: Endpoint::Token.route(),
                    kind,
                    detail: transport_detail(e),
                });
            }
        };
        let status = resp.status();
        self.count(Endpoint::Token, status.as_str());
        match read_limited(resp).await {
            Ok(None) if status.is_success() => Err(Error::BodyTooLarge {
                endpoint: Endpoint::Token.route(),
                status: status.as_u16(),
                limit: MAX_RESPONSE_BYTES,
            }),
            Ok(Some(bytes)) if status.is_success() => serde_json::from_slice::<TokenResponse>(&bytes)
                .map_err(|e| Error::Decode {
                    endpoint: Endpoint::Token.route(),
                    status: status.as_u16(),
                    detail: decode_detail(&e),
                }),
            Ok(bytes) => {
                // An oversized error body is classified by its status alone.
                let bytes = bytes.unwrap_or_default();
                let parsed: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
                Err(Error::Token {
                    status: status.as_u16(),
                    error: parsed.error.unwrap_or_else(|| status.as_str().to_string()),
                    description: parsed
                        .error_description
                        .or(parsed.message)
                        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string()),
                })
            }
            Err(e) => Err(Error::Transport {
                endpoint: Endpoint::Token.route(),
                kind: transport_kind(&e),
                detail: transport_detail(e),
            }),
        }
    }

    fn url_for(&self, call: &Call<'_>) -> Url {
        let mut url = self.inner.api_base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            segs.extend(call.segments.iter());
        }
        if !call.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Sends `call` with budget, token, 401 refresh and retries; returns a 2xx reply.
    async fn execute(&self, call: Call<'_>) -> Result<Reply, Error> {
        let inner = &self.inner;
        let endpoint = call.endpoint;
        let route = endpoint.route();
        let is_create = endpoint == Endpoint::CreateDomain;
        let url = self.url_for(&call);
        let mut attempt: u32 = 0;
        let mut lost_attempts: u32 = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            // Only the first attempt may be deferred: a retry carries what earlier attempts left
            // open (a lost verify answer), which a deferral would drop.
            let defer_beyond = call.defer_beyond.filter(|_| attempt == 1);
            let waited = match defer_beyond {
                None => {
                    inner
                        .budget
                        .acquire(endpoint.is_verify(), endpoint.priority())
                        .await
                }
                Some(max_wait) => match inner
                    .budget
                    .reserve_within(endpoint.is_verify(), endpoint.priority(), max_wait)
                    .await
                {
                    Ok(waited) => waited,
                    Err(after) => {
                        debug!(tenant = %inner.name, endpoint = route, ?after, "no budget within the wait; deferred");
                        return Err(Error::Deferred {
                            endpoint: route,
                            after,
                        });
                    }
                },
            };
            if !waited.is_zero() {
                if let Some(m) = &inner.metrics {
                    m.auth0_ratelimit_wait(&inner.name, waited.as_secs_f64());
                }
                debug!(tenant = %inner.name, endpoint = route, ?waited, "waited for the rate-limit budget");
            }
            let token = self.token().await?;
            let flight = inner.budget.sending(endpoint.is_verify());
            let mut request = inner
                .http
                .request(endpoint.method(), url.clone())
                .bearer_auth(token.value.expose());
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let sent = async {
                let resp = request.send().await?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = read_limited(resp).await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            }
            .await;
            let (status, headers, body) = match sent {
                Ok(answer) => answer,
                Err(e) => {
                    let kind = transport_kind(&e);
                    self.count(endpoint, kind.label());
                    let err = Error::Transport {
                        endpoint: route,
                        kind,
                        detail: transport_detail(e),
                    };
                    // A refused connection never reached Auth0: safe to retry even a create.
                    let safe = kind == TransportKind::Connect || !is_create;
                    if !safe {
                        return Err(Error::CreateOutcomeUnknown {
                            domain: call.creating.unwrap_or_default().to_string(),
                            cause: err.to_string(),
                        });
                    }
                    if kind != TransportKind::Connect {
                        lost_attempts += 1;
                    }
                    if attempt >= inner.retry.max_attempts {
                        return Err(err);
                    }
                    let delay = inner.retry.backoff(attempt);
                    warn!(tenant = %inner.name, endpoint = route, error = %err, ?delay, attempt, "Auth0 call failed; retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            self.count(endpoint, status.as_str());
            let limits = RateLimitHeaders::from_headers(&headers);
            debug!(
                tenant = %inner.name,
                endpoint = route,
                status = status.as_u16(),
                attempt,
                ratelimit_remaining = limits.remaining,
                ratelimit_limit = limits.limit,
                "Auth0 call"
            );
            let scope = inner.budget.scope_of(endpoint.is_verify(), &limits);
            if status != StatusCode::TOO_MANY_REQUESTS {
                inner.budget.observe(scope, &limits, &flight);
                self.report_share();
            }
            let body = match body {
                Some(body) => body,
                None if status.is_success() => {
                    let err = Error::BodyTooLarge {
                        endpoint: route,
                        status: status.as_u16(),
                        limit: MAX_RESPONSE_BYTES,
                    };
                    // The create was answered with success: it happened, so look before creating again.
                    if is_create {
                        return Err(Error::CreateOutcomeUnknown {
                            domain: call.creating.unwrap_or_default().to_string(),
                            cause: err.to_string(),
                        });
                    }
                    return Err(err);
                }
                // An oversized error body: the status alone classifies the failure.
                None => Vec::new(),
            };
            if status.is_success() {
                return Ok(Reply {
                    status,
                    body,
                    lost_attempts,
                    limits,
                    scope,
                });
            }
            let err = api_error(route, status, &body, limits.reset);
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                // The token expired or was revoked early: fetch a new one once.
                refreshed = true;
                inner.tokens.invalidate(token.generation).await;
                info!(tenant = %inner.name, endpoint = route, "Auth0 answered 401; refreshing the token");
                attempt -= 1;
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                if let Some(m) = &inner.metrics {
                    m.auth0_ratelimited(&inner.name, route);
                }
                let pause = inner
                    .budget
                    .on_429(scope, &limits, inner.retry.backoff(attempt), &flight);
                self.report_share();
                warn!(tenant = %inner.name, endpoint = route, ?scope, ?pause, "Auth0 rate limit hit; pausing");
                // A 429 was not processed, so even a create may be sent again.
                if attempt >= inner.retry.max_attempts {
                    return Err(err);
                }
                continue;
            }
            if status.is_server_error() {
                if is_create {
                    return Err(Error::CreateOutcomeUnknown {
                        domain: call.creating.unwrap_or_default().to_string(),
                        cause: err.to_string(),
                    });
                }
                if attempt < inner.retry.max_attempts {
                    let delay = inner.retry.backoff(attempt);
                    warn!(tenant = %inner.name, endpoint = route, error = %err, ?delay, attempt, "Auth0 call failed; retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            return Err(err);
        }
    }

    /// The longest pause a 429 may impose on this tenant.
    pub fn max_pause(&self) -> Duration {
        self.inner.max_pause
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    use crate::auth0::config::test_config as cfg;

    #[test]
    fn paths_and_debug() {
        let client = TenantClient::new(cfg(None), None).unwrap();
        let mut call = Call::new(Endpoint::VerifyDomain, vec!["custom-domains", "cd_1", "verify"]);
        assert_eq!(
            client.url_for(&call).as_str(),
            "https://acme.eu.auth0.com/api/v2/custom-domains/cd_1/verify"
        );
        call.query.push(("q", "domain:a.b".into()));
        assert!(client.url_for(&call).as_str().ends_with("verify?q=domain%3Aa.b"));
        let debug = format!("{client:?}");
        assert!(
            !debug.contains("very-secret") && debug.contains("[redacted]"),
            "{debug}"
        );
    }
}
