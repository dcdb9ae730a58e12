#!/usr/bin/env bash
# bench/memory.sh — RAM per document outside the vector index: RSS of vecshard-server after pypi-minilm-50k
# (all-RAM HNSW + year NUMERIC + popular TAG) and after 1M `HSET key:i f v`, optionally with heaptrack live-heap.
#
#   bench/memory.sh [pypi|hset|both] [heaptrack]
#
# Environment: VECSHARD_BIN (.build-mem/release/vecshard-server), VECBENCH (built from ../shared/bench if unset),
#   DATA (../shared/data/pypi-minilm-50k), HSET_KEYS (1000000), OUTDIR (mktemp),
#   LIMIT (bytes; set: the pypi server runs with --vector-memory-limit LIMIT and is measured once INFO tiering
#   reports tiering_busy:0).
# Prints one line per run: `what pid VmRSS_kB RssAnon_kB keys` (and the heaptrack file when asked).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MODE=${1:-both}
HEAP=${2:-}
VECSHARD_BIN=${VECSHARD_BIN:-$REPO/.build-mem/release/vecshard-server}
DATA=${DATA:-$REPO/../shared/data/pypi-minilm-50k}
HSET_KEYS=${HSET_KEYS:-1000000}
OUTDIR=${OUTDIR:-$(mktemp -d /tmp/vecshard-memory.XXXXXX)}
mkdir -p "$OUTDIR"

if [ -z "${VECBENCH:-}" ]; then
  mkdir -p "$OUTDIR/vecbench"
  cp "$REPO/../shared/bench/vecbench.c" "$REPO/../shared/bench/Makefile" "$OUTDIR/vecbench/"
  make -s -C "$OUTDIR/vecbench" >/dev/null
  VECBENCH=$OUTDIR/vecbench/vecbench
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status"; }

# start PORT DIR → SRV_PID (the server process itself, also under heaptrack)
start() {
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  if [ -n "$HEAP" ]; then
    heaptrack -o "$dir/heap" "$VECSHARD_BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" >"$dir/log" 2>&1 &
  else
    "$VECSHARD_BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" >"$dir/log" 2>&1 &
  fi
  local wrapper=$!
  for _ in $(seq 1 400); do [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
  SRV_PID=$(pgrep -n -f -- "vecshard-server --port $port " || echo "$wrapper")
  WRAPPER=$wrapper
}

finish() { # finish WHAT PORT DIR KEYS
  sleep 1
  echo "$1 pid=$SRV_PID VmRSS_kB=$(status_kb "$SRV_PID" VmRSS) RssAnon_kB=$(status_kb "$SRV_PID" RssAnon) keys=$4"
  redis-cli -p "$2" shutdown nosave >/dev/null 2>&1 || true
  wait "$WRAPPER" 2>/dev/null || true
  [ -n "$HEAP" ] && echo "$1 heaptrack=$(ls "$3"/heap*.zst 2>/dev/null | head -1)"
  return 0
}

if [ "$MODE" = pypi ] || [ "$MODE" = both ]; then
  port=$(free_port); dir=$OUTDIR/pypi-$port
  if [ -n "${LIMIT:-}" ]; then start "$port" "$dir" --vector-memory-limit "$LIMIT"; else start "$port" "$dir"; fi
  "$VECBENCH" create --port "$port" --index idx --prefix doc: --dim 384 --metric COSINE --algo HNSW --m 16 --efc 200 \
    --extra 'year NUMERIC popular TAG' >/dev/null
  "$VECBENCH" load --port "$port" --index idx --prefix doc: --base "$DATA/base.fvecs" --conns 8 --pipeline 64 \
    --wait-docs --tsv "$DATA/base.tsv" --fields year,popular >"$dir/load.log" 2>&1
  if [ -n "${LIMIT:-}" ]; then
    for _ in $(seq 1 1200); do redis-cli -p "$port" info tiering | grep -q '^tiering_busy:0' && break; sleep 0.5; done
  fi
  finish "pypi-50k${LIMIT:+-limit-$LIMIT}" "$port" "$dir" "$(redis-cli -p "$port" dbsize)"
fi

if [ "$MODE" = hset ] || [ "$MODE" = both ]; then
  [ -f "$OUTDIR/hset.resp" ] || python3 - "$HSET_KEYS" >"$OUTDIR/hset.resp" <<'PY'
import sys
n = int(sys.argv[1]); w = sys.stdout.buffer
for i in range(n):
    k = b"key:%d" % i
    w.write(b"*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$1\r\nf\r\n$1\r\nv\r\n" % (len(k), k))
PY
  port=$(free_port); dir=$OUTDIR/hset-$port
  start "$port" "$dir"
  sleep 0.5
  echo "hset-empty pid=$SRV_PID VmRSS_kB=$(status_kb "$SRV_PID" VmRSS) RssAnon_kB=$(status_kb "$SRV_PID" RssAnon)"
  redis-cli -p "$port" --pipe <"$OUTDIR/hset.resp" >"$dir/pipe.log" 2>&1
  grep -q 'errors: 0' "$dir/pipe.log" || { cat "$dir/pipe.log" >&2; exit 1; }
  finish hset-1M "$port" "$dir" "$(redis-cli -p "$port" dbsize)"
fi
