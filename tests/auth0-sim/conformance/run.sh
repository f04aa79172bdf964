#!/usr/bin/env bash
# Official-SDK conformance run for the Auth0 simulator: builds the simulator and the test DNS server,
# installs the pinned SDKs (.ci/deps-sdk.sh), runs the auth0-python suite (pytest) and the node-auth0
# suite (node --test), and prints how many SDK methods each suite exercised. Non-zero on any failure.
#
#   tests/auth0-sim/conformance/run.sh            everything
#   CONFORMANCE_ONLY=python|node ... run.sh       one SDK
#   extra arguments are passed to pytest (e.g. -k verify)
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
conf=$root/tests/auth0-sim/conformance
target=${CARGO_TARGET_DIR:-$root/target}
only=${CONFORMANCE_ONLY:-}

echo "conformance: cargo build -p auth0-sim -p test-dns"
cargo build --quiet -p auth0-sim -p test-dns
export AUTH0_SIM_BIN=${AUTH0_SIM_BIN:-$target/debug/auth0-sim}
export TEST_DNS_BIN=${TEST_DNS_BIN:-$target/debug/test-dns}

bash .ci/deps-sdk.sh

methods=$(mktemp)
trap 'rm -f "$methods"' EXIT
export CONFORMANCE_METHODS_FILE=$methods

py_rc=skipped
if [[ -z $only || $only == python ]]; then
  echo "conformance: pytest (auth0-python)"
  py_rc=0
  "$root/.deps/venv/bin/python" -m pytest -p no:cacheprovider -q "$conf/python" "$@" || py_rc=$?
fi

node_rc=skipped
if [[ -z $only || $only == node ]]; then
  echo "conformance: node --test (npm auth0)"
  node_rc=0
  (cd "$conf/node" && node --test --test-concurrency=2 --test-reporter=spec ./*.test.mjs) || node_rc=$?
fi

summary() {
  local sdk=$1 label=$2 rc=$3
  local names
  names=$(awk -v s="$sdk" '$1 == s { print $2 }' "$methods" | sort -u)
  local n
  n=$(grep -c . <<<"$names" || true)
  local state=passed
  [[ $rc == skipped ]] && state=skipped
  [[ $rc != 0 && $rc != skipped ]] && state="FAILED($rc)"
  printf '  %-34s %-10s %2d methods: %s\n' "$label" "$state" "$n" "$(tr '\n' ' ' <<<"$names")"
}
py_ver=$("$root/.deps/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("auth0-python"))')
node_ver=$(node -p 'require(process.argv[1]).version' "$conf/node/node_modules/auth0/package.json")
echo "conformance summary:"
summary python "auth0-python $py_ver (pytest)" "$py_rc"
summary node "npm auth0 $node_ver (node --test)" "$node_rc"

for rc in "$py_rc" "$node_rc"; do
  if [[ $rc != 0 && $rc != skipped ]]; then
    echo "conformance: FAILED" >&2
    exit 1
  fi
done
echo "conformance: ok"
