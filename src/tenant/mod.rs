//! The tenant side: per-tenant runtime (client, shared domain list) and the `Auth0Tenant` controller.

pub mod access;
pub mod create_line;
pub mod decide;
pub mod lifecycle;
pub mod namespaces;
pub mod plan;
pub mod reconcile;
pub mod recount;
pub mod runtime;
pub mod snapshot;
pub mod verify_queue;
