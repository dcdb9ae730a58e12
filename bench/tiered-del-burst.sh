#!/usr/bin/env bash
# bench/tiered-del-burst.sh — DELs of vectors that are still in a tiered index's RAM graph: restarts a copy of a saved
# tiered pypi server per binary, overwrites N docs with other docs' vectors (they land in the RAM graph), then sends
# DEL of those N docs in one pipeline while PINGs are watched, and reports how long the DELs took to be answered, DEL's
# usec_per_call (INFO commandstats: time on the event loop) and the worst PING.
#   TIERED_DIR=/var/tmp/pypi20 LIMIT=18245222 N=3000 bench/tiered-del-burst.sh BIN [BIN ...]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TIERED_DIR:?TIERED_DIR: a saved tiered pypi server directory}" "${LIMIT:?LIMIT: its vector-memory-limit in bytes}"
N=${N:-3000}; PY=$PWD/.venv/bin/python; D=$PWD/../shared/data/pypi-minilm-50k
for BIN in "$@"; do
  BIN=$(realpath "$BIN")
  WORK=$(mktemp -d /var/tmp/vecshard-delb-XXXXXX); cp -r "$TIERED_DIR" "$WORK/d"
  (cd "$WORK" && setsid "$BIN" --port 50590 --dir "$WORK/d" --loglevel warning --save '' --vector-memory-limit $LIMIT > /dev/null 2>&1 &)
  sleep 2; for i in $(seq 1 300); do n=$(redis-cli -p 50590 FT.INFO idx 2>/dev/null | grep -A1 '^num_docs' | tail -1 || true); [ "$n" = 50000 ] && break; sleep 0.2; done
  "$PY" - "$N" "$D" "$BIN" <<'PYEOF'
import sys, threading, time, redis, numpy as np
n, data, binary = int(sys.argv[1]), sys.argv[2], sys.argv[3]
r = redis.Redis(port=50590)
base = np.fromfile(data + "/base.fvecs", dtype=np.float32).reshape(-1, 385)[:, 1:]
p = r.pipeline(transaction=False)
for i in range(n):
    p.hset(f"doc:{i}", "v", base[(i + 25000) % len(base)].tobytes())
p.execute()
time.sleep(0.5)  # the write buffer drains into the RAM graph
ram = {k: v for k, v in r.info("tiering").items() if k in ("tiering_busy",)}
r.config_resetstat()
worst = [0.0]; stop = [False]
def watch():
    c = redis.Redis(port=50590)
    while not stop[0]:
        t = time.perf_counter(); c.ping(); worst[0] = max(worst[0], time.perf_counter() - t); time.sleep(0.002)
w = threading.Thread(target=watch); w.start(); time.sleep(0.1)
p = r.pipeline(transaction=False)
for i in range(n):
    p.delete(f"doc:{i}")
t = time.perf_counter(); deleted = sum(p.execute()); elapsed = time.perf_counter() - t
time.sleep(0.3); stop[0] = True; w.join()
stats = r.info("commandstats").get("cmdstat_del", {})
print(f"{binary}: {deleted} DELs answered in {elapsed * 1000:.0f} ms, DEL usec_per_call {stats.get('usec_per_call')}, worst PING {worst[0] * 1000:.1f} ms")
PYEOF
  redis-cli -p 50590 SHUTDOWN NOSAVE > /dev/null 2>&1 || true; sleep 0.5; rm -rf "$WORK"
done
