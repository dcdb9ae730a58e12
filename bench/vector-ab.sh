#!/usr/bin/env bash
# bench/vector-ab.sh — alternating query passes against VecShard and Redis Stack, each loaded once with
# pypi-minilm-50k (HNSW M 16 EFC 200 COSINE + year NUMERIC, popular TAG). On a noisy 2-core VM a single pass per
# server can land in a bad second for either one; alternating ROUNDS passes and comparing medians (and every round's
# ratio) gives a ratio that does not depend on which server ran during a hiccup. Complements bench/vector-server.sh.
#
#   bench/vector-ab.sh                      # unfiltered ef 40,80 and the popular filter at ef 40, 4 rounds each
#   ROUNDS=6 DURATION=8 KNN_EFS=40,44,48 bench/vector-ab.sh
#   BASELINE_BIN=/tmp/old-vecshard-server CONNS=1 bench/vector-ab.sh   # also an older build, alternating with the rest
# Writes bench/results/vector-ab.md (OUT overrides). Besides QPS, every pass records the server's CPU time per query
# (utime + stime from /proc/PID/stat over the pass ÷ queries), steadier than QPS on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
D=${DATA:-$REPO/../shared/data/pypi-minilm-50k}
BIN=${VECSHARD_BIN:-$REPO/.build/release/vecshard-server}
STACK=${REDIS_STACK_SH:-$REPO/../shared/bench/redis-stack.sh}
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-5}; CONNS=${CONNS:-2}
BASE=${BASELINE_BIN:-}
OUT=${OUT:-$REPO/bench/results/vector-ab.md}
[[ -x $BIN ]] || swift build -c release --product vecshard-server
VB=$REPO/bench/vecbench-build/vecbench
if [[ ! -x $VB ]]; then
    mkdir -p "$REPO/bench/vecbench-build"; cp "$REPO/../shared/bench/vecbench.c" "$REPO/../shared/bench/Makefile" "$REPO/bench/vecbench-build/"
    make -C "$REPO/bench/vecbench-build" >/dev/null
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port); P3=$(free_port)
RUN=$(mktemp -d)
"$BIN" --port "$P1" --dir "$RUN" >/dev/null 2>&1 & VPID=$!
BPID=
if [[ -n $BASE ]]; then mkdir -p "$RUN/base"; "$BASE" --port "$P3" --dir "$RUN/base" >/dev/null 2>&1 & BPID=$!; fi
bash "$STACK" start "$P2" >/dev/null
trap 'kill $VPID $BPID 2>/dev/null; bash "$STACK" stop "$P2" >/dev/null 2>&1 || true; rm -rf "$RUN"' EXIT
sleep 1
PORTS=("$P1" "$P2"); [[ -n $BASE ]] && PORTS+=("$P3")
for p in "${PORTS[@]}"; do
    "$VB" create --port "$p" --index idx --prefix doc: --dim 384 --metric COSINE --algo HNSW --m 16 --efc 200 \
        --extra "year NUMERIC popular TAG" >/dev/null 2>&1
    "$VB" load --port "$p" --index idx --prefix doc: --base "$D/base.fvecs" --tsv "$D/base.tsv" --fields year,popular \
        --conns 8 --pipeline 64 >/dev/null 2>&1
done
RAW=$RUN/raw.tsv
server_pid() { redis-cli -p "$1" info server | tr -d '\r' | sed -n 's/^process_id://p'; }
declare -A PID_OF
for p in "${PORTS[@]}"; do PID_OF[$p]=$(server_pid "$p"); done
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }  # utime + stime, fields 14 and 15
pass() {  # pass <name> <port> <round> <vecbench query args...>; one vecbench run per --ef value, each timed alone
    local name=$1 port=$2 round=$3; shift 3
    local efs=$1; shift
    local ef
    for ef in ${efs//,/ }; do
        local t0; t0=$(cpu_ticks "${PID_OF[$port]}")
        local json; json=$("$VB" query --port "$port" --index idx --prefix doc: --query "$D/query.fvecs" --k 10 --conns "$CONNS" \
            --pipeline 1 --duration "$DURATION" --ef "$ef" "$@" 2>/dev/null | grep '^JSON')
        local t1; t1=$(cpu_ticks "${PID_OF[$port]}")
        python3 -c '
import json, os, sys
r = json.loads(sys.argv[5][5:])
us = (int(sys.argv[7]) - int(sys.argv[6])) / os.sysconf("SC_CLK_TCK") * 1e6 / max(1, r["queries"])
print(sys.argv[1], sys.argv[2], sys.argv[3], r["ef"], r["recall"], r["qps"], f"{us:.1f}", sep="\t")' \
            "$name" "$port" "$round" "$ef" "$json" "$t0" "$t1" >>"$RAW"
    done
}
for round in $(seq "$ROUNDS"); do
    # Rotate the order every round, so no server always runs right after the same one.
    order=("${PORTS[@]}"); for ((r = 1; r < round; r++)); do order=("${order[@]:1}" "${order[0]}"); done
    for p in "${order[@]}"; do
        pass knn "$p" "$round" "${KNN_EFS:-40,80}" --gt "$D/groundtruth.ivecs"
        pass popular "$p" "$round" 40 --gt "$D/groundtruth.popular.ivecs" --filter '@popular:{yes}' \
            --gt-filtered "$D/groundtruth.popular.ivecs"
    done
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RAW" "$P1" "$P3" "$OUT" "$ROUNDS" "$DURATION" "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores" \
    "$CONNS" "$LOAD" "${BASE:+$(basename "$BASE")}" <<'PY'
import sys, statistics, collections, datetime
raw, ours, base_port, out, rounds, duration, machine, conns, load, base_name = sys.argv[1:11]
rows = collections.defaultdict(list)  # (set, ef, server) -> [(round, recall, qps, server µs/query)]
for line in open(raw):
    name, port, rnd, ef, recall, qps, us = line.rstrip("\n").split("\t")
    server = "vecshard" if port == ours else "baseline" if port == base_port else "redis-stack"
    rows[(name, int(ef), server)].append((int(rnd), float(recall), float(qps), float(us)))
med = lambda xs, i: statistics.median(x[i] for x in xs)
lines = [f"## Alternating passes: VecShard vs Redis Stack 7.4.1 (bench/vector-ab.sh)", "",
         f"Run {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on {machine}, load average {load} at the end; the servers "
         f"loaded once with pypi-minilm-50k (HNSW M 16, EFC 200, COSINE, `year NUMERIC popular TAG`), then {rounds} "
         f"round{'s' if rounds != '1' else ''} of one {duration} s pass per server ({conns} connection{'s' if conns != '1' else ''}, pipeline 1), "
         f"alternating" + (f"; `baseline` is an older VecShard build ({base_name})." if base_name else "."), "",
         "Server µs/q: the server's CPU time (utime + stime, /proc/PID/stat) over a pass ÷ its queries, median of the rounds.", "",
         "| query | ef | vecshard recall / median QPS / µs/q | redis-stack recall / median QPS / µs/q | median QPS ratio | per-round ratios |",
         "| --- | --- | --- | --- | --- | --- |"]
keys = sorted({(k[0], k[1]) for k in rows})
for (name, ef) in keys:
    v, r = rows[(name, ef, "vecshard")], rows[(name, ef, "redis-stack")]
    per = " ".join(f"{a[2] / b[2]:.2f}" for a, b in zip(sorted(v), sorted(r)))
    lines.append(f"| {name} | {ef} | {v[0][1]:.4f} / {med(v, 2):,.0f} / {med(v, 3):.0f} | {r[0][1]:.4f} / {med(r, 2):,.0f} / "
                 f"{med(r, 3):.0f} | {med(v, 2) / med(r, 2):.2f}× | {per} |")
if base_name:
    lines += ["", f"VecShard (this build) against `baseline` ({base_name}), same rounds:", "",
              "| query | ef | vecshard QPS / µs/q | baseline QPS / µs/q | QPS ratio (per round) | µs/q ratio (per round) |",
              "| --- | --- | --- | --- | --- | --- |"]
    for (name, ef) in keys:
        v, b = sorted(rows[(name, ef, "vecshard")]), sorted(rows[(name, ef, "baseline")])
        rq = [x[2] / y[2] for x, y in zip(v, b)]
        ru = [x[3] / y[3] for x, y in zip(v, b)]
        lines.append(f"| {name} | {ef} | {med(v, 2):,.0f} / {med(v, 3):.0f} | {med(b, 2):,.0f} / {med(b, 3):.0f} | "
                     f"{statistics.median(rq):.2f}× ({' '.join(f'{x:.2f}' for x in rq)}) | "
                     f"{statistics.median(ru):.2f}× ({' '.join(f'{x:.2f}' for x in ru)}) |")
lines += ["", "Command: `bench/vector-ab.sh` (env ROUNDS, DURATION, CONNS, BASELINE_BIN). Compare at matched recall: the "
          "first ef whose recall@10 is ≥ 0.95 can differ between the servers (graph builds are not deterministic)."]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
