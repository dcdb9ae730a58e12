#!/usr/bin/env bash
# bench/vector-ab.sh — alternating query passes against VecShard and Redis Stack, each loaded once with
# pypi-minilm-50k (HNSW M 16 EFC 200 COSINE + year NUMERIC, popular TAG). On a noisy 2-core VM a single pass per
# server can land in a bad second for either one; alternating ROUNDS passes and comparing medians (and every round's
# ratio) gives a ratio that does not depend on which server ran during a hiccup. Complements bench/vector-server.sh.
#
#   bench/vector-ab.sh                      # unfiltered ef 40,80 and the popular filter at ef 40, 4 rounds each
#   ROUNDS=6 DURATION=8 bench/vector-ab.sh
# Writes bench/results/vector-ab.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
D=${DATA:-$REPO/../shared/data/pypi-minilm-50k}
BIN=${VECSHARD_BIN:-$REPO/.build/release/vecshard-server}
STACK=${REDIS_STACK_SH:-$REPO/../shared/bench/redis-stack.sh}
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-5}
OUT=${OUT:-$REPO/bench/results/vector-ab.md}
[[ -x $BIN ]] || swift build -c release --product vecshard-server
VB=$REPO/bench/vecbench-build/vecbench
if [[ ! -x $VB ]]; then
    mkdir -p "$REPO/bench/vecbench-build"; cp "$REPO/../shared/bench/vecbench.c" "$REPO/../shared/bench/Makefile" "$REPO/bench/vecbench-build/"
    make -C "$REPO/bench/vecbench-build" >/dev/null
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
RUN=$(mktemp -d)
"$BIN" --port "$P1" --dir "$RUN" >/dev/null 2>&1 & VPID=$!
bash "$STACK" start "$P2" >/dev/null
trap 'kill $VPID 2>/dev/null; bash "$STACK" stop "$P2" >/dev/null 2>&1 || true; rm -rf "$RUN"' EXIT
sleep 1
for p in "$P1" "$P2"; do
    "$VB" create --port "$p" --index idx --prefix doc: --dim 384 --metric COSINE --algo HNSW --m 16 --efc 200 \
        --extra "year NUMERIC popular TAG" >/dev/null 2>&1
    "$VB" load --port "$p" --index idx --prefix doc: --base "$D/base.fvecs" --tsv "$D/base.tsv" --fields year,popular \
        --conns 8 --pipeline 64 >/dev/null 2>&1
done
RAW=$RUN/raw.tsv
pass() {  # pass <name> <port> <round> <vecbench query args...>
    local name=$1 port=$2 round=$3; shift 3
    "$VB" query --port "$port" --index idx --prefix doc: --query "$D/query.fvecs" --k 10 --conns 2 --pipeline 1 \
        --duration "$DURATION" "$@" 2>/dev/null | grep '^JSON' | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line[5:]); print(sys.argv[1], sys.argv[2], sys.argv[3], r["ef"], r["recall"], r["qps"], sep="\t")' \
        "$name" "$port" "$round" >>"$RAW"
}
for round in $(seq "$ROUNDS"); do
    for p in "$P1" "$P2"; do
        pass knn "$p" "$round" --gt "$D/groundtruth.ivecs" --ef 40,80
        pass popular "$p" "$round" --gt "$D/groundtruth.popular.ivecs" --filter '@popular:{yes}' \
            --gt-filtered "$D/groundtruth.popular.ivecs" --ef 40
    done
done
python3 - "$RAW" "$P1" "$OUT" "$ROUNDS" "$DURATION" "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores" <<'PY'
import sys, statistics, collections, datetime
raw, ours, out, rounds, duration, machine = sys.argv[1:7]
rows = collections.defaultdict(list)  # (set, ef, server) -> [(round, recall, qps)]
for line in open(raw):
    name, port, rnd, ef, recall, qps = line.split("\t")
    rows[(name, int(ef), "vecshard" if port == ours else "redis-stack")].append((int(rnd), float(recall), float(qps)))
lines = [f"## Alternating passes: VecShard vs Redis Stack 7.4.1 (bench/vector-ab.sh)", "",
         f"Run {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on {machine}; both servers loaded once with pypi-minilm-50k "
         f"(HNSW M 16, EFC 200, COSINE, `year NUMERIC popular TAG`), then {rounds} rounds of one {duration} s pass per "
         f"server (2 connections, pipeline 1), alternating.", "",
         "| query | ef | vecshard recall / median QPS | redis-stack recall / median QPS | median ratio | per-round ratios |",
         "| --- | --- | --- | --- | --- | --- |"]
for (name, ef) in sorted({(k[0], k[1]) for k in rows}):
    v, r = rows[(name, ef, "vecshard")], rows[(name, ef, "redis-stack")]
    vm, rm = statistics.median(q for _, _, q in v), statistics.median(q for _, _, q in r)
    per = " ".join(f"{a[2] / b[2]:.2f}" for a, b in zip(sorted(v), sorted(r)))
    lines.append(f"| {name} | {ef} | {v[0][1]:.4f} / {vm:,.0f} | {r[0][1]:.4f} / {rm:,.0f} | {vm / rm:.2f}× | {per} |")
lines += ["", "Command: `bench/vector-ab.sh` (env ROUNDS, DURATION). Compare at matched recall: the first ef whose "
          "recall@10 is ≥ 0.95 can differ between the two servers (graph builds are not deterministic)."]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
