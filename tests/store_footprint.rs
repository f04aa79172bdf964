//! What one Ready `CustomDomain` costs in the operator's store, and one Auth0 domain in a tenant's
//! snapshot, measured with a counting allocator (dhat): at 10,000 domains these are the operator's
//! largest allocations, so their per-object sizes are held to budgets here.
//! `cargo test --test store_footprint -- --nocapture` prints the figures.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use auth0_domain_operator::auth0::types as wire;
use auth0_domain_operator::custom_domain::store::{self, StoredDomain};
use auth0_domain_operator::resources::CustomDomain;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A Ready self-managed domain as kube-apiserver sends it: two GitOps labels, kubectl's
/// last-applied annotation, an Argo CD tracking annotation and three managedFields entries.
const READY: &str = include_str!("fixtures/store/ready-self-managed.json");

/// A Ready self-managed domain as Auth0 lists it, with the operator's ownership marker.
const AUTH0_READY: &str = r#"{"custom_domain_id": "cd_iIbzL46jkFFkSuXf", "domain": "d0001.shop.example.com",
  "primary": false, "is_default": false, "status": "ready", "type": "self_managed_certs",
  "origin_domain_name": "shop-cd-iibzl46jkffksuxf.edge.tenants.us.auth0.com",
  "verification": {"methods": [{"name": "TXT", "record": "9a67bfdc-6a1e-22b6-9d66-7e5ac8055d00",
    "domain": "_cf-custom-hostname.d0001.shop.example.com"}], "status": "verified",
    "last_verified_at": "2026-01-28T07:55:08.292Z"},
  "tls_policy": "recommended", "domain_metadata": {"k8s_owner": "prod/shop/d0001"},
  "created_at": "2026-01-28T07:55:08.292Z"}"#;

/// Heap bytes and allocations one object made by `make` holds (the mean over 1,000 of them).
fn held_per_object<T>(make: impl Fn(usize) -> T) -> (usize, usize) {
    const N: usize = 1000;
    let mut held = Vec::with_capacity(N);
    let before = dhat::HeapStats::get();
    for i in 0..N {
        held.push(Arc::new(make(i)));
    }
    let after = dhat::HeapStats::get();
    (
        (after.curr_bytes - before.curr_bytes) / N,
        (after.curr_blocks - before.curr_blocks) / N,
    )
}

fn ready(i: usize) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(READY).unwrap();
    v["metadata"]["name"] = format!("d{i:04}").into();
    v
}

fn custom_domain(i: usize, trim: bool) -> CustomDomain {
    let mut cd: CustomDomain = serde_json::from_value(ready(i)).unwrap();
    if trim {
        store::trim(&mut cd);
        // The reflector stores a clone of what the watch decoded: lists at their exact length.
        return cd.clone();
    }
    cd
}

/// What the watch decodes into the store.
fn stored(i: usize) -> StoredDomain {
    serde_json::from_value::<StoredDomain>(ready(i)).unwrap().clone()
}

/// One test: dhat's counters are process-wide, so the measurements must not run side by side.
#[test]
fn stored_objects_stay_within_their_budgets() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (full, full_blocks) = held_per_object(|i| custom_domain(i, false));
    let (trimmed, trimmed_blocks) = held_per_object(|i| custom_domain(i, true));
    eprintln!(
        "store footprint of a Ready CustomDomain: {full} B in {full_blocks} allocations as sent, \
         {trimmed} B in {trimmed_blocks} after store::trim (struct {} B)",
        std::mem::size_of::<CustomDomain>()
    );
    let (kept, kept_blocks) = held_per_object(stored);
    eprintln!(
        "the store keeps {kept} B in {kept_blocks} allocations (struct {} B): metadata and spec, no status",
        std::mem::size_of::<StoredDomain>()
    );
    assert!(trimmed * 2 < full, "trim keeps {trimmed} of {full} B");
    assert!(kept * 2 < trimmed, "the store keeps {kept} of {trimmed} B");
    assert!(kept <= 900, "a stored CustomDomain holds {kept} B (budget 900)");

    let (auth0, auth0_blocks) = held_per_object(|_| {
        let mut d = serde_json::from_str::<wire::CustomDomain>(AUTH0_READY).unwrap();
        // As the snapshot keeps it.
        d.shrink_to_fit();
        d
    });
    eprintln!(
        "tenant snapshot: an Auth0 domain holds {auth0} B in {auth0_blocks} allocations (struct {} B)",
        std::mem::size_of::<wire::CustomDomain>()
    );
    assert!(auth0 <= 900, "an Auth0 domain holds {auth0} B (budget 900)");
}
