#!/usr/bin/env bash
# [engine] benchmark: vector-bench against FAISS and hnswlib in one run (same data, M, EFC, ef; one query per call,
# one query thread; builds on BUILD_THREADS threads). Raw JSON lines go to bench/out/engine/, a table to stdout.
#
#   bench/engine.sh                       # pypi-minilm-50k, cosine
#   DATA=/tmp/synth-1m METRIC=l2 bench/engine.sh
#   VECTOR_BENCH=/path/to/vector-bench bench/engine.sh   # skip `swift build` (e.g. built in a private package)
#   INDEX_DIR=/var/tmp/engine-1m ...   # also save every built index there (vecshard-hnsw.idx, vecshard-hnsw-sq8.idx,
#                                      # faiss-hnsw-M-EFC.index, hnswlib-M-EFC.index) for bench/engine_interleaved.py
#   OUT=bench/out/engine-1m FLAT_QUERIES=100 ...   # raw output directory; queries for the FLAT pass (0 = skip FLAT)
# FAISS and hnswlib run in separate processes (clean RSS growth); the load average is logged before each phase.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/shared/data/pypi-minilm-50k}
METRIC=${METRIC:-cosine}
M=${M:-16}; EFC=${EFC:-200}; EF=${EF:-10,20,40,80,160}; K=${K:-10}
BUILD_THREADS=${BUILD_THREADS:-2}
OUT=${OUT:-bench/out/engine}; mkdir -p "$OUT"
FLAT_QUERIES=${FLAT_QUERIES:-200}
SAVE_OURS=(); SAVE_OURS_SQ8=(); SAVE_THEIRS=()
if [[ -n "${INDEX_DIR:-}" ]]; then
  mkdir -p "$INDEX_DIR"
  for f in vecshard-hnsw.idx vecshard-hnsw-sq8.idx; do  # an existing file would be loaded, not built
    [[ ! -e "$INDEX_DIR/$f" ]] || { echo "engine.sh: $INDEX_DIR/$f exists; remove it to rebuild" >&2; exit 1; }
  done
  SAVE_OURS=(--index-file "$INDEX_DIR/vecshard-hnsw.idx"); SAVE_OURS_SQ8=(--index-file "$INDEX_DIR/vecshard-hnsw-sq8.idx")
  SAVE_THEIRS=(--save-dir "$INDEX_DIR")
fi
if [[ -z "${VECTOR_BENCH:-}" ]]; then
  swift build -c release --product vector-bench >&2
  VECTOR_BENCH=$(swift build -c release --show-bin-path)/vector-bench
fi
python3 -c "import faiss, hnswlib" 2>/dev/null || pip install faiss-cpu hnswlib numpy >&2

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%FT%TZ)" >&2
SET=(--base "$DATA/base.fvecs" --query "$DATA/query.fvecs" --gt "$DATA/groundtruth.ivecs" --metric "$METRIC"
     --m "$M" --efc "$EFC" --ef "$EF" --k "$K")
run() {
  local name=$1; shift
  echo "## $name: $*" >&2; echo "## $name start $(date -u +%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$@" | tee "$OUT/$name.jsonl" >&2
  echo "## $name end $(date -u +%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}

run kernels "$VECTOR_BENCH" --kernels
run vecshard-hnsw "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --save-load \
  ${SAVE_OURS[@]+"${SAVE_OURS[@]}"}
run vecshard-hnsw-sq8 "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --sq8 \
  ${SAVE_OURS_SQ8[@]+"${SAVE_OURS_SQ8[@]}"}
run vecshard-hnsw-4bit "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --four-bit
run vecshard-hnsw-2bit "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --two-bit
# The server's default for all-RAM HNSW fields: 4-bit codes, 2-bit (beam a quarter wider) where a 20,000-vector
# sample shows they suffice; exact re-rank.
run vecshard-hnsw-lowbit "$VECTOR_BENCH" "${SET[@]}" --algo hnsw --threads 1 --build-threads "$BUILD_THREADS" --low-bit
run faiss python3 bench/engine_faiss.py "${SET[@]}" --build-threads "$BUILD_THREADS" --lib faiss \
  ${SAVE_THEIRS[@]+"${SAVE_THEIRS[@]}"}
run hnswlib python3 bench/engine_faiss.py "${SET[@]}" --build-threads "$BUILD_THREADS" --lib hnswlib \
  ${SAVE_THEIRS[@]+"${SAVE_THEIRS[@]}"}
if [[ "$FLAT_QUERIES" != 0 ]]; then
  run vecshard-flat "$VECTOR_BENCH" "${SET[@]}" --algo flat --threads 1 --queries "$FLAT_QUERIES"
fi

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
        if name == "vecshard-hnsw-4bit": lib = "vecshard-4bit"
        if name == "vecshard-hnsw-2bit": lib = "vecshard-2bit"
        if name == "vecshard-hnsw-lowbit": lib = "vecshard-lowbit"
        if name == "vecshard-flat": lib = "vecshard-flat"
        rows.setdefault(lib, []).append(r)
print("| engine | build wall s | build vec/s (wall) | build CPU s | bytes/vector | RSS bytes/vector | ef | recall@10 | QPS (wall) | QPS per CPU-s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for lib, rs in rows.items():
    if lib == "kernels": continue
    build = next((r for r in rs if r.get("phase") == "build"), {})
    for r in rs:
        if r.get("phase") == "query":
            print(f"| {lib} | {build.get('seconds', '')} | {build.get('vectors_per_s', '')} | {build.get('cpu_seconds', '')} | "
                  f"{build.get('bytes_per_vector', '')} | {build.get('rss_bytes_per_vector', build.get('bytes_per_vector', ''))} | "
                  f"{r.get('ef', '')} | {r['recall']} | {r['qps']} | "
                  f"{r.get('qps_per_cpu_second', '')} |")
for r in rows.get("kernels", []):
    print("kernels:", json.dumps(r))
for r in rows.get("vecshard", []):
    if r.get("phase") == "save_load": print("save/load:", json.dumps(r))
PY
