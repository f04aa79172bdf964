#!/usr/bin/env bash
# Starts a real Kubernetes control plane on loopback for the tests: etcd, kube-apiserver (RBAC,
# a static admin token, service-account tokens signed with a generated key, an audit log of the
# requests made as ServiceAccounts) and kube-controller-manager with only the garbage collector
# and the namespace controller (no nodes, no scheduler, no pods). Binaries come from
# .ci/deps-kube-real.sh (`make deps`).
#
#   tests/kube-real/start.sh [DIR]     start; DIR (default: a new /tmp/kube-real.XXXXXX) receives
#                                      certs, data, logs and admin.kubeconfig; prints DIR last
#   tests/kube-real/stop.sh DIR        stop what start.sh started there
#
# DIR/env holds KUBE_REAL_DIR, KUBE_REAL_SERVER, KUBE_REAL_KUBECONFIG (admin), KUBE_REAL_BIN and
# KUBECTL (the kubectl of the server's release) for `source`. start.sh returns once /readyz answers
# ok; on failure it stops what it started and shows the logs' tails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(bash "$root/.ci/deps-kube-real.sh" --print-dir)
for b in etcd kube-apiserver kube-controller-manager kubectl; do
  [[ -x $bin/$b ]] || { echo "kube-real: $bin/$b is missing: run 'make deps' (or bash .ci/deps-kube-real.sh)" >&2; exit 1; }
done
dir=${1:-$(mktemp -d /tmp/kube-real.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[[ ! -s $dir/pids ]] || { echo "kube-real: $dir/pids exists: stop that cluster first (tests/kube-real/stop.sh $dir)" >&2; exit 1; }
: >"$dir/pids"
t0=$(date +%s.%N)

fail() {
  echo "kube-real: $*" >&2
  for log in etcd kube-apiserver kube-controller-manager; do
    [[ -s $dir/$log.log ]] && { echo "--- $dir/$log.log (tail)" >&2; tail -n 25 "$dir/$log.log" >&2; }
  done
  bash "$here/stop.sh" "$dir" >&2 || true
  exit 1
}

# Three free loopback ports (bound and released at once; nothing else here takes ports so fast).
read -r etcd_port peer_port api_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

# PKI: one CA, the serving cert (127.0.0.1, localhost and the in-cluster names), the
# service-account signing key pair. ECDSA P-256: generated in milliseconds.
pki=$dir/pki
mkdir -p "$pki"
(
  cd "$pki"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 7 -subj "/CN=kube-real-ca" -out ca.crt 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out apiserver.key 2>/dev/null
  openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
    "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >apiserver.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -sha256 \
    -extfile apiserver.ext -out apiserver.crt 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out sa.key 2>/dev/null
  openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
) || fail "generating certificates with openssl failed"

admin_token=$(openssl rand -hex 24)
printf '%s,kube-real-admin,kube-real-admin,"system:masters"\n' "$admin_token" >"$pki/tokens.csv"
chmod 600 "$pki"/*.key "$pki/tokens.csv"

# Audit: every request made by a ServiceAccount (the operator's), at Metadata level (verb,
# resource, namespace, user, response code): tests/kube-real/audit.py summarises it.
cat >"$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  userGroups: ["system:serviceaccounts"]
- level: None
EOF

server=https://127.0.0.1:$api_port
write_kubeconfig() { # file user token
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-real
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: $2@kube-real
  context: {cluster: kube-real, user: $2}
current-context: $2@kube-real
EOF
  chmod 600 "$1"
}
write_kubeconfig "$dir/admin.kubeconfig" kube-real-admin "$admin_token"

start_bg() { # name args... : own session, so stop.sh can end the whole process group
  local name=$1
  shift
  setsid "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo "$! $name" >>"$dir/pids"
}

start_bg etcd "$bin/etcd" --name kube-real --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "kube-real=http://127.0.0.1:$peer_port" \
  --unsafe-no-fsync --log-level warn

start_bg kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --token-auth-file "$pki/tokens.csv" \
  --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none \
  --audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/audit.log" \
  --audit-log-mode blocking \
  --profiling=false

ready=
for _ in $(seq 1 600); do
  if curl -fsS --max-time 2 --cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token" \
    "$server/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  while read -r pid name; do
    kill -0 "$pid" 2>/dev/null || fail "$name exited during start"
  done <"$dir/pids"
  sleep 0.1
done
[[ -n $ready ]] || fail "kube-apiserver /readyz not ok within 60 s"

start_bg kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$dir/admin.kubeconfig" \
  --controllers garbage-collector-controller,namespace-controller \
  --leader-elect=false --secure-port 0 \
  --use-service-account-credentials=false

cat >"$dir/env" <<EOF
KUBE_REAL_DIR=$dir
KUBE_REAL_SERVER=$server
KUBE_REAL_KUBECONFIG=$dir/admin.kubeconfig
KUBE_REAL_BIN=$bin
KUBECTL=$bin/kubectl
EOF
printf 'kube-real: %s ready in %.1f s (etcd 127.0.0.1:%s; admin kubeconfig %s/admin.kubeconfig; stop: tests/kube-real/stop.sh %s)\n' \
  "$server" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$etcd_port" "$dir" "$dir" >&2
echo "$dir"
