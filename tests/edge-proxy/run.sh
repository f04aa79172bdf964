#!/usr/bin/env bash
# End-to-end test of deploy/edge-proxy: real nginx (Debian package) rendered from the shipped
# templates by the shipped render.sh, in front of auth0-sim's edge endpoint, with test-dns as
# nginx's resolver for the origin name. Prints every check; exits non-zero on the first failure.
#
#   tests/edge-proxy/run.sh            # builds auth0-sim and test-dns with cargo if needed
#   AUTH0_SIM_BIN=… TEST_DNS_BIN=… tests/edge-proxy/run.sh
#
# Needs: nginx (.ci/deps-nginx.sh), openssl, curl, jq, envsubst, python3, kubectl (kustomize).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
edge_dir=$root/deploy/edge-proxy
started=$(date +%s)
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

pass=0
ok() {
    pass=$((pass + 1))
    printf 'ok %d - %s\n' "$pass" "$*"
}
die() {
    printf 'not ok - %s\n' "$*" >&2
    exit 1
}
# check DESCRIPTION ACTUAL EXPECTED
check() {
    if [[ $2 == "$3" ]]; then ok "$1"; else die "$1: expected [$3], got [$2]"; fi
}

for tool in "$NGINX" openssl curl jq envsubst python3 kubectl; do
    command -v "$tool" >/dev/null || die "missing $tool (nginx: run .ci/deps-nginx.sh)"
done

# --- binaries ----------------------------------------------------------------------------------
if [[ -z ${AUTH0_SIM_BIN:-} || -z ${TEST_DNS_BIN:-} ]]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    (cd "$root" && cargo build -q -p auth0-sim -p test-dns)
    AUTH0_SIM_BIN=${AUTH0_SIM_BIN:-$target/debug/auth0-sim}
    TEST_DNS_BIN=${TEST_DNS_BIN:-$target/debug/test-dns}
fi

# --- scratch space and cleanup -----------------------------------------------------------------
tmp=$(mktemp -d /tmp/edge-proxy-test.XXXXXX)
chmod 755 "$tmp" # nginx workers (nobody when run as root) need to reach their temp dirs
pids=()
cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((rc != 0)); then
        echo "--- logs (failure) ---" >&2
        for f in "$tmp"/*.log "$tmp"/nginx-*/*.log "$tmp"/nginx-*/*.out; do
            [[ -f $f ]] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }
        done
    fi
    [[ -n ${KEEP_TMP:-} ]] && echo "kept $tmp" >&2 || rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT

# wait_for_file FILE PID — bounded wait for a ready file written by a child.
wait_for_file() {
    for _ in $(seq 1 200); do
        [[ -s $1 ]] && return 0
        kill -0 "$2" 2>/dev/null || die "process $2 exited before writing $1"
        sleep 0.05
    done
    die "timed out waiting for $1"
}

# The interpreter itself (pyenv shims cost ~0.4 s per call on a loaded machine).
PY=$(python3 -c 'import sys; print(sys.executable)')
# Distinct free loopback ports (bound then released: nginx cannot report port 0 back).
read -r http_port https_port http_port2 https_port2 http_port3 https_port3 sni_port http_port4 \
    https_port4 http_port5 https_port5 http_port6 https_port6 < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(13)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

# --- DNS and the Auth0 simulator ---------------------------------------------------------------
"$TEST_DNS_BIN" --listen 127.0.0.1:0 --control-listen 127.0.0.1:0 --ttl 30 \
    --ready-file "$tmp/dns.json" >"$tmp/test-dns.log" 2>&1 &
pids+=($!)
wait_for_file "$tmp/dns.json" "${pids[-1]}"
dns_addr=$(jq -r .dns "$tmp/dns.json")
dns_ctl=$(jq -r .control "$tmp/dns.json")

"$AUTH0_SIM_BIN" --listen 127.0.0.1:0 --tls-dir "$tmp/sim-tls" --control --client op:op-secret \
    --dns-server "$dns_addr" --edge-listen 127.0.0.1:0 --ready-file "$tmp/sim.json" --rate-limit 100:100 \
    >"$tmp/auth0-sim.log" 2>&1 &
pids+=($!)
wait_for_file "$tmp/sim.json" "${pids[-1]}"
sim_url=$(jq -r .url "$tmp/sim.json")
tenant_domain=$(jq -r .tenant_domain "$tmp/sim.json")
edge_addr=$(jq -r .edge "$tmp/sim.json")
sim_ca=$(jq -r .ca_file "$tmp/sim.json")
edge_port=${edge_addr##*:}
ok "test-dns on $dns_addr, auth0-sim on $sim_url, edge on $edge_addr"

api() { # METHOD PATH [JSON]
    curl -sS --cacert "$sim_ca" -X "$1" "$sim_url$2" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' ${3:+--data "$3"}
}
token=$(curl -sS --cacert "$sim_ca" "$sim_url/oauth/token" -H 'content-type: application/json' \
    --data "{\"grant_type\":\"client_credentials\",\"client_id\":\"op\",\"client_secret\":\"op-secret\",\"audience\":\"https://$tenant_domain/api/v2/\"}" |
    jq -r .access_token)
[[ -n $token && $token != null ]] || die "no access token from the simulator"
ok "management API token"

domain=login.edge-proxy.test
mtls_domain=mtls.$domain
created=$(api POST /api/v2/custom-domains \
    "{\"domain\":\"$domain\",\"type\":\"self_managed_certs\",\"custom_client_ip_header\":\"true-client-ip\"}")
domain_id=$(jq -r .custom_domain_id <<<"$created")
txt_name=$(jq -r '.verification.methods[0].domain // empty' <<<"$created")
txt_value=$(jq -r '.verification.methods[0].record' <<<"$created")
[[ -n $domain_id && $domain_id != null ]] || die "create failed: $created"
txt_name=${txt_name:-_cf-custom-hostname.$domain}
curl -sS -o /dev/null -w '%{http_code}' -X PUT "$dns_ctl/records" -H 'content-type: application/json' \
    --data "{\"name\":\"$txt_name\",\"type\":\"TXT\",\"value\":\"$txt_value\"}" | grep -q 201 ||
    die "could not publish the TXT record"
verified=$(api POST "/api/v2/custom-domains/$domain_id/verify")
cname_api_key=$(jq -r '.cname_api_key // empty' <<<"$verified")
origin=$(jq -r '.origin_domain_name // empty' <<<"$verified")
[[ -n $cname_api_key && -n $origin ]] || die "verify gave no key/origin: $(jq -c 'del(.cname_api_key)' <<<"$verified")"
check "self-managed domain $domain verified (status)" "$(jq -r .status <<<"$verified")" ready
ok "origin_domain_name $origin, cname_api_key of ${#cname_api_key} characters"

# nginx finds the origin by name through its resolver (test-dns), like production finds Auth0's.
curl -sS -o /dev/null -X PUT "$dns_ctl/records" -H 'content-type: application/json' \
    --data "{\"name\":\"$origin\",\"type\":\"A\",\"value\":\"127.0.0.1\"}"

# --- certificates ------------------------------------------------------------------------------
cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$domain" \
    -addext "subjectAltName=DNS:$domain,DNS:$mtls_domain" -keyout edge.key -out edge.crt 2>/dev/null
# A self-signed client certificate, and a CA with a client certificate it signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=self-signed-client" \
    -keyout client-self.key -out client-self.crt 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=edge-test-client-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout client-ca.key -out client-ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=ca-signed-client" -keyout client-ca-signed.key \
    -out client-ca-signed.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >client-ext.cnf
openssl x509 -req -in client-ca-signed.csr -CA client-ca.crt -CAkey client-ca.key -CAcreateserial \
    -days 2 -extfile client-ext.cnf -out client-ca-signed.crt 2>/dev/null
ok "certificates: edge ($domain, $mtls_domain), self-signed client, CA-signed client"

# --- render with the shipped script, run nginx -------------------------------------------------
# write_secret DIR KEY — the files a mounted copy of the operator's Secret holds.
write_secret() {
    mkdir -p "$1"
    printf '%s' "$2" >"$1/cname-api-key"
    printf '%s' "$origin" >"$1/origin-domain-name"
    printf '%s' "$domain" >"$1/domain"
    printf '%s' "$mtls_domain" >"$1/mtls-domain"
}
# start_nginx NAME SECRET_DIR HTTP_PORT HTTPS_PORT [ENV=VALUE…] — render and start one nginx,
# as the user in run_as (empty: the current user).
run_as=()
start_nginx() {
    local name=$1 secret=$2 hp=$3 sp=$4 prefix=$tmp/nginx-$1
    shift 4
    mkdir -p "$prefix"
    # nginx reopens /dev/stdout and /dev/stderr: as another user they must be files it may write.
    touch "$prefix/access.log" "$prefix/error.log" "$prefix/nginx-t.out"
    ((${#run_as[@]} == 0)) || chown nobody "$prefix" "$prefix"/*.log "$prefix/nginx-t.out"
    # Debian's /bin/sh is dash: render.sh must stay POSIX, as the nginx image runs it with sh.
    "${run_as[@]}" env SECRET_DIR="$secret" TEMPLATE_DIR="$edge_dir" OUT_DIR="$prefix" \
        HTTP_PORT="127.0.0.1:$hp" HTTPS_PORT="127.0.0.1:$sp" \
        TLS_CERT_FILE="$tmp/edge.crt" TLS_KEY_FILE="$tmp/edge.key" UPSTREAM_CA_FILE="$sim_ca" \
        RESOLVER="$dns_addr" EDGE_UPSTREAM="$origin:$edge_port" "$@" \
        sh "$edge_dir/render.sh" >"$prefix/render.out" 2>&1 || die "render.sh failed: $(cat "$prefix/render.out")"
    # The shipped nginx.conf as rendered, started the way the Deployment starts it.
    "${run_as[@]}" "$NGINX" -e stderr -t -q -p "$prefix" -c "$prefix/nginx.conf" >>"$prefix/nginx-t.out" 2>&1 ||
        die "nginx -t ($name): $(cat "$prefix/nginx-t.out")"
    "${run_as[@]}" "$NGINX" -e stderr -p "$prefix" -c "$prefix/nginx.conf" >>"$prefix/access.log" 2>>"$prefix/error.log" &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$hp/" && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || die "nginx ($name) exited: $(tail -n 5 "$prefix/error.log")"
        sleep 0.05
    done
    die "nginx ($name) did not start listening"
}

write_secret "$tmp/secret" "$cname_api_key"
start_nginx main "$tmp/secret" "$http_port" "$https_port" CLIENT_IP_HEADER=true-client-ip \
    MTLS_CA_FILE="$tmp/client-ca.crt"
ok "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') rendered by render.sh (sh), config test passed, listening on $http_port/$https_port"
conf=$tmp/nginx-main/conf.d
grep -q "proxy_ssl_name $origin;" "$conf/auth0-origin.inc" || die "rendered config lacks proxy_ssl_name"
grep -q 'proxy_ssl_server_name on;' "$conf/auth0-origin.inc" || die "rendered config lacks SNI"
grep -q 'proxy_cache off;' "$conf/auth0-origin.inc" || die "rendered config caches"
! grep -rqE 'proxy_cache_path|proxy_cache [^o]' "$conf" || die "rendered config has a cache"
! grep -rq '\${' "$conf" || die "rendered config has an unsubstituted \${VAR}"
! grep -q "$cname_api_key" "$tmp/nginx-main/render.out" || die "render.sh printed the key"
ok "rendered config: SNI on, proxy_ssl_name = origin, no cache, every \${VAR} substituted, key not printed"

# through CURL_ARGS… — curl to nginx with the custom domain resolved to loopback.
through() {
    curl -sS --cacert "$tmp/edge.crt" --resolve "$domain:$https_port:127.0.0.1" \
        --resolve "$mtls_domain:$https_port:127.0.0.1" "$@"
}

# --- the main request: everything Auth0's guide asks to forward --------------------------------
query='client_id=abc123&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid%20profile&state=s%2B1'
out=$(through -w '\n%{http_code}' "https://$domain:$https_port/authorize?$query" \
    -H 'User-Agent: edge-proxy-test/1.0' -H 'Origin: https://app.example' \
    -H 'Referer: https://app.example/login' -H 'Cookie: auth0=s%3Av1.abc; did=xyz; auth0_compat=1' \
    -H 'X-Forwarded-For: 203.0.113.66' -H 'true-client-ip: 203.0.113.77' \
    -H 'X-Real-IP: 203.0.113.88' -H 'CF-Connecting-IP: 203.0.113.99' -H 'Forwarded: for=203.0.113.55' \
    -H 'client-certificate: forged' -H 'client-certificate-ca-verified: SUCCESS' \
    -H 'cname-api-key: client-supplied')
status=${out##*$'\n'}
echo_json=${out%$'\n'*}
check "GET /authorize through nginx with the right key → 200" "$status" 200
echo "# forwarded request as the Auth0 edge saw it:"
jq -c '{method, host, path, query, client_ip_header, client_ip, x_forwarded_for, cookies}' <<<"$echo_json" | sed 's/^/#   /'
echo "# forwarded headers:"
jq -r '.headers | to_entries[] | "#   \(.key): \(.value | join(", "))"' <<<"$echo_json"
j() { jq -r "$1" <<<"$echo_json"; }
check "Host is the origin" "$(j .host)" "$origin"
check "cname-api-key arrived (the edge checked it and echoes it redacted)" "$(j '.headers["cname-api-key"] | join(",")')" "[redacted]"
check "method GET" "$(j .method)" GET
check "path" "$(j .path)" /authorize
check "query string unchanged" "$(j .query)" "$query"
check "client IP header is true-client-ip" "$(j .client_ip_header)" true-client-ip
check "true-client-ip = the client (the forged one is replaced)" "$(j .client_ip)" 127.0.0.1
check "X-Forwarded-For = the client only (the forged one is dropped)" "$(j .x_forwarded_for)" 127.0.0.1
check "other client-IP headers stripped (X-Real-IP, CF-Connecting-IP, Forwarded)" \
    "$(j '[.headers["x-real-ip"], .headers["cf-connecting-ip"], .headers["forwarded"]] | map(. // "absent") | join(",")')" "absent,absent,absent"
sleep 0.2 # nginx writes the access log line after the response
grep -q '"GET /authorize HTTP' "$tmp/nginx-main/access.log" || die "access log lacks the request: $(tail -n 3 "$tmp/nginx-main/access.log")"
! grep -qE 'client_id=abc123|redirect_uri|state=' "$tmp/nginx-main/access.log" ||
    die "access log records the query string: $(grep -m1 authorize "$tmp/nginx-main/access.log")"
ok "access log: path logged, query string (login tickets, codes, state) not"
check "cookies forwarded" "$(j '.cookies | "\(.auth0)|\(.did)|\(.auth0_compat)"')" "s%3Av1.abc|xyz|1"
check "User-Agent forwarded" "$(j '.headers["user-agent"][0]')" edge-proxy-test/1.0
check "Origin forwarded" "$(j '.headers.origin[0]')" https://app.example
check "Referer forwarded" "$(j '.headers.referer[0]')" https://app.example/login
check "X-Forwarded-Proto https" "$(j '.headers["x-forwarded-proto"][0]')" https
check "X-Forwarded-Host is the custom domain" "$(j .x_forwarded_host)" "$domain"
check "forged client-certificate headers stripped on $domain" \
    "$(j '[.headers["client-certificate"], .headers["client-certificate-ca-verified"]] | map(. // "absent") | join(",")')" "absent,absent"
dns_q=$(curl -sS "$dns_ctl/stats" | jq --arg n "$origin" '[.by_name | to_entries[] | select(.key | ascii_downcase | startswith($n)) | .value] | add // 0')
((dns_q > 0)) || die "nginx never asked test-dns for $origin"
ok "nginx resolved $origin through its resolver ($dns_q queries to test-dns)"

# --- every method, bodies ----------------------------------------------------------------------
body=$(head -c 5000 /dev/zero | tr '\0' 'x')
for method in POST PUT PATCH DELETE OPTIONS; do
    out=$(through -X "$method" -w '\n%{http_code}' "https://$domain:$https_port/api/v2/x?m=$method" \
        -H 'content-type: application/octet-stream' --data-binary "$body")
    status=${out##*$'\n'}
    echo_json=${out%$'\n'*}
    check "$method with a 5000-byte body → 200" "$status" 200
    check "$method arrived as $method with query and body" "$(j '"\(.method) \(.query) \(.body_length)"')" "$method m=$method 5000"
done
check "HEAD → 200" "$(through -I -o /dev/null -w '%{http_code}' "https://$domain:$https_port/")" 200
form='grant_type=client_credentials&client_id=c1&client_secret=s1'
out=$(through -w '\n%{http_code}' "https://$domain:$https_port/oauth/token" --data "$form")
echo_json=${out%$'\n'*}
check "form POST /oauth/token → 200, body and content-type" \
    "${out##*$'\n'} $(j '"\(.body_length) \(.headers["content-type"][0])"')" \
    "200 ${#form} application/x-www-form-urlencoded"
check "HTTP/2 from the client is served" \
    "$(through --http2 -o /dev/null -w '%{http_version} %{http_code}' "https://$domain:$https_port/")" "2 200"

# --- HTTP → HTTPS, unknown names ---------------------------------------------------------------
read -r code loc < <(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' \
    -H "Host: $domain" "http://127.0.0.1:$http_port/authorize?a=1&b=2")
check "HTTP → 308" "$code" 308
check "redirect target" "$loc" "https://$domain/authorize?a=1&b=2"
check "HTTP POST → 308 (keeps the method)" "$(curl -sS -o /dev/null -w '%{http_code}' \
    -H "Host: $domain" --data x=1 "http://127.0.0.1:$http_port/oauth/token")" 308
check "HTTP with a foreign Host → 404, not a redirect" \
    "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "http://127.0.0.1:$http_port/x")" 404
check "probe path /edge-healthz on the HTTP port (any Host)" \
    "$(curl -sS -w '%{http_code}' "http://127.0.0.1:$http_port/edge-healthz" | tr '\n' ' ')" "ok 200"
if curl -sS -o /dev/null --cacert "$tmp/edge.crt" --resolve "other.example:$https_port:127.0.0.1" \
    "https://other.example:$https_port/" 2>/dev/null; then
    die "a TLS handshake for an unknown name succeeded"
fi
ok "unknown server name: TLS handshake rejected (nothing reaches Auth0)"

# --- mTLS alias --------------------------------------------------------------------------------
mtls_get() { # CERT KEY — GET /oauth/token on mtls.<domain>, echo JSON
    through -w '\n%{http_code}' ${1:+--cert "$1" --key "$2"} "https://$mtls_domain:$https_port/oauth/token?x=1" \
        -H 'client-certificate: forged' -H 'client-certificate-ca-verified: SUCCESS'
}
urldecode() { "$PY" -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.stdin.read()), end="")'; }
out=$(mtls_get "$tmp/client-self.crt" "$tmp/client-self.key")
status=${out##*$'\n'}
echo_json=${out%$'\n'*}
check "mTLS, self-signed client certificate → 200" "$status" 200
echo "# forwarded mTLS headers:"
jq -r '.headers | to_entries[] | select(.key | startswith("client-certificate")) | "#   \(.key): \(.value | join(", ") | if length > 90 then .[0:90] + "…" else . end)"' <<<"$echo_json"
check "mTLS Host is the origin, key checked" "$(j '"\(.host) \(.headers["cname-api-key"][0])"')" "$origin [redacted]"
check "client-certificate is one header" "$(j '.headers["client-certificate"] | length')" 1
check "client-certificate = URL-encoded PEM of the presented certificate" \
    "$(j '.headers["client-certificate"][0]' | urldecode | openssl x509 -noout -fingerprint -sha256)" \
    "$(openssl x509 -in "$tmp/client-self.crt" -noout -fingerprint -sha256)"
[[ $(j '.headers["client-certificate"][0]') == -----BEGIN%20CERTIFICATE-----%0A* ]] ||
    die "client-certificate is not URL-encoded PEM"
ok "client-certificate is URL-encoded (%20, %0A), $(j '.headers["client-certificate"][0] | length') bytes (Auth0 limit 4096)"
check "client-certificate-ca-verified for a self-signed certificate" \
    "$(j '.headers["client-certificate-ca-verified"] | join(",")')" FAILED
check "mTLS true-client-ip and X-Forwarded-For" "$(j '"\(.client_ip) \(.x_forwarded_for)"')" "127.0.0.1 127.0.0.1"

out=$(mtls_get "$tmp/client-ca-signed.crt" "$tmp/client-ca-signed.key")
echo_json=${out%$'\n'*}
check "mTLS, certificate signed by MTLS_CA_FILE's CA → 200" "${out##*$'\n'}" 200
check "client-certificate-ca-verified for a CA-signed certificate" \
    "$(j '.headers["client-certificate-ca-verified"] | join(",")')" SUCCESS
check "client-certificate is the CA-signed leaf" \
    "$(j '.headers["client-certificate"][0]' | urldecode | openssl x509 -noout -subject)" "subject=CN = ca-signed-client"

out=$(mtls_get "" "")
echo_json=${out%$'\n'*}
check "mTLS without a client certificate → still forwarded (200)" "${out##*$'\n'}" 200
check "no certificate: forged client-certificate headers are not forwarded" \
    "$(j '[.headers["client-certificate"], .headers["client-certificate-ca-verified"]] | map(. // "absent") | join(",")')" "absent,absent"

# --- SNI to the origin ---------------------------------------------------------------------------
# auth0-sim does not look at SNI, so an openssl s_server stands in for the origin here: it serves a
# certificate for the origin name only when the ClientHello's SNI is that name, and one for
# wrong.example otherwise; nginx verifies against the origin name, so only a correct SNI gets 200.
issue() { # CN FILE-STEM — a server certificate signed by the test upstream CA
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" -keyout "$2.key" -out "$2.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' "$1" >"$2.ext"
    openssl x509 -req -in "$2.csr" -CA up-ca.crt -CAkey up-ca.key -CAcreateserial -days 2 \
        -extfile "$2.ext" -out "$2.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=upstream-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout up-ca.key -out up-ca.crt 2>/dev/null
issue "$origin" up-origin
issue wrong.example up-wrong
openssl s_server -quiet -www -accept "127.0.0.1:$sni_port" -cert up-wrong.crt -key up-wrong.key \
    -servername "$origin" -cert2 up-origin.crt -key2 up-origin.key >"$tmp/s_server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$sni_port") 2>/dev/null && break
    sleep 0.05
done
check "control: the stand-in origin without SNI serves wrong.example" \
    "$(openssl s_client -connect "127.0.0.1:$sni_port" -noservername </dev/null 2>/dev/null | openssl x509 -noout -subject)" \
    "subject=CN = wrong.example"
start_nginx sni "$tmp/secret" "$http_port4" "$https_port4" EDGE_UPSTREAM="$origin:$sni_port" \
    UPSTREAM_CA_FILE="$tmp/up-ca.crt"
out=$(curl -sS --cacert "$tmp/edge.crt" --resolve "$domain:$https_port4:127.0.0.1" -w '\n%{http_code}' \
    "https://$domain:$https_port4/")
[[ ${out%$'\n'*} == *s_server* ]] || die "the stand-in origin's page did not come back: ${out:0:200}"
check "nginx → origin with SNI = $origin (certificate for that name verified) → 200" "${out##*$'\n'}" 200

# --- a wrong key in the Secret → Auth0 refuses -------------------------------------------------
write_secret "$tmp/secret-wrong" "${cname_api_key}x"
start_nginx wrong "$tmp/secret-wrong" "$http_port2" "$https_port2" CLIENT_IP_HEADER=x-forwarded-for
out=$(curl -sS --cacert "$tmp/edge.crt" --resolve "$domain:$https_port2:127.0.0.1" -w '\n%{http_code}' \
    "https://$domain:$https_port2/authorize?x=1")
check "wrong cname-api-key in the Secret → 403 from the edge" "${out##*$'\n'}" 403
check "edge says why" "$(jq -r .error_description <<<"${out%$'\n'*}")" "invalid cname-api-key"
grep -q '# client IP: X-Forwarded-For only' "$tmp/nginx-wrong/conf.d/auth0-origin.inc" ||
    die "CLIENT_IP_HEADER=x-forwarded-for did not fall back to X-Forwarded-For only"
ok "CLIENT_IP_HEADER=x-forwarded-for renders a single X-Forwarded-For"

# --- behind a trusted load balancer (TRUSTED_PROXY_CIDRS), client IP in X-Forwarded-For --------
# This one runs as an unprivileged user, like the Pod (runAsNonRoot, nothing writable but OUT_DIR).
lb_user=$(id -un)
if (($(id -u) == 0)); then
    run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    lb_user=nobody
    chmod 644 "$tmp/edge.key" # test key; the Pod reads its key through fsGroup instead
fi
start_nginx lb "$tmp/secret" "$http_port3" "$https_port3" CLIENT_IP_HEADER=x-forwarded-for \
    TRUSTED_PROXY_CIDRS=127.0.0.1/32,10.0.0.0/8
run_as=()
check "nginx behind the LB runs as $lb_user (master and worker)" \
    "$(ps -o user= -p "$(cat "$tmp/nginx-lb/nginx.pid")" --ppid "$(cat "$tmp/nginx-lb/nginx.pid")" | sort -u | tr -d ' ' | tr '\n' ' ')" "$lb_user "
out=$(curl -sS --cacert "$tmp/edge.crt" --resolve "$domain:$https_port3:127.0.0.1" -w '\n%{http_code}' \
    -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.5, 10.1.2.3' "https://$domain:$https_port3/userinfo")
echo_json=${out%$'\n'*}
check "behind a trusted LB → 200" "${out##*$'\n'}" 200
check "X-Forwarded-For = the first untrusted address of the LB's chain" "$(j .x_forwarded_for)" 203.0.113.5
check "no extra client-IP header when it is x-forwarded-for" "$(j '.headers["true-client-ip"] // "absent"')" absent

counters=$(curl -sS --cacert "$sim_ca" "$sim_url/__sim/counters")
check "edge counters: refused" "$(jq -r '.edge_refused' <<<"$counters")" 1

# --- watch.sh: a changed Secret reaches nginx without a restart ---------------------------------
# The Deployment runs watch.sh: render, start nginx, re-render when the mounted Secret changes and
# reload only when the rendered config differs. The Secret directory here has kubelet's layout
# (files are symlinks through `..data`, swapped atomically on update). The key is rotated the way
# Auth0 issues a new one: the domain is deleted and created again (new key, new origin).
rot_domain=rotate.edge-proxy.test
new_verified_domain() { # → "key origin" of a freshly created and verified self-managed $rot_domain
    local created id name value verified
    created=$(api POST /api/v2/custom-domains "{\"domain\":\"$rot_domain\",\"type\":\"self_managed_certs\"}")
    id=$(jq -r .custom_domain_id <<<"$created")
    [[ -n $id && $id != null ]] || die "create $rot_domain failed: $created"
    name=$(jq -r '.verification.methods[0].domain // empty' <<<"$created")
    value=$(jq -r '.verification.methods[0].record' <<<"$created")
    curl -sS -o /dev/null -X PUT "$dns_ctl/records" -H 'content-type: application/json' \
        --data "{\"name\":\"${name:-_cf-custom-hostname.$rot_domain}\",\"type\":\"TXT\",\"value\":\"$value\"}"
    verified=$(api POST "/api/v2/custom-domains/$id/verify")
    echo "$id $(jq -r .cname_api_key <<<"$verified") $(jq -r .origin_domain_name <<<"$verified")"
}
# kubelet_secret DIR VERSION KEY ORIGIN — writes ..VERSION/ and swaps ..data to it atomically.
kubelet_secret() {
    local dir=$1 version=$2
    mkdir -p "$dir/..$version"
    printf '%s' "$3" >"$dir/..$version/cname-api-key"
    printf '%s' "$4" >"$dir/..$version/origin-domain-name"
    printf '%s' "$rot_domain" >"$dir/..$version/domain"
    ln -sfn "..$version" "$dir/..data_tmp"
    mv -T "$dir/..data_tmp" "$dir/..data"
    for k in cname-api-key origin-domain-name domain; do
        [[ -L $dir/$k ]] || ln -s "..data/$k" "$dir/$k"
    done
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$rot_domain" \
    -addext "subjectAltName=DNS:$rot_domain" -keyout "$tmp/rot.key" -out "$tmp/rot.crt" 2>/dev/null
read -r rot_id key1 origin1 < <(new_verified_domain)
kubelet_secret "$tmp/secret-watch" v1 "$key1" "$origin1"
# start_watch PREFIX SECRET_DIR HTTP_PORT HTTPS_PORT [SHELL [PATH]] — watch.sh as the container runs
# it (optionally under another shell and PATH); sets watch_pid and master (nginx master PID).
start_watch() {
    local wp=$1 sd=$2 hp=$3 sp=$4 shell=${5:-sh} path=${6:-$PATH}
    mkdir -p "$wp"
    env PATH="$path" SECRET_DIR="$sd" TEMPLATE_DIR="$edge_dir" OUT_DIR="$wp" NGINX="$NGINX" \
        HTTP_PORT="127.0.0.1:$hp" HTTPS_PORT="127.0.0.1:$sp" \
        TLS_CERT_FILE="$tmp/rot.crt" TLS_KEY_FILE="$tmp/rot.key" UPSTREAM_CA_FILE="$sim_ca" \
        RESOLVER="$dns_addr" EDGE_UPSTREAM="127.0.0.1:$edge_port" WATCH_INTERVAL=0.3 \
        "$shell" "$edge_dir/watch.sh" >"$wp/watch.out" 2>"$wp/watch.log" &
    pids+=($!)
    watch_pid=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$hp/edge-healthz" && break
        kill -0 "$watch_pid" 2>/dev/null || die "watch.sh exited: $(tail -n 5 "$wp/watch.log")"
        sleep 0.05
    done
    master=$(cat "$wp/nginx.pid")
}
wprefix=$tmp/nginx-watch
start_watch "$wprefix" "$tmp/secret-watch" "$http_port5" "$https_port5"
rot_port=$https_port5
rot() { # curl through the watched nginx; prints "<status> <host the edge saw>"
    local out
    out=$(curl -sS --cacert "$tmp/rot.crt" --resolve "$rot_domain:$rot_port:127.0.0.1" -w '\n%{http_code}' \
        "https://$rot_domain:$rot_port/authorize?rot=1")
    echo "${out##*$'\n'} $(jq -r '.host // .error' <<<"${out%$'\n'*}" 2>/dev/null)"
}
check "watch.sh: nginx (master $master) serves $rot_domain with the first key" "$(rot)" "200 $origin1"

# Same values swapped in again: the rendered config does not change, so no reload.
kubelet_secret "$tmp/secret-watch" v1b "$key1" "$origin1"
sleep 1
check "watch.sh: a Secret update with the same values renders the same config → no reload" \
    "$(grep -c 'reloading nginx' "$wprefix/watch.log")" 0

# Auth0 issues a new key (and origin); the Secret is updated while nginx runs.
api DELETE "/api/v2/custom-domains/$rot_id" >/dev/null
read -r rot_id key2 origin2 < <(new_verified_domain)
[[ $key2 != "$key1" && -n $key2 && $key2 != null ]] || die "the simulator did not issue a new key"
refused_before=$(curl -sS --cacert "$sim_ca" "$sim_url/__sim/counters" | jq -r .edge_refused)
swapped=$(date +%s.%N)
kubelet_secret "$tmp/secret-watch" v2 "$key2" "$origin2"
got=""
for _ in $(seq 1 100); do
    got=$(rot)
    [[ $got == "200 $origin2" ]] && break
    sleep 0.1
done
took=$("$PY" -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$swapped")
check "watch.sh: the new key and origin reach the edge (200, Host = new origin) within 10 s" "$got" "200 $origin2"
ok "Secret swap → new key in use after ${took}s (WATCH_INTERVAL=0.3)"
check "watch.sh: same nginx master (reloaded, not restarted)" "$(cat "$wprefix/nginx.pid") $(kill -0 "$master" 2>/dev/null && echo alive)" "$master alive"
check "watch.sh: exactly one reload" "$(grep -c 'Secret changed: reloading nginx' "$wprefix/watch.log")" 1
refused_mid=$(curl -sS --cacert "$sim_ca" "$sim_url/__sim/counters" | jq -r .edge_refused)
for _ in 1 2 3 4 5; do
    [[ $(rot) == "200 $origin2" ]] || die "a request after the reload did not use the new key"
done
check "watch.sh: the old key is no longer sent (5 more requests, no refusal at the edge)" \
    "$(curl -sS --cacert "$sim_ca" "$sim_url/__sim/counters" | jq -r .edge_refused)" "$refused_mid"
! grep -rqF "$key1" "$wprefix/conf.d" || die "the old key is still in the rendered config"
grep -rqF "$key2" "$wprefix/conf.d" || die "the new key is not in the rendered config"
ok "rendered config holds the new key only ($((refused_mid - refused_before)) requests refused while the swap propagated)"

# A Secret render.sh refuses leaves the running configuration alone.
kubelet_secret "$tmp/secret-watch" v3 'bad"key' "$origin2"
for _ in $(seq 1 50); do
    grep -q 'render.sh refused it' "$wprefix/watch.log" && break
    sleep 0.1
done
grep -q 'render.sh refused it' "$wprefix/watch.log" || die "watch.sh did not report the refused Secret"
check "watch.sh: an invalid Secret is refused, nginx keeps serving the last good config" "$(rot)" "200 $origin2"
! grep -qF "$key2" "$wprefix/watch.log" "$wprefix/watch.out" || die "watch.sh printed the key"
kill -TERM "$watch_pid"
wstatus=0
wait "$watch_pid" 2>/dev/null || wstatus=$?
check "watch.sh: SIGTERM stops nginx gracefully (exit 0, master gone)" \
    "$wstatus $(kill -0 "$master" 2>/dev/null && echo alive || echo gone)" "0 gone"

# --- render.sh refuses bad input ---------------------------------------------------------------
mkdir -p "$tmp/secret-bad"
write_secret "$tmp/secret-bad" 'abc"; return 200 "x'
if SECRET_DIR="$tmp/secret-bad" TEMPLATE_DIR="$edge_dir" OUT_DIR="$tmp/bad-out" RESOLVER=127.0.0.1 \
    sh "$edge_dir/render.sh" >/dev/null 2>&1; then
    die "render.sh accepted a key that breaks out of the directive"
fi
rm "$tmp/secret-bad/cname-api-key"
msg=$(SECRET_DIR="$tmp/secret-bad" TEMPLATE_DIR="$edge_dir" OUT_DIR="$tmp/bad-out" RESOLVER=127.0.0.1 \
    sh "$edge_dir/render.sh" 2>&1) && die "render.sh accepted a Secret without cname-api-key"
[[ $msg == *"cname-api-key is missing"* ]] || die "unexpected message: $msg"
ok "render.sh refuses an injecting key and a Secret without cname-api-key"

# --- production defaults render and pass nginx -t ----------------------------------------------
# As the Deployment runs it: resolver from /etc/resolv.conf, upstream <origin>:443; and without
# mtls-domain (mTLS off) no mtls server is rendered.
cp -r "$tmp/secret" "$tmp/secret-plain"
rm "$tmp/secret-plain/mtls-domain"
prod=$tmp/nginx-prod
SECRET_DIR="$tmp/secret-plain" TEMPLATE_DIR="$edge_dir" OUT_DIR="$prod" TLS_CERT_FILE="$tmp/edge.crt" \
    TLS_KEY_FILE="$tmp/edge.key" sh "$edge_dir/render.sh" >/dev/null 2>&1 || die "render.sh with defaults failed"
[[ ! -e $prod/conf.d/edge-mtls.conf ]] || die "mtls server rendered without mtls-domain"
grep -q "set \$auth0_upstream \"$origin:443\";" "$prod/conf.d/auth0-origin.inc" || die "default upstream is not $origin:443"
res=$(sed -n 's/^nameserver[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/resolv.conf | head -n 1)
[[ -z $res ]] || grep -q "^resolver \[\?$res\]\? valid=30s" "$prod/conf.d/edge.conf" || die "resolver is not /etc/resolv.conf's $res"
"$NGINX" -e stderr -t -q -p "$prod" -c "$prod/nginx.conf" 2>"$tmp/prod-t.out" || die "nginx -t (defaults): $(cat "$tmp/prod-t.out")"
ok "defaults (resolver ${res:-none} from /etc/resolv.conf, upstream $origin:443, no mtls-domain → no mtls server) pass nginx -t"

# --- render.sh under busybox, as in the nginx:alpine image ---------------------------------------
if command -v busybox >/dev/null; then
    mkdir -p "$tmp/bb"
    for applet in sh grep sed tr head dirname mkdir mv rm cat; do ln -s "$(command -v busybox)" "$tmp/bb/$applet"; done
    ln -s "$(command -v envsubst)" "$tmp/bb/envsubst"
    bb_env=(SECRET_DIR="$tmp/secret" TEMPLATE_DIR="$edge_dir" OUT_DIR="$tmp/nginx-bb"
        TLS_CERT_FILE="$tmp/edge.crt" TLS_KEY_FILE="$tmp/edge.key" RESOLVER=10.96.0.10
        CLIENT_IP_HEADER=True-Client-IP TRUSTED_PROXY_CIDRS=10.0.0.0/8 MTLS_CA_FILE="$tmp/client-ca.crt")
    env PATH="$tmp/bb" "${bb_env[@]}" "$tmp/bb/sh" "$edge_dir/render.sh" >"$tmp/bb.out" 2>&1 ||
        die "render.sh under busybox: $(cat "$tmp/bb.out")"
    # The same input through dash and GNU tools, into the same OUT_DIR, gives the same files.
    mv "$tmp/nginx-bb" "$tmp/nginx-bb-rendered"
    env "${bb_env[@]}" sh "$edge_dir/render.sh" >/dev/null 2>&1 || die "render.sh (dash) failed"
    diff -r "$tmp/nginx-bb-rendered" "$tmp/nginx-bb" >"$tmp/bb.diff" ||
        die "busybox and dash/GNU renders differ: $(head -n 20 "$tmp/bb.diff")"
    grep -q 'proxy_set_header true-client-ip $remote_addr;' "$tmp/nginx-bb/conf.d/auth0-origin.inc" ||
        die "CLIENT_IP_HEADER not lower-cased"
    grep -q 'set_real_ip_from 10.0.0.0/8;' "$tmp/nginx-bb/conf.d/edge.conf" || die "TRUSTED_PROXY_CIDRS not rendered"
    "$NGINX" -e stderr -t -q -p "$tmp/nginx-bb" -c "$tmp/nginx-bb/nginx.conf" >"$tmp/bb-t.out" 2>&1 ||
        die "nginx -t (busybox render): $(cat "$tmp/bb-t.out")"
    ok "render.sh under busybox sh/grep/sed/tr (as in nginx:alpine) = dash/GNU render; nginx -t passes"

    # watch.sh under busybox: serves, follows a key rotation with one reload of the same master.
    for applet in ls md5sum sleep kill; do ln -s "$(command -v busybox)" "$tmp/bb/$applet"; done
    kubelet_secret "$tmp/secret-bb-watch" v1 "$key2" "$origin2"
    start_watch "$tmp/nginx-bb-watch" "$tmp/secret-bb-watch" "$http_port6" "$https_port6" "$tmp/bb/sh" "$tmp/bb"
    rot_port=$https_port6
    check "watch.sh under busybox serves with the current key" "$(rot)" "200 $origin2"
    api DELETE "/api/v2/custom-domains/$rot_id" >/dev/null
    read -r rot_id key3 origin3 < <(new_verified_domain)
    kubelet_secret "$tmp/secret-bb-watch" v2 "$key3" "$origin3"
    got=""
    for _ in $(seq 1 100); do
        got=$(rot)
        [[ $got == "200 $origin3" ]] && break
        sleep 0.1
    done
    check "watch.sh under busybox: rotated key reaches the edge, same master, one reload" \
        "$got $(cat "$tmp/nginx-bb-watch/nginx.pid") $(grep -c 'reloading nginx' "$tmp/nginx-bb-watch/watch.log")" \
        "200 $origin3 $master 1"
else
    echo "# skipped: busybox render (apt-get install busybox to run it)"
fi

# --- the manifests carry these exact files -----------------------------------------------------
"$PY" -c 'import yaml' 2>/dev/null || die "python3 yaml (PyYAML) is needed to read the manifests"
kubectl kustomize "$edge_dir" >"$tmp/manifests.yaml"
"$PY" "$root/tests/edge-proxy/check_manifests.py" "$edge_dir" <"$tmp/manifests.yaml"
# The README's per-domain overlay example, as written there.
mkdir -p "$tmp/overlay"
rel=$("$PY" -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$edge_dir" "$tmp/overlay")
sed -n '/^# kustomization.yaml of an overlay/,/^```/p' "$edge_dir/README.md" | sed '$d' |
    sed "s|\.\./\.\./deploy/edge-proxy|$rel|" >"$tmp/overlay/kustomization.yaml"
kubectl kustomize "$tmp/overlay" >"$tmp/overlay.yaml" || die "the README's overlay example does not build"
"$PY" "$root/tests/edge-proxy/check_manifests.py" "$edge_dir" <"$tmp/overlay.yaml" >/dev/null ||
    die "the README's overlay breaks the manifest checks"
check "README overlay: Secrets replaced, names suffixed, namespace set" \
    "$(grep -E '^ +secretName: |^  name: auth0-edge-proxy-login$|^  namespace: auth$' "$tmp/overlay.yaml" | sed 's/^ *//' | sort -u | paste -sd,)" \
    "name: auth0-edge-proxy-login,namespace: auth,secretName: login-auth0-edge,secretName: login-tls"

echo "# $pass checks passed (+ manifest checks) in $(($(date +%s) - started)) s"
