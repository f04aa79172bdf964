#!/usr/bin/env bash
# The 50-domain run at Auth0's Free-tier limits (tenant 2 req/s burst 2, verify 5 per minute):
# about ten minutes, nearly all of it waiting for the verify budget, so `make test` runs it in the
# background beside the other suites.
#   free-tier.sh run     build and run it in the foreground
#   free-tier.sh start   build it, then run it in the background (log in target/free-tier/)
#   free-tier.sh wait    wait for the background run, print its figures, exit with its status
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=target/free-tier
test_name=fifty_self_managed_domains_at_free_tier_limits

binary() {
    # The test binary itself: running it directly holds no cargo lock while the other suites build.
    cargo test -p e2e --test auth0_real --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "auth0_real" and m.get("executable"):
        print(m["executable"])'
}

case "${1:-run}" in
run)
    exec cargo test -p e2e --test auth0_real -- --ignored "$test_name" --nocapture
    ;;
start)
    rm -rf "$dir" && mkdir -p "$dir"
    bin=$(binary)
    [[ -x "$bin" ]] || { echo "free-tier: could not build the auth0_real test binary" >&2; exit 1; }
    echo "free-tier: 50 domains at Auth0's Free-tier limits, in the background (log: $dir/log)"
    (
        set +e
        "$bin" --ignored "$test_name" --nocapture >"$dir/log" 2>&1
        echo $? >"$dir/rc"
    ) </dev/null &
    echo $! >"$dir/pid"
    ;;
wait)
    [[ -f "$dir/pid" ]] || { echo "free-tier: not started (free-tier.sh start)" >&2; exit 1; }
    start=$(date +%s)
    while [[ ! -f "$dir/rc" ]]; do
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null && [[ ! -f "$dir/rc" ]]; then
            sleep 1
            [[ -f "$dir/rc" ]] || { echo "free-tier: the background run vanished" >&2; exit 1; }
        fi
        if (( ($(date +%s) - start) % 60 == 0 )); then
            echo "free-tier: still running ($(grep -c 'Ready' "$dir/log" 2>/dev/null || echo 0) lines mention Ready so far)"
        fi
        sleep 1
    done
    # The figures the test prints, then its verdict.
    grep -v '^\s*$' "$dir/log" | tail -n 80
    rc=$(cat "$dir/rc")
    if [[ "$rc" != 0 ]]; then
        echo "free-tier: FAILED (exit $rc); whole log: $dir/log" >&2
        exit "$rc"
    fi
    echo "free-tier: passed"
    ;;
*)
    echo "usage: $0 run|start|wait" >&2
    exit 2
    ;;
esac
