#!/usr/bin/env bash
# Installs the official Auth0 SDKs used by the simulator conformance tests, idempotently:
#   - PyPI auth0-python (+ pytest) into the project-local venv .deps/venv
#   - npm auth0 (node-auth0) into tests/auth0-sim/conformance/node/node_modules (npm ci)
# Versions are pinned in tests/auth0-sim/conformance/python/requirements.txt and the committed
# package.json/package-lock.json. A second run with nothing changed is a fast no-op: each side
# records a hash of its pin file and reinstalls only when the pins change or the install is gone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
conf=$root/tests/auth0-sim/conformance
venv=$root/.deps/venv
req=$conf/python/requirements.txt
node_dir=$conf/node

hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# --- Python -----------------------------------------------------------------------------------
command -v python3 >/dev/null || { echo "deps-sdk: python3 is required" >&2; exit 1; }
py_stamp=$venv/.pins.sha256
py_want=$(hash_of "$req")
if [[ -x $venv/bin/python && -f $py_stamp && $(cat "$py_stamp") == "$py_want" ]]; then
  echo "deps-sdk: python venv up to date ($venv)"
else
  echo "deps-sdk: installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv"
  mkdir -p "$root/.deps"
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$py_want" >"$py_stamp"
fi

# --- Node -------------------------------------------------------------------------------------
command -v node >/dev/null || { echo "deps-sdk: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "deps-sdk: npm is required" >&2; exit 1; }
node_stamp=$node_dir/node_modules/.pins.sha256
node_want=$(hash_of "$node_dir/package.json" "$node_dir/package-lock.json")
if [[ -f $node_stamp && $(cat "$node_stamp") == "$node_want" ]]; then
  echo "deps-sdk: node_modules up to date ($node_dir/node_modules)"
else
  echo "deps-sdk: npm ci in $node_dir"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$node_want" >"$node_stamp"
fi

# Fail loudly if the installed versions are not the pinned ones.
py_ver=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("auth0-python"))')
node_ver=$(node -p 'require(process.argv[1]).version' "$node_dir/node_modules/auth0/package.json")
echo "deps-sdk: ok (auth0-python $py_ver, npm auth0 $node_ver, node $(node --version))"
