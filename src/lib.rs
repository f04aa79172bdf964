//! auth0-domain-operator: manages Auth0 custom domains from Kubernetes `CustomDomain` resources.
//!
//! Layout (`docs/architecture.md` has the module map): `resources` holds the CRD types, `auth0`
//! the Management API client, `dns` the verification-record lookup, `tenant` and `custom_domain`
//! the two controllers (each a pure `plan` of steps plus a `reconcile` that observes and runs
//! them; `tenant` also owns the per-tenant runtimes both share), `telemetry` logging, metrics,
//! Events and the health endpoints, `watch` the lenient watches, `leader` leader election,
//! `operator` the wiring of `run`, `cli` the command line, and `names` and `sync` the small
//! pieces every layer uses.

pub mod auth0;
pub mod check;
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
