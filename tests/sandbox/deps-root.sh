#!/usr/bin/env bash
# `make deps` installs Debian packages as root, through sudo when run as another user, and says
# that it needs root when neither works. Exercised on .ci/deps-deploy.sh with stand-ins on PATH
# (a non-root `id`, a recording `sudo` and `apt-get`, none of the packages' commands), so nothing
# is installed. Part of `make test-sandbox`.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/bin
mkdir -p "$bin"
# Only what the script needs besides the commands it looks for: python3 (the real interpreter,
# not a pyenv/virtualenv shim that needs its own PATH), id, apt-get.
for cmd in bash cat env; do ln -s "$(command -v "$cmd")" "$bin/$cmd"; done
printf '#!/bin/sh\nexec %s "$@"\n' "$(python3 -c 'import sys; print(sys.executable)')" >"$bin/python3"
chmod +x "$bin/python3"
printf '#!/bin/sh\necho 1000\n' >"$bin/id"
printf '#!/bin/sh\necho "apt-get $*" >>"%s/calls"\n' "$tmp" >"$bin/apt-get"
chmod +x "$bin/id" "$bin/apt-get"
fails=0
expect() { # description, condition...
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

# Not root, sudo present: every apt-get goes through sudo.
printf '#!/bin/sh\necho "sudo $*" >>"%s/calls"\nexec "$@"\n' "$tmp" >"$bin/sudo"
chmod +x "$bin/sudo"
out=$(PATH=$bin bash .ci/deps-deploy.sh 2>&1) || { echo "$out"; echo "FAIL deps-deploy.sh with sudo exited non-zero"; exit 1; }
expect "says it installs through sudo" grep -q "deps-deploy: sudo apt-get install lua5.4 lua5.1 prometheus curl" <<<"$out"
expect "apt-get update and install ran under sudo" test "$(grep -c '^sudo .*apt-get' "$tmp/calls")" -eq 2
expect "no apt-get ran without sudo" test "$(grep -c '^apt-get' "$tmp/calls")" -eq "$(grep -c '^sudo .*apt-get' "$tmp/calls")"
# sudo resets the environment: the non-interactive frontend must be passed inside the sudo call.
expect "DEBIAN_FRONTEND survives sudo" grep -q '^sudo env DEBIAN_FRONTEND=noninteractive apt-get install' "$tmp/calls"

# Not root, no sudo: it stops and says it needs root, before calling apt-get.
rm "$bin/sudo" "$tmp/calls"
if out=$(PATH=$bin bash .ci/deps-deploy.sh 2>&1); then
  echo "FAIL deps-deploy.sh without root or sudo succeeded"; fails=$((fails + 1))
fi
expect "without sudo it says it needs root" grep -q "needs root: run make deps as root" <<<"$out"
expect "without sudo apt-get is not called" test ! -e "$tmp/calls"

echo "deps-root: $fails failure(s)"
((fails == 0))
