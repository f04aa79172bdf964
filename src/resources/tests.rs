//! CRD generation tests: committed YAML is current, and the schema is one a kube-apiserver accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn committed_crds_match_types() {
    for (file, crd) in crds() {
        let path = format!("{}/crds/{file}", env!("CARGO_MANIFEST_DIR"));
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        let want = to_yaml(&crd).unwrap();
        assert!(
            have == want,
            "crds/{file} is stale: run `cargo run -- crd --write`"
        );
    }
}
