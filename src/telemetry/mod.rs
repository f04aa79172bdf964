//! Logging, Prometheus metrics and the `/metrics`, `/healthz`, `/readyz` endpoints.

pub mod http;
pub mod logging;
pub mod metrics;
