//! auth0-domain-operator: manages Auth0 custom domains from Kubernetes `CustomDomain` resources.
//!
//! Layout: `resources` holds the CRD types, `auth0` the Management API client, `dns` the
//! verification-record lookup, `custom_domain` and `tenant` the two controllers (each a pure
//! `plan` plus a thin `reconcile`), `telemetry` logging, metrics and the health endpoints.

pub mod auth0;
pub mod cli;
pub mod custom_domain;
pub mod dns;
pub mod leader;
pub mod names;
pub mod operator;
pub mod resources;
pub mod sync;
pub mod telemetry;
pub mod tenant;
pub mod watch;
