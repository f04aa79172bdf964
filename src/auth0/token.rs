//! Client-credentials access tokens: one cached token per tenant, refreshed before expiry and on
//! demand after a 401, single-flight (concurrent callers wait for one refresh).

use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::Error;
use super::redact::Redacted;

/// Body of `POST /oauth/token`.
#[derive(Clone, Debug, Serialize)]
pub struct TokenRequest<'a> {
    /// Always `client_credentials`.
    pub grant_type: &'static str,
    /// The M2M application's id.
    pub client_id: &'a str,
    /// The M2M application's secret.
    pub client_secret: &'a Redacted<String>,
    /// `https://{tenant}/api/v2/`.
    pub audience: &'a str,
}

/// `200` answer of the token endpoint.
#[derive(Clone, Debug, Deserialize)]
pub struct TokenResponse {
    /// The bearer token (a JWT).
    pub access_token: Redacted<String>,
    /// Space-separated granted scopes (may be absent; then the JWT's `scope` claim is used).
    #[serde(default)]
    pub scope: Option<String>,
    /// Lifetime in seconds.
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
}

fn default_expires_in() -> u64 {
    // Auth0's default M2M token lifetime; only used when the field is missing.
    86_400
}

impl TokenResponse {
    /// Granted scopes: the response's `scope`, else the JWT payload's `scope` (string) or
    /// `permissions` (array). The token's signature is not checked: this only reports what the
    /// grant claims, Auth0 enforces it.
    pub fn scopes(&self) -> Vec<String> {
        if let Some(s) = &self.scope {
            return split_scopes(s);
        }
        jwt_scopes(self.access_token.expose()).unwrap_or_default()
    }
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Reads `scope` / `permissions` from a JWT payload without verifying it.
pub fn jwt_scopes(jwt: &str) -> Option<Vec<String>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if let Some(s) = claims.get("scope").and_then(|v| v.as_str()) {
        return Some(split_scopes(s));
    }
    let perms = claims.get("permissions")?.as_array()?;
    Some(
        perms
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
    )
}

/// A token handed to a caller, with the generation used to invalidate exactly it after a 401.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The bearer token.
    pub value: Redacted<String>,
    /// Increments with every fetched token.
    pub generation: u64,
    /// Scopes granted with it.
    pub scopes: Vec<String>,
}

#[derive(Debug)]
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// The cached token of one tenant.
#[derive(Debug, Default)]
pub struct TokenCache {
    // An async mutex held across the fetch is what makes refreshes single-flight: callers that
    // arrive during a fetch queue on the lock and find the fresh token when they get it.
    slot: Mutex<Option<Cached>>,
    // Generation of the last fetched token; kept outside the slot so invalidation stays cheap.
    generation: std::sync::atomic::AtomicU64,
}

/// Share of `expires_in` after which the token is refreshed.
const REFRESH_FRACTION: f64 = 0.8;

/// Longest token lifetime believed (Auth0's maximum, 30 days). A larger `expires_in` (a malformed
/// answer can say 2^64-1) would overflow the refresh instant and panic.
const MAX_LIFETIME_SECS: u64 = 30 * 24 * 3600;

impl TokenCache {
    /// Returns the cached token, or fetches one with `fetch` when none is cached or it is due for
    /// refresh. Concurrent callers share one fetch.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<AccessToken, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenResponse, Error>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let response = fetch().await?;
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let lifetime =
            Duration::from_secs(response.expires_in.min(MAX_LIFETIME_SECS)).mul_f64(REFRESH_FRACTION);
        let token = AccessToken {
            scopes: response.scopes(),
            value: response.access_token,
            generation,
        };
        *slot = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime,
        });
        Ok(token)
    }

    /// Drops the cached token if it is still generation `generation` (a 401 answered it). A newer
    /// token fetched meanwhile by another caller is kept.
    pub async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| c.token.generation == generation) {
            *slot = None;
        }
    }

    /// Drops any cached token (credentials changed).
    pub async fn clear(&self) {
        *self.slot.lock().await = None;
    }

    /// Number of tokens fetched so far.
    pub fn fetches(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn response(token: &str, expires_in: u64) -> TokenResponse {
        TokenResponse {
            access_token: Redacted::new(token.to_string()),
            scope: Some("read:custom_domains create:custom_domains".into()),
            expires_in,
            token_type: Some("Bearer".into()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn single_flight_and_refresh_before_expiry() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicU32::new(0));
        let mut handles = Vec::new();
        for _ in 0..10 {
            let cache = cache.clone();
            let calls = calls.clone();
            handles.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(response("t1", 100))
                    })
                    .await
                    .unwrap()
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap().value.expose(), "t1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // At 79 s still cached; at 81 s (past 80 % of 100 s) refreshed.
        tokio::time::advance(Duration::from_secs(79)).await;
        let t = cache.get(|| async { Ok(response("t2", 100)) }).await.unwrap();
        assert_eq!(t.value.expose(), "t1");
        tokio::time::advance(Duration::from_secs(2)).await;
        let t = cache.get(|| async { Ok(response("t2", 100)) }).await.unwrap();
        assert_eq!(t.value.expose(), "t2");
        assert_eq!(t.scopes, vec!["read:custom_domains", "create:custom_domains"]);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_only_the_stale_generation() {
        let cache = TokenCache::default();
        let t1 = cache.get(|| async { Ok(response("t1", 1000)) }).await.unwrap();
        cache.invalidate(t1.generation).await;
        let t2 = cache.get(|| async { Ok(response("t2", 1000)) }).await.unwrap();
        assert_eq!(t2.value.expose(), "t2");
        // A late 401 on t1 must not throw away t2.
        cache.invalidate(t1.generation).await;
        let again = cache.get(|| async { Ok(response("t3", 1000)) }).await.unwrap();
        assert_eq!(again.value.expose(), "t2");
        assert_eq!(cache.fetches(), 2);
    }

    #[test]
    fn scopes_from_jwt_when_response_has_none() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"scope":"read:custom_domains update:tenant_settings"}"#);
        let r = TokenResponse {
            access_token: Redacted::new(format!("eyJhbGciOiJub25lIn0.{payload}.sig")),
            scope: None,
            expires_in: 60,
            token_type: None,
        };
        assert_eq!(r.scopes(), vec!["read:custom_domains", "update:tenant_settings"]);
        let perms = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"permissions":["a","b"]}"#);
        assert_eq!(
            jwt_scopes(&format!("x.{perms}.y")),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(jwt_scopes("not-a-jwt"), None);
    }

    #[test]
    fn token_request_serializes_secret_but_debug_hides_it() {
        let secret = Redacted::new("s3cr3t".to_string());
        let req = TokenRequest {
            grant_type: "client_credentials",
            client_id: "id",
            client_secret: &secret,
            audience: "https://t/api/v2/",
        };
        assert!(serde_json::to_string(&req).unwrap().contains("s3cr3t"));
        assert!(!format!("{req:?}").contains("s3cr3t"));
    }
}
