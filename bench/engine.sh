#!/usr/bin/env bash
# [engine] benchmark: vector-bench against FAISS and hnswlib in one run (same data, M, EFC, ef; one query per call,
# one query thread; builds on BUILD_THREADS threads). Raw JSON lines go to bench/out/engine/, a table to stdout.
#
#   bench/engine.sh                       # pypi-minilm-50k, cosine
#   DATA=/tmp/synth-1m METRIC=l2 bench/engine.sh
#   VECTOR_BENCH=/path/to/vector-bench bench/engine.sh   # skip `swift build` (e.g. built in a private package)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/shared/data/pypi-minilm-50k}
METRIC=${METRIC:-cosine}
M=${M:-16}; EFC=${EFC:-200}; EF=${EF:-10,20,40,80,160}; K=${K:-10}
BUILD_THREADS=${BUILD_THREADS:-2}
OUT=bench/out/engine; mkdir -p "$OUT"
if [[ -z "${VECTOR_BENCH:-}" ]]; then
  swift build -c release --product vector-bench >&2
  VECTOR_BENCH=$(swift build -c release --show-bin-path)/vector-bench
fi
python3 -c "import faiss, hnswlib" 2>/dev/null || pip install faiss-cpu hnswlib numpy >&2

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%FT%TZ)" >&2
SET=(--base "$DATA/base.fvecs" --query "$DATA/query.fvecs" --gt "$DATA/groundtruth.ivecs" --metric "$METRIC"
     --m "$M" --efc "$EFC" --ef "$EF" --k "$K")
run() { local name=$1; shift; echo "## $name: $*" >&2; "$@" | tee "$OUT/$name.jsonl" >&2; }

run kernels "$VECTOR_BENCH" --kernels
run vecshard-hnsw "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --save-load
run vecshard-hnsw-sq8 "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --sq8
run faiss-hnswlib python3 bench/engine_faiss.py "${SET[@]}" --build-threads "$BUILD_THREADS"
run vecshard-flat "$VECTOR_BENCH" "${SET[@]}" --algo flat --threads 1 --queries 200

python3 - "$OUT" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(out, "*.jsonl"))):
    name = os.path.basename(path)[:-6]
    for line in open(path):
        if not line.startswith("JSON "): continue
        r = json.loads(line[5:])
        lib = r.get("lib") or name
        if name == "vecshard-hnsw": lib = "vecshard"
        if name == "vecshard-hnsw-sq8": lib = "vecshard-sq8"
        if name == "vecshard-flat": lib = "vecshard-flat"
        rows.setdefault(lib, []).append(r)
print("| engine | build vec/s (wall) | build CPU s | bytes/vector | ef | recall@10 | QPS (wall) | QPS per CPU-s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for lib, rs in rows.items():
    if lib == "kernels": continue
    build = next((r for r in rs if r.get("phase") == "build"), {})
    for r in rs:
        if r.get("phase") == "query":
            print(f"| {lib} | {build.get('vectors_per_s', '')} | {build.get('cpu_seconds', '')} | "
                  f"{build.get('bytes_per_vector', '')} | {r.get('ef', '')} | {r['recall']} | {r['qps']} | "
                  f"{r.get('qps_per_cpu_second', '')} |")
for r in rows.get("kernels", []):
    print("kernels:", json.dumps(r))
for r in rows.get("vecshard", []):
    if r.get("phase") == "save_load": print("save/load:", json.dumps(r))
PY
