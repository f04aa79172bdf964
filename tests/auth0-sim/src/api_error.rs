//! Auth0's error bodies: `{statusCode, error, message, errorCode}` for `/api/v2`, and the
//! `{error, error_description}` shape of the authentication API (`/oauth/token`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered by the Management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `message`.
    pub message: String,
    /// `errorCode`, absent on some errors (401s).
    pub error_code: Option<&'static str>,
}

impl ApiError {
    /// Any status with a message and code.
    pub fn new(status: StatusCode, message: impl Into<String>, error_code: Option<&'static str>) -> Self {
        Self {
            status,
            message: message.into(),
            error_code,
        }
    }

    /// 400 `invalid_body` with z-schema style text, as Auth0 words payload errors.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, Some("invalid_body"))
    }

    /// 400 `invalid_query_string`.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, Some("invalid_query_string"))
    }

    /// 400 `invalid_uri` (bad id format).
    pub fn invalid_uri(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, Some("invalid_uri"))
    }

    /// 401 without `errorCode`; the body repeats the message under `attributes.error`.
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message, None)
    }

    /// 403 `insufficient_scope`.
    pub fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("Insufficient scope, expected any of: {scope}"),
            Some("insufficient_scope"),
        )
    }

    /// 404 for an unknown custom domain: "The custom domain {id} does not exist".
    pub fn domain_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("The custom domain {id} does not exist"),
            Some("inexistent_custom_domain"),
        )
    }

    /// 429 `too_many_requests`.
    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Global limit has been reached",
            Some("too_many_requests"),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "statusCode": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "message": self.message,
        });
        if let Some(code) = self.error_code {
            body["errorCode"] = json!(code);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            body["attributes"] = json!({"error": self.message});
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // Auth0 names the problem in WWW-Authenticate as well.
            if let Ok(v) = format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.message
            )
            .parse()
            {
                resp.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// An error answered by `POST /oauth/token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}
