#!/usr/bin/env bash
# Stops the nodes that cluster-config/start-local.sh started: SIGTERM, then SIGKILL after 10 s.
#
#   cluster-config/stop-local.sh [<topology-file>]     (no file: every cluster under the run root)
#
# Only processes recorded in the run directory's <node>.pid files are signalled, and only while they are still a
# vecshard-server, or the $VECSHARD_BIN it was started with (a recycled pid is left alone). $VECSHARD_RUN_DIR
# selects the run directory as for start-local.sh.
set -euo pipefail

root=${TMPDIR:-/tmp}/vecshard-cluster
if [[ $# -ge 1 ]]; then
    runs=("${VECSHARD_RUN_DIR:-$root/$(basename "$1" .conf)}")
elif [[ -n ${VECSHARD_RUN_DIR:-} ]]; then
    runs=("$VECSHARD_RUN_DIR")
else
    shopt -s nullglob
    runs=("$root"/*)
fi

binary=$(basename "${VECSHARD_BIN:-vecshard-server}")
is_server() {
    [[ -r /proc/$1/cmdline ]] || return 1
    local cmd
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline")
    [[ $cmd == *vecshard-server* || $cmd == *"$binary"* ]]
}

pids=()
shopt -s nullglob
for run in "${runs[@]}"; do
    for pidfile in "$run"/*/*.pid; do
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null && is_server "$pid"; then
            kill -TERM "$pid" && pids+=("$pid") && echo "stopping $(basename "$pidfile" .pid) (pid $pid)"
        fi
        rm -f "$pidfile"
    done
done

for _ in $(seq 100); do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [[ ${#alive[@]} -eq 0 ]] && exit 0
    sleep 0.1
done
for pid in "${alive[@]}"; do echo "pid $pid ignored SIGTERM: SIGKILL" >&2; kill -KILL "$pid" 2>/dev/null || true; done
