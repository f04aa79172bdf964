#!/usr/bin/env bash
# `make sandbox`: the operator against local stand-ins for Auth0, Kubernetes and DNS.
#
# Starts the test DNS server, the Auth0 simulator and the Kubernetes API simulator, applies the
# CRDs and examples/, runs the operator, plays the part of "the person who creates DNS records"
# (publishes each record the CustomDomains ask for), and shows `kubectl get customdomains -w`
# until every domain is Ready. Then it leaves everything running for you to explore with kubectl
# (Ctrl-C stops it). SANDBOX_EXIT=1 exits once all domains are Ready (used by the tests).
# KUBE=real (`make sandbox KUBE=real`) runs a real kube-apiserver instead of the Kubernetes API
# simulator: etcd, kube-apiserver and kube-controller-manager from tests/kube-real (built by
# `make deps`), admin credentials for kubectl and the operator; stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DIR=${SANDBOX_DIR:-$ROOT/.sandbox}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug
TIMEOUT=${SANDBOX_TIMEOUT:-180}
KUBE=${KUBE:-sim}

START=$SECONDS
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
case $KUBE in sim | real) ;; *) die "KUBE must be sim (the default) or real, not '$KUBE'" ;; esac

say "building the operator and the simulators (cargo build --workspace --bins)"
cargo build --quiet --workspace --bins

# A real control plane left by an earlier sandbox that was killed before its cleanup ran.
[ -s "$DIR/kube-real/pids" ] && bash tests/kube-real/stop.sh "$DIR/kube-real"
rm -rf "$DIR" && mkdir -p "$DIR/tls" "$DIR/logs"
pids=()
kube_real=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$kube_real" ]; then bash tests/kube-real/stop.sh "$kube_real" || true; fi
}
trap cleanup EXIT INT TERM

wait_file() { # path, what
  for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.1; done
  die "$2 did not start (see $DIR/logs)"
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

say "starting the test DNS server"
"$BIN/test-dns" --listen 127.0.0.1:0 --control-listen 127.0.0.1:0 --ready-file "$DIR/dns.json" \
  >"$DIR/logs/test-dns.log" 2>&1 & pids+=($!)
wait_file "$DIR/dns.json" test-dns
DNS=$(json "$DIR/dns.json" dns); DNS_CONTROL=$(json "$DIR/dns.json" control)

CLIENT_ID=sandbox-client
CLIENT_SECRET=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
say "starting the Auth0 simulator (DNS at $DNS)"
"$BIN/auth0-sim" --listen 127.0.0.1:0 --tls-dir "$DIR/tls" --client "$CLIENT_ID:$CLIENT_SECRET" \
  --tenant sandbox --tenant-domain sandbox.auth0.local --dns-server "$DNS" --edge-listen 127.0.0.1:0 --control --cert-delay 3000 \
  --rate-limit 10:20 --ready-file "$DIR/auth0.json" >"$DIR/logs/auth0-sim.log" 2>&1 & pids+=($!)
wait_file "$DIR/auth0.json" auth0-sim
AUTH0_URL=$(json "$DIR/auth0.json" url); AUTH0_DOMAIN=$(json "$DIR/auth0.json" tenant_domain)

if [ "$KUBE" = real ]; then
  say "starting a real Kubernetes control plane (tests/kube-real: etcd, kube-apiserver, kube-controller-manager)"
  kube_real=$DIR/kube-real
  bash tests/kube-real/start.sh "$kube_real" >/dev/null
  # shellcheck disable=SC1091
  source "$kube_real/env"
  cp "$KUBE_REAL_KUBECONFIG" "$DIR/kubeconfig"
  # The kubectl of the server's release (on PATH, not a function: `kubectl … &` must be the
  # process that `kill` ends).
  mkdir -p "$DIR/bin" && ln -s "$KUBECTL" "$DIR/bin/kubectl"
  export PATH=$DIR/bin:$PATH
else
  say "starting the Kubernetes API simulator"
  "$BIN/kube-sim" --listen 127.0.0.1:0 --kubeconfig "$DIR/kubeconfig" --ready-file "$DIR/kube.json" \
    >"$DIR/logs/kube-sim.log" 2>&1 & pids+=($!)
  wait_file "$DIR/kube.json" kube-sim
fi
export KUBECONFIG=$DIR/kubeconfig

say "applying the CRDs and the tenant"
kubectl apply -f crds/ >/dev/null
# Retried: with KUBE=real a just-created CRD is served for a moment without status.conditions,
# and kubectl wait then fails at once instead of waiting.
for _ in $(seq 1 20); do
  kubectl wait --for=condition=Established crd/customdomains.auth0.domain-operator.dev --timeout=30s >/dev/null 2>&1 && break
  sleep 0.25
done
kubectl wait --for=condition=Established crd/customdomains.auth0.domain-operator.dev --timeout=30s >/dev/null
kubectl create namespace auth0-domain-operator >/dev/null
kubectl -n auth0-domain-operator create secret generic auth0-credentials \
  --from-literal=client_id="$CLIENT_ID" --from-literal=client_secret="$CLIENT_SECRET" >/dev/null
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: Auth0Tenant
metadata:
  name: default
spec:
  domain: $AUTH0_DOMAIN
  managementApiUrl: $AUTH0_URL
  credentialsSecretRef: {namespace: auth0-domain-operator, name: auth0-credentials}
  rateLimit: {requestsPerSecond: 5, burst: 10}
  resyncInterval: 1m
YAML

# A fixed port for the operator's /metrics, /healthz and /readyz, so the sandbox can print it.
METRICS=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CA=$DIR/tls/ca.pem
say "starting the operator (metrics and health on http://$METRICS, logs: $DIR/logs/operator.log)"
SSL_CERT_FILE=$CA RUST_LOG=${RUST_LOG:-info} "$BIN/auth0-domain-operator" run \
  --cluster-id sandbox --dns-nameservers "$DNS" --metrics-addr "$METRICS" \
  --extra-tenant-domain-suffix auth0.local --allow-custom-api-url --credentials-namespace auth0-domain-operator \
  >"$DIR/logs/operator.log" 2>&1 & pids+=($!)

say "applying examples/ (self-managed and Auth0-managed domains)"
applied_at=$SECONDS
kubectl apply -f examples/self-managed.yaml -f examples/auth0-managed.yaml

# Plays the DNS administrator: publishes every record a CustomDomain asks for.
publish_records() {
  kubectl get customdomains -A -o json | python3 -c '
import json, sys
for cd in json.load(sys.stdin)["items"]:
    for r in ((cd.get("status") or {}).get("verification") or {}).get("records") or []:
        print(r["type"], r["name"], r["value"])' | while read -r type name value; do
    if ! grep -qxF "$type $name $value" "$DIR/published" 2>/dev/null; then
      curl -fsS -X PUT "$DNS_CONTROL/records" -H 'content-type: application/json' \
        -d "{\"name\":\"$name\",\"type\":\"$type\",\"value\":\"$value\"}" >/dev/null
      echo "$type $name $value" >>"$DIR/published"
      say "published DNS record: $type $name -> $value"
    fi
  done
}

say "waiting for every CustomDomain to be Ready (kubectl get customdomains -w)"
kubectl get customdomains -A -w &
watch_pid=$!
deadline=$((SECONDS + TIMEOUT))
while :; do
  publish_records
  total=$(kubectl get customdomains -A --no-headers 2>/dev/null | wc -l)
  ready=$(kubectl get customdomains -A -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
  [ "$total" -gt 0 ] && [ "$ready" -eq "$total" ] && break
  [ $SECONDS -ge $deadline ] && { kill $watch_pid 2>/dev/null; tail -30 "$DIR/logs/operator.log"; die "not all domains Ready after ${TIMEOUT}s"; }
  sleep 2
done
kill $watch_pid 2>/dev/null || true
echo
kubectl get customdomains -A
say "all $total domains are Ready: $((SECONDS - START)) s after the sandbox started, $((SECONDS - applied_at)) s after examples/ were applied"

# The Auth0 simulator's token request, with the sandbox's generated secret, in a file readable only
# by you (curl -d @file), so the secret is never printed.
(umask 077 && printf '{"grant_type":"client_credentials","client_id":"%s","client_secret":"%s","audience":"https://%s/api/v2/"}\n' \
  "$CLIENT_ID" "$CLIENT_SECRET" "$AUTH0_DOMAIN" >"$DIR/token-request.json")

# Commands to try, printed below and run here first (each must succeed), so what the sandbox
# prints is what it tested.
cat >"$DIR/try.sh" <<TRY
export KUBECONFIG=$DIR/kubeconfig$( [ "$KUBE" = real ] && printf '   # kubectl of the server'"'"'s release: %s' "$KUBECTL")
kubectl get customdomains -A -o wide
kubectl get auth0tenants
kubectl describe customdomain app-login
kubectl get secret app-login-edge -o yaml

# The operator: health, readiness and metrics
curl -fsS http://$METRICS/healthz
curl -fsS http://$METRICS/readyz
curl -fsS http://$METRICS/metrics | grep '^auth0_domain_operator_custom_domains'

# DNS (nameserver $DNS): list the records, publish one by hand (the sandbox publishes the ones
# CustomDomains ask for; a record for a new CustomDomain of yours is published the same way)
curl -fsS $DNS_CONTROL/records
curl -fsS -X PUT $DNS_CONTROL/records -H 'content-type: application/json' -d '{"name":"_cf-custom-hostname.hello.example.com","type":"TXT","value":"published-by-hand"}'

# The Auth0 simulator's Management API with the sandbox's M2M credentials (TLS with the CA $CA)
TOKEN=\$(curl -fsS --cacert $CA -H 'content-type: application/json' -d @$DIR/token-request.json $AUTH0_URL/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS --cacert $CA -H "authorization: Bearer \$TOKEN" $AUTH0_URL/api/v2/custom-domains

# Check the sandbox's tenant as you would a real one: SSL_CERT_FILE makes the simulator's CA trusted
SSL_CERT_FILE=$CA $BIN/auth0-domain-operator check --tenant default
TRY
say "running the commands it prints (output: $DIR/logs/try.log)"
if ! (cd "$ROOT" && PATH=$PATH bash -euo pipefail -x "$DIR/try.sh") >"$DIR/logs/try.log" 2>&1; then
  tail -30 "$DIR/logs/try.log"
  die "a command the sandbox prints failed (see $DIR/logs/try.log)"
fi
grep -q "credentials accepted" "$DIR/logs/try.log" || die "check --tenant default did not accept the sandbox's credentials"

# Without SSL_CERT_FILE, check must say what to do rather than only "UnknownIssuer".
if (env -u SSL_CERT_FILE "$BIN/auth0-domain-operator" check --tenant default >"$DIR/logs/check-untrusted.log" 2>&1); then
  die "check trusted the simulator's private CA without SSL_CERT_FILE"
fi
grep -q "set SSL_CERT_FILE to its CA" "$DIR/logs/check-untrusted.log" \
  || die "check without SSL_CERT_FILE did not name the fix (see $DIR/logs/check-untrusted.log)"

# Every file in examples/ must pass the API server's validation (a server-side dry run), and
# examples/tenant.yaml, for a real tenant, must not replace the sandbox's tenant "default" or its
# Secret auth0-credentials.
kubectl apply --dry-run=server -f examples/ >"$DIR/logs/examples-dry-run.log" 2>&1 \
  || { cat "$DIR/logs/examples-dry-run.log"; die "a file in examples/ is refused by the API server"; }
for kind_name in $(kubectl create --dry-run=client -o jsonpath='{.kind}/{.metadata.name}{" "}' -f examples/tenant.yaml); do
  case $kind_name in Auth0Tenant/default | Secret/auth0-credentials)
    die "examples/tenant.yaml would replace the sandbox's $kind_name" ;;
  esac
done

# Blocks of README.md and docs/*.md marked `<!-- sandbox: run -->` run against this sandbox
# (the sandbox's directory in place of .sandbox).
python3 - "$DIR" README.md docs/*.md >"$DIR/doc-blocks.sh" <<'PY'
import re, sys
out = ["set -euo pipefail"]
n = 0
for path in sys.argv[2:]:
    text = open(path).read()
    for m in re.finditer(r"<!-- sandbox: run -->\s*```sh\n(.*?)```", text, re.S):
        n += 1
        out.append(f"echo '--- {path} block {n}'")
        out.append(m.group(1).replace("$PWD/.sandbox", sys.argv[1]))
out.append(f"echo 'doc blocks run: {n}'")
print("\n".join(out))
PY
doc_blocks=$(grep -c '^echo .--- ' "$DIR/doc-blocks.sh" || true)
if ! PATH=$BIN:$PATH SSL_CERT_FILE=$CA bash -x "$DIR/doc-blocks.sh" >"$DIR/logs/doc-blocks.log" 2>&1; then
  tail -30 "$DIR/logs/doc-blocks.log"
  die "a documented command failed against the sandbox (see $DIR/logs/doc-blocks.log)"
fi
[ "$doc_blocks" -gt 0 ] || die "no <!-- sandbox: run --> blocks found in README.md or docs/"
say "ran $doc_blocks documented command blocks against the sandbox"

cat <<TXT

Where everything is:
  Kubernetes ($( [ "$KUBE" = real ] && echo "kube-apiserver" || echo "kube-sim" ))  KUBECONFIG=$DIR/kubeconfig
  operator                 http://$METRICS/metrics  /healthz  /readyz   logs: $DIR/logs/operator.log
  DNS (test-dns)           nameserver $DNS, control API $DNS_CONTROL (GET/PUT/DELETE /records)
  Auth0 simulator          $AUTH0_URL (tenant domain $AUTH0_DOMAIN), CA $CA
                           M2M client $CLIENT_ID, token request (with the secret) in $DIR/token-request.json
  SSL_CERT_FILE            $CA   (for auth0-domain-operator check, curl --cacert, SDKs)

Try (each of these was just run; output in $DIR/logs/try.log):
$(sed 's/^/  /' "$DIR/try.sh")
TXT
if [ "${SANDBOX_EXIT:-0}" = 1 ]; then exit 0; fi
cat <<TXT

The sandbox keeps running. Logs are in $DIR/logs. Press Ctrl-C to stop everything.
TXT
wait "${pids[@]}"
