#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently. Called by `make deps`.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v kubectl >/dev/null || need_apt+=(kubectl)
if ((${#need_apt[@]})); then
  echo "deps: apt-get install ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps: cargo is required" >&2; exit 1; }
echo "deps: ok"
