#!/usr/bin/env bash
# bench/vector-server.sh — VecShard vs Redis Stack on pypi-minilm-50k with vecbench (see bench/vector_server.py).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .build/release/vecshard-server ] || swift build -c release --product vecshard-server
exec python3 bench/vector_server.py "$@"
