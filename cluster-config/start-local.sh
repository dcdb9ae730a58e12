#!/usr/bin/env bash
# Starts every node of a VecShard topology file on this machine, in the background, and waits until each one answers
# CLUSTER MYID with its own id (so a port taken by another server is noticed).
#
#   cluster-config/start-local.sh cluster-config/local-3.conf [-- extra vecshard-server flags...]
#
# Binary:   $VECSHARD_BIN, default <repo>/.build/release/vecshard-server (swift build -c release --product vecshard-server)
# Run dir:  $VECSHARD_RUN_DIR, default ${TMPDIR:-/tmp}/vecshard-cluster/<file name without .conf>; one sub-directory
#           per node (its --dir) holding <node>.log and <node>.pid.  Stop with cluster-config/stop-local.sh <file>.
# Exit status 1 when a node fails to start (the nodes already started are stopped again and the log tail is printed).
set -euo pipefail

usage() { echo "usage: $0 <topology-file> [-- extra server flags...]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
topology=$1; shift
[[ ${1:-} == "--" ]] && shift
extra=("$@")
[[ -r $topology ]] || { echo "start-local: can't read topology file '$topology'" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
bin=${VECSHARD_BIN:-$repo/.build/release/vecshard-server}
[[ -x $bin ]] || { echo "start-local: no server binary at $bin (run: swift build -c release --product vecshard-server, or set VECSHARD_BIN)" >&2; exit 1; }
topology=$(cd "$(dirname "$topology")" && pwd)/$(basename "$topology")   # absolute: each node runs in its own --dir
name=$(basename "$topology" .conf)
run=${VECSHARD_RUN_DIR:-${TMPDIR:-/tmp}/vecshard-cluster/$name}
timeout=${VECSHARD_START_TIMEOUT:-10}

# node <name> <id> <host> <port> <bus-port> <role> ... (comments and blank lines skipped; the server validates the rest)
nodes=()
while read -r keyword node id host port _rest; do
    [[ $keyword == node ]] && nodes+=("$node $host $port ${id,,}")
done < <(sed 's/#.*//' "$topology")
[[ ${#nodes[@]} -gt 0 ]] || { echo "start-local: no 'node' lines in $topology" >&2; exit 1; }

node_ready() {  # host port id -> 0: answers CLUSTER MYID with id; 1: no answer yet; 2: something else answers
    local header="" body=""
    { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
    printf 'CLUSTER MYID\r\n' >&3
    IFS= read -r -t 1 header <&3 || true
    IFS= read -r -t 1 body <&3 || true
    exec 3<&- 3>&-
    [[ -z $header ]] && return 1
    [[ ${body%$'\r'} == "$3" ]] && return 0
    return 2
}

started=()
fail() {
    echo "start-local: $1" >&2
    [[ -n ${2:-} && -f $2 ]] && { echo "--- last lines of $2:" >&2; tail -n 20 "$2" >&2; }
    for pidfile in "${started[@]}"; do kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; done
    exit 1
}

mkdir -p "$run"
for entry in "${nodes[@]}"; do
    read -r node host port _ <<<"$entry"
    dir=$run/$node
    mkdir -p "$dir"
    pidfile=$dir/$node.pid
    if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        fail "node $node is already running (pid $(cat "$pidfile")); stop it with $here/stop-local.sh $topology"
    fi
    bind=()
    [[ $host =~ ^[0-9.]+$ || $host == *:* ]] && bind=(--bind "$host")   # IP literals: listen exactly there
    "$bin" --port "$port" "${bind[@]}" --dir "$dir" --cluster-enabled yes --cluster-topology "$topology" \
        --cluster-node "$node" "${extra[@]}" >"$dir/$node.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    started+=("$pidfile")
done

for entry in "${nodes[@]}"; do
    read -r node host port id <<<"$entry"
    dir=$run/$node
    deadline=$((SECONDS + timeout))
    while true; do
        kill -0 "$(cat "$dir/$node.pid")" 2>/dev/null || fail "node $node ($host:$port) exited during startup" "$dir/$node.log"
        status=0
        node_ready "$host" "$port" "$id" || status=$?
        ((status == 0)) && break
        ((status == 2)) && fail "$host:$port answers, but not as node $node ($id): is the port taken?" "$dir/$node.log"
        ((SECONDS < deadline)) || fail "node $node ($host:$port) did not answer within ${timeout}s" "$dir/$node.log"
        sleep 0.1
    done
    echo "started $node on $host:$port (pid $(cat "$dir/$node.pid"), dir $dir)"
done
read -r _ host port _ <<<"${nodes[0]}"; echo "cluster '$name' is up: redis-cli -c -h $host -p $port"
