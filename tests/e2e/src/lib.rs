//! End-to-end harness: the real `auth0-domain-operator` binary against the Kubernetes API
//! simulator (`kube_sim`), the Auth0 Management API simulator (`auth0_sim`) and the test DNS
//! server (`test_dns`), driven with the real `kubectl` and kube-rs.
//!
//! A [`World`] starts everything on ephemeral ports in a temporary directory, applies the CRDs,
//! creates the credentials Secret and an `Auth0Tenant` pointing at the simulator, then launches the
//! operator as a child process. With `E2E_KUBECONFIG` set, the cluster it names is used instead of
//! kube-sim (tests that need kube-sim's control endpoint say so and skip that part).
//!
//! The operator binary is not built here (cargo holds the build lock while tests run): build it
//! first with `cargo build --bin auth0-domain-operator` (`make test` does), or point
//! `E2E_OPERATOR_BIN` at one.

pub mod binary;
pub mod error;
pub mod hygiene;
pub mod kubectl;
pub mod measure;
pub mod operator;
pub mod request_log;
pub mod resources;
pub mod wait;
pub mod world;

pub use error::Error;
pub use operator::Operator;
pub use world::{World, WorldBuilder};
