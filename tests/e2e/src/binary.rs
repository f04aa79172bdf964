//! Where the operator binary is.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Name of the operator binary.
pub const OPERATOR_BIN: &str = "auth0-domain-operator";

/// The operator binary: `E2E_OPERATOR_BIN`, else next to this test executable's profile directory
/// (`target/<profile>/deps/<test>` → `target/<profile>/auth0-domain-operator`), which is where
/// `cargo build --bin auth0-domain-operator` with the same target dir and profile puts it.
pub fn operator_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("E2E_OPERATOR_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::OperatorBinaryMissing(p))
        };
    }
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        action: "locate",
        path: PathBuf::from("current executable"),
        source,
    })?;
    // deps/ → profile dir.
    let profile_dir = exe
        .parent()
        .and_then(|deps| {
            if deps.ends_with("deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .map(PathBuf::from)
        .unwrap_or_default();
    let p = profile_dir.join(OPERATOR_BIN);
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::OperatorBinaryMissing(p))
    }
}

/// The workspace root (holds `crds/` and `examples/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
