#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently. Called by `make deps`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "deps: cargo is required (the Rust toolchain)" >&2; exit 1; }
command -v go >/dev/null || { echo "deps: go is required (it builds the test cluster, helm and the kstatus check)" >&2; exit 1; }
if ! command -v kubectl >/dev/null; then
  # No kubectl on this machine: the one pinned with the test cluster's release, built from the
  # Go modules in tests/kube-real (no download site is reachable here).
  bash .ci/deps-kube-real.sh
  kubectl_bin="$(bash .ci/deps-kube-real.sh --print-dir)/kubectl"
  if [[ -w /usr/local/bin ]]; then
    ln -sf "$kubectl_bin" /usr/local/bin/kubectl
    echo "deps: kubectl was missing: linked the pinned $("$kubectl_bin" version --client 2>/dev/null | sed -n 1p) into /usr/local/bin"
  else
    echo "deps: kubectl is missing and /usr/local/bin is not writable: put $kubectl_bin on PATH (or run make deps as root)" >&2
    exit 1
  fi
fi
echo "deps: ok ($(kubectl version --client 2>/dev/null | sed -n 1p))"
