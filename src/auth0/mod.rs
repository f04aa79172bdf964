//! Auth0 Management API client: wire types, secret redaction, tokens, rate-limit budget, errors.

pub mod budget;
pub mod check;
pub mod client;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod redact;
mod request;
pub mod token;
pub mod types;

pub use budget::RateLimit;
pub use client::{CredentialsCheck, Endpoint, RetryPolicy, TenantClient, TenantConfig};
pub use error::Error;
pub use redact::Redacted;
