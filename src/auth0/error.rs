//! Typed errors of the Auth0 client, split into transient and permanent.
//!
//! No variant carries a secret: Auth0's `message` never echoes credentials, and transport errors
//! are stored as text without the request URL or body.

use std::time::Duration;

/// An Auth0 error body (`{"statusCode","error","message","errorCode"}`), or the token endpoint's
/// `{"error","error_description"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// HTTP status as Auth0 repeats it.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Reason phrase (`Bad Request`) or OAuth error (`access_denied`).
    #[serde(default)]
    pub error: Option<String>,
    /// Human text.
    #[serde(default)]
    pub message: Option<String>,
    /// Machine code (`invalid_body`, `insufficient_scope`, …).
    #[serde(default)]
    pub error_code: Option<String>,
    /// OAuth error text (token endpoint).
    #[serde(default, rename = "error_description")]
    pub error_description: Option<String>,
}

/// How a request failed below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made: the request was certainly not processed.
    Connect,
    /// No (complete) answer within the timeout: the request may have been processed.
    Timeout,
    /// The connection broke or the body could not be read: the request may have been processed.
    Other,
}

impl TransportKind {
    /// Metric label for the `status` of `auth0_requests_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Other => "error",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "connection failed",
            Self::Timeout => "timed out",
            Self::Other => "connection error",
        })
    }
}

/// Errors of the Auth0 client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Management API answered with an error status.
    #[error("Auth0 {endpoint} answered {status}{}: {message}", code_suffix(.error_code))]
    Api {
        /// Route template, e.g. `PATCH /custom-domains/{id}`.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Auth0 `errorCode`.
        error_code: Option<String>,
        /// Auth0 `message` (or the reason phrase when the body had none).
        message: String,
        /// `x-ratelimit-reset` (UNIX seconds), when sent.
        ratelimit_reset: Option<u64>,
    },
    /// The token endpoint refused the client credentials or failed.
    #[error("Auth0 token request answered {status} {error}: {description}")]
    Token {
        /// HTTP status.
        status: u16,
        /// OAuth `error` (`access_denied`, `invalid_request`, …).
        error: String,
        /// OAuth `error_description`.
        description: String,
    },
    /// The request failed below HTTP.
    #[error("Auth0 {endpoint}: {kind}: {detail}")]
    Transport {
        /// Route template.
        endpoint: &'static str,
        /// What kind of failure.
        kind: TransportKind,
        /// Error text (no URL, no body).
        detail: String,
    },
    /// `POST /custom-domains` failed in a way that leaves open whether Auth0 created the domain
    /// (timeout, dropped connection, 5xx). Never retried blindly: list the tenant and look for the
    /// ownership marker before creating again.
    #[error("Auth0 create of {domain} may or may not have happened ({cause}); look it up before retrying")]
    CreateOutcomeUnknown {
        /// The domain being created.
        domain: String,
        /// What went wrong (status or transport failure).
        cause: String,
    },
    /// A success status with a body that does not parse.
    #[error("Auth0 {endpoint} answered {status} with an unexpected body: {detail}")]
    Decode {
        /// Route template.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Parser message.
        detail: String,
    },
    /// A success status with a body larger than the client reads (`client::MAX_RESPONSE_BYTES`):
    /// the read stops at the limit, so a broken proxy or server cannot exhaust the operator's memory.
    #[error("Auth0 {endpoint} answered {status} with a body over {limit} bytes; refused without reading it")]
    BodyTooLarge {
        /// Route template.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// The limit in bytes.
        limit: usize,
    },
    /// The tenant's URL is unusable.
    #[error("invalid Auth0 URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http://` without `--allow-insecure-auth0`.
    #[error(
        "refusing plain-http Auth0 URL {url:?}: use https, or run the operator with --allow-insecure-auth0 (tests only)"
    )]
    InsecureUrl {
        /// The URL as configured.
        url: String,
    },
    /// The HTTP client could not be built (e.g. a bad CA bundle).
    #[error("building the Auth0 HTTP client: {0}")]
    Build(String),
    /// Nothing was sent: the tenant's budget has no token for this call within the caller's
    /// wait, so the caller should come back `after` this long instead of holding what it holds
    /// (a reconcile slot) while it sleeps in the queue. Never an Auth0 answer.
    #[error("Auth0 {endpoint} deferred: no rate-limit budget for {after:?}")]
    Deferred {
        /// Route template.
        endpoint: &'static str,
        /// When a token is expected.
        after: Duration,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
}

impl Error {
    /// True for errors worth retrying later: 5xx, 429, transport failures, an ambiguous create,
    /// 409 on anything but create (an operation in progress), token endpoint 5xx/429.
    /// 400/401/403/404 and 409 on create (duplicate) are permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { status, endpoint, .. } => {
                *status >= 500 || *status == 429 || (*status == 409 && *endpoint != CREATE_ROUTE)
            }
            Self::Token { status, .. } => *status >= 500 || *status == 429,
            Self::Transport { .. } | Self::CreateOutcomeUnknown { .. } | Self::Deferred { .. } => true,
            Self::Decode { .. }
            | Self::BodyTooLarge { .. }
            | Self::InvalidUrl { .. }
            | Self::InsecureUrl { .. }
            | Self::Build(_) => false,
        }
    }

    /// HTTP status, when Auth0 answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. }
            | Self::Token { status, .. }
            | Self::Decode { status, .. }
            | Self::BodyTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Auth0 `errorCode` (or the token endpoint's `error`).
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { error_code, .. } => error_code.as_deref(),
            Self::Token { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Auth0's `message`, for status conditions (e.g. an entitlement refusal).
    pub fn auth0_message(&self) -> Option<&str> {
        match self {
            Self::Api { message, .. } => Some(message),
            Self::Token { description, .. } => Some(description),
            _ => None,
        }
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for 409.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// True for 429.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// True when a create may have happened (see [`Error::CreateOutcomeUnknown`]).
    pub fn is_create_ambiguous(&self) -> bool {
        matches!(self, Self::CreateOutcomeUnknown { .. })
    }

    /// True when the credentials or their grants are the problem (token refused, 401 after a
    /// fresh token, 403 `insufficient_scope`).
    pub fn is_auth(&self) -> bool {
        match self {
            Self::Token { status, .. } => (400..500).contains(status) && *status != 429,
            Self::Api { status: 401, .. } => true,
            Self::Api {
                status: 403,
                error_code,
                ..
            } => error_code.as_deref() == Some("insufficient_scope"),
            _ => false,
        }
    }

    /// 403 that is not a scope problem: the plan has no custom domains ("The account is not allowed
    /// to perform this operation.", or no verified card).
    pub fn is_plan_refusal(&self) -> bool {
        matches!(self, Self::Api { status: 403, .. }) && !self.is_auth()
    }

    /// A create refused because the tenant holds as many domains as its plan includes: 409 "You
    /// reached the maximum number of custom domains for your account.". Auth0 sends no `errorCode`
    /// for either 409 of a create, so the text is the only thing telling this one from a duplicate
    /// (docs/auth0-api.md#classification).
    pub fn is_entitlement_refusal(&self) -> bool {
        match self {
            Self::Api {
                status: 409,
                endpoint,
                message,
                ..
            } => *endpoint == CREATE_ROUTE && message.to_ascii_lowercase().contains("maximum number"),
            _ => false,
        }
    }

    /// A 4xx answer to a create that no retry will change (not a 429, not a scope or token problem,
    /// not a conflict): Auth0's validation refused the body.
    pub fn is_create_refusal(&self) -> bool {
        match self {
            Self::Api { status, endpoint, .. } => {
                *endpoint == CREATE_ROUTE
                    && (400..500).contains(status)
                    && !matches!(status, 401 | 404 | 409 | 429)
                    && !self.is_auth()
            }
            _ => false,
        }
    }

    /// How long Auth0 asked us to wait (from `x-ratelimit-reset`), capped at `max`.
    pub fn retry_after(&self, max: Duration) -> Option<Duration> {
        let Self::Api {
            ratelimit_reset: Some(reset),
            ..
        } = self
        else {
            return None;
        };
        super::budget::RateLimitHeaders {
            reset: Some(*reset),
            ..Default::default()
        }
        .until_reset(max)
    }

    /// The time to come back at when the call was [`Error::Deferred`] (nothing was sent).
    pub fn deferred_for(&self) -> Option<Duration> {
        match self {
            Self::Deferred { after, .. } => Some(*after),
            _ => None,
        }
    }

    /// Bounded metric label for `reconcile_errors_total{category}`.
    pub fn category(&self) -> &'static str {
        if matches!(self, Self::Deferred { .. }) {
            "auth0_deferred"
        } else if self.is_rate_limited() {
            "auth0_ratelimited"
        } else if self.is_auth() {
            "auth0_credentials"
        } else if self.is_transient() {
            "auth0_transient"
        } else {
            "auth0_permanent"
        }
    }
}

/// The parser's message for [`Error::Decode`], without the values it quotes from the body.
///
/// serde_json quotes the offending value (`invalid type: string "…", expected u64`), and a
/// malformed answer may carry a token or a `cname_api_key` exactly there; errors end up in logs and
/// status conditions, so quoted values are replaced by `…`. Field names and positions stay.
pub(crate) fn decode_detail(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => {
            return format!(
                "the body ends early (truncated JSON) at line {} column {}",
                e.line(),
                e.column()
            );
        }
        Category::Syntax => {
            return format!(
                "the body is not valid JSON (line {} column {})",
                e.line(),
                e.column()
            );
        }
        Category::Io => return "the body could not be read".to_owned(),
        Category::Data => e.to_string(),
    };
    let mut out = String::with_capacity(what.len());
    let mut chars = what.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            // A Debug-quoted value: skip to its closing quote (escaped quotes stay inside).
            let mut escaped = false;
            for c in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
            }
            out.push_str("…\"");
        }
    }
    out
}

/// Route template of create (the one call never retried blindly).
pub(crate) const CREATE_ROUTE: &str = "POST /custom-domains";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn api(endpoint: &'static str, status: u16, code: Option<&str>) -> Error {
        Error::Api {
            endpoint,
            status,
            error_code: code.map(Into::into),
            message: "m".into(),
            ratelimit_reset: None,
        }
    }

    #[test]
    fn classification() {
        assert!(api("GET /custom-domains", 503, None).is_transient());
        assert!(api("GET /custom-domains", 429, Some("too_many_requests")).is_transient());
        assert!(!api("GET /custom-domains/{id}", 404, None).is_transient());
        assert!(!api(CREATE_ROUTE, 409, None).is_transient());
        assert!(api("DELETE /custom-domains/{id}", 409, None).is_transient());
        assert!(!api(CREATE_ROUTE, 400, Some("invalid_body")).is_transient());
        let scope = api(CREATE_ROUTE, 403, Some("insufficient_scope"));
        assert!(scope.is_auth() && !scope.is_plan_refusal());
        let plan = api(CREATE_ROUTE, 403, Some("operation_not_supported"));
        assert!(plan.is_plan_refusal() && !plan.is_auth());
        assert_eq!(plan.category(), "auth0_permanent");
        let full = Error::Api {
            endpoint: CREATE_ROUTE,
            status: 409,
            error_code: None,
            message: "You reached the maximum number of custom domains for your account.".into(),
            ratelimit_reset: None,
        };
        assert!(full.is_entitlement_refusal() && !full.is_create_refusal());
        let duplicate = api(CREATE_ROUTE, 409, None);
        assert!(!duplicate.is_entitlement_refusal() && !duplicate.is_create_refusal());
        assert!(api(CREATE_ROUTE, 400, Some("invalid_body")).is_create_refusal());
        assert!(!api(CREATE_ROUTE, 429, None).is_create_refusal());
        assert!(!scope.is_create_refusal());
        assert!(!api("PATCH /custom-domains/{id}", 400, None).is_create_refusal());
        assert_eq!(
            Error::CreateOutcomeUnknown {
                domain: "a".into(),
                cause: "timeout".into()
            }
            .category(),
            "auth0_transient"
        );
        let big = Error::BodyTooLarge {
            endpoint: "GET /custom-domains",
            status: 200,
            limit: 10,
        };
        assert!(!big.is_transient() && big.status() == Some(200));
        assert_eq!(big.category(), "auth0_permanent");
        assert_eq!(
            api(CREATE_ROUTE, 400, Some("invalid_body")).to_string(),
            "Auth0 POST /custom-domains answered 400 (invalid_body): m"
        );
    }

    #[test]
    fn decode_detail_drops_quoted_values() {
        let e = serde_json::from_str::<u64>(r#""tok-SECRET \" still secret""#).unwrap_err();
        let d = decode_detail(&e);
        assert!(!d.contains("SECRET") && d.contains("invalid type: string"), "{d}");
        let e = serde_json::from_str::<Vec<u8>>("[1, 2").unwrap_err();
        assert!(decode_detail(&e).contains("truncated JSON"));
        let e = serde_json::from_str::<serde_json::Value>("{x").unwrap_err();
        assert!(decode_detail(&e).starts_with("the body is not valid JSON"));
    }
}
