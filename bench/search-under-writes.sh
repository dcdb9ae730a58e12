#!/usr/bin/env bash
# bench/search-under-writes.sh — FT.SEARCH latency while another client pipelines vector overwrites and DELs into
# the same tiered index (seals and merges run meanwhile): the search's max latency shows stalls that a mean hides.
# Restarts a copy of a saved tiered pypi server (TIERED_DIR, LIMIT as in bench/tiering-alternate.sh) per binary,
# then runs for DURATION s (38): vecbench at 8 connections, a redis-py writer (pipelines of 50: 80 % HSET of a random
# doc with another doc's vector, 20 % DEL), and a PING probe every 2 ms (is the event loop itself blocked?).
#   TIERED_DIR=/var/tmp/pypi20 LIMIT=18245222 bench/search-under-writes.sh [BINARY ...]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TIERED_DIR:?TIERED_DIR: a saved tiered pypi server directory}" "${LIMIT:?LIMIT: its vector-memory-limit in bytes}"
DUR=${DURATION:-38}; PY=$PWD/.venv/bin/python; VB=$PWD/bench/vecbench-build/vecbench; D=$PWD/../shared/data/pypi-minilm-50k
BINS=("$@"); [ ${#BINS[@]} -gt 0 ] || BINS=("$PWD/.build/release/vecshard-server")
for BIN in "${BINS[@]}"; do
  BIN=$(realpath "$BIN")
  WORK=$(mktemp -d /var/tmp/vecshard-suw-XXXXXX); cp -r "$TIERED_DIR" "$WORK/d"
  (cd "$WORK" && setsid "$BIN" --port 50580 --dir "$WORK/d" --loglevel warning --save '' --vector-memory-limit $LIMIT > /dev/null 2>&1 &)
  sleep 2; for i in $(seq 1 300); do n=$(redis-cli -p 50580 FT.INFO idx 2>/dev/null | grep -A1 '^num_docs' | tail -1 || true); [ "$n" = 50000 ] && break; sleep 0.2; done
  "$PY" - "$DUR" "$D" > "$WORK/writer.log" 2>&1 <<'PYEOF' &
import sys, time, redis, numpy as np
duration, data = float(sys.argv[1]) - 2, sys.argv[2]
r = redis.Redis(port=50580); rng = np.random.default_rng(5)
base = np.fromfile(data + "/base.fvecs", dtype=np.float32).reshape(-1, 385)[:, 1:]
t0 = time.time(); writes = dels = 0
while time.time() - t0 < duration:
    p = r.pipeline(transaction=False)
    for _ in range(50):
        i, j = int(rng.integers(0, len(base))), int(rng.integers(0, len(base)))
        if rng.random() < 0.2: p.delete(f"doc:{i}"); dels += 1
        else: p.hset(f"doc:{i}", mapping={"v": base[j].tobytes()}); writes += 1
    p.execute()
print(f"writer: {writes} HSET, {dels} DEL")
PYEOF
  "$PY" - "$DUR" > "$WORK/ping.log" 2>&1 <<'PYEOF' &
import sys, time, redis
r = redis.Redis(port=50580); t0 = time.time(); worst = 0.0
while time.time() - t0 < float(sys.argv[1]):
    a = time.perf_counter(); r.ping(); worst = max(worst, time.perf_counter() - a); time.sleep(0.002)
print(f"worst PING {worst * 1000:.1f} ms")
PYEOF
  echo "== $BIN"
  "$VB" query --port 50580 --index idx --prefix doc: --query $D/query.fvecs --k 10 --ef 40 --conns 8 --pipeline 1 --duration $DUR 2>&1 | grep '^query' | sed 's/recall@10=n\/a, //'
  wait
  cat "$WORK/writer.log" "$WORK/ping.log"
  redis-cli -p 50580 INFO tiering | tr -d '\r' | grep -E '^tiering_(seals|merges|failures):' | tr '\n' ' '; echo
  redis-cli -p 50580 SHUTDOWN NOSAVE > /dev/null 2>&1 || true
  rm -rf "$WORK"
done
