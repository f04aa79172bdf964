#!/usr/bin/env bash
# Builds the real Kubernetes test cluster's programs once, from the Go modules pinned in
# tests/kube-real/go.mod: kube-apiserver, kube-controller-manager (its garbage collector and
# namespace controller) and kubectl from k8s.io/kubernetes, and etcd from
# go.etcd.io/etcd/server/v3. They land in .deps/kube-real/<kubernetes>-etcd-<etcd>/; a warm run
# finds them there and builds nothing. Called by `make deps`.
#   --print-dir   only print that directory (used by tests/kube-real/start.sh and the Makefile)
set -euo pipefail
cd "$(dirname "$0")/.."
mod=tests/kube-real
pinned() { awk -v m="$1" '($1 == "require" && $2 == m) {print $3} ($1 == m && $2 ~ /^v/) {print $2}' $mod/go.mod | sed -n 1p; }
k8s_version=$(pinned k8s.io/kubernetes)
etcd_version=$(pinned go.etcd.io/etcd/server/v3)
[[ -n $k8s_version && -n $etcd_version ]] || { echo "deps-kube-real: cannot read the pinned versions from $mod/go.mod" >&2; exit 1; }
dir=$PWD/.deps/kube-real/$k8s_version-etcd-$etcd_version
if [[ ${1:-} == --print-dir ]]; then echo "$dir"; exit 0; fi

targets=(
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kubectl=k8s.io/kubernetes/cmd/kubectl
  etcd=./cmd/etcd
)
missing=()
for t in "${targets[@]}"; do [[ -x $dir/${t%%=*} ]] || missing+=("$t"); done
if ((${#missing[@]} == 0)); then
  echo "deps-kube-real: ok (kubernetes $k8s_version, etcd $etcd_version in ${dir#"$PWD"/})"
  exit 0
fi

command -v go >/dev/null || { echo "deps-kube-real: go is required" >&2; exit 1; }
# The version the binaries report (kubectl version, /version); without it they say v0.0.0-master.
minor=${k8s_version#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$dir"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
start=$SECONDS
echo "deps-kube-real: building ${missing[*]%%=*} (kubernetes $k8s_version, etcd $etcd_version) into ${dir#"$PWD"/}; a cold build takes 12 to 17 minutes on 2 cores"
(cd $mod && go mod download)
for t in "${missing[@]}"; do
  name=${t%%=*} pkg=${t#*=}
  t0=$SECONDS
  echo "deps-kube-real:   go build $pkg"
  (cd $mod && go build -trimpath -ldflags "$ldflags" -o "$dir/.$name.tmp" "$pkg")
  mv "$dir/.$name.tmp" "$dir/$name"
  echo "deps-kube-real:   $name built in $((SECONDS - t0)) s"
done
echo "deps-kube-real: ok, built in $((SECONDS - start)) s"
# sed reads all of it: `head -1` would end kubectl with SIGPIPE, which pipefail turns into exit 141.
"$dir/kubectl" version --client 2>/dev/null | sed -n '1s/^/deps-kube-real:   kubectl /p'
