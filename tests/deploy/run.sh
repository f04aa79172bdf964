#!/usr/bin/env bash
# Tests everything in deploy/ (plus Dockerfile and crds/Kustomization), printing one line per
# check and exiting non-zero on any failure:
#   - `kubectl kustomize` renders deploy/base, deploy/overlays/{namespaced,dev}, deploy/monitoring;
#   - each install is applied with real kubectl to the Kubernetes API simulator (kube-sim, with
#     minimal Prometheus Operator CRDs from tests/fixtures/) and read back: hardened pod,
#     replicas, flags, probes, PDB, Service/ServiceMonitor wiring, and RBAC equal to
#     tests/deploy/rbac-expected.tsv (no extra, no missing verb);
#   - the Argo CD Lua health checks run under lua5.4 and lua5.1 over tests/deploy/argocd/*.yaml
#     (objects the CRDs admit, status written through the status subresource), and the
#     argocd-cm patch merges into an existing argocd-cm;
#   - every metric the PrometheusRule and the Grafana dashboard use exists (src/telemetry/metrics.rs,
#     and a real /metrics scrape of the operator binary); promtool check + unit tests;
#   - with the operator binary (OPERATOR_BIN, default target/debug/auth0-domain-operator when built):
#     it runs against kube-sim under the base and the namespaced flags and every Kubernetes call it
#     makes must be granted by that install's RBAC table (granted vs observed);
#   - every Kubernetes call the operator made in the e2e suite (E2E_REQUEST_LOG_DIR: per-scenario
#     kube-sim request logs) is granted by the base install's RBAC (RBAC_REQUIRE_E2E=1: logs must exist);
#   - Dockerfile basics.
#   - built-in kinds validated against Kubernetes 1.32 schemas (PyPI kubernetes-validate, strict);
# Env: KUBE_SIM_BIN (skip the cargo build), OPERATOR_BIN (path, or `none`), CARGO_TARGET_DIR,
#      E2E_REQUEST_LOG_DIR, RBAC_REQUIRE_E2E.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
START=$(date +%s)
FAILS=0
WORK=$(mktemp -d)
SIM_PID=""
OP_PID=""

cleanup() {
  [[ -n "$OP_PID" ]] && kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
  [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
# check DESCRIPTION COMMAND...: runs the command, shows its output only on failure.
check() {
  local desc=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc"; sed 's/^/       /' <<<"$out" | tail -20; fi
}
# check_fails DESCRIPTION COMMAND...: the command must fail.
check_fails() {
  local desc=$1 out
  shift
  if out=$("$@" 2>&1); then fail "$desc (it succeeded)"; else pass "$desc"; fi
}
# pyout SCRIPT ARGS...: a python checker that prints its own ok/FAIL lines.
pyout() {
  local out rc
  out=$(python3 "$@" 2>&1)
  rc=$?
  echo "$out"
  FAILS=$((FAILS + $(grep -c '^FAIL' <<<"$out")))
  if ((rc != 0)) && ! grep -q '^FAIL' <<<"$out"; then fail "python3 $*"; fi
}

for tool in kubectl lua5.4 python3; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool not installed (run .ci/deps-deploy.sh)"; exit 1; }
done
python3 -c 'import yaml, kubernetes_validate' 2>/dev/null ||
  { echo "FAIL python3 modules yaml and kubernetes_validate missing (run .ci/deps-deploy.sh)"; exit 1; }
K8S_SCHEMA=1.32.0

# ---------------------------------------------------------------------------------------------
# kube-sim
if [[ -z "${KUBE_SIM_BIN:-}" ]]; then
  cargo build --quiet -p kube-sim || { echo "FAIL cargo build -p kube-sim"; exit 1; }
  KUBE_SIM_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/kube-sim"
fi

start_sim() {
  local name=$1
  rm -f "$WORK/$name.ready"
  "$KUBE_SIM_BIN" --listen 127.0.0.1:0 --kubeconfig "$WORK/$name.kubeconfig" --ready-file "$WORK/$name.ready" \
    >"$WORK/$name.sim.log" 2>&1 &
  SIM_PID=$!
  for _ in $(seq 1 200); do
    [[ -s "$WORK/$name.ready" ]] && break
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  [[ -s "$WORK/$name.ready" ]] || { echo "FAIL kube-sim did not start"; cat "$WORK/$name.sim.log"; exit 1; }
  export KUBECONFIG="$WORK/$name.kubeconfig"
}
stop_sim() {
  kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  SIM_PID=""
}

# The operator binary for the real-process checks: OPERATOR_BIN, else a built one; OPERATOR_BIN=none skips.
if [[ -z "${OPERATOR_BIN:-}" && -x "${CARGO_TARGET_DIR:-$ROOT/target}/debug/auth0-domain-operator" ]]; then
  OPERATOR_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/auth0-domain-operator"
fi
[[ "${OPERATOR_BIN:-}" == none ]] && OPERATOR_BIN=""
OPERATOR_BIN=${OPERATOR_BIN:-}
[[ -z "$OPERATOR_BIN" ]] && echo "skip real operator checks (no target/debug/auth0-domain-operator; set OPERATOR_BIN)"

ALL_KINDS=namespaces,customresourcedefinitions,serviceaccounts,clusterroles,clusterrolebindings,roles,rolebindings,deployments,poddisruptionbudgets,services,servicemonitors,networkpolicies
SELECTOR=app.kubernetes.io/part-of=auth0-domain-operator

# observe_operator INSTALL [RUN FLAGS...]: runs the operator binary against the current kube-sim
# with a tenant whose Management API refuses connections (port 9) and a domain of it, so it
# watches, reconciles, writes status and Events and counts Auth0 calls; then checks its real
# /metrics (base only) and that every Kubernetes call it made is granted by INSTALL's RBAC.
observe_operator() {
  local install=$1 addr=""
  shift
  echo "== operator $OPERATOR_BIN against kube-sim ($install RBAC, flags: $*)"
  kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Secret
metadata: {name: scrape-credentials, namespace: auth0-domain-operator}
stringData: {client_id: scrape-client, client_secret: scrape-secret}
---
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: Auth0Tenant
metadata: {name: default}
spec:
  domain: scrape.eu.auth0.com
  managementApiUrl: http://127.0.0.1:9
  credentialsSecretRef: {namespace: auth0-domain-operator, name: scrape-credentials}
---
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata: {name: login, namespace: auth0-domain-operator}
spec: {domain: login.scrape.example.com, type: Auth0ManagedCerts}
YAML
  kubectl delete --raw /__sim/requests >/dev/null 2>&1
  start_operator() {
    # POD_NAMESPACE as in the Deployment: the credentials Secret is in the operator's namespace.
    POD_NAMESPACE=auth0-domain-operator "$OPERATOR_BIN" --log-format json run --metrics-addr 127.0.0.1:0 \
      --cluster-id deploy-test --allow-insecure-auth0 --allow-custom-api-url "$@" >"$WORK/operator-$install.log" 2>&1 &
    OP_PID=$!
    addr=""
    for _ in $(seq 1 200); do
      addr=$(grep -o '"addr":"[0-9.:]*"' "$WORK/operator-$install.log" 2>/dev/null | head -1 | cut -d'"' -f4)
      [[ -n "$addr" ]] && break
      kill -0 "$OP_PID" 2>/dev/null || break
      sleep 0.1
    done
  }
  start_operator "$@"
  # Leader election (so the Lease calls are observed too) until a build lacks it.
  if [[ -z "$addr" ]] && grep -q 'leader-election is not available' "$WORK/operator-$install.log"; then
    echo "skip --leader-election: not available in this operator build; observing without it"
    local args=() a
    for a in "$@"; do [[ $a == --leader-election* || $a == --lease-* ]] || args+=("$a"); done
    wait "$OP_PID" 2>/dev/null
    start_operator "${args[@]}"
  fi
  # Wait (bounded) until it has called Auth0 and written a CustomDomain status.
  for _ in $(seq 1 300); do
    [[ -n "$addr" ]] || break
    curl -sf "http://$addr/metrics" >"$WORK/metrics-$install.txt" 2>/dev/null || true
    grep -q '^auth0_domain_operator_auth0_requests_total' "$WORK/metrics-$install.txt" 2>/dev/null &&
      kubectl -n auth0-domain-operator get customdomain login -o jsonpath='{.status.conditions}' 2>/dev/null | grep -q Ready &&
      break
    sleep 0.1
  done
  if [[ -n "$addr" && -s "$WORK/metrics-$install.txt" ]]; then
    pass "operator served http://$addr/metrics ($(grep -c '^# TYPE' "$WORK/metrics-$install.txt") families)"
    if [[ $install == base ]]; then
      grep "^auth0_domain_operator_auth0_requests_total" "$WORK/metrics-$install.txt" | sed "s/^/     sample: /"
      pyout tests/deploy/metrics_check.py --scrape "$WORK/metrics-$install.txt"
    fi
  else
    fail "operator /metrics not reachable"; tail -5 "$WORK/operator-$install.log" | sed 's/^/       /'
  fi
  kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
  OP_PID=""
  if kubectl get --raw /__sim/requests >"$WORK/requests-$install.json" 2>"$WORK/requests.err"; then
    pyout tests/deploy/rbac_observed.py "$install" "$WORK/requests-$install.json"
  else
    fail "read kube-sim's request log"; sed 's/^/       /' "$WORK/requests.err"
  fi
}

# ---------------------------------------------------------------------------------------------
# crds/Kustomization lists exactly the generated CRDs.
want=$(cd crds && ls -1 ./*.yaml | sed 's#^\./##' | sort)
have=$(python3 -c 'import yaml,sys; print("\n".join(sorted(yaml.safe_load(open("crds/Kustomization"))["resources"])))')
check "crds/Kustomization lists every crds/*.yaml ($(echo $want))" test "$want" = "$have"

# ---------------------------------------------------------------------------------------------
# Installs
for install in base namespaced dev; do
  case $install in
    base) dir=deploy/base ;;
    *) dir=deploy/overlays/$install ;;
  esac
  echo "== $install ($dir)"
  if ! kubectl kustomize "$dir" >"$WORK/$install.yaml" 2>"$WORK/$install.err"; then
    fail "kubectl kustomize $dir"; sed 's/^/       /' "$WORK/$install.err"; continue
  fi
  pass "kubectl kustomize $dir ($(grep -c '^kind:' "$WORK/$install.yaml") objects)"
  # kube-sim does not validate built-in kinds: check them against the Kubernetes 1.32 OpenAPI
  # schemas (strict: unknown fields fail), the version of the kubectl used here.
  check "built-in objects valid for Kubernetes $K8S_SCHEMA (kubernetes-validate --strict)" \
    python3 -m kubernetes_validate --strict --quiet --no-warn -k "$K8S_SCHEMA" "$WORK/$install.yaml"
  start_sim "$install"
  check "apply Prometheus Operator CRDs (tests/fixtures/prometheus-operator)" \
    kubectl apply -f tests/fixtures/prometheus-operator/
  check "kubectl apply --server-side $dir" \
    kubectl apply --server-side --field-manager=deploy-test -f "$WORK/$install.yaml"
  check "kubectl get everything back" \
    sh -c "kubectl get $ALL_KINDS -A -l $SELECTOR -o json > '$WORK/$install.json'"
  pyout tests/deploy/assert_install.py "$install" "$WORK/$install.json" "$WORK/$install.yaml"
  if [[ -n "$OPERATOR_BIN" && $install == namespaced ]]; then
    observe_operator namespaced --namespace=auth0-domain-operator --leader-election=true \
      --lease-namespace=auth0-domain-operator
  fi

  if [[ $install == base ]]; then
    # A misspelt field must be rejected, or the vendored CRDs would not prove anything.
    cat >"$WORK/bad-sm.yaml" <<'YAML'
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: typo, namespace: auth0-domain-operator}
spec:
  selector: {matchLabels: {a: b}}
  endpoints: [{port: metrics, intervall: 30s}]
YAML
    check_fails "kube-sim rejects a ServiceMonitor with an unknown field" kubectl apply -f "$WORK/bad-sm.yaml"

    echo "== monitoring (deploy/monitoring)"
    if kubectl kustomize deploy/monitoring >"$WORK/monitoring.yaml" 2>"$WORK/monitoring.err"; then
      pass "kubectl kustomize deploy/monitoring"
      check "deploy/monitoring built-ins valid for Kubernetes $K8S_SCHEMA" \
        python3 -m kubernetes_validate --strict --quiet --no-warn -k "$K8S_SCHEMA" "$WORK/monitoring.yaml"
      check "kubectl apply --server-side deploy/monitoring (PrometheusRule, dashboard ConfigMap)" \
        kubectl apply --server-side --field-manager=deploy-test -f "$WORK/monitoring.yaml"
      check "dashboard ConfigMap carries grafana_dashboard=1 and the dashboard JSON" python3 -c '
import json, subprocess
cm = json.loads(subprocess.check_output(["kubectl", "-n", "auth0-domain-operator", "get", "configmap",
                                         "auth0-domain-operator-dashboard", "-o", "json"]))
assert cm["metadata"]["labels"]["grafana_dashboard"] == "1", cm["metadata"].get("labels")
assert json.loads(cm["data"]["grafana-dashboard.json"]) == json.load(open("deploy/monitoring/grafana-dashboard.json"))
'
      check "PrometheusRule stored with every alert" sh -c \
        "test \"\$(kubectl -n auth0-domain-operator get prometheusrule auth0-domain-operator -o json | python3 -c 'import json,sys; print(sum(len(g[\"rules\"]) for g in json.load(sys.stdin)[\"spec\"][\"groups\"]))')\" = \
              \"\$(python3 -c 'import yaml; print(sum(len(g[\"rules\"]) for g in yaml.safe_load(open(\"deploy/monitoring/prometheusrule.yaml\"))[\"spec\"][\"groups\"]))')\""
    else
      fail "kubectl kustomize deploy/monitoring"; sed 's/^/       /' "$WORK/monitoring.err"
    fi

    echo "== argocd (deploy/argocd)"
    kubectl create namespace argocd >/dev/null 2>&1
    kubectl -n argocd create configmap argocd-cm --from-literal=url=https://argocd.example.com >/dev/null 2>&1
    check "kubectl patch argocd-cm --type merge --patch-file deploy/argocd/argocd-cm-patch.yaml" \
      kubectl -n argocd patch configmap argocd-cm --type merge --patch-file deploy/argocd/argocd-cm-patch.yaml
    check "argocd-cm keeps its settings and holds both health scripts byte for byte" python3 -c '
import json, subprocess
cm = json.loads(subprocess.check_output(["kubectl", "-n", "argocd", "get", "configmap", "argocd-cm", "-o", "json"]))
d = cm["data"]
assert d["url"] == "https://argocd.example.com", d.get("url")
for kind in ("CustomDomain", "Auth0Tenant"):
    assert d["resource.customizations.health.auth0.domain-operator.dev_" + kind] == open("deploy/argocd/health.lua").read(), kind
'

    # The recorded objects the health checks are tested on must be ones the CRDs admit.
    kubectl create namespace shop >/dev/null 2>&1
    pyout tests/deploy/argocd_check.py --apply
    # After the fixtures, so the operator also reconciles those objects.
    [[ -n "$OPERATOR_BIN" ]] && observe_operator base --leader-election=true --lease-namespace=auth0-domain-operator

  fi
  stop_sim
done

# ---------------------------------------------------------------------------------------------
# RBAC vs every Kubernetes call the operator made during the e2e suite (`make test-rust` runs it
# with E2E_REQUEST_LOG_DIR, one kube-sim request log per scenario), checked against the base
# install (the e2e operator runs with --namespace, so its calls are namespaced ones the base
# ClusterRole must grant).
echo "== RBAC vs the e2e suite's operator requests"
if [[ -n "${E2E_REQUEST_LOG_DIR:-}" ]] && compgen -G "$E2E_REQUEST_LOG_DIR/*.json" >/dev/null; then
  # Each world's namespace (e2e-<tag>) is its operator's own namespace (POD_NAMESPACE).
  pyout tests/deploy/rbac_observed.py --label "e2e suite, $(ls "$E2E_REQUEST_LOG_DIR"/*.json | wc -l) worlds" \
    --operator-namespace '^e2e-' base "$E2E_REQUEST_LOG_DIR"
elif [[ "${RBAC_REQUIRE_E2E:-}" == 1 ]]; then
  fail "no e2e request logs in ${E2E_REQUEST_LOG_DIR:-<E2E_REQUEST_LOG_DIR unset>} (the e2e run must write them)"
else
  echo "skip RBAC vs the e2e suite: no request logs (set E2E_REQUEST_LOG_DIR; make test-rust writes target/e2e-requests)"
fi

# ---------------------------------------------------------------------------------------------
echo "== argocd health scripts (lua5.4)"
pyout tests/deploy/argocd_check.py

echo "== monitoring references and rules"
pyout tests/deploy/metrics_check.py
if command -v promtool >/dev/null; then
  mkdir -p "$WORK/prom"
  python3 -c 'import yaml,sys; yaml.safe_dump(yaml.safe_load(open("deploy/monitoring/prometheusrule.yaml"))["spec"], open(sys.argv[1], "w"))' "$WORK/prom/rules.yaml"
  cp tests/deploy/monitoring/alerts_test.yaml "$WORK/prom/"
  check "promtool check rules (PrometheusRule spec)" promtool check rules "$WORK/prom/rules.yaml"
  check "promtool test rules tests/deploy/monitoring/alerts_test.yaml" promtool test rules "$WORK/prom/alerts_test.yaml"
else
  echo "skip promtool not installed (Debian package prometheus; .ci/deps-deploy.sh)"
fi

# ---------------------------------------------------------------------------------------------
echo "== Dockerfile (read, not built: no container engine here)"
bin=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["bin"][0]["name"])')
check "Dockerfile is multi-stage" test "$(grep -c '^FROM ' Dockerfile)" -ge 2
check "final stage is distroless nonroot" sh -c "grep '^FROM ' Dockerfile | tail -1 | grep -q 'gcr.io/distroless/.*:nonroot'"
check "final stage runs as 65532" sh -c "awk '/^FROM /{s=\$0} /^USER /{u=\$2} END{exit !(u==\"65532:65532\")}' Dockerfile"
check "ENTRYPOINT is the $bin binary built with --locked" sh -c \
  "grep -q 'ENTRYPOINT \[\"/$bin\"\]' Dockerfile && grep -q -- '--locked --bin $bin' Dockerfile"
check ".dockerignore keeps target/ and .git/ out of the context" sh -c "grep -qx 'target/' .dockerignore && grep -qx '.git/' .dockerignore"

echo "deploy tests: $FAILS failure(s) in $(($(date +%s) - START))s"
((FAILS == 0))
