//! Logging, Prometheus metrics, Kubernetes Events and the `/metrics`, `/healthz`, `/readyz`
//! endpoints.

pub mod events;
pub mod http;
pub mod logging;
pub mod metrics;
