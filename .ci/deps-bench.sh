#!/usr/bin/env bash
# Installs what `make bench` needs beyond `make deps`, idempotently: the pinned npm
# auth0-deploy-cli (tests/bench/deploy-cli/package.json + package-lock.json) into the project-local
# .deps/deploy-cli (git-ignored), for the side-by-side run in tests/bench/deploy_cli.py.
# A second run with nothing changed is a fast no-op: the install records a hash of the pin files
# and is redone only when the pins change or the install is gone. Never called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pins=$root/tests/bench/deploy-cli
dest=$root/.deps/deploy-cli

command -v node >/dev/null || { echo "deps-bench: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "deps-bench: npm is required" >&2; exit 1; }

want_ver=$(node -p 'require(process.argv[1]).dependencies["auth0-deploy-cli"]' "$pins/package.json")
stamp=$dest/node_modules/.pins.sha256
want=$(sha256sum "$pins/package.json" "$pins/package-lock.json" | sha256sum | cut -d' ' -f1)
pkg=$dest/node_modules/auth0-deploy-cli/package.json
if [[ -f $stamp && -f $pkg && $(cat "$stamp") == "$want" ]]; then
  echo "deps-bench: auth0-deploy-cli $want_ver up to date ($dest)"
else
  echo "deps-bench: npm ci auth0-deploy-cli $want_ver into $dest"
  mkdir -p "$dest"
  cp "$pins/package.json" "$pins/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi

# Fail loudly if the installed version is not the pinned one or does not run on this node.
have_ver=$(node -p 'require(process.argv[1]).version' "$pkg")
if [[ $have_ver != "$want_ver" ]]; then
  echo "deps-bench: installed auth0-deploy-cli $have_ver, pinned $want_ver" >&2
  exit 1
fi
node "$dest/node_modules/auth0-deploy-cli/lib/index.js" --version >/dev/null
echo "deps-bench: ok (auth0-deploy-cli $have_ver, node $(node --version))"
