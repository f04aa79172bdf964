//! Auth0 Management API client: wire types and secret redaction.

pub mod redact;
pub mod types;

pub use redact::Redacted;
