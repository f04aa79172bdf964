//! What one Ready `CustomDomain` costs in the operator's store, measured with a counting
//! allocator (dhat): at 10,000 domains the store is the operator's largest allocation, so its
//! per-object size is held to a budget here. `cargo test --test store_footprint -- --nocapture`
//! prints the figures.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use auth0_domain_operator::custom_domain::store;
use auth0_domain_operator::resources::CustomDomain;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A Ready self-managed domain as kube-apiserver sends it: two GitOps labels, kubectl's
/// last-applied annotation, an Argo CD tracking annotation and three managedFields entries.
const READY: &str = include_str!("fixtures/store/ready-self-managed.json");

/// Heap bytes and allocations one stored object holds (the mean over 1,000 copies).
fn held_per_object(trim: bool) -> (usize, usize) {
    const N: usize = 1000;
    let mut held = Vec::with_capacity(N);
    let before = dhat::HeapStats::get();
    for i in 0..N {
        let mut v: serde_json::Value = serde_json::from_str(READY).unwrap();
        v["metadata"]["name"] = format!("d{i:04}").into();
        let mut cd: CustomDomain = serde_json::from_value(v).unwrap();
        if trim {
            store::trim(&mut cd);
        }
        held.push(Arc::new(cd));
    }
    let after = dhat::HeapStats::get();
    (
        (after.curr_bytes - before.curr_bytes) / N,
        (after.curr_blocks - before.curr_blocks) / N,
    )
}

#[test]
fn a_stored_custom_domain_stays_within_its_budget() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (full, full_blocks) = held_per_object(false);
    let (trimmed, trimmed_blocks) = held_per_object(true);
    eprintln!(
        "store footprint of a Ready CustomDomain: {full} B in {full_blocks} allocations as sent, \
         {trimmed} B in {trimmed_blocks} after store::trim (struct {} B)",
        std::mem::size_of::<CustomDomain>()
    );
    assert!(trimmed * 2 < full, "trim keeps {trimmed} of {full} B");
    assert!(
        trimmed <= 2_500,
        "a stored CustomDomain holds {trimmed} B (budget 2,500)"
    );
}
