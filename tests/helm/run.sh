#!/usr/bin/env bash
# Tests charts/auth0-domain-operator with the pinned helm (.ci/deps-helm.sh) and the real
# kube-apiserver of tests/kube-real, one `ok`/`FAIL` line per check, non-zero exit on any failure:
#   1. the chart's crds/ are byte-identical to the repository's crds/ (same files); Chart.yaml's
#      version and appVersion are Cargo.toml's;
#   2. `helm lint --strict` with the default values and with every documented toggle;
#   3. `helm template --include-crds` against `kubectl kustomize` of deploy/: default values vs
#      deploy/base, rbac.scope=namespaced vs deploy/overlays/namespaced, the dev values vs
#      deploy/overlays/dev; same objects, field by field, but for the intended differences
#      listed (with their reasons) in tests/helm/compare.py; the comparison must catch a planted
#      difference;
#   4. `helm template` with each documented value toggled is applied with
#      `kubectl apply --dry-run=server` to the real API server (schema, CEL, RBAC objects);
#      combinations the chart refuses (replicas without leader election, …) must fail;
#   5. `helm install` into the real kube-apiserver: CRDs and every rendered object exist, and
#      `kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>` grants exactly the verbs of
#      tests/deploy/rbac-expected.tsv (and not delete, nor other namespaces where namespaced);
#      `helm upgrade` to rbac.scope=namespaced and to leaderElection off; `helm uninstall` keeps
#      the CRDs. There are no nodes, so pods never run.
# Env: KUBE_REAL_DIR (cluster directory; default a new temporary one, removed at the end),
#      HELM_TEST_KEEP=1 keeps it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
START=$(date +%s.%N)
FAILS=0
PASSES=0
CHART=charts/auth0-domain-operator
REL=auth0-domain-operator
NS=auth0-domain-operator
SA=system:serviceaccount:$NS:auth0-domain-operator
WORK=$(mktemp -d /tmp/helm-test.XXXXXX)
CLUSTER=""

cleanup() {
  if [[ -n $CLUSTER ]]; then
    if [[ ${HELM_TEST_KEEP:-} == 1 ]]; then
      bash tests/kube-real/stop.sh "$CLUSTER" >/dev/null 2>&1
      echo "kept $CLUSTER (logs) and $WORK"
    else
      bash tests/kube-real/stop.sh "$CLUSTER" --rm >/dev/null 2>&1
    fi
  fi
  [[ ${HELM_TEST_KEEP:-} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

pass() { echo "ok   $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # DESCRIPTION COMMAND...: shows the output only on failure
  local desc=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc"; sed 's/^/       /' <<<"$out" | tail -20; fi
}
check_fails() { # DESCRIPTION PATTERN COMMAND...: must fail, with PATTERN in its output
  local desc=$1 pat=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    fail "$desc (it succeeded)"
  elif ! grep -qE -- "$pat" <<<"$out"; then
    fail "$desc (failed without /$pat/)"
    sed 's/^/       /' <<<"$out" | tail -5
  else
    pass "$desc"
  fi
}
pyout() { # a python checker printing its own ok/FAIL lines
  local out rc
  out=$(python3 "$@" 2>&1)
  rc=$?
  grep -v '^info' <<<"$out"
  FAILS=$((FAILS + $(grep -c '^FAIL' <<<"$out")))
  PASSES=$((PASSES + $(grep -c '^ok' <<<"$out")))
  if ((rc != 0)) && ! grep -q '^FAIL' <<<"$out"; then fail "python3 $*"; fi
}
finish() {
  local secs
  secs=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  echo "tests/helm: ${secs} s"
  echo "helm: $PASSES passed, $FAILS failed"
  ((FAILS == 0))
  exit
}

HELM_DIR=$(bash .ci/deps-helm.sh --print-dir)
HELM=$HELM_DIR/helm
KUBE_BIN=$(bash .ci/deps-kube-real.sh --print-dir)
KUBECTL=$KUBE_BIN/kubectl
[[ -x $HELM ]] || { echo "FAIL $HELM missing: run 'make deps' (or bash .ci/deps-helm.sh)"; exit 1; }
[[ -x $KUBECTL ]] || { echo "FAIL $KUBECTL missing: run 'make deps' (or bash .ci/deps-kube-real.sh)"; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL python3 cannot import yaml (run .ci/deps-deploy.sh)"; exit 1; }
# helm keeps its own state (repositories, cache) out of the home directory.
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
echo "helm $("$HELM" version --short), kubectl $("$KUBECTL" version --client 2>/dev/null | sed -n 1p | awk '{print $3}')"

# ---------------------------------------------------------------------------------------------
# 1. CRDs and version
crds_same() {
  local f rc=0 repo chart
  repo=$(cd crds && ls ./*.yaml | sort)
  chart=$(cd $CHART/crds && ls ./*.yaml | sort)
  [[ $repo == "$chart" ]] || { echo "crds/: $repo"; echo "$CHART/crds/: $chart"; rc=1; }
  for f in crds/*.yaml; do
    cmp "$f" "$CHART/crds/$(basename "$f")" || rc=1
  done
  return $rc
}
check "chart crds/ are byte-identical to crds/ (copy them: cp crds/*.yaml $CHART/crds/)" crds_same
cargo_version=$(awk -F'"' '/^version *=/ {print $2; exit}' Cargo.toml)
versions_same() {
  local v av
  v=$(awk '$1 == "version:" {print $2}' $CHART/Chart.yaml)
  av=$(awk '$1 == "appVersion:" {gsub(/"/, "", $2); print $2}' $CHART/Chart.yaml)
  [[ $v == "$cargo_version" && $av == "$cargo_version" ]] ||
    { echo "Chart.yaml version $v appVersion $av, Cargo.toml $cargo_version"; return 1; }
}
check "Chart.yaml version and appVersion = Cargo.toml's $cargo_version" versions_same

# ---------------------------------------------------------------------------------------------
# 2. lint; the value sets every later step renders
declare -A SETS=(
  [default]=""
  [servicemonitor]="serviceMonitor.enabled=true,serviceMonitor.interval=1m,serviceMonitor.labels.release=prom"
  [metrics-off]="metrics.enabled=false"
  [namespaced]="rbac.scope=namespaced"
  [namespaced-other]="rbac.scope=namespaced,rbac.watchNamespace=domains"
  [single]="replicaCount=1,leaderElection.enabled=false"
  [lease]="leaderElection.leaseName=my-lease,replicaCount=3"
  [operator-args]="operator.clusterId=prod-eu,operator.dnsNameservers={1.1.1.1,9.9.9.9:53},operator.logFormat=text,operator.logLevel=debug,operator.concurrency=4,operator.extraArgs={--dns-preflight=false}"
  [image]="image.repository=registry.example.com/a0do,image.tag=1.2.3,image.pullPolicy=Always,imagePullSecrets[0].name=regcred"
  [resources]="resources.requests.cpu=100m,resources.requests.memory=128Mi,resources.limits.memory=1Gi"
  [no-pdb]="podDisruptionBudget.enabled=false"
  [no-netpol]="networkPolicy.enabled=false"
  [no-rbac]="rbac.create=false"
  [own-sa]="serviceAccount.create=false,serviceAccount.name=existing"
  [scheduling]="nodeSelector.pool=ops,tolerations[0].key=ops,tolerations[0].operator=Exists,priorityClassName=system-cluster-critical,podLabels.team=idp,podAnnotations.note=x"
  [fullname]="fullnameOverride=a0do"
)
# Value files of tests/helm/values/ are value sets too (for what --set cannot say well).
for f in tests/helm/values/*.yaml; do SETS[$(basename "$f" .yaml)]="file:$f"; done
set_args() {
  case ${SETS[$1]} in
  "") ;;
  file:*) printf -- '-f\n%s\n' "${SETS[$1]#file:}" ;;
  *) printf -- '--set\n%s\n' "${SETS[$1]}" ;;
  esac
}
render() { # NAME [extra helm args]: helm template of a value set, into $WORK/NAME.yaml
  local name=$1
  shift
  mapfile -t a < <(set_args "$name")
  "$HELM" template "$REL" $CHART -n $NS "${a[@]}" "$@" >"$WORK/$name.yaml"
}
for name in $(printf '%s\n' "${!SETS[@]}" | sort); do
  mapfile -t a < <(set_args "$name")
  check "helm lint --strict ($name${SETS[$name]:+: ${SETS[$name]}})" "$HELM" lint --strict $CHART -n $NS "${a[@]}"
done
check_fails "refused: replicaCount=2 without leader election" "needs leaderElection.enabled" \
  "$HELM" template "$REL" $CHART --set leaderElection.enabled=false
check_fails "refused: ServiceMonitor without the metrics Service" "needs metrics.enabled" \
  "$HELM" template "$REL" $CHART --set serviceMonitor.enabled=true,metrics.enabled=false
check_fails "refused: rbac.scope=everywhere" "rbac.scope must be|/rbac/scope': value must be one of" \
  "$HELM" template "$REL" $CHART --set rbac.scope=everywhere
check_fails "refused: operator.logFormat=xml" "logFormat must be|/operator/logFormat': value must be one of" \
  "$HELM" template "$REL" $CHART --set operator.logFormat=xml
# values.schema.json: a misspelt key or a wrong type is an error, not silently ignored.
check_fails "refused (values.schema.json): misspelt key rbac.scop" "additional properties 'scop' not allowed" \
  "$HELM" template "$REL" $CHART --set rbac.scop=namespaced
check_fails "refused (values.schema.json): replicaCount=two" "/replicaCount': got string, want integer" \
  "$HELM" template "$REL" $CHART --set replicaCount=two
check_fails "refused: serviceAccount.create=false without a name" "serviceAccount.name is required" \
  "$HELM" template "$REL" $CHART --set serviceAccount.create=false

# ---------------------------------------------------------------------------------------------
# 3. same objects as deploy/ (kustomize)
"$KUBECTL" kustomize deploy/base >"$WORK/k-base.yaml" || fail "kubectl kustomize deploy/base"
"$KUBECTL" kustomize deploy/overlays/namespaced >"$WORK/k-namespaced.yaml" || fail "kubectl kustomize deploy/overlays/namespaced"
"$KUBECTL" kustomize deploy/overlays/dev >"$WORK/k-dev.yaml" || fail "kubectl kustomize deploy/overlays/dev"
render default --include-crds && cp "$WORK/default.yaml" "$WORK/h-default.yaml"
pyout tests/helm/compare.py "$WORK/k-base.yaml" "$WORK/h-default.yaml" --label "default values vs deploy/base" --servicemonitor-off
"$HELM" template "$REL" $CHART -n $NS --include-crds --set serviceMonitor.enabled=true >"$WORK/h-base.yaml"
pyout tests/helm/compare.py "$WORK/k-base.yaml" "$WORK/h-base.yaml" --label "serviceMonitor.enabled vs deploy/base"
"$HELM" template "$REL" $CHART -n $NS --include-crds --set serviceMonitor.enabled=true,rbac.scope=namespaced >"$WORK/h-namespaced.yaml"
pyout tests/helm/compare.py "$WORK/k-namespaced.yaml" "$WORK/h-namespaced.yaml" --label "rbac.scope=namespaced vs deploy/overlays/namespaced"
"$HELM" template "$REL" $CHART -n $NS --include-crds --set serviceMonitor.enabled=true \
  --set replicaCount=1,leaderElection.enabled=false,operator.logFormat=text \
  --set 'operator.logLevel=info\,auth0_domain_operator=debug' \
  --set image.repository=auth0-domain-operator,image.tag=dev,image.pullPolicy=Never >"$WORK/h-dev.yaml"
pyout tests/helm/compare.py "$WORK/k-dev.yaml" "$WORK/h-dev.yaml" --label "dev values vs deploy/overlays/dev"
# The comparison itself: a planted difference (one RBAC verb, one flag) must fail it.
sed -e 's/verbs: \[create, patch\]/verbs: [create]/' -e 's/--leader-election=true/--leader-election=false/' \
  "$WORK/h-base.yaml" >"$WORK/h-planted.yaml"
planted=$(python3 tests/helm/compare.py "$WORK/k-base.yaml" "$WORK/h-planted.yaml" 2>&1)
if grep -q 'FAIL ClusterRole auth0-domain-operator' <<<"$planted" && grep -q 'FAIL Deployment' <<<"$planted"; then
  pass "compare.py catches a planted difference (events verb, --leader-election)"
else
  fail "compare.py missed a planted difference"
  sed 's/^/       /' <<<"$planted" | awk 'NR <= 20'
fi

# Renderings of the toggles: what each must (not) contain.
for name in "${!SETS[@]}"; do render "$name" || fail "helm template ($name)"; done
has() { # NAME [--] PATTERN: the rendering of value set NAME has a line matching PATTERN
  local f=$WORK/$1.yaml
  shift
  [[ $1 == -- ]] && shift
  grep -qE -e "$1" "$f"
}
kinds() { python3 -c 'import sys, yaml; print(" ".join(sorted(d["kind"] + "/" + d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[1])) if d)))' "$WORK/$1.yaml"; }
toggles() {
  local rc=0
  t() { if ! "$@"; then echo "not as expected: $*"; rc=1; fi; }
  nt() { if "$@"; then echo "not as expected: ! $*"; rc=1; fi; }
  t has servicemonitor 'kind: ServiceMonitor'; t has servicemonitor 'interval: 1m'; t has servicemonitor 'release: prom'
  nt has default 'kind: ServiceMonitor'; nt has default 'kind: Namespace'; nt has default 'kind: CustomResourceDefinition'
  nt has metrics-off 'kind: Service$'; t has metrics-off 'containerPort: 8080'
  t has namespaced -- '- --namespace=\$\(POD_NAMESPACE\)'; nt has default -- '--namespace='
  t has namespaced-other -- '- --namespace=domains'; t has namespaced-other 'namespace: domains'
  t has single -- '--leader-election=false'; nt has single 'leader-election$'; nt has single 'resources: \[leases\]'; t has single 'replicas: 1'
  t has lease -- '--lease-name=my-lease'; t has lease 'replicas: 3'
  t has operator-args -- '--cluster-id=prod-eu'; t has operator-args -- '--dns-nameservers=1.1.1.1,9.9.9.9:53'
  t has operator-args -- '--concurrency=4'; t has operator-args -- '- --dns-preflight=false'
  t has operator-args 'value: text'; t has operator-args 'name: RUST_LOG'
  nt has default -- '--cluster-id'; nt has default -- '--dns-nameservers'; nt has default 'RUST_LOG'
  t has image 'image: "registry.example.com/a0do:1.2.3"'; t has image 'imagePullPolicy: Always'; t has image 'name: regcred'
  t has default 'image: "ghcr.io/auth0-domain-operator/auth0-domain-operator:0.1.0"'
  t has resources 'memory: 1Gi'
  nt has no-pdb 'PodDisruptionBudget'
  nt has no-rbac 'kind: (Cluster)?Role'; t has no-rbac 'kind: Deployment'
  nt has own-sa '^kind: ServiceAccount'; t has own-sa 'serviceAccountName: existing'; t has own-sa 'name: existing'
  t has scheduling 'pool: ops'; t has scheduling 'priorityClassName: system-cluster-critical'; t has scheduling 'team: idp'
  t has fullname 'name: a0do-metrics'; t has fullname -- '--lease-name=a0do'
  t has everything-else 'name: auth0-domain-operator-a0-metrics'; t has everything-else 'app.kubernetes.io/name: a0$'
  t has everything-else -- '--metrics-addr=0.0.0.0:9090'; t has everything-else 'containerPort: 9090'; t has everything-else 'port: 9090'
  t has everything-else 'eks.amazonaws.com/role-arn'; t has everything-else 'name: AUTH0_DOMAIN_OPERATOR_DNS_RECHECK_MAX'
  t has everything-else 'nodeAffinity:'; nt has everything-else 'podAntiAffinity:'; t has everything-else 'terminationGracePeriodSeconds: 10'
  # maxUnavailable 0: the Deployment's rolling update always, the PDB's from the values.
  [[ $(grep -c 'maxUnavailable: 0$' "$WORK/everything-else.yaml") == 2 ]] || { echo "PDB maxUnavailable not 0"; rc=1; }
  t has default 'kind: NetworkPolicy'; t has default 'port: 6443'; nt has no-netpol 'kind: NetworkPolicy'
  [[ $(kinds default) == "ClusterRole/auth0-domain-operator ClusterRoleBinding/auth0-domain-operator Deployment/auth0-domain-operator NetworkPolicy/auth0-domain-operator PodDisruptionBudget/auth0-domain-operator Role/auth0-domain-operator-credentials Role/auth0-domain-operator-leader-election RoleBinding/auth0-domain-operator-credentials RoleBinding/auth0-domain-operator-leader-election Service/auth0-domain-operator-metrics ServiceAccount/auth0-domain-operator" ]] ||
    { echo "default objects: $(kinds default)"; rc=1; }
  return $rc
}
check "each toggle renders what it says (ServiceMonitor, metrics, scope, leader election, operator args, image, resources, PDB, RBAC, ServiceAccount, scheduling, names)" toggles

# ---------------------------------------------------------------------------------------------
# 4. the real API server: dry-run of every toggle, then install / upgrade / uninstall
if [[ -n ${KUBE_REAL_DIR:-} ]]; then CLUSTER=$(bash tests/kube-real/start.sh "$KUBE_REAL_DIR"); else CLUSTER=$(bash tests/kube-real/start.sh); fi ||
  { CLUSTER=""; fail "tests/kube-real/start.sh"; finish; }
export KUBECONFIG=$CLUSTER/admin.kubeconfig
k() { "$KUBECTL" "$@"; }
# What the dry-runs need to exist: the CRDs (chart's crds/), the Prometheus Operator's
# ServiceMonitor CRD and the children's CRDs (cert-manager Certificate, external-dns DNSEndpoint:
# the authorizer answers can-i for them only once they are served), the namespaces.
check "CRDs of the chart, ServiceMonitor, Certificate and DNSEndpoint applied" k apply --server-side -f $CHART/crds/ \
  -f tests/fixtures/prometheus-operator/servicemonitors.yaml -f tests/fixtures/cert-manager/ -f tests/fixtures/external-dns/
# Retried: a just-created CRD is served for a moment without status.conditions, and kubectl wait
# then fails at once (".status.conditions accessor error") instead of waiting.
established() {
  local i
  for i in $(seq 1 20); do
    k wait --for condition=Established --timeout=60s crd --all >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  k wait --for condition=Established --timeout=60s crd --all
}
check "CRDs established" established
k create namespace $NS >/dev/null && k label namespace $NS pod-security.kubernetes.io/enforce=restricted >/dev/null
k create namespace domains >/dev/null
for name in $(printf '%s\n' "${!SETS[@]}" | sort); do
  # --dry-run=server: the API server validates each object (schema, defaults, admission:
  # the namespace's restricted Pod Security Standard on the Deployment's pod template).
  check "kubectl apply --dry-run=server ($name)" k apply --server-side --dry-run=server --field-manager=helm-test -f "$WORK/$name.yaml"
done

# Pod Security: the restricted namespace warns about a pod template that would be refused.
psa_clean() { local out; out=$(k apply --dry-run=server -f "$WORK/default.yaml" 2>&1) || { echo "$out"; return 1; }; ! grep -qi 'warning' <<<"$out" || { echo "$out"; return 1; }; }
check "Deployment passes the namespace's restricted Pod Security Standard (no warning)" psa_clean

# Install. CRDs are already there (applied above): helm skips existing crds/ objects.
install_out=$("$HELM" install "$REL" $CHART -n $NS --kubeconfig "$KUBECONFIG" 2>&1)
if [[ $? -eq 0 ]]; then pass "helm install $REL -n $NS"; else fail "helm install"; echo "$install_out" | tail -20 | sed 's/^/       /'; fi
grep -q 'rollout status deploy/auth0-domain-operator' <<<"$install_out" && pass "NOTES.txt printed" || fail "NOTES.txt not printed"
objects_exist() { "$HELM" get manifest "$REL" -n $NS --kubeconfig "$KUBECONFIG" | k get -f - -o name; }
check "every object of the release exists (helm get manifest | kubectl get -f -)" objects_exist
check "Deployment as rendered: 2 replicas, args" bash -c "
  [[ \$('$KUBECTL' -n $NS get deploy auth0-domain-operator -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].args}') == \
     '2 [\"run\",\"--metrics-addr=0.0.0.0:8080\",\"--leader-election=true\",\"--lease-name=auth0-domain-operator\",\"--lease-namespace=\$(POD_NAMESPACE)\"]' ]]"

# RBAC as the operator's ServiceAccount sees it: every row of tests/deploy/rbac-expected.tsv
# for the install, each verb granted; verbs it must not have, denied.
can() { # expect(yes|no) verb resource [namespace]
  local want=$1 verb=$2 res=$3 ns=${4:-} sub="" got
  if [[ $res == */status ]]; then sub=status; res=${res%/status}; fi
  got=$(k auth can-i "$verb" "$res" --as="$SA" ${sub:+--subresource=$sub} ${ns:+-n $ns} 2>/dev/null)
  [[ $got == "$want" ]] || { echo "can-i $verb $res${sub:+/$sub}${ns:+ -n $ns}: $got, want $want"; return 1; }
}
expected_rbac() { # install -> lines "namespace-or-- group/resource verb"
  awk -F'\t' -v inst="$1" '$1 == inst {split($2, r, "/"); n = split($4, v, ","); for (i = 1; i <= n; i++) print r[2], $3, v[i]}' tests/deploy/rbac-expected.tsv
}
resource_arg() { # group/resource -> resource.group (core: resource)
  local g=${1%%/*} r=${1#*/}
  [[ $g == core ]] && echo "$r" || echo "${r%%/*}.$g${r#"${r%%/*}"}"
}
rbac_matches() { # install: every expected verb granted where expected
  local inst=$1 rc=0 ns gr verb res where
  while read -r ns gr verb; do
    res=$(resource_arg "$gr")
    where=$NS
    [[ $ns == - ]] && where=other-ns
    can yes "$verb" "$res" "$where" || rc=1
  done < <(expected_rbac "$inst")
  return $rc
}
k create namespace other-ns >/dev/null
check "can-i: every verb of rbac-expected.tsv 'base' granted to $SA" rbac_matches base
base_denied() {
  local rc=0
  can no delete customdomains.auth0.domain-operator.dev other-ns || rc=1
  can no update customdomains.auth0.domain-operator.dev other-ns || rc=1
  can no delete secrets other-ns || rc=1
  can no list secrets other-ns || rc=1
  can no watch secrets other-ns || rc=1
  can no list secrets || rc=1
  can no create leases.coordination.k8s.io other-ns || rc=1
  can no delete leases.coordination.k8s.io $NS || rc=1
  can no create auth0tenants.auth0.domain-operator.dev || rc=1
  can no get configmaps $NS || rc=1
  can no create pods $NS || rc=1
  return $rc
}
check "can-i: no delete/update of CustomDomains or Secrets, no Lease outside $NS, no tenant create, nothing else" base_denied

# Upgrade to rbac.scope=namespaced: CustomDomains, Secrets, children, Events only in $NS.
up_ns=$("$HELM" upgrade "$REL" $CHART -n $NS --kubeconfig "$KUBECONFIG" --set rbac.scope=namespaced 2>&1) &&
  pass "helm upgrade --set rbac.scope=namespaced" || { fail "helm upgrade (namespaced)"; echo "$up_ns" | tail -10; }
check "can-i: every verb of rbac-expected.tsv 'namespaced' granted" rbac_matches namespaced
ns_denied() {
  local rc=0
  can no list customdomains.auth0.domain-operator.dev other-ns || rc=1
  can no get secrets other-ns || rc=1
  can no create events.events.k8s.io other-ns || rc=1
  can no patch certificates.cert-manager.io other-ns || rc=1
  can yes list auth0tenants.auth0.domain-operator.dev || rc=1
  can yes watch namespaces || rc=1
  return $rc
}
check "can-i (namespaced): nothing namespaced outside $NS; tenants and namespaces cluster-wide" ns_denied
check "Deployment (namespaced) runs with --namespace=\$(POD_NAMESPACE)" bash -c \
  "'$KUBECTL' -n $NS get deploy auth0-domain-operator -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -qF -- '--namespace=\$(POD_NAMESPACE)'"

# Upgrade to one replica without leader election: the Lease Role goes away.
up_single=$("$HELM" upgrade "$REL" $CHART -n $NS --kubeconfig "$KUBECONFIG" --set replicaCount=1,leaderElection.enabled=false 2>&1) &&
  pass "helm upgrade --set replicaCount=1,leaderElection.enabled=false" || { fail "helm upgrade (single)"; echo "$up_single" | tail -10; }
single() {
  can no get leases.coordination.k8s.io $NS || return 1
  ! k -n $NS get role auth0-domain-operator-leader-election >/dev/null 2>&1 || { echo "leader-election Role still there"; return 1; }
  rbac_matches dev
}
check "can-i (no leader election): no Lease access, leader-election Role deleted, rest as 'dev'" single

# Uninstall: every templated object goes, the CRDs (crds/) stay, and with them the custom resources.
check "helm uninstall" "$HELM" uninstall "$REL" -n $NS --kubeconfig "$KUBECONFIG" --wait --timeout 60s
gone() {
  local left
  left=$(k get -f "$WORK/default.yaml" -o name --ignore-not-found 2>&1)
  [[ -z $left ]] || { echo "left: $left"; return 1; }
  k get crd customdomains.auth0.domain-operator.dev auth0tenants.auth0.domain-operator.dev -o name
}
check "after uninstall: no templated object left, CRDs kept" gone

finish
