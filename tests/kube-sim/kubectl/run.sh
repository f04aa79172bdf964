#!/usr/bin/env bash
# kubectl conformance for kube-sim: runs the real kubectl against a kube-sim it starts itself
# (ephemeral port, TLS, bearer token) and asserts on kubectl's own output and exit codes.
# Usage: tests/kube-sim/kubectl/run.sh   (builds kube-sim with cargo; KUBECTL overrides kubectl)
#
# compare.py (make test-kubectl-compare) runs this same command sequence against kube-sim and a
# real kube-apiserver and compares what kubectl printed:
#   KUBECTL_SERVER_KUBECONFIG=FILE  use that server (and kubeconfig) instead of starting kube-sim
#   KUBECTL_RECORD_DIR=DIR          record every kubectl call in DIR/NNN.{args,out,err,rc}
#                                   (stdout and stderr apart; the checks then see stdout+stderr)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
FIX="$HERE/fixtures"
KUBECTL="${KUBECTL:-kubectl}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

RECORD="${KUBECTL_RECORD_DIR:-}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kube-sim-kubectl.XXXXXX")"
export KUBE_EDITOR="$FIX/editor.sh"
SIM_PID=""
BG_PIDS=()
cleanup() {
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [[ -n "$SIM_PID" ]]; then
        kill "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
if [[ -n "${KUBECTL_SERVER_KUBECONFIG:-}" ]]; then
    export KUBECONFIG="$KUBECTL_SERVER_KUBECONFIG"
else
    cargo build --quiet -p kube-sim --bin kube-sim --manifest-path "$ROOT/Cargo.toml" || { echo "FAIL: cargo build kube-sim"; exit 1; }
    BIN="$TARGET/debug/kube-sim"
    export KUBECONFIG="$WORK/kubeconfig"
    "$BIN" --listen 127.0.0.1:0 --kubeconfig "$KUBECONFIG" --ready-file "$WORK/ready" --bookmark-interval 1 >"$WORK/kube-sim.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 1 100); do [[ -s "$WORK/ready" ]] && break; sleep 0.1; done
    [[ -s "$WORK/ready" ]] || { echo "FAIL: kube-sim did not become ready"; cat "$WORK/kube-sim.log"; exit 1; }
fi
if [[ -n "$RECORD" ]]; then
    mkdir -p "$RECORD"
    printf '%s\n' "$WORK" >"$RECORD/work"
    server="$("$KUBECTL" config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
    printf '%s\n' "$server" >"$RECORD/server"
fi

PASS=0
FAIL=0
OUT=""
RC=0
SEQ=0
DESC=""
# record NAME RC FILE [ERRFILE]: keeps one kubectl result for compare.py (KUBECTL_RECORD_DIR)
record() {
    [[ -n "$RECORD" ]] || return 0
    SEQ=$((SEQ + 1))
    local n; n="$(printf '%03d' "$SEQ")"
    printf '%s\n' "$1" >"$RECORD/$n.desc"
    printf '%s\n' "$2" >"$RECORD/$n.rc"
    cp "$3" "$RECORD/$n.out"
    if [[ -n "${4:-}" ]]; then cp "$4" "$RECORD/$n.err"; else : >"$RECORD/$n.err"; fi
}
k() {
    if [[ -n "$RECORD" ]]; then
        "$KUBECTL" --request-timeout=20s "$@" >"$WORK/k.out" 2>"$WORK/k.err"; RC=$?
        OUT="$(cat "$WORK/k.out" "$WORK/k.err")"
        printf '%s\n' "$*" >"$RECORD/$(printf '%03d' $((SEQ + 1))).args"
        record "$DESC" "$RC" "$WORK/k.out" "$WORK/k.err"
    else
        OUT="$("$KUBECTL" --request-timeout=20s "$@" 2>&1)"; RC=$?
    fi
}
ok() { echo "ok   $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $1"; echo "     rc=$RC output:"; printf '%s\n' "$OUT" | sed 's/^/     | /'; FAIL=$((FAIL + 1)); }
# expect_ok DESC ARGS... : kubectl exits 0
expect_ok() { local d="$1"; shift; DESC="$d"; k "$@"; if [[ $RC -eq 0 ]]; then ok "$d"; else bad "$d"; fi; }
# expect_fail DESC ARGS... : kubectl exits non-zero
expect_fail() { local d="$1"; shift; DESC="$d"; k "$@"; if [[ $RC -ne 0 ]]; then ok "$d"; else bad "$d"; fi; }
# has TEXT DESC : last output contains TEXT (fixed string)
has() { if grep -qF -- "$1" <<<"$OUT"; then ok "$2"; else bad "$2 (missing: $1)"; fi; }
# is TEXT DESC : last output equals TEXT
is() { if [[ "$OUT" == "$1" ]]; then ok "$2"; else bad "$2 (want: $1)"; fi; }
# line_re REGEX DESC : some output line matches the extended regex
line_re() { if grep -qE -- "$1" <<<"$OUT"; then ok "$2"; else bad "$2 (no line matching: $1)"; fi; }

echo "# discovery"
expect_ok "kubectl version" version
line_re '^Server Version: v1\.32' "server version printed"
expect_ok "api-versions" api-versions
has "coordination.k8s.io/v1" "api-versions lists coordination.k8s.io/v1"

echo "# CRDs"
expect_ok "apply test CRD" apply -f "$FIX/crd-customdomain.yaml"
is "customresourcedefinition.apiextensions.k8s.io/customdomains.auth0.domain-operator.dev created" "apply prints created"
expect_ok "wait CRD Established" wait --for=condition=Established crd/customdomains.auth0.domain-operator.dev --timeout=10s
expect_ok "api-resources" api-resources
line_re '^customdomains +acd +auth0.domain-operator.dev/v1alpha1 +true +CustomDomain$' "api-resources shows customdomains with short name"
expect_ok "api-resources --categories" api-resources --categories=auth0 -o name
is "customdomains.auth0.domain-operator.dev" "category auth0"
for crd in "$ROOT"/crds/*.yaml; do
    [[ -e "$crd" ]] || continue
    # The project's CRDs may define the same CustomDomain type: replace the fixture's CRD.
    expect_ok "apply project CRD $(basename "$crd")" apply --server-side --force-conflicts -f "$crd"
done
if compgen -G "$ROOT/crds/*.yaml" >/dev/null; then
    expect_ok "delete project CRDs" delete -f "$ROOT/crds/" --wait=true
    # kube-apiserver drops a deleted CRD's OpenAPI document a while after the object is gone, and
    # its discovery sooner: explain fails on the missing resource before the old document goes.
    # Waiting (outside the recorded sequence) until the OpenAPI index no longer lists the group
    # keeps the wait below from passing on the old document and the explains after it from
    # landing in the gap between its removal and the new one's publication (CI saw both).
    for _ in $(seq 1 300); do
        index="$("$KUBECTL" get --raw /openapi/v3 2>/dev/null)" || { sleep 0.1; continue; }
        [[ $index == *'"apis/auth0.domain-operator.dev/v1alpha1"'* ]] || break
        sleep 0.1
    done
    expect_ok "re-apply test CRD" apply -f "$FIX/crd-customdomain.yaml"
    expect_ok "wait CRD Established again" wait --for=condition=Established crd/customdomains.auth0.domain-operator.dev --timeout=10s
fi
# kube-apiserver publishes a CRD's OpenAPI a moment after Established (kube-sim at once): wait for
# it here, outside the recorded sequence, so compare.py sees the same explain on both servers.
# Three answers in a row: one good answer has been followed by a missing document before.
good=0
for _ in $(seq 1 300); do
    if "$KUBECTL" explain customdomain.spec.domain >/dev/null 2>&1 \
        && "$KUBECTL" explain acd.spec --recursive >/dev/null 2>&1; then
        good=$((good + 1))
        [[ $good -ge 3 ]] && break
    else
        good=0
    fi
    sleep 0.2
done
expect_ok "explain" explain customdomain.spec.domain
has "Lower-case FQDN served by Auth0. Immutable." "explain shows field description"
expect_ok "explain recursive" explain acd.spec --recursive
has "verificationMethod" "explain --recursive lists fields"

echo "# create, get, Table"
expect_ok "apply CustomDomain" apply -f "$FIX/customdomain.yaml"
is "customdomain.auth0.domain-operator.dev/login created" "apply created"
expect_ok "apply again" apply -f "$FIX/customdomain.yaml"
is "customdomain.auth0.domain-operator.dev/login unchanged" "apply unchanged"
expect_fail "create existing" create -f "$FIX/customdomain.yaml"
is "Error from server (AlreadyExists): error when creating \"$FIX/customdomain.yaml\": customdomains.auth0.domain-operator.dev \"login\" already exists" "AlreadyExists text"
expect_ok "get acd" get acd
line_re '^NAME +DOMAIN +TYPE +STATE +READY +AGE$' "printer columns header"
line_re '^login +login.example.com +Auth0ManagedCerts +[0-9]+s$' "printer columns row"
expect_ok "get -o wide" get customdomains -o wide
line_re '^NAME +DOMAIN +TYPE +STATE +VERIFIED +READY +AGE$' "wide adds priority columns"
expect_ok "get by category" get auth0 -o name
has "customdomain.auth0.domain-operator.dev/login" "get auth0 category"
expect_ok "get -o jsonpath" get acd login -o jsonpath='{.spec.domain}/{.spec.tlsPolicy}/{.metadata.generation}'
is "login.example.com/recommended/1" "jsonpath shows defaulted tlsPolicy and generation"
expect_ok "get -o yaml" get acd login -o yaml
line_re '^  uid: [0-9a-f-]{36}$' "yaml has a uid"
expect_fail "get missing" get acd nope
is 'Error from server (NotFound): customdomains.auth0.domain-operator.dev "nope" not found' "NotFound text"
expect_ok "describe" describe acd login
line_re '^Name: +login$' "describe name"
line_re '^  Domain: +login.example.com$' "describe spec"

echo "# validation (schema, CEL, strict)"
expect_fail "immutable domain" patch acd login --type=merge -p '{"spec":{"domain":"other.example.com"}}'
is 'The CustomDomain "login" is invalid: spec.domain: Invalid value: "string": domain is immutable' "immutable-field error text"
expect_fail "CEL rule" patch acd login --type=merge -p '{"spec":{"verificationMethod":"TXT"}}'
is 'The CustomDomain "login" is invalid: spec: Invalid value: "object": verificationMethod is only valid for SelfManagedCerts' "CEL rejection text"
expect_fail "enum" patch acd login --type=merge -p '{"spec":{"tlsPolicy":"legacy"}}'
has 'spec.tlsPolicy: Unsupported value: "legacy": supported values: "recommended"' "enum error text"
expect_fail "pattern" apply -f - <<<'{"apiVersion":"auth0.domain-operator.dev/v1alpha1","kind":"CustomDomain","metadata":{"name":"wild"},"spec":{"domain":"*.example.com","type":"Auth0ManagedCerts"}}'
has 'The CustomDomain "wild" is invalid: spec.domain: Invalid value: "*.example.com": spec.domain in body should match' "pattern error text"
expect_fail "strict unknown field" apply -f - <<<'{"apiVersion":"auth0.domain-operator.dev/v1alpha1","kind":"CustomDomain","metadata":{"name":"extra"},"spec":{"domain":"x.example.com","type":"Auth0ManagedCerts","bogus":1}}'
has 'strict decoding error: unknown field "spec.bogus"' "strict field validation text"
expect_ok "warn unknown field" apply --validate=warn -f - <<<'{"apiVersion":"auth0.domain-operator.dev/v1alpha1","kind":"CustomDomain","metadata":{"name":"extra"},"spec":{"domain":"x.example.com","type":"Auth0ManagedCerts","bogus":1}}'
has 'Warning: unknown field "spec.bogus"' "warning header printed"
expect_ok "pruned" get acd extra -o jsonpath='{.spec}'
is '{"domain":"x.example.com","tlsPolicy":"recommended","type":"Auth0ManagedCerts"}' "unknown field pruned, defaults applied"
expect_fail "required field" apply -f - <<<'{"apiVersion":"auth0.domain-operator.dev/v1alpha1","kind":"CustomDomain","metadata":{"name":"noreq"},"spec":{"domain":"y.example.com"}}'
has 'spec.type: Required value' "required error text"
expect_fail "bad name" apply -f - <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}'
has 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' "metadata.name error text"

echo "# label, annotate, selectors"
expect_ok "label" label acd login tier=gold
is "customdomain.auth0.domain-operator.dev/login labeled" "label output"
expect_ok "annotate" annotate acd login note=hello
is "customdomain.auth0.domain-operator.dev/login annotated" "annotate output"
expect_ok "get -l" get acd -l 'tier in (gold,silver),app=shop' -o name
is "customdomain.auth0.domain-operator.dev/login" "label selector"
expect_ok "get -l notin" get acd -l 'tier notin (gold)' -o name
is "customdomain.auth0.domain-operator.dev/extra" "notin selector"
expect_ok "field selector" get acd --field-selector metadata.name=extra -o name
is "customdomain.auth0.domain-operator.dev/extra" "field selector"
expect_ok "generation unchanged by metadata" get acd login -o jsonpath='{.metadata.generation}'
is "1" "labels do not bump generation"
expect_ok "get --chunk-size" get acd --chunk-size=1 -o name
has "customdomain.auth0.domain-operator.dev/extra" "paged list (limit/continue)"
has "customdomain.auth0.domain-operator.dev/login" "paged list second page"

echo "# patch flavours"
expect_ok "apply configmap" apply -f "$FIX/configmap.yaml"
expect_ok "strategic patch" patch cm settings -p '{"data":{"b":"2"}}'
expect_ok "json patch" patch cm settings --type=json -p '[{"op":"add","path":"/data/c","value":"3"},{"op":"remove","path":"/data/b"}]'
expect_ok "merge patch" patch acd login --type=merge -p '{"spec":{"tenantRef":{"name":"eu"}}}'
expect_ok "generation bumped" get acd login -o jsonpath='{.metadata.generation}'
is "2" "spec change bumps generation"
expect_fail "strategic on CR" patch acd login -p '{"spec":{"tenantRef":{"name":"us"}}}'
has "application/strategic-merge-patch+json is not supported" "strategic merge refused for CRs"
expect_ok "configmap data" get cm settings -o jsonpath='{.data}'
is '{"a":"1","c":"3"}' "patches applied"
expect_ok "edit" edit cm settings
is "configmap/settings edited" "edit output"
expect_ok "edited value" get cm settings -o jsonpath='{.data.a}'
is "9" "edit changed data.a"

echo "# server-side apply"
expect_fail "SSA conflict with kubectl-edit" apply --server-side -f "$FIX/configmap.yaml"
has 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a' "SSA conflict text"
expect_ok "SSA --force-conflicts" apply --server-side --force-conflicts -f "$FIX/configmap.yaml"
is "configmap/settings serverside-applied" "SSA output"
expect_ok "SSA value" get cm settings -o jsonpath='{.data.a}'
is "1" "forced apply took data.a"
expect_ok "managedFields" get cm settings -o jsonpath='{range .metadata.managedFields[*]}{.manager}:{.operation} {end}'
has "kubectl:Apply" "managedFields has the apply manager"
expect_ok "SSA CR" apply --server-side -f "$FIX/customdomain.yaml" --field-manager=gitops --force-conflicts
has "serverside-applied" "SSA on a custom resource"

echo "# dry run"
expect_ok "create --dry-run=server" create --dry-run=server -o name -f - <<<'{"apiVersion":"auth0.domain-operator.dev/v1alpha1","kind":"CustomDomain","metadata":{"name":"dry"},"spec":{"domain":"dry.example.com","type":"Auth0ManagedCerts"}}'
is "customdomain.auth0.domain-operator.dev/dry" "dry-run create answered"
expect_fail "dry-run stored nothing" get acd dry
has "NotFound" "dry-run object absent"

echo "# status subresource and wait"
expect_ok "status patch" patch acd login --subresource=status --type=merge -p '{"status":{"state":"Ready","conditions":[{"type":"Verified","status":"True","reason":"DnsFound","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"},{"type":"Ready","status":"True","reason":"Ready","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
expect_ok "wait --for=condition=Ready" wait --for=condition=Ready acd/login --timeout=10s
is "customdomain.auth0.domain-operator.dev/login condition met" "wait output"
expect_ok "get after status" get acd login -o wide
line_re '^login +login.example.com +Auth0ManagedCerts +Ready +True +True +[0-9]+s$' "columns from status incl. filter expressions"
expect_ok "status ignored on main resource" patch acd login --type=merge -p '{"status":{"state":"Hacked"}}'
expect_ok "state kept" get acd login -o jsonpath='{.status.state}'
is "Ready" "main-resource write does not change status"
expect_fail "status validated" patch acd login --subresource=status --type=merge -p '{"status":{"observedGeneration":"x"}}'
has 'status.observedGeneration: Invalid value: "string": status.observedGeneration in body must be of type integer: "string"' "status writes validated"

echo "# watch"
"$KUBECTL" get acd --watch --output-watch-events >"$WORK/watch.out" 2>&1 &
BG_PIDS+=($!)
sleep 1
expect_ok "label during watch" label acd login watched=yes
for _ in $(seq 1 50); do grep -q MODIFIED "$WORK/watch.out" && break; sleep 0.1; done
OUT="$(cat "$WORK/watch.out")"
record "get acd --watch --output-watch-events (background)" 0 "$WORK/watch.out"
line_re '^EVENT +NAME +DOMAIN +TYPE +STATE +READY +AGE$' "get -w header"
line_re '^ADDED +login ' "get -w initial event"
line_re '^MODIFIED +login ' "get -w modification"

echo "# finalizers and deletion"
expect_ok "add finalizer" patch acd extra --type=merge -p '{"metadata":{"finalizers":["example.dev/hold"]}}'
expect_ok "delete --wait=false" delete acd extra --wait=false
is 'customdomain.auth0.domain-operator.dev "extra" deleted' "delete output"
expect_ok "deletionTimestamp set" get acd extra -o jsonpath='{.metadata.deletionTimestamp}'
line_re '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "object marked, not gone"
"$KUBECTL" wait --for=delete acd/extra --timeout=15s >"$WORK/wait.out" 2>&1 &
WAIT_PID=$!
sleep 0.5
expect_ok "remove finalizer" patch acd extra --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
wait "$WAIT_PID"; RC=$?; OUT="$(cat "$WORK/wait.out")"
record "wait --for=delete acd/extra (background)" "$RC" "$WORK/wait.out"
if [[ $RC -eq 0 ]]; then ok "wait --for=delete returns"; else bad "wait --for=delete returns"; fi
expect_ok "delete --wait" delete -f "$FIX/customdomain.yaml" --wait=true
is 'customdomain.auth0.domain-operator.dev "login" deleted' "delete --wait output"
expect_ok "empty" get acd
is "No resources found in default namespace." "no resources left"

echo "# built-in types"
expect_ok "apply built-ins" apply -f "$FIX/builtins.yaml"
has "lease.coordination.k8s.io/leader created" "lease created"
has "event.events.k8s.io/login.2 created" "events.k8s.io event created"
expect_ok "secret stringData" get secret creds -n team -o jsonpath='{.data.client_id}'
is "YWJj" "stringData encoded into data"
expect_ok "get secrets" get secrets -n team
line_re '^NAME +TYPE +DATA +AGE$' "secret columns"
line_re '^creds +Opaque +1 +[0-9]+s$' "secret row"
expect_ok "get leases" get leases -n team
line_re '^leader +pod-a +[0-9]+s$' "lease row"
expect_ok "get events" get events
line_re '^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$' "event columns"
expect_ok "events.k8s.io event in core view" get events --field-selector involvedObject.name=login,reason=Verified -o jsonpath='{.items[*].message}'
is "DNS record found" "events.k8s.io/v1 events are visible as core events"
expect_ok "get sa" get sa -n team -o name
is "serviceaccount/operator" "service account"
expect_ok "namespace uid" get ns team -o jsonpath='{.metadata.uid}'
line_re '^[0-9a-f-]{36}$' "namespace has a UID"

expect_ok "create secret (protobuf body)" create secret generic s1 --from-literal=k=v
is "secret/s1 created" "kubectl create secret"
expect_ok "secret data" get secret s1 -o jsonpath='{.data.k}'
is "dg==" "created secret data"
expect_ok "create namespace" create namespace scratch
is "namespace/scratch created" "kubectl create namespace"
expect_ok "create serviceaccount" create serviceaccount robot -n scratch
is "serviceaccount/robot created" "kubectl create serviceaccount"

echo "# garbage collection"
expect_ok "owner" create configmap owner --from-literal=x=y
OWNER_UID="$("$KUBECTL" get cm owner -o jsonpath='{.metadata.uid}')"
expect_ok "dependent" apply -f - <<<"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dependent\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"owner\",\"uid\":\"$OWNER_UID\",\"blockOwnerDeletion\":true}]}}"
expect_ok "delete owner --cascade=foreground" delete cm owner --cascade=foreground
expect_fail "dependent collected" get cm dependent
has 'configmaps "dependent" not found' "dependent gone"
expect_ok "delete namespace" delete ns team --wait=true
expect_ok "namespace contents gone" get secrets -n team
is "No resources found in team namespace." "namespace deletion cascades"

echo "# kube-apiserver parity (finalizers, names, events, selectors, cost, access review, scale)"
expect_ok "finalized configmap" apply -f - <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.dev/hold"]}}'
expect_ok "delete held --wait=false" delete cm held --wait=false
expect_fail "no new finalizer while deleting" patch cm held --type=merge -p '{"metadata":{"finalizers":["example.dev/hold","example.dev/late"]}}'
is 'The ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.dev/late"}' "no-new-finalizers text"
expect_ok "release held" patch cm held --type=merge -p '{"metadata":{"finalizers":null}}'
LONG="$(printf 'v%.0s' $(seq 1 64))"
expect_fail "label value too long" apply -f - <<<"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"lbl\",\"labels\":{\"app\":\"$LONG\"}}}"
is "The ConfigMap \"lbl\" is invalid: metadata.labels: Invalid value: \"$LONG\": must be no more than 63 characters" "label value text"
expect_fail "bad annotation key" apply -f - <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ann","annotations":{"a/b/c":"x"}}}'
has "metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters" "annotation key text"
# kubectl create clears resourceVersion itself; --raw sends the body as written.
printf '%s' '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"withrv","resourceVersion":"12"}}' >"$WORK/withrv.json"
expect_fail "resourceVersion on create" create --raw /api/v1/namespaces/default/configmaps -f "$WORK/withrv.json"
has "resourceVersion should not be set on objects to be created" "resourceVersion on create text"
expect_fail "event without eventTime" create -f - <<<'{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"ev1"},"type":"Info","reason":"R","action":"A","reportingController":"example.dev/op","reportingInstance":"p","regarding":{"kind":"ConfigMap","namespace":"default","name":"x"}}'
is 'The Event "ev1" is invalid: 
* eventTime: Required value
* type: Invalid value: "": has invalid value: Info' "events.k8s.io validation text"
expect_ok "valid event" create -f - <<<'{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"ev2"},"eventTime":"2026-01-01T00:00:00.000000Z","type":"Normal","reason":"R","action":"A","reportingController":"example.dev/op","reportingInstance":"p","regarding":{"kind":"ConfigMap","namespace":"default","name":"x"}}'
expect_fail "unsupported field selector" get cm --field-selector data.a=1
has 'Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that match label selector "", field selector "data.a=1": "data.a" is not a known field selector: only "metadata.name", "metadata.namespace"' "field selector 400 text"
expect_ok "apply widget CRD" apply -f "$FIX/crd-widget.yaml"
expect_ok "wait widget CRD" wait --for=condition=Established crd/widgets.parity.dev --timeout=10s
expect_ok "widgets" apply -f - <<<'{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"parity.dev/v1","kind":"Widget","metadata":{"name":"red"},"spec":{"color":"red","replicas":1}},{"apiVersion":"parity.dev/v1","kind":"Widget","metadata":{"name":"blue"},"spec":{"color":"blue","replicas":1}}]}'
expect_ok "selectable field" get widgets --field-selector spec.color=red -o name
is "widget.parity.dev/red" "selectableFields select"
expect_fail "field not selectable" get widgets --field-selector spec.replicas=1
has 'field selector "spec.replicas=1": field label not supported: spec.replicas' "CR field selector 400 text"
expect_ok "scale widget" scale widget red --replicas=3
is "widget.parity.dev/red scaled" "scale output"
expect_ok "scaled replicas" get widget red -o jsonpath='{.spec.replicas}'
is "3" "scale wrote spec.replicas"
expect_ok "scale subresource" get --raw /apis/parity.dev/v1/namespaces/default/widgets/red/scale
has '"apiVersion":"autoscaling/v1","kind":"Scale"' "GET scale is an autoscaling/v1 Scale"
has '"spec":{"replicas":3}' "Scale spec.replicas"
expect_ok "auth can-i" auth can-i create pods
is "yes" "can-i answers yes (no RBAC)"
expect_ok "auth can-i --list" auth can-i --list
line_re '^\*\.\* +\[\] +\[\] +\[\*\]$' "can-i --list shows everything allowed"
expect_fail "CEL rule over cost budget" apply -f - <<<'{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gadgets.parity.dev"},"spec":{"group":"parity.dev","scope":"Namespaced","names":{"kind":"Gadget","plural":"gadgets"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"hosts":{"type":"array","items":{"type":"string"}}},"x-kubernetes-validations":[{"rule":"self.hosts.all(h, h.matches(\"^[a-z.]+$\"))"}]}}}}}]}}'
has 'spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)' "cost budget text"
"$KUBECTL" get cm -l app=web --watch --output-watch-events >"$WORK/selwatch.out" 2>&1 &
BG_PIDS+=($!)
sleep 1
expect_ok "mover" create configmap mover --from-literal=k=v
expect_ok "mover joins app=web" label cm mover app=web
expect_ok "mover leaves app=web" label cm mover app=db --overwrite
for _ in $(seq 1 50); do grep -q DELETED "$WORK/selwatch.out" && break; sleep 0.1; done
OUT="$(cat "$WORK/selwatch.out")"
record "get cm -l app=web --watch --output-watch-events (background)" 0 "$WORK/selwatch.out"
line_re '^ADDED +mover ' "selector watch: ADDED when the object starts matching"
line_re '^DELETED +mover ' "selector watch: DELETED when it stops matching"
if grep -q '^MODIFIED' <<<"$OUT"; then bad "selector watch sends no MODIFIED for entering/leaving"; else ok "selector watch sends no MODIFIED for entering/leaving"; fi

echo "# errors"
expect_fail "bad token" --token=wrong get ns
is "error: You must be logged in to the server (Unauthorized)" "401 text"
expect_fail "unknown kind" apply -f - <<<'{"apiVersion":"nope.dev/v1","kind":"Thing","metadata":{"name":"x"}}'
has 'no matches for kind "Thing" in version "nope.dev/v1"' "unknown kind text"

echo "# kustomize installs (every deploy/**/kustomization.yaml)"
KUSTOMIZATIONS="$(find "$ROOT/deploy" -name kustomization.yaml 2>/dev/null | sort)"
if [[ -z "$KUSTOMIZATIONS" ]]; then
    echo "skip no kustomization under deploy/ yet"
fi
for kz in $KUSTOMIZATIONS; do
    dir="$(dirname "$kz")"
    expect_ok "apply -k ${dir#"$ROOT"/}" apply -k "$dir"
done

echo
echo "kubectl conformance: $PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
