#!/usr/bin/env bash
# bench/tiering.sh — [tiering] (issue 6): VecShard HNSW under --vector-memory-limit at 100/50/20/10 % of the measured
# all-RAM vector footprint vs the same index all in RAM, plus Redis Stack's RSS / QPS on the same data, in one run:
# recall@10, QPS, p99, SSD reads/query, buffer-pool hit ratio and RSS (VmRSS) per limit x ef, and the issue's targets
# at 20 % (recall >= 0.95 with QPS >= 0.5x all-RAM, RSS <= 0.35x all-RAM, <= 40 SSD reads/query).
# Driver: bench/tiering.py (vecbench + the helpers of bench/vector_server.py). Writes bench/results/tiering.md.
#
#   bench/tiering.sh                         # pypi-minilm-50k, about 8-10 minutes on 2 cores
#   bench/tiering.sh --synthetic             # also gen_synthetic.py 1M x 128 L2 (generated once into /var/tmp): slow,
#                                            # each 1M load takes 4-8 min here, so about an hour more (STACK=0 saves ~15)
#   DATASET=synthetic-1m STACK=0 bench/tiering.sh
#   DURATION=3 EFS=40,160 LIMITS=20 bench/tiering.sh
#   DATASET=synthetic-1m STACK=0 LIMITS=20 RESTART=1 bench/tiering.sh   # the issue's restart <= 0.1x build time at 1M
# Env: DATASET pypi|synthetic-1m|both, DURATION (8), EFS (40,80,160,320), LIMITS (100,50,20,10; empty = all-RAM and
# Redis Stack only), CONNS (2), WARM_S (2), WARMUP (1 = FT.WARMUP on tiered servers), STACK (1), BUSY_TIMEOUT (600 s;
# synthetic 3600), RESTART (0; 1 = SHUTDOWN SAVE the 20 % server, restart it on its dir, time it against the build;
#   needs LIMITS to include 20), KEEP (0), SYNTH_DIR, RUN_ROOT
# (/var/tmp/vecshard-tiering), OUT. Exit status: 0 ok, 1 some configuration failed (see the report), 2 aborted.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .build/release/vecshard-server ] || { echo "tiering.sh: .build/release/vecshard-server missing: run make build" >&2; exit 2; }
exec python3 bench/tiering.py "$@"
