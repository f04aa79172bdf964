//! Saving the Kubernetes requests the operator made in a world (kube-sim's request log), so
//! `tests/deploy/rbac_observed.py` can compare them with the RBAC the install grants.
//!
//! `E2E_REQUEST_LOG_DIR=dir` makes every world that launched an operator write
//! `dir/<test name>.<tag>.json` when it is dropped: a JSON array of kube-sim request records
//! (`verb`, `group`, `resource`, `subresource`, `namespace`, …). The test's own requests (kubectl,
//! and the harness's kube-rs client, which sends [`HARNESS_USER_AGENT`]) are left out.

use std::path::{Path, PathBuf};

use kube_sim::RequestRecord;

use crate::error::{Error, Result};

/// Environment variable naming the directory the request logs go to.
pub const ENV: &str = "E2E_REQUEST_LOG_DIR";

/// User-Agent of the harness's own kube-rs client (kube-rs sends none by default, like the
/// operator, so without it the two could not be told apart).
pub const HARNESS_USER_AGENT: &str = "auth0-domain-operator-e2e-harness";

/// Whether a request was made by the test rather than by the operator.
pub fn is_test_request(r: &RequestRecord) -> bool {
    r.user_agent.starts_with("kubectl") || r.user_agent == HARNESS_USER_AGENT
}

/// The directory from [`ENV`], if set and not empty.
pub fn dir_from_env() -> Option<PathBuf> {
    std::env::var_os(ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// A file name for a scenario: the test name (thread name under libtest) and the world's tag,
/// with anything but `[A-Za-z0-9_-]` replaced, so several worlds of one test do not collide.
pub fn file_name(test: Option<&str>, tag: &str) -> String {
    let test = test
        .filter(|t| !t.is_empty() && *t != "main")
        .map(|t| t.rsplit("::").next().unwrap_or(t))
        .unwrap_or("world");
    let clean: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}.{tag}.json")
}

/// Writes the operator's requests among `records` to `dir/file` (creating `dir`). Returns how
/// many were written.
pub fn save(dir: &Path, file: &str, records: &[RequestRecord]) -> Result<usize> {
    let ops: Vec<&RequestRecord> = records.iter().filter(|r| !is_test_request(r)).collect();
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(file);
    let text = serde_json::to_string_pretty(&ops)
        .map_err(|e| Error::Check(format!("encode the request log: {e}")))?;
    std::fs::write(&path, text).map_err(|source| Error::Io {
        action: "write",
        path,
        source,
    })?;
    Ok(ops.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rec(verb: &str, ua: &str) -> RequestRecord {
        RequestRecord {
            verb: verb.into(),
            group: String::new(),
            version: "v1".into(),
            resource: "secrets".into(),
            subresource: String::new(),
            namespace: "e2e-1".into(),
            name: String::new(),
            user_agent: ua.into(),
            code: 200,
        }
    }

    #[test]
    fn names_are_safe_and_distinct_per_world() {
        assert_eq!(
            file_name(Some("children_through_the_operator"), "ab12"),
            "children_through_the_operator.ab12.json"
        );
        assert_eq!(file_name(Some("mod::t est"), "x"), "t_est.x.json");
        assert_eq!(file_name(Some("main"), "x"), "world.x.json");
        assert_eq!(file_name(None, "x"), "world.x.json");
    }

    #[test]
    fn saves_only_operator_requests() {
        let dir = tempfile::tempdir().unwrap();
        let records = [
            rec("get", "kubectl/v1.32.0 (linux/amd64)"),
            rec("create", HARNESS_USER_AGENT),
            rec("list", ""),
            rec("watch", "auth0-domain-operator/0.1.0"),
        ];
        let n = save(&dir.path().join("sub"), "t.json", &records).unwrap();
        assert_eq!(n, 2);
        let text = std::fs::read_to_string(dir.path().join("sub/t.json")).unwrap();
        let back: Vec<RequestRecord> = serde_json::from_str(&text).unwrap();
        let verbs: Vec<_> = back.iter().map(|r| r.verb.as_str()).collect();
        assert_eq!(verbs, ["list", "watch"]);
    }
}
