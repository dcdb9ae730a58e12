#!/usr/bin/env bash
# bench/load-stalls.sh — event-loop stalls during a bulk load: a fresh server, FT.CREATE, pypi-minilm-50k loaded with
# vecbench (8 conns x 64 pipelined HSETs, until indexed) while bench/ping_watch.py PINGs every 5 ms. Prints the load
# time and the PING round trips. Compare binaries back to back (the machine is shared and noisy).
#   bench/load-stalls.sh BIN [LIMIT_BYTES]        # LIMIT 0 = all-RAM; 18329108 = 20 % of pypi's footprint
#   bench/load-stalls.sh redis-stack              # the anchor (../shared/bench/redis-stack.sh)
# DELETES=N then sends DEL doc:0 … doc:N-1 in one redis-cli --pipe burst while PINGs are watched again, and prints
# how long the DELs took to be answered.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; LIMIT=${2:-0}
D=${DATA:-$PWD/../shared/data/pypi-minilm-50k}
VB=$PWD/bench/vecbench-build/vecbench
[[ -x $VB ]] || { mkdir -p bench/vecbench-build; cp ../shared/bench/vecbench.c ../shared/bench/Makefile bench/vecbench-build/; make -C bench/vecbench-build >/dev/null; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d /var/tmp/load-stalls.XXXX)
if [[ $BIN == redis-stack ]]; then  # the anchor: ../shared's Redis Stack 7.4 (RediSearch 2.10)
    bash ../shared/bench/redis-stack.sh start "$PORT" >/dev/null
    PID=$(redis-cli -p "$PORT" INFO server | tr -d '\r' | sed -n 's/^process_id://p')
    trap 'bash ../shared/bench/redis-stack.sh stop "$PORT" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
else
    "$BIN" --port "$PORT" --dir "$DIR" --save '' --vector-memory-limit "$LIMIT" >/dev/null 2>&1 & PID=$!
    trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
fi
sleep 0.5
"$VB" create --port "$PORT" --index idx --prefix doc: --dim 384 --metric COSINE --algo HNSW --m 16 --efc 200 \
    --extra "year NUMERIC popular TAG" >/dev/null 2>&1
python3 bench/ping_watch.py "$PORT" "${WATCH_S:-75}" --pid "$PID" --stacks "${STACKS:-/dev/null}" & WATCH=$!
started=$(date +%s.%N)
"$VB" load --port "$PORT" --index idx --prefix doc: --base "$D/base.fvecs" --tsv "$D/base.tsv" --fields year,popular \
    --conns 8 --pipeline 64 --wait-docs --wait-timeout 600 >/dev/null 2>&1
echo "load until indexed: $(python3 -c "import time; print(round(time.time() - $started, 1))") s"
wait $WATCH
if [[ ${DELETES:-0} -gt 0 ]]; then
    python3 bench/ping_watch.py "$PORT" "${DELETE_WATCH_S:-8}" --pid "$PID" --stacks "${STACKS:-/dev/null}" & WATCH=$!
    sleep 1
    started=$(date +%s.%N)
    python3 -c "
import sys
for i in range($DELETES): sys.stdout.write(f'*2\r\n\$3\r\nDEL\r\n\${len(\"doc:\"+str(i))}\r\ndoc:{i}\r\n')
" | redis-cli -p "$PORT" --pipe | tail -1
    echo "$DELETES pipelined DELs answered in: $(python3 -c "import time; print(round(time.time() - $started, 2))") s"
    wait $WATCH
    redis-cli -p "$PORT" FT.INFO idx | grep -A1 -E '^num_docs$' | tail -1 | sed 's/^/num_docs after deletes: /'
fi
