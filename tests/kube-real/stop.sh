#!/usr/bin/env bash
# Stops the cluster tests/kube-real/start.sh started in DIR: SIGTERM to each process group it
# recorded (controller manager and API server first, etcd last), SIGKILL after 10 s. Keeps DIR
# (logs, audit log) unless --rm is given.
#   tests/kube-real/stop.sh DIR [--rm]
set -uo pipefail
dir=${1:?usage: stop.sh DIR [--rm]}
[[ -f $dir/pids ]] || exit 0
# Reverse start order.
mapfile -t entries < <(tac "$dir/pids")
for e in "${entries[@]}"; do
  read -r pid name <<<"$e"
  kill -0 "$pid" 2>/dev/null || continue
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kube-real: $name ($pid) still running after 10 s: SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  fi
done
: >"$dir/pids"
if [[ ${2:-} == --rm ]]; then
  rm -rf "$dir"
fi
