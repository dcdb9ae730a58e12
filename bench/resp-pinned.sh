#!/usr/bin/env bash
# bench/resp-pinned.sh — whose core limits `redis-benchmark -P 16 -c 50`: the server's or the client's ([node] #2).
#
# Each server is pinned to CPU 1 and redis-benchmark to CPU 0 (taskset), so neither takes the other's core. For each
# test the report gives requests/s, the server's CPU per request and the share of its core the client and the server
# each used (utime + stime from /proc over the wall time of the run). A client near 100 % of its core while the server
# idles part of its own means requests/s is set by the client: a faster server cannot raise it.
#
#   bench/resp-pinned.sh                          # vecshard-server vs Debian's redis-server, 3 rounds, alternating
# Env: VECSHARD_BIN, REDIS_SERVER, ROUNDS (3), N (2000000), P (16), CLIENTS (50), TESTS (ping_mbulk set get incr hset),
#      OUT (bench/results/resp-pinned.md)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VECSHARD_BIN=${VECSHARD_BIN:-$REPO/.build/release/vecshard-server}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
ROUNDS=${ROUNDS:-3}
N=${N:-2000000}
P=${P:-16}
CLIENTS=${CLIENTS:-50}
read -r -a TESTS <<<"${TESTS:-ping_mbulk set get incr hset}"
OUT=${OUT:-bench/results/resp-pinned.md}
CLK_TCK=$(getconf CLK_TCK)
[ "$(nproc)" -ge 2 ] || { echo "resp-pinned.sh: needs 2 CPUs" >&2; exit 2; }
[ -x "$VECSHARD_BIN" ] || { echo "resp-pinned.sh: $VECSHARD_BIN missing: run make build" >&2; exit 2; }

WORK=$(mktemp -d /tmp/vecshard-resp-pinned.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ns() { date +%s%N; }

declare -A PORT PID NAME
NAME[vecshard]="vecshard-server"
NAME[redis]="redis-server $("$REDIS_SERVER" --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')"
for s in vecshard redis; do
  PORT[$s]=$(free_port)
  mkdir -p "$WORK/$s"
  if [ "$s" = vecshard ]; then
    taskset -c 1 "$VECSHARD_BIN" --port "${PORT[$s]}" --bind 127.0.0.1 --dir "$WORK/$s" --save '' >"$WORK/$s/log" 2>&1 &
  else
    taskset -c 1 "$REDIS_SERVER" --port "${PORT[$s]}" --bind 127.0.0.1 --dir "$WORK/$s" --save '' --appendonly no >"$WORK/$s/log" 2>&1 &
  fi
  PID[$s]=$!; PIDS+=("${PID[$s]}")
  for _ in $(seq 1 100); do [ "$(redis-cli -p "${PORT[$s]}" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
done

RAW="$WORK/raw.csv"  # server,round,test,rps,server_ns_per_req,server_core_share,client_core_share
: >"$RAW"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  order=(vecshard redis); [ $((round % 2)) = 0 ] && order=(redis vecshard)
  for s in "${order[@]}"; do
    for t in "${TESTS[@]}"; do
      c0=$(cpu_ticks "${PID[$s]}"); t0=$(now_ns)
      # the client's own CPU: GNU time's user + system seconds of redis-benchmark
      out=$( { /usr/bin/time -f "TIME %U %S" taskset -c 0 redis-benchmark -h 127.0.0.1 -p "${PORT[$s]}" -t "$t" -P "$P" \
                 -c "$CLIENTS" -n "$N" --csv; } 2>&1 )
      t1=$(now_ns); c1=$(cpu_ticks "${PID[$s]}")
      rps=$(echo "$out" | tr -d '"' | awk -F, 'NR>1 && $2+0>0 {print $2; exit}')
      client=$(echo "$out" | awk '/^TIME/{print $2 + $3}')
      python3 - "$s" "$round" "$t" "$rps" "$c0" "$c1" "$t0" "$t1" "$client" "$CLK_TCK" "$N" >>"$RAW" <<'PY'
import sys
s, rnd, t, rps, c0, c1, t0, t1, client, tck, n = sys.argv[1:]
wall = (int(t1) - int(t0)) / 1e9
server_s = (int(c1) - int(c0)) / int(tck)
print(f"{s},{rnd},{t},{float(rps):.0f},{server_s * 1e9 / int(n):.0f},{server_s / wall:.3f},{float(client) / wall:.3f}")
PY
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$(dirname "$OUT")"
python3 - "$RAW" "${NAME[redis]}" <<PY >"$OUT"
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
redis_name = sys.argv[2]
tests = []
for r in rows:
    if r[2] not in tests: tests.append(r[2])
def med(server, test, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == server and r[2] == test)
print("## Who limits redis-benchmark -P $P: client and server pinned to their own cores (bench/resp-pinned.sh)")
print()
print("Run: $(date -u '+%Y-%m-%d %H:%M UTC'), repo commit \`$(git rev-parse --short HEAD)\`; machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r).")
print("Load average before: $LOAD_START, after: $LOAD_END.")
print()
print("Each server runs under \`taskset -c 1\`, the client under \`taskset -c 0\`:")
print()
print("    taskset -c 0 redis-benchmark -h 127.0.0.1 -p PORT -t TEST -P $P -c $CLIENTS -n $N --csv")
print()
print("$ROUNDS rounds, servers alternating, medians. Core share = CPU seconds (utime + stime) ÷ wall seconds of the run.")
print()
print(f"| test | vecshard rps | {redis_name} rps | ratio | vecshard ns/req | redis ns/req | redis ÷ vecshard CPU | client core (vecshard run) | client core (redis run) | vecshard core | redis core |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for t in tests:
    v, r = med("vecshard", t, 3), med("redis", t, 3)
    vn, rn = med("vecshard", t, 4), med("redis", t, 4)
    print(f"| {t.upper()} | {v:,.0f} | {r:,.0f} | {v / r:.2f}x | {vn:,.0f} | {rn:,.0f} | {rn / vn:.2f}x | "
          f"{med('vecshard', t, 6):.0%} | {med('redis', t, 6):.0%} | {med('vecshard', t, 5):.0%} | {med('redis', t, 5):.0%} |")
PY
cat "$OUT"
