#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently. Called by `make deps`.
set -euo pipefail
cd "$(dirname "$0")/.."
cat <<'TXT'
deps: make deps installs, skipping what is already there:
deps:   kubectl, if missing: the pinned one built from tests/kube-real, linked into /usr/local/bin
deps:   .deps/venv: auth0-python + pytest (PyPI); tests/auth0-sim/conformance/node/node_modules: npm auth0
deps:   Debian packages (apt-get, as root or with sudo): nginx busybox lua5.4 lua5.1 prometheus (promtool) curl python3-yaml
deps:   kubernetes-validate (pip: the system python3 as root, else --user)
deps:   .deps/kube-real: etcd, kube-apiserver, kube-controller-manager, kubectl built with go (cold: 12-17 min on 2 cores)
deps:   .deps/helm: helm built with go; the kstatus check's Go modules (go mod download)
TXT
command -v cargo >/dev/null || { echo "deps: cargo is required (the Rust toolchain)" >&2; exit 1; }
command -v go >/dev/null || { echo "deps: go is required (it builds the test cluster, helm and the kstatus check)" >&2; exit 1; }
if ! command -v kubectl >/dev/null; then
  # No kubectl on this machine: the one pinned with the test cluster's release, built from the
  # Go modules in tests/kube-real (no download site is reachable here).
  bash .ci/deps-kube-real.sh
  kubectl_bin="$(bash .ci/deps-kube-real.sh --print-dir)/kubectl"
  if [[ -w /usr/local/bin ]]; then
    ln -sf "$kubectl_bin" /usr/local/bin/kubectl
  elif command -v sudo >/dev/null; then
    echo "deps: sudo ln -sf $kubectl_bin /usr/local/bin/kubectl"
    sudo ln -sf "$kubectl_bin" /usr/local/bin/kubectl
  else
    echo "deps: kubectl is missing and /usr/local/bin is not writable (no sudo): put $kubectl_bin on PATH, or run make deps as root" >&2
    exit 1
  fi
  echo "deps: kubectl was missing: linked the pinned $("$kubectl_bin" version --client 2>/dev/null | sed -n 1p) into /usr/local/bin"
fi
echo "deps: ok ($(kubectl version --client 2>/dev/null | sed -n 1p))"
