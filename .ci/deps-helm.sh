#!/usr/bin/env bash
# Builds the helm CLI that tests/helm/run.sh uses, once, from the Go module pinned in
# tests/helm/tool/go.mod (helm.sh/helm/v4, `tool helm.sh/helm/v4/cmd/helm`), into
# .deps/helm/<version>/helm; a warm run finds it there and builds nothing. Also downloads the
# modules of tests/kstatus (the kstatus check) so that `make test-kstatus` needs no network.
# Called by `make deps`.
#   --print-dir   only print that directory (used by tests/helm/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
mod=tests/helm/tool
version=$(awk '($1 == "helm.sh/helm/v4" && $2 ~ /^v/) {print $2} ($1 == "require" && $2 == "helm.sh/helm/v4") {print $3}' $mod/go.mod | sed -n 1p)
[[ -n $version ]] || { echo "deps-helm: cannot read the pinned helm.sh/helm/v4 version from $mod/go.mod" >&2; exit 1; }
dir=$PWD/.deps/helm/$version
if [[ ${1:-} == --print-dir ]]; then echo "$dir"; exit 0; fi

command -v go >/dev/null || { echo "deps-helm: go is required" >&2; exit 1; }
export GOFLAGS=-buildvcs=false

# kstatus check module: only its modules (small; built by `go test` in make test-kstatus).
if [[ -f tests/kstatus/go.mod ]]; then
  (cd tests/kstatus && go mod download)
fi

if [[ -x $dir/helm ]]; then
  echo "deps-helm: ok (helm $version in ${dir#"$PWD"/})"
  exit 0
fi
mkdir -p "$dir"
start=$SECONDS
echo "deps-helm: building helm $version into ${dir#"$PWD"/} (a cold build takes a few minutes on 2 cores)"
(cd $mod && go mod download)
# The version helm reports (helm version; the chart's kubeVersion/apiVersion checks use it); a
# plain `go build` says v4.3 with no patch.
(cd $mod && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  -o "$dir/.helm.tmp" helm.sh/helm/v4/cmd/helm)
mv "$dir/.helm.tmp" "$dir/helm"
echo "deps-helm: ok, built in $((SECONDS - start)) s: $("$dir/helm" version --short 2>/dev/null)"
