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

say "starting the operator (logs: $DIR/logs/operator.log)"
SSL_CERT_FILE=$DIR/tls/ca.pem RUST_LOG=${RUST_LOG:-info} "$BIN/auth0-domain-operator" run \
  --cluster-id sandbox --dns-nameservers "$DNS" --metrics-addr 127.0.0.1:0 \
  --extra-tenant-domain-suffix auth0.local --allow-custom-api-url --credentials-namespace auth0-domain-operator \
  >"$DIR/logs/operator.log" 2>&1 & pids+=($!)

say "applying examples/ (self-managed and Auth0-managed domains)"
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
say "all $total domains are Ready"

if [ "${SANDBOX_EXIT:-0}" = 1 ]; then exit 0; fi
cat <<TXT

The sandbox keeps running. In another terminal:
  export KUBECONFIG=$DIR/kubeconfig$( [ "$KUBE" = real ] && printf '   # kubectl of the server'"'"'s release: %s' "$KUBECTL")
  kubectl get customdomains -A            # or: kubectl get acd -A -o wide
  kubectl describe customdomain app-login
  kubectl get secret app-login-edge -o yaml
Logs are in $DIR/logs. Press Ctrl-C to stop everything.
TXT
wait "${pids[@]}"
