#!/usr/bin/env bash
# Stops the cluster tests/kube-real/start.sh started in DIR: SIGTERM to each process group it
# recorded (API server and controller manager first, etcd last), SIGKILL to any still running
# after 10 s. Keeps DIR
# (logs, audit log) unless --rm is given.
#   tests/kube-real/stop.sh DIR [--rm]
set -uo pipefail
dir=${1:?usage: stop.sh DIR [--rm]}
[[ -f $dir/pids ]] || exit 0
stop_group() { # "pid name"... : SIGTERM to all at once, SIGKILL to any still running after 10 s
  local pids=() e pid name p alive
  for e in "$@"; do
    read -r pid name <<<"$e"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    pids+=("$pid:$name")
  done
  for _ in $(seq 1 100); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "${p%%:*}" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    pid=${p%%:*}
    if kill -0 "$pid" 2>/dev/null; then
      echo "kube-real: ${p#*:} ($pid) still running after 10 s: SIGKILL" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  done
}
# The API server and the controller manager together, then etcd (the API server's shutdown
# waits on it).
mapfile -t entries <"$dir/pids"
others=()
for e in "${entries[@]}"; do [[ $e == *" etcd" ]] || others+=("$e"); done
stop_group "${others[@]}"
for e in "${entries[@]}"; do [[ $e == *" etcd" ]] && stop_group "$e"; done
: >"$dir/pids"
if [[ ${2:-} == --rm ]]; then
  rm -rf "$dir"
fi
