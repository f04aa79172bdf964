#!/usr/bin/env bash
# Installs what tests/deploy/run.sh needs, idempotently (Debian): lua5.4 for the Argo CD health
# scripts, promtool (Debian's prometheus package ships it) for the alert rules, python3 with
# PyYAML for the checkers, curl for the optional /metrics scrape, and (PyPI) kubernetes-validate
# for the Kubernetes schemas. Called by `make deps`.
set -euo pipefail
need=()
command -v lua5.4 >/dev/null || need+=(lua5.4)
command -v lua5.1 >/dev/null || need+=(lua5.1)  # Argo CD's gopher-lua speaks Lua 5.1
command -v promtool >/dev/null || need+=(prometheus)
command -v curl >/dev/null || need+=(curl)
if ! command -v python3 >/dev/null; then
  need+=(python3 python3-yaml)
elif ! python3 -c 'import yaml' 2>/dev/null; then
  need+=(python3-yaml)
fi
if ((${#need[@]})); then
  # System packages need root: sudo when not root, or say so.
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "deps-deploy: apt-get install ${need[*]} needs root: run make deps as root, install sudo, or install them yourself" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "deps-deploy: ${sudo[*]:+sudo }apt-get install ${need[*]}"
  "${sudo[@]}" apt-get update -qq
  # --no-install-recommends: promtool is all we use from prometheus; the service is not started.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
python3 -c 'import yaml' 2>/dev/null || { echo "deps-deploy: python3 cannot import yaml" >&2; exit 1; }
# Kubernetes OpenAPI schemas for strict validation of the rendered built-in objects (pinned).
KV_VERSION=1.37.0
if [[ "$(python3 -c 'import kubernetes_validate.version as v; print(v.__version__)' 2>/dev/null)" != "$KV_VERSION" ]]; then
  # As another user than root: into the user's site-packages (no sudo for pip).
  pip_user=()
  [[ $(id -u) -eq 0 ]] || pip_user=(--user)
  echo "deps-deploy: pip install ${pip_user[*]:+--user }kubernetes-validate==$KV_VERSION"
  python3 -m pip install -q --disable-pip-version-check "${pip_user[@]}" "kubernetes-validate==$KV_VERSION" ||
    python3 -m pip install -q --disable-pip-version-check "${pip_user[@]}" --break-system-packages "kubernetes-validate==$KV_VERSION"
fi
echo "deps-deploy: ok (lua5.4, promtool, python3-yaml, kubernetes-validate $KV_VERSION)"
