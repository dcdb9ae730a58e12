#!/usr/bin/env bash
# bench/tiering-ab.sh — two tiered servers on copies of one saved index, differing only in environment (an A/B of a
# VS_* switch in one binary), query passes alternating between them so both see the same machine noise. Per pass:
# QPS, recall@10, SSD reads per query and pool hit ratio (INFO tiering deltas). The saved directory comes from a
# tiered server after SAVE (e.g. `RESTART=1 KEEP=1 bench/tiering.sh`). Env: TIERED_DIR, LIMIT (its
# --vector-memory-limit in bytes), ENV_A / ENV_B (e.g. "VS_HOT_RECORDS=0" and ""), DATASET pypi|synthetic-1m, EF (40),
# CONNS (2), ROUNDS (3), DURATION (6), BIN_A / BIN_B (default: this checkout's release build; an older binary
# copied aside makes it an A/B of two builds).
# SPLIT=1: the bench cycles its 1,000 queries, so caches see a repeated working set; this mode instead warms both
# servers on the first 500 queries only (DURATION s each), then sends each of the other 500 once (held out) and
# reports those: what a cache does for queries it has not seen.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/.build/release/vecshard-server; VB=$PWD/bench/vecbench-build/vecbench
: "${TIERED_DIR:?TIERED_DIR: a saved tiered server directory}" "${LIMIT:?LIMIT: its vector-memory-limit in bytes}"
case "${DATASET:-pypi}" in
  pypi) D=$PWD/../shared/data/pypi-minilm-50k; DOCS=50000 ;;
  synthetic-1m) D=/var/tmp/vecshard-synth-1m-128-l2; DOCS=1000000 ;;
  *) echo "DATASET pypi|synthetic-1m" >&2; exit 2 ;;
esac
EF=${EF:-40}; CONNS=${CONNS:-2}; ROUNDS=${ROUNDS:-3}; DUR=${DURATION:-6}
WORK=$(mktemp -d /var/tmp/vecshard-ab-XXXXXX)
trap 'redis-cli -p 50521 SHUTDOWN NOSAVE >/dev/null 2>&1 || true; redis-cli -p 50522 SHUTDOWN NOSAVE >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
cp -r "$TIERED_DIR" "$WORK/a"; cp -r "$TIERED_DIR" "$WORK/b"
(cd "$WORK" && setsid env ${ENV_A:-} ${BIN_A:-$B} --port 50521 --dir "$WORK/a" --loglevel warning --save '' --vector-memory-limit $LIMIT > /dev/null 2>&1 &)
(cd "$WORK" && setsid env ${ENV_B:-} ${BIN_B:-$B} --port 50522 --dir "$WORK/b" --loglevel warning --save '' --vector-memory-limit $LIMIT > /dev/null 2>&1 &)
sleep 1
for port in 50521 50522; do
  for i in $(seq 1 900); do n=$(redis-cli -p $port FT.INFO idx 2>/dev/null | grep -A1 '^num_docs' | tail -1 || true); [ "$n" = "$DOCS" ] && break; sleep 0.2; done
  redis-cli -p $port FT.WARMUP idx > /dev/null
done
info() { redis-cli -p $1 INFO tiering | tr -d '\r' | awk -F: '/^tiering_(ssd_reads|queries|pool_hits|pool_misses):/ {printf "%s ", $2}'; }
q() { $VB query --port $1 --index idx --prefix doc: --query $D/query.fvecs --gt $D/groundtruth.ivecs --k 10 --ef $EF --conns $CONNS --pipeline 1 --duration $2 2>/dev/null | grep JSON | python3 -c "import json,sys; d=json.loads(sys.stdin.read()[5:]); print(round(d['qps']), round(d['recall'],4), d['queries'])"; }
cpu() { awk '{print $14 + $15}' /proc/$(pgrep -f -- "--port $1 ")/stat; }  # server utime + stime, clock ticks
pass() {  # port seconds -> "qps recall reads/q hit-ratio server-µs/q"
  local before after result c0 c1
  before=$(info $1); c0=$(cpu $1); result=$(q $1 $2); c1=$(cpu $1); after=$(info $1)
  python3 - "$before" "$after" "$result" "$c0" "$c1" "$(getconf CLK_TCK)" <<'EOF'
import sys
b = [int(x) for x in sys.argv[1].split()]; a = [int(x) for x in sys.argv[2].split()]
hits, misses, queries, reads = (a[i] - b[i] for i in range(4))
qps, recall, sent = sys.argv[3].split()
cpu_us = (int(sys.argv[5]) - int(sys.argv[4])) * 1e6 / int(sys.argv[6])
print(qps, recall, round(reads / max(queries, 1), 2), round(hits / max(hits + misses, 1), 3), round(cpu_us / max(int(sent), 1)))
EOF
}
if [ "${SPLIT:-0}" = 1 ]; then
  python3 - "$D" "$WORK" <<'EOF'
import sys, numpy as np
d, out = sys.argv[1], sys.argv[2]
q = np.fromfile(d + '/query.fvecs', dtype=np.int32); q = q.reshape(-1, q[0] + 1)
g = np.fromfile(d + '/groundtruth.ivecs', dtype=np.int32); g = g.reshape(-1, g[0] + 1)
half = len(q) // 2
q[half:].tofile(out + '/heldout.fvecs'); g[half:].tofile(out + '/heldout.ivecs')
EOF
  warm() { $VB query --port $1 --index idx --prefix doc: --query $D/query.fvecs --gt $D/groundtruth.ivecs --nq 500 --k 10 --ef $EF --conns $CONNS --pipeline 1 --duration $DUR > /dev/null 2>&1; }
  q() { $VB query --port $1 --index idx --prefix doc: --query $WORK/heldout.fvecs --gt $WORK/heldout.ivecs --k 10 --ef $EF --conns $CONNS --pipeline 1 --count 500 2>/dev/null | grep JSON | python3 -c "import json,sys; d=json.loads(sys.stdin.read()[5:]); print(round(d['qps']), round(d['recall'],4), d['queries'])"; }
  warm 50521; warm 50522
  echo "A: ${ENV_A:-(none)}  B: ${ENV_B:-(none)}  ef $EF, $CONNS connections; warmed $DUR s on queries 0-499, then queries 500-999 once each; columns: QPS recall reads/q hit-ratio server-µs/q"
  a=$(pass 50521 0); b=$(pass 50522 0)
  echo "held out: A $a | B $b"
  exit 0
fi
q 50521 2 > /dev/null; q 50522 2 > /dev/null
echo "A: ${BIN_A:-$B} ${ENV_A:-}  B: ${BIN_B:-$B} ${ENV_B:-}  ef $EF, $CONNS connections, $DUR s passes; columns: QPS recall reads/q hit-ratio server-µs/q"
for r in $(seq 1 $ROUNDS); do
  a=$(pass 50521 $DUR); b=$(pass 50522 $DUR)
  echo "round $r A $a | B $b | B/A QPS $(python3 -c "print(round(${b%% *}/${a%% *},2))")"
done
