#!/usr/bin/env bash
# Measures the requests/second auth0-sim sustains over TLS (HTTP/1.1 keep-alive) with wrk.
# Usage: tests/auth0-sim/bench/throughput.sh [path/to/auth0-sim] [seconds] [connections]
# Needs: wrk and curl. Build first: cargo build --release -p auth0-sim
set -euo pipefail
BIN=${1:-target/release/auth0-sim}
SECS=${2:-10}
CONNS=${3:-64}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$BIN" --listen 127.0.0.1:0 --tls-dir "$dir/tls" --rate-limit 1000000:1000000 --verify-limit 1000000:1 \
  --max-domains 100000000 --no-edge --ready-file "$dir/ready.json" 2>"$dir/log" &
pid=$!
for _ in $(seq 200); do [ -s "$dir/ready.json" ] && break; sleep 0.05; done
url=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$dir/ready.json")
td=$(sed -n 's/.*"tenant_domain": "\(.*\)".*/\1/p' "$dir/ready.json")
ca="$dir/tls/ca.pem"
tok=$(curl -sS --cacert "$ca" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"sim-client\",\"client_secret\":\"sim-secret\",\"audience\":\"https://$td/api/v2/\"}" \
  "$url/oauth/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
id=""
for i in $(seq 100); do
  out=$(curl -sS --cacert "$ca" -H "authorization: Bearer $tok" -H 'content-type: application/json' \
    -d "{\"domain\":\"d$i.example.com\",\"type\":\"self_managed_certs\"}" "$url/api/v2/custom-domains")
  id=$(echo "$out" | sed -n 's/.*"custom_domain_id":"\([^"]*\)".*/\1/p')
done
[ -n "$id" ] || { echo "setup failed" >&2; exit 1; }
echo "== GET /api/v2/custom-domains/{id} (100 domains stored), $CONNS connections, ${SECS}s"
wrk -t2 -c"$CONNS" -d"${SECS}s" -H "authorization: Bearer $tok" "$url/api/v2/custom-domains/$id" | grep -E 'Requests/sec|Latency|Non-2xx'
echo "== GET /api/v2/custom-domains?take=50 (page of 50 of 100)"
wrk -t2 -c"$CONNS" -d"${SECS}s" -H "authorization: Bearer $tok" "$url/api/v2/custom-domains?take=50" | grep -E 'Requests/sec|Latency|Non-2xx'
echo "== POST /api/v2/custom-domains/{id}/test"
printf 'wrk.method = "POST"\n' >"$dir/post.lua"
wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$dir/post.lua" -H "authorization: Bearer $tok" "$url/api/v2/custom-domains/$id/test" | grep -E 'Requests/sec|Latency|Non-2xx'
cat >"$dir/create.lua" <<'LUA'
-- A distinct domain per request: thread number + counter.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
n = 0
function request()
  n = n + 1
  local body = string.format('{"domain":"t%d-n%d.bench.example.com","type":"self_managed_certs"}', tid, n)
  wrk.headers["content-type"] = "application/json"
  return wrk.format("POST", nil, nil, body)
end
LUA
echo "== POST /api/v2/custom-domains (distinct domains; the store grows during the run)"
wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$dir/create.lua" -H "authorization: Bearer $tok" "$url/api/v2/custom-domains" | grep -E 'Requests/sec|Latency|Non-2xx'
