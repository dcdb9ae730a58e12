#!/usr/bin/env python3
"""[engine] query-speed comparison that survives a noisy shared VM: FAISS, hnswlib and vector-bench (from saved
indexes, so nothing is rebuilt) run their query passes in alternating rounds; each engine's best round per ef is kept.

  python3 bench/engine_interleaved.py --vector-bench BIN --ours /tmp/minilm-hnsw.idx --ours-sq8 /tmp/minilm-hnsw-sq8.idx \
      --base B.fvecs --query Q.fvecs --gt G.ivecs --rounds 3
(the .idx files are written by `vector-bench ... --index-file PATH` on first use; FAISS/hnswlib indexes are cached next
to them, as written by `engine_faiss.py --save-dir` or built here on first use.) `--metric l2|ip|cosine` (default cosine)
selects the metric for all three engines; with cosine, base and queries are normalized for FAISS/hnswlib.

"""
import argparse, json, os, subprocess, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from engine_faiss import read_vecs, recall_at


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vector-bench", required=True); p.add_argument("--ours", required=True)
    p.add_argument("--ours-sq8"); p.add_argument("--base"); p.add_argument("--query"); p.add_argument("--gt")
    p.add_argument("--m", type=int, default=16); p.add_argument("--efc", type=int, default=200)
    p.add_argument("--ef", default="10,20,40,80,160"); p.add_argument("--k", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3); p.add_argument("--metric", default="cosine")
    a = p.parse_args()
    import faiss, hnswlib
    faiss.omp_set_num_threads(2)
    base = read_vecs(a.base, np.float32); queries = read_vecs(a.query, np.float32); gt = read_vecs(a.gt, np.int32)
    if a.metric == "cosine":
        base /= np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        queries = np.ascontiguousarray(queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30))
    fmetric = faiss.METRIC_L2 if a.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    n, d = base.shape
    cache = os.path.dirname(a.ours)
    fpath = os.path.join(cache, f"faiss-hnsw-{a.m}-{a.efc}.index")
    if os.path.exists(fpath):
        findex = faiss.read_index(fpath)
    else:
        findex = faiss.IndexHNSWFlat(d, a.m, fmetric); findex.hnsw.efConstruction = a.efc
        findex.add(base); faiss.write_index(findex, fpath)
    hpath = os.path.join(cache, f"hnswlib-{a.m}-{a.efc}.index")
    hindex = hnswlib.Index(space=a.metric, dim=d)
    if os.path.exists(hpath):
        hindex.load_index(hpath, max_elements=n)
    else:
        hindex.init_index(max_elements=n, ef_construction=a.efc, M=a.m, random_seed=100)
        hindex.add_items(base, np.arange(n), num_threads=2); hindex.save_index(hpath)
    faiss.omp_set_num_threads(1); hindex.set_num_threads(1)
    efs = [int(x) for x in a.ef.split(",")]
    best = {}  # (engine, ef) -> dict

    def keep(engine, ef, recall, qps, cpu_qps):
        cur = best.setdefault((engine, ef), {"recall": recall, "qps": 0, "qps_per_cpu_second": 0})
        cur["qps"] = max(cur["qps"], qps); cur["qps_per_cpu_second"] = max(cur["qps_per_cpu_second"], cpu_qps)

    def run_lib(engine, search):
        for ef in efs:
            found = []; t0 = time.perf_counter(); c0 = time.process_time()
            for q in queries:
                found.append(search(q.reshape(1, -1), ef))
            keep(engine, ef, recall_at(found, gt, a.k), len(queries) / (time.perf_counter() - t0),
                 len(queries) / (time.process_time() - c0))

    def faiss_search(q, ef):
        findex.hnsw.efSearch = ef
        return findex.search(q, a.k)[1][0]

    def hnswlib_search(q, ef):
        hindex.set_ef(max(ef, a.k))
        return hindex.knn_query(q, k=a.k, num_threads=1)[0][0]

    def run_ours(engine, path, extra):
        out = subprocess.run([a.vector_bench, "--base", a.base, "--query", a.query, "--gt", a.gt, "--metric", a.metric,
                              "--algo", "hnsw", "--ef", a.ef, "--k", str(a.k), "--threads", "1", "--index-file", path]
                             + extra, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            r = json.loads(line[5:]) if line.startswith("JSON ") else {}
            if r.get("phase") == "query":
                keep(engine, r["ef"], r["recall"], r["qps"], r["qps_per_cpu_second"])

    for rnd in range(a.rounds):
        run_lib("faiss", faiss_search)
        run_ours("vecshard", a.ours, [])
        run_lib("hnswlib", hnswlib_search)
        if a.ours_sq8: run_ours("vecshard-sq8", a.ours_sq8, ["--sq8"])
        print(f"round {rnd + 1} done", file=sys.stderr, flush=True)
    print("| engine | ef | recall@10 | best QPS (wall) | best QPS per CPU-second |")
    print("| --- | --- | --- | --- | --- |")
    for (engine, ef), r in sorted(best.items()):
        print(f"| {engine} | {ef} | {r['recall']:.3f} | {r['qps']:.0f} | {r['qps_per_cpu_second']:.0f} |")
        print("JSON " + json.dumps({"engine": engine, "ef": ef, **r}), file=sys.stderr)


if __name__ == "__main__":
    main()
