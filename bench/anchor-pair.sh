# bench/anchor-pair.sh — sourced by the benchmarks that compare a fresh vecshard-server with a fresh Redis Stack:
# picks two ports, starts both servers (ours on a scratch `dir` under /var/tmp) and stops them and removes the scratch
# directory on exit. Defaults BIN, STACK_SH (REDIS_STACK_SH) and PY, and checks the binary and redis-benchmark; sets ours_port, stack_port, work, and exports what the report script
# reads (OURS, STACK, BIN, STARTED, LOAD_BEFORE; anchor_rps.py's `ports` and `run_line`).
BIN=${BIN:-.build/release/vecshard-server}
STACK_SH=${REDIS_STACK_SH:-../shared/bench/redis-stack.sh}
PY=${PY:-.venv/bin/python}
[ -x "$BIN" ] || { echo "build first: make build ($BIN missing)" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark (redis-tools) missing" >&2; exit 1; }

start_anchor_pair() {  # $1: name for the scratch directory
  ours_port=$((20000 + RANDOM % 10000)); stack_port=$((ours_port + 1))
  work=$(mktemp -d "/var/tmp/vecshard-$1.XXXX")
  trap 'redis-cli -p "$ours_port" shutdown nosave >/dev/null 2>&1 || true; bash "$STACK_SH" stop "$stack_port" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  "$BIN" --port "$ours_port" --dir "$work" --save '' --loglevel warning >"$work/ours.log" 2>&1 &
  bash "$STACK_SH" start "$stack_port" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$ours_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export OURS=$ours_port STACK=$stack_port BIN STARTED LOAD_BEFORE
  STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}
