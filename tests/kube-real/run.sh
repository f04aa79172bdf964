#!/usr/bin/env bash
# `make test-kube-real`: the e2e suite and the bad-input corpus on a real kube-apiserver.
#   1. tests/kube-real/start.sh: etcd + kube-apiserver + kube-controller-manager (GC, namespaces)
#   2. as admin: crds/, then deploy/base's Namespace, ServiceAccount and RBAC (rendered with
#      `kubectl kustomize`; the Deployment, PDB, Service and ServiceMonitor are left out: no nodes)
#   3. a token for that ServiceAccount (TokenRequest: `kubectl create token`) in its own kubeconfig
#   4. cargo test -p e2e with E2E_KUBECONFIG = the ServiceAccount's kubeconfig (the operator's
#      identity) and E2E_ADMIN_KUBECONFIG = admin (the harness's setup and checks)
#   5. tests/bad-input/run.py --kubeconfig admin
#   6. tests/kube-real/audit.py: what the ServiceAccount asked for, and every request it was denied
# Stops the cluster on exit. Needs `cargo build --bin auth0-domain-operator` first (make does it).
#   KUBE_REAL_DIR      cluster directory (default target/kube-real; kept after the run for its logs)
#   KUBE_REAL_E2E_ARGS extra arguments for `cargo test -p e2e` (e.g. "--test scenarios -- delete_policy")
#   KUBE_REAL_SKIP     space-separated steps to leave out: e2e bad-input
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
dir=${KUBE_REAL_DIR:-$root/target/kube-real}
skip=" ${KUBE_REAL_SKIP:-} "
t_start=$SECONDS
step() { echo "== kube-real [$((SECONDS - t_start)) s] $*"; }

[[ -f $dir/pids ]] && bash "$here/stop.sh" "$dir"
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { bash "$here/stop.sh" "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

step "starting etcd, kube-apiserver and kube-controller-manager"
bash "$here/start.sh" "$dir" >/dev/null
# shellcheck disable=SC1091
source "$dir/env"
export KUBECTL
admin=$KUBE_REAL_KUBECONFIG
k() { "$KUBECTL" --kubeconfig "$admin" "$@"; }
# Right after a create the API server serves a CRD without status.conditions for a moment, and
# kubectl wait then fails at once (".status.conditions accessor error") instead of waiting: retry.
wait_established() {
  local i
  for i in $(seq 1 20); do
    k wait --for=condition=Established --timeout=30s "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  k wait --for=condition=Established --timeout=30s "$@" >/dev/null
}
"$KUBECTL" version --kubeconfig "$admin" | sed 's/^/   /'

step "applying crds/ and deploy/base's ServiceAccount and RBAC"
k apply -f crds/ >/dev/null
wait_established crd/customdomains.auth0.domain-operator.dev crd/auth0tenants.auth0.domain-operator.dev
k kustomize deploy/base >"$dir/deploy-base.yaml"
python3 - "$dir/deploy-base.yaml" >"$dir/deploy-base-rbac.yaml" <<'EOF'
import re, sys
keep = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
docs = re.split(r"^---\s*$", open(sys.argv[1]).read(), flags=re.M)
out = [d.strip("\n") for d in docs if (m := re.search(r"^kind: (\S+)", d, re.M)) and m.group(1) in keep]
print("\n---\n".join(out))
EOF
k apply -f "$dir/deploy-base-rbac.yaml" | sed 's/^/   /'
sa_ns=$(python3 -c 'import re,sys; print(re.search(r"^namespace: (\S+)", open(sys.argv[1]).read(), re.M).group(1))' deploy/base/kustomization.yaml)
sa=$(k get -n "$sa_ns" serviceaccount -o jsonpath='{.items[0].metadata.name}')
[[ -n $sa ]] || { echo "kube-real: no ServiceAccount from deploy/base in $sa_ns" >&2; exit 1; }

step "TokenRequest for ServiceAccount $sa_ns/$sa"
token=$(k create token "$sa" -n "$sa_ns" --duration=2h)
ca=$(python3 -c 'import re,sys; print(re.search(r"certificate-authority-data: (\S+)", open(sys.argv[1]).read()).group(1))' "$admin")
cat >"$dir/operator.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-real
  cluster: {server: "$KUBE_REAL_SERVER", certificate-authority-data: "$ca"}
users:
- name: $sa
  user: {token: "$token"}
contexts:
- name: $sa@kube-real
  context: {cluster: kube-real, user: $sa}
current-context: $sa@kube-real
EOF
chmod 600 "$dir/operator.kubeconfig"
whoami=$("$KUBECTL" --kubeconfig "$dir/operator.kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}')
echo "   the operator authenticates as $whoami"
[[ $whoami == "system:serviceaccount:$sa_ns:$sa" ]] || { echo "kube-real: unexpected identity $whoami" >&2; exit 1; }

status=0
if [[ $skip != *" e2e "* ]]; then
  step "cargo test -p e2e on the real server (operator as $whoami)"
  t0=$SECONDS
  # shellcheck disable=SC2086
  E2E_KUBECONFIG=$dir/operator.kubeconfig E2E_ADMIN_KUBECONFIG=$admin E2E_LEASE_NAMESPACE=$sa_ns \
    E2E_OPERATOR_SERVICEACCOUNT=$sa_ns:$sa \
    ${CARGO:-cargo} test -p e2e --no-fail-fast ${KUBE_REAL_E2E_ARGS:-} 2>&1 | tee "$dir/e2e.log" || status=1
  echo "   e2e: $((SECONDS - t0)) s"
fi

if [[ $skip != *" bad-input "* ]]; then
  step "bad-input corpus through kubectl $KUBECTL"
  t0=$SECONDS
  python3 tests/bad-input/run.py --kubeconfig "$admin" 2>&1 | tee "$dir/bad-input.log" || status=1
  echo "   bad-input: $((SECONDS - t0)) s"
fi

step "requests made as ServiceAccounts (audit log)"
python3 "$here/audit.py" "$dir/audit.log" || status=1

step "done in $((SECONDS - t_start)) s (logs in ${dir#"$root"/})"
exit $status
