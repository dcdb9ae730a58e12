# bench/anchor-pair.sh — sourced by the benchmarks that compare a fresh vecshard-server with a fresh Redis Stack:
# picks two ports, starts both servers (ours on a scratch `dir` under /var/tmp) and stops them and removes the scratch
# directory on exit. Needs BIN and STACK_SH; sets ours_port, stack_port, work.
start_anchor_pair() {  # $1: name for the scratch directory
  ours_port=$((20000 + RANDOM % 10000)); stack_port=$((ours_port + 1))
  work=$(mktemp -d "/var/tmp/vecshard-$1.XXXX")
  trap 'redis-cli -p "$ours_port" shutdown nosave >/dev/null 2>&1 || true; bash "$STACK_SH" stop "$stack_port" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  "$BIN" --port "$ours_port" --dir "$work" --save '' --loglevel warning >"$work/ours.log" 2>&1 &
  bash "$STACK_SH" start "$stack_port" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$ours_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}
