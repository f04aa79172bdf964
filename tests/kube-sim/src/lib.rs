//! kube-sim: a Kubernetes API server simulator that real `kubectl` and kube-rs accept.
//!
//! Start it in-process with [`start`] (ephemeral port, TLS with its own CA, bearer token) or run
//! the `kube-sim` binary. It serves discovery, OpenAPI v3, built-in types and CRDs with
//! resourceVersions, watches (bookmarks, 410 Gone), finalizers, garbage collection, patches,
//! server-side apply, Table output and kube-apiserver-shaped `Status` errors. Faults are injected
//! through [`Control`] or `/__sim/...`.

pub mod control;
pub mod crds;
pub mod discovery;
pub mod events;
pub mod jsonpath;
pub mod lifecycle;
pub mod managed_fields;
pub mod names;
pub mod openapi;
pub mod patch;
pub mod persist;
pub mod protobuf;
pub mod resources;
pub mod scale;
pub mod selectors;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
pub mod validation;
pub mod verbs;
pub mod watch;

pub use control::{Control, FaultRule, RequestRecord};
pub use server::{Config, KubeSim, StartError, start};
