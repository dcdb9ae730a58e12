#!/usr/bin/env bash
# bench/storage.sh — [tiering] storage micro-benchmark: random 4 KiB page reads with O_DIRECT at queue depth 1 and 32
# (pread vs io_uring, with and without registered buffers and CRC checks), CRC32C speed, buffer-pool hit rate.
# Writes bench/results/storage.md (exact command, date, machine, load). The page file is created once and reused.
#
#   bench/storage.sh [--file PATH] [--size-mb 1024] [--seconds 4] [--rounds 3] [--depths 1,32] [--threads 2]
# Also runs the kill -9 test (storage-bench --crash-rounds, CRASH_ROUNDS=20): a writer process is killed at random
# moments and the page file must reopen with every acknowledged commit intact.
# Env: KEEP=1 keeps the page file afterwards (default: removed).
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=/var/tmp/vecshard-storage-bench.vsp
ARGS=("$@")
for ((i = 0; i < ${#ARGS[@]}; i++)); do [[ ${ARGS[i]} == --file ]] && FILE=${ARGS[i + 1]}; done
swift build -c release --product storage-bench >&2
BIN=$(swift build -c release --show-bin-path)/storage-bench
out=bench/results/storage.md
mkdir -p bench/results
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
body=$("$BIN" --file "$FILE" "${ARGS[@]}")
crash=$("$BIN" --file "$FILE" --crash-rounds "${CRASH_ROUNDS:-20}")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
fs=$(df -T "$(dirname "$FILE")" | awk 'NR==2{print $2" on "$1}')
{
  echo "## [tiering] Storage: random page reads, CRC32C, buffer pool (storage-bench)"
  echo
  echo "Command: \`bench/storage.sh ${ARGS[*]}\` (= \`storage-bench --file $FILE ${ARGS[*]}\`), started $started."
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPUs, Linux $(uname -r); page file on $fs."
  echo "Load average (1/5/15 min) before: $load_before, after: $load_after — the VM is shared, so wall-clock numbers"
  echo "are noisy; rounds rotate through the readers and the best and median rounds are shown."
  echo
  echo "$body" | grep -v '^writing\|^wrote'
  echo
  echo "$crash"
  echo
  echo "Reading: each call reads \"pages per call\" random pages of a 128-d float32 / M0 = 32 page file (6 records per"
  echo "4 KiB page) and verifies each page's CRC32C unless stated; at depth 32 a call keeps 32 reads in flight and tops"
  echo "the window up as completions arrive. The buffer-pool rows pin and unpin resident pages only (no I/O)."
} >"$out"
cat "$out"
[[ ${KEEP:-0} == 1 ]] || rm -f "$FILE"
