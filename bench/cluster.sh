#!/usr/bin/env bash
# bench/cluster.sh — 1 node vs 3 local masters on pypi-minilm-50k with vecbench: ingest, coordinated KNN (server-side
# coordinator, --cluster) vs client-side fan-out (--fanout over 3 standalone shards holding the same split), recall,
# QPS, p99, and the coordinator's per-query overhead (INFO coordinator). Results: bench/results/cluster.md.
#
#   bench/cluster.sh [--algo FLAT|HNSW] [--ef 40,80] [--cluster-ef 16,24] [--duration 10] [--conns 4] [--limit N]
# Env: VECSHARD_BIN (default .build/release/vecshard-server), VECBENCH (default: built from ../shared/bench into
# $WORK), DATA (default ../shared/data/pypi-minilm-50k), WORK (default ${TMPDIR:-/tmp}/vecshard-bench-cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ALGO=FLAT EF="" CLUSTER_EF="" DURATION=10 CONNS=4 LIMIT=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --algo) ALGO=$2; shift 2 ;;
        --ef) EF=$2; shift 2 ;;
        --cluster-ef) CLUSTER_EF=$2; shift 2 ;;  # extra coordinated passes (lower ef per shard, matched recall)
        --duration) DURATION=$2; shift 2 ;;
        --conns) CONNS=$2; shift 2 ;;
        --limit) LIMIT=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[[ $ALGO == HNSW && -z $EF ]] && EF=20,40,80
BIN=${VECSHARD_BIN:-$REPO/.build/release/vecshard-server}
DATA=${DATA:-$(cd "$REPO/../shared/data/pypi-minilm-50k" && pwd)}
WORK=${WORK:-${TMPDIR:-/tmp}/vecshard-bench-cluster}
mkdir -p "$WORK"
[[ -x $BIN ]] || swift build -c release --product vecshard-server
if [[ -z ${VECBENCH:-} ]]; then
    cp "$REPO/../shared/bench/vecbench.c" "$REPO/../shared/bench/Makefile" "$WORK/"
    make -s -C "$WORK" >/dev/null
    VECBENCH=$WORK/vecbench
fi
OUT=$WORK/out.txt
: >"$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do redis-cli -p "$1" PING >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
start() {  # port dir args...
    local port=$1 dir=$2; shift 2
    mkdir -p "$dir"
    "$BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" "$@" >"$dir/server.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
}
log() { echo "### $*" | tee -a "$OUT"; }
vb() { "$VECBENCH" "$@" | tee -a "$OUT"; }

CREATE=(--index idx --prefix doc: --dim 384 --metric COSINE --algo "$ALGO" --m 16 --efc 200)
LOAD=(--index idx --prefix doc: --base "$DATA/base.fvecs" --conns 4 --pipeline 64)
[[ $LIMIT -gt 0 ]] && LOAD+=(--limit "$LIMIT")
QUERY=(--index idx --prefix doc: --query "$DATA/query.fvecs" --gt "$DATA/groundtruth.ivecs" --k 10 --duration "$DURATION" --warmup 1)
[[ -n $EF ]] && QUERY+=(--ef "$EF")

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"

# 1. one node
P=$(free_port); start "$P" "$WORK/single"
log "single node ($ALGO)"
vb create --port "$P" "${CREATE[@]}"
vb load --port "$P" "${LOAD[@]}"
vb query --port "$P" "${QUERY[@]}" --conns "$CONNS"
vb query --port "$P" "${QUERY[@]}" --conns 1
kill "${PIDS[0]}"; PIDS=()

# 2. three masters, server-side coordinator (FT.CREATE on one node is broadcast; keys routed by slot)
TOPO=$WORK/local-3.conf
PORTS=()
while read -r line; do
    if [[ $line == node* ]]; then
        p=$(free_port); b=$(free_port); PORTS+=("$p")
        set -- $line; echo "node $2 $3 $4 $p $b ${*:7}"
    else echo "$line"; fi
done <"$REPO/cluster-config/local-3.conf" >"$TOPO"
for i in 0 1 2; do start "${PORTS[$i]}" "$WORK/m$i" --cluster-enabled yes --cluster-topology "$TOPO" --cluster-node "m$((i + 1))"; done
sleep 0.5
log "3 masters, coordinated ($ALGO)"
vb create --port "${PORTS[0]}" "${CREATE[@]}"
vb load --cluster --port "${PORTS[0]}" "${LOAD[@]}"
vb query --cluster --port "${PORTS[0]}" "${QUERY[@]}" --conns "$CONNS" --spread
vb query --cluster --port "${PORTS[0]}" "${QUERY[@]}" --conns 1
if [[ -n $CLUSTER_EF ]]; then
    vb query --cluster --port "${PORTS[0]}" "${QUERY[@]}" --ef "$CLUSTER_EF" --conns "$CONNS" --spread
fi
for p in "${PORTS[@]}"; do echo "coordinator $p: $(redis-cli -p "$p" INFO coordinator | grep -E 'coordinated_' | tr -d '\r' | tr '\n' ' ')" | tee -a "$OUT"; done
for p in "${PIDS[@]}"; do kill "$p"; done; PIDS=()

# 3. three standalone shards with the same slot split, client-side fan-out (vecbench merges the top k)
SHARDS=()
for i in 0 1 2; do p=$(free_port); start "$p" "$WORK/s$i"; SHARDS+=("127.0.0.1:$p"); done
SH=$(IFS=,; echo "${SHARDS[*]}")
log "3 standalone shards, client-side fan-out ($ALGO)"
vb create --shards "$SH" "${CREATE[@]}"
vb load --shards "$SH" "${LOAD[@]}"
vb query --shards "$SH" "${QUERY[@]}" --conns "$CONNS" --fanout
vb query --shards "$SH" "${QUERY[@]}" --conns 1 --fanout
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
echo "raw output: $OUT"
