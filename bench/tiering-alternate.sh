#!/usr/bin/env bash
# bench/tiering-alternate.sh — tiered 20 % vs all-RAM QPS at a chosen concurrency, passes alternating between the two
# servers (ROUNDS × DURATION s each), so both see the same machine noise. The tiered server restarts from a dump saved
# earlier (TIERED_DIR: a 20 % server's --dir after SAVE, e.g. from `RESTART=1 KEEP=1 bench/tiering.sh`); the all-RAM
# server is loaded fresh. Env: DATASET pypi|synthetic-1m, EF (40), CONNS (8), ROUNDS (5), DURATION (6), LIMIT (bytes,
# the tiered server's --vector-memory-limit), TIERED_DIR, QUERIES (an .fvecs file to query with instead of the
# dataset's queries, without ground truth: e.g. 25,000 of the base vectors, so that no query repeats within a pass and
# caches see only unseen queries; recall is then not reported). Prints one line per round with both QPS and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/.build/release/vecshard-server; VB=$PWD/bench/vecbench-build/vecbench
: "${TIERED_DIR:?TIERED_DIR: the saved 20 % server directory}" "${LIMIT:?LIMIT: its vector-memory-limit in bytes}"
case "${DATASET:-pypi}" in
  pypi) D=$PWD/../shared/data/pypi-minilm-50k; DIM=384; METRIC=COSINE; DOCS=50000 ;;
  synthetic-1m) D=/var/tmp/vecshard-synth-1m-128-l2; DIM=128; METRIC=L2; DOCS=1000000 ;;
  *) echo "DATASET pypi|synthetic-1m" >&2; exit 2 ;;
esac
EF=${EF:-40}; CONNS=${CONNS:-8}; ROUNDS=${ROUNDS:-5}; DUR=${DURATION:-6}
RAM_DIR=$(mktemp -d /var/tmp/vecshard-alternate-XXXXXX)
(setsid $B --port 50501 --dir "$RAM_DIR" --loglevel warning --save '' > /dev/null 2>&1 &)
(setsid $B --port 50502 --dir "$TIERED_DIR" --loglevel warning --save '' --vector-memory-limit $LIMIT > /dev/null 2>&1 &)
sleep 1
$VB create --port 50501 --index idx --prefix doc: --dim $DIM --metric $METRIC --algo HNSW --m 16 --efc 200 >/dev/null 2>&1
$VB load --port 50501 --index idx --prefix doc: --base $D/base.fvecs --conns 8 --pipeline 64 --wait-docs --wait-timeout 3600 > /dev/null 2>&1
for i in $(seq 1 600); do n=$(redis-cli -p 50502 FT.INFO idx 2>/dev/null | grep -A1 '^num_docs' | tail -1 || true); [ "$n" = "$DOCS" ] && break; sleep 0.2; done
redis-cli -p 50502 FT.WARMUP idx > /dev/null
if [ -n "${QUERIES:-}" ]; then QARGS=(--query "$QUERIES"); else QARGS=(--query $D/query.fvecs --gt $D/groundtruth.ivecs); fi
q() { $VB query --port $1 --index idx --prefix doc: "${QARGS[@]}" --k 10 --ef $EF --conns $CONNS --pipeline 1 --duration $2 2>/dev/null | grep JSON | python3 -c "import json,sys; d=json.loads(sys.stdin.read()[5:]); print(round(d['qps']), round(d.get('recall') or 0,4))"; }
q 50501 2 > /dev/null; q 50502 2 > /dev/null
for r in $(seq 1 $ROUNDS); do
  a=$(q 50501 $DUR); t=$(q 50502 $DUR)
  echo "round $r all-RAM $a tiered $t ratio $(python3 -c "print(round(${t%% *}/${a%% *},2))")"
done
redis-cli -p 50501 SHUTDOWN NOSAVE >/dev/null 2>&1 || true; redis-cli -p 50502 SHUTDOWN NOSAVE >/dev/null 2>&1 || true
rm -rf "$RAM_DIR"
