#!/usr/bin/env bash
# bench/resp.sh — RESP throughput and memory of vecshard-server against redis-server in the same run.
#
#   bench/resp.sh                      (make bench-resp builds first and runs this)
#
# Throughput: `redis-benchmark -t ping,set,get,hset,incr -c 50 -n N` at -P 1 and at -P 16 against
#   vecshard-server, Debian's redis-server (7.0) and Redis Stack 7.4 (redis-stack.sh), alternating servers,
#   ROUNDS rounds, median requests/s per line; ratios vecshard / redis. Each test runs as its own redis-benchmark
#   invocation so the server's CPU time (utime + stime of the whole process, /proc/PID/stat) can be charged to it:
#   CPU per request is steadier than requests/s when other work shares the machine.
# Memory: RSS (VmRSS from /proc/PID/status) of a fresh server before and after RSS_KEYS × `HSET key:i f v`
#   loaded with `redis-cli --pipe`.
# Writes the markdown report to OUT (default bench/results/resp.md) and prints it.
#
# Environment (defaults):
#   VECSHARD_BIN    .build/release/vecshard-server     REDIS_SERVER   redis-server (Debian's)
#   REDIS_STACK_SH  ../shared/bench/redis-stack.sh (relative to the repo; "" or "none" skips Redis Stack)
#   N_P1 200000     requests per test at -P 1          N_P16 2000000  requests per test at -P 16
#   ROUNDS 3        RSS_KEYS 1000000                   CLIENTS 50     OUT bench/results/resp.md
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

VECSHARD_BIN=${VECSHARD_BIN:-$REPO/.build/release/vecshard-server}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
REDIS_STACK_SH=${REDIS_STACK_SH-../shared/bench/redis-stack.sh}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-2000000}
ROUNDS=${ROUNDS:-3}
RSS_KEYS=${RSS_KEYS:-1000000}
CLIENTS=${CLIENTS:-50}
TESTS=ping,set,get,hset,incr
# -t ping runs both of these; listed one by one so each gets its own CPU reading
TEST_LIST=(ping_inline ping_mbulk set get incr hset)
CLK_TCK=$(getconf CLK_TCK)
OUT=${OUT:-bench/results/resp.md}

log() { echo "resp.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for t in redis-benchmark redis-cli python3; do command -v "$t" >/dev/null || die "$t not found (apt-get install redis-tools python3)"; done
[ -x "$VECSHARD_BIN" ] || die "$VECSHARD_BIN not found: swift build -c release (or make bench-resp)"
[ -x "$REDIS_SERVER" ] || die "redis-server not found: apt-get install redis-server"

WORK=$(mktemp -d /tmp/vecshard-resp-bench.XXXXXX)
PIDS=()
STACK_PORTS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${STACK_PORTS[@]}"; do bash "$REDIS_STACK_SH" stop "$p" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ping() { # wait_ping PORT PID
  local i
  for i in $(seq 1 200); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && return 1
    sleep 0.05
  done
  return 1
}

# start_server KIND → sets SRV_PORT and SRV_PID (KIND: vecshard | redis | stack)
start_server() {
  local kind=$1 dir
  SRV_PORT=$(free_port)
  dir="$WORK/$kind-$SRV_PORT"
  mkdir -p "$dir"
  case "$kind" in
  vecshard)
    "$VECSHARD_BIN" --port "$SRV_PORT" --bind 127.0.0.1 --dir "$dir" >"$dir/log" 2>&1 &
    SRV_PID=$!; PIDS+=("$SRV_PID")
    wait_ping "$SRV_PORT" "$SRV_PID" || { tail -20 "$dir/log" >&2; die "vecshard-server did not start"; } ;;
  redis)
    "$REDIS_SERVER" --port "$SRV_PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no >"$dir/log" 2>&1 &
    SRV_PID=$!; PIDS+=("$SRV_PID")
    wait_ping "$SRV_PORT" "$SRV_PID" || { tail -20 "$dir/log" >&2; die "redis-server did not start"; } ;;
  stack)
    bash "$REDIS_STACK_SH" start "$SRV_PORT" >"$dir/log" 2>&1 || { tail -20 "$dir/log" >&2; return 1; }
    STACK_PORTS+=("$SRV_PORT")
    SRV_PID=$(redis-cli -p "$SRV_PORT" INFO server | tr -d '\r' | awk -F: '$1=="process_id"{print $2}') ;;
  esac
}

stop_server() { # stop_server KIND PORT PID
  if [ "$1" = stack ]; then
    bash "$REDIS_STACK_SH" stop "$2" >/dev/null 2>&1 || true
  else
    kill "$3" 2>/dev/null || true
    wait "$3" 2>/dev/null || true
  fi
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, all threads, in clock ticks

# Before measuring, check that the commands the benchmark sends really work (an error reply counts as a request).
sanity_check() { # sanity_check PORT NAME
  local p=$1 r
  r=$(redis-cli -p "$p" SET bench:sanity xxx; redis-cli -p "$p" GET bench:sanity; redis-cli -p "$p" HSET bench:h f v;
      redis-cli -p "$p" HGET bench:h f; redis-cli -p "$p" INCR bench:n; redis-cli -p "$p" INCR bench:n;
      redis-cli -p "$p" DEL bench:sanity bench:h bench:n)
  [ "$(echo "$r" | tr '\n' ' ')" = "OK xxx 1 v 1 2 3 " ] || die "$2 answered the sanity check wrongly: $(echo "$r" | tr '\n' ' ')"
}

SERVERS=(vecshard redis)
declare -A NAME=([vecshard]="vecshard-server" [redis]="redis-server $("$REDIS_SERVER" --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')")
declare -A PORT PID
STACK_NOTE=""
if [ -n "$REDIS_STACK_SH" ] && [ "$REDIS_STACK_SH" != none ]; then
  if [ -f "$REDIS_STACK_SH" ]; then
    SERVERS+=(stack)
  else
    STACK_NOTE="Redis Stack skipped: $REDIS_STACK_SH not found."
  fi
else
  STACK_NOTE="Redis Stack skipped (REDIS_STACK_SH empty)."
fi

for s in "${SERVERS[@]}"; do
  if ! start_server "$s"; then
    STACK_NOTE="Redis Stack skipped: redis-stack.sh start failed."
    SERVERS=(vecshard redis)
    continue
  fi
  PORT[$s]=$SRV_PORT; PID[$s]=$SRV_PID
  sanity_check "${PORT[$s]}" "$s"
done
if [[ " ${SERVERS[*]} " == *" stack "* ]]; then
  NAME[stack]="Redis Stack $(redis-cli -p "${PORT[stack]}" INFO server | tr -d '\r' | awk -F: '$1=="redis_version"{print $2}')"
fi
VS_VERSION=$(redis-cli -p "${PORT[vecshard]}" INFO server | tr -d '\r' | awk -F: '$1=="vecshard_version"{print $2}')
log "servers: $(for s in "${SERVERS[@]}"; do printf '%s on %s; ' "${NAME[$s]}" "${PORT[$s]}"; done)"

# --- throughput ---------------------------------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RAW="$WORK/raw.csv" # server,pipeline,round,test,rps,server CPU ns per request
: >"$RAW"
for round in $(seq 1 "$ROUNDS"); do
  for P in 1 16; do
    if [ "$P" = 1 ]; then n=$N_P1; else n=$N_P16; fi
    # alternate servers; rotate the starting server each round so none always runs first
    order=("${SERVERS[@]}")
    for ((k = 1; k < round; k++)); do order=("${order[@]:1}" "${order[0]}"); done
    for s in "${order[@]}"; do
      log "round $round/$ROUNDS -P $P: ${NAME[$s]}"
      for t in "${TEST_LIST[@]}"; do
        c0=$(cpu_ticks "${PID[$s]}")
        line=$(redis-benchmark -h 127.0.0.1 -p "${PORT[$s]}" -t "$t" -P "$P" -c "$CLIENTS" -n "$n" --csv 2>/dev/null |
          tr -d '"' | awk -F, 'NR>1 && $2+0>0 {print $1","$2}')
        c1=$(cpu_ticks "${PID[$s]}")
        [ -n "$line" ] && echo "$s,$P,$round,$line,$(( (c1 - c0) * 1000000000 / CLK_TCK / n ))" >>"$RAW"
      done
    done
  done
done
for s in "${SERVERS[@]}"; do stop_server "$s" "${PORT[$s]}" "${PID[$s]}"; done

# --- memory: RSS after RSS_KEYS HSETs -----------------------------------------------------------------------------
MEM="$WORK/mem.csv" # server,rss_empty_kb,rss_loaded_kb,dbsize
: >"$MEM"
python3 - "$RSS_KEYS" >"$WORK/hset.resp" <<'PY'
import sys
n = int(sys.argv[1]); w = sys.stdout.buffer
for i in range(n):
    k = b"key:%d" % i
    w.write(b"*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$1\r\nf\r\n$1\r\nv\r\n" % (len(k), k))
PY
for s in "${SERVERS[@]}"; do
  start_server "$s" || continue
  sleep 0.5
  empty=$(rss_kb "$SRV_PID")
  log "loading $RSS_KEYS HSETs into ${NAME[$s]}"
  redis-cli -p "$SRV_PORT" --pipe <"$WORK/hset.resp" >"$WORK/pipe-$s.log" 2>&1 || { cat "$WORK/pipe-$s.log" >&2; die "--pipe into $s failed"; }
  grep -q 'errors: 0' "$WORK/pipe-$s.log" || { cat "$WORK/pipe-$s.log" >&2; die "--pipe into $s reported errors"; }
  sleep 1
  loaded=$(rss_kb "$SRV_PID")
  dbsize=$(redis-cli -p "$SRV_PORT" DBSIZE)
  echo "$s,$empty,$loaded,$dbsize" >>"$MEM"
  stop_server "$s" "$SRV_PORT" "$SRV_PID"
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------------------------------------------
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
CMD_P1="redis-benchmark -h 127.0.0.1 -p PORT -t TEST -P 1 -c $CLIENTS -n $N_P1 --csv"
CMD_P16="redis-benchmark -h 127.0.0.1 -p PORT -t TEST -P 16 -c $CLIENTS -n $N_P16 --csv"
mkdir -p "$(dirname "$OUT")"
python3 - "$RAW" "$MEM" "${SERVERS[*]}" <<PY >"$OUT"
import csv, math, statistics, sys
raw, mem, servers = sys.argv[1], sys.argv[2], sys.argv[3].split()
names = {"vecshard": "vecshard-server", "redis": """${NAME[redis]}""", "stack": """${NAME[stack]:-Redis Stack}"""}
rps, cpu = {}, {}
for s, p, r, t, v, c in csv.reader(open(raw)):
    rps.setdefault((int(p), t, s), []).append(float(v))
    cpu.setdefault((int(p), t, s), []).append(float(c))
tests = []
for (p, t, s) in rps:
    if t not in tests: tests.append(t)
others = [s for s in servers if s != "vecshard"]
print("""## RESP throughput and memory (bench/resp.sh)

Run: $(date -u '+%Y-%m-%d %H:%M UTC'), repo commit \`$(git rev-parse --short HEAD 2>/dev/null || echo ?)\`,
vecshard ${VS_VERSION:-?} (binary \`$VECSHARD_BIN\`, built $(date -u -r "$VECSHARD_BIN" '+%H:%M UTC')). Machine: ${CPU:-?}, $(nproc) cores (client and servers share them), Linux $(uname -r);
load average ${LOAD_START} before the throughput runs, ${LOAD_END} after (other work on the machine skews all
servers alike only on average: compare within one run).

Commands (each server on its own port, alternating servers, $ROUNDS rounds, median requests/s; TEST is each of
${TEST_LIST[*]} in turn, i.e. \`-t $TESTS\` one test per invocation):

    $CMD_P1
    $CMD_P16

Targets: vecshard ≥ 1.2× redis-server at -P 16 and ≥ 1.0× at -P 1; RSS after $RSS_KEYS HSETs ≤ 1.3×.
${STACK_NOTE}
""")
hdr = ["-P", "test"] + [names[s] + " rps" for s in servers] + ["vecshard / " + names[s] for s in others]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
misses = []
for p in (1, 16):
    for t in tests:
        med = {s: statistics.median(rps[(p, t, s)]) for s in servers if (p, t, s) in rps}
        if "vecshard" not in med: continue
        row = [str(p), t] + [f"{med[s]:,.0f}" if s in med else "-" for s in servers]
        target = 1.2 if p == 16 else 1.0
        for s in others:
            if s in med:
                ratio = med["vecshard"] / med[s]
                ok = ratio >= target
                if not ok: misses.append(f"-P {p} {t} vs {names[s]}: {ratio:.2f}x")
                shown = math.floor(ratio * 100) / 100  # truncated, so 1.196 never shows as a met 1.20
                row.append(f"{shown:.2f}x" + ("" if ok else " (below %.1fx)" % target))
            else:
                row.append("-")
        print("| " + " | ".join(row) + " |")
print()
print("Server CPU per request (utime + stime of the server process over each redis-benchmark invocation, divided by its")
print("requests; median of the rounds; 10 ms tick resolution). Steadier than requests/s when other work competes for")
print("the cores, and the part of the cost the server controls; the client's share is not in it.\n")
hdr = ["-P", "test"] + [names[s] + " ns/req" for s in servers] + [names[s] + " / vecshard" for s in others]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for p in (1, 16):
    for t in tests:
        med = {s: statistics.median(cpu[(p, t, s)]) for s in servers if (p, t, s) in cpu}
        if "vecshard" not in med: continue
        row = [str(p), t] + [f"{med[s]:,.0f}" if s in med else "-" for s in servers]
        row += [f"{med[s] / med['vecshard']:.2f}x" if s in med and med["vecshard"] > 0 else "-" for s in others]
        print("| " + " | ".join(row) + " |")
print()
print("Memory: RSS of a fresh server, empty and after $RSS_KEYS \`HSET key:i f v\` (\`redis-cli --pipe\`), VmRSS from /proc/PID/status.\n")
print("| server | RSS empty | RSS loaded | keys | loaded RSS / redis-server |")
print("|---|---|---|---|---|")
memrows = {r[0]: r for r in csv.reader(open(mem))}
base = float(memrows["redis"][2]) if "redis" in memrows else None
for s in servers:
    if s not in memrows: continue
    _, e, l, d = memrows[s]
    ratio = f"{float(l)/base:.2f}x" if base else "-"
    if s == "vecshard" and base and float(l) / base > 1.3: misses.append(f"RSS {float(l)/base:.2f}x")
    print(f"| {names[s]} | {float(e)/1024:.1f} MiB | {float(l)/1024:.1f} MiB | {d} | {ratio} |")
print()
print(f"Targets missed ({len(misses)}): " + ("; ".join(misses) if misses else "none") + ".")
print("\nNumbers from one shared 2-core VM; compare only within one run.")
PY
cat "$OUT"
log "wrote $OUT"
