//! Logging, Prometheus metrics and the `/metrics`, `/healthz`, `/readyz` endpoints.

pub mod metrics;
