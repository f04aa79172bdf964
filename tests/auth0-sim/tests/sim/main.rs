//! Integration tests of the simulator over real HTTPS and real DNS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod binary;
mod common;
mod conflict;
mod domains;
mod edge;
mod faults;
mod listing;
mod ratelimit;
mod verify;
