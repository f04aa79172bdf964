#!/usr/bin/env bash
# Installs nginx (Debian package) for tests/edge-proxy/run.sh, idempotently. Called by `make deps`.
# The test starts its own nginx processes with their own prefix, config and ports; the package's
# service is never used (in containers without an init system the postinst cannot start it).
set -euo pipefail
# busybox: the test also runs render.sh under busybox sh/grep/sed, as the nginx:alpine image does.
if ! { [[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null 2>&1; } || ! command -v busybox >/dev/null 2>&1; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "deps-nginx: apt-get install nginx busybox needs root: run make deps as root, install sudo, or install them yourself" >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "deps-nginx: ${sudo[*]:+sudo }apt-get install nginx busybox"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx busybox >/dev/null
fi
# The test also needs these (gettext-base, openssl, curl, jq; PyYAML for the manifest check).
for cmd in envsubst openssl curl jq python3; do
    command -v "$cmd" >/dev/null || { echo "deps-nginx: $cmd is required" >&2; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || echo "deps-nginx: warning: python3 has no yaml module (PyYAML); tests/edge-proxy/run.sh needs it" >&2
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
echo "deps-nginx: $("$nginx_bin" -v 2>&1)"
