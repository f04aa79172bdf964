#!/usr/bin/env bash
# Installs nginx (Debian package) for tests/edge-proxy/run.sh, idempotently. Called by `make deps`.
# The test starts its own nginx with its own prefix, so the package's service is never used.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; then
  echo "deps-nginx: $(/usr/sbin/nginx -v 2>&1 || nginx -v 2>&1)"
  exit 0
fi
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "deps-nginx: apt-get install nginx"
"${sudo[@]}" apt-get update -qq
# policy-rc.d-free install: the package's postinst may try to start the service; a failure to
# start it (no init system in CI containers) must not fail the install.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nginx >/dev/null
for cmd in envsubst openssl curl; do
  command -v "$cmd" >/dev/null || { echo "deps-nginx: $cmd is required (gettext-base, openssl, curl)" >&2; exit 1; }
done
echo "deps-nginx: $(/usr/sbin/nginx -v 2>&1)"
