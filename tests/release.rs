//! The release's version is one number: Cargo.toml's `version`. The binary reports it, the newest
//! CHANGELOG entry is it, the deploy base and the Dockerfile use it for the image, and every
//! `?ref=vX.Y.Z` in the docs names a version the CHANGELOG lists (docs/releasing.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_auth0-domain-operator");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `version = "…"` of the `[package]` table, read from the file (not from the build's env).
fn cargo_version() -> String {
    let manifest = read("Cargo.toml");
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(v) = line.strip_prefix("version = ") {
            return v.trim_matches('"').to_owned();
        }
    }
    panic!("no [package] version in Cargo.toml")
}

/// Versions with a `## [X.Y.Z]` heading in CHANGELOG.md, newest first.
fn changelog_versions() -> Vec<String> {
    read("CHANGELOG.md")
        .lines()
        .filter_map(|l| l.strip_prefix("## ["))
        .filter_map(|l| l.split_once(']').map(|(v, _)| v.to_owned()))
        .filter(|v| v != "Unreleased")
        .collect()
}

#[test]
fn version_flag_and_subcommand_print_cargo_toml_version() {
    let version = cargo_version();
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("auth0-domain-operator {version}")
    );
    let out = Command::new(BIN).arg("version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("auth0-domain-operator {version} (git ")),
        "{text}"
    );
}

#[test]
fn changelog_image_tag_and_dockerfile_follow_cargo_toml() {
    let version = cargo_version();
    let released = changelog_versions();
    assert_eq!(
        released.first(),
        Some(&version),
        "the newest CHANGELOG.md entry must be Cargo.toml's version"
    );
    let kustomization = read("deploy/base/kustomization.yaml");
    assert!(
        kustomization.contains(&format!("newTag: {version}")),
        "deploy/base pins the image to {version}:\n{kustomization}"
    );
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile.contains("org.opencontainers.image.version=\"${VERSION}\""),
        "the image is labelled with its version"
    );
}

fn doc_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | ".git" | ".deps" | ".sandbox" | "node_modules" | ".venv"
            ) {
                doc_files(&path, out);
            }
        } else if [".md", ".yaml", ".yml", ".sh"].iter().any(|e| name.ends_with(e)) || name == "Dockerfile" {
            out.push(path);
        }
    }
}

/// Every `?ref=v…` found in `text`.
fn refs(text: &str) -> Vec<String> {
    text.match_indices("?ref=v")
        .map(|(i, _)| {
            text[i + "?ref=".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                .collect()
        })
        .collect()
}

#[test]
fn every_ref_in_the_docs_names_a_released_version() {
    let released = changelog_versions();
    let version = cargo_version();
    let mut files = Vec::new();
    doc_files(Path::new(ROOT), &mut files);
    let mut seen = 0;
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for r in refs(&text) {
            seen += 1;
            let v = r.trim_start_matches('v');
            assert!(
                released.iter().any(|x| x == v) && v == version,
                "{}: ?ref={r} is not Cargo.toml's version {version} with a CHANGELOG.md entry",
                file.display()
            );
        }
    }
    assert!(seen > 0, "the deploy docs show a ?ref= install");
    assert_eq!(refs("x//deploy/base?ref=v1.2.3]\n"), vec!["v1.2.3"]);
}
