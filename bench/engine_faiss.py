#!/usr/bin/env python3
"""[engine] baseline: FAISS IndexHNSWFlat and hnswlib on the same .fvecs/.ivecs, same M/EFC/ef, one query per call.

Prints the same `JSON {...}` lines as vector-bench (plus "lib"), so bench/engine.sh can tabulate both.
bytes_per_vector is the process RSS growth during the build divided by n (the base array is loaded before).
--save-dir DIR writes each built index (after the build is timed) as DIR/faiss-hnsw-M-EFC.index and
DIR/hnswlib-M-EFC.index, the names bench/engine_interleaved.py loads. Run one --lib per process for clean RSS growth.
"""
import argparse, json, os, sys, time
import numpy as np


def read_vecs(path, dtype, limit=None):
    a = np.fromfile(path, dtype="<i4")
    d = a[0]
    out = a.reshape(-1, d + 1)[:, 1:].view(dtype)
    return np.ascontiguousarray(out[:limit] if limit else out)


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def emit(**fields):
    print("JSON " + json.dumps(fields), flush=True)


def recall_at(found, gt, k):
    hits = sum(len(set(f[:k]) & set(g[:k])) for f, g in zip(found, gt))
    return hits / (len(gt) * k)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base"); p.add_argument("--query"); p.add_argument("--gt")
    p.add_argument("--metric", default="cosine"); p.add_argument("--m", type=int, default=16)
    p.add_argument("--efc", type=int, default=200); p.add_argument("--ef", default="10,20,40,80,160")
    p.add_argument("--k", type=int, default=10); p.add_argument("--build-threads", type=int, default=2)
    p.add_argument("--lib", default="faiss,hnswlib"); p.add_argument("--limit", type=int)
    p.add_argument("--save-dir")
    a = p.parse_args()
    base = read_vecs(a.base, np.float32, a.limit)
    queries = read_vecs(a.query, np.float32)
    gt = read_vecs(a.gt, np.int32)
    n, d = base.shape
    efs = [int(x) for x in a.ef.split(",")]
    if a.metric == "cosine":  # both libraries get unit vectors for cosine, as RediSearch normalizes at insert
        base = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
        base = np.ascontiguousarray(base, dtype=np.float32); queries = np.ascontiguousarray(queries, dtype=np.float32)

    for lib in a.lib.split(","):
        if lib == "faiss":
            import faiss
            faiss.omp_set_num_threads(a.build_threads)
            metric = faiss.METRIC_L2 if a.metric == "l2" else faiss.METRIC_INNER_PRODUCT
            r0 = rss(); t0 = time.perf_counter(); c0 = time.process_time()
            index = faiss.IndexHNSWFlat(d, a.m, metric)
            index.hnsw.efConstruction = a.efc
            index.add(base)
            secs = time.perf_counter() - t0; cpu = time.process_time() - c0; mem = (rss() - r0) / n
            emit(lib="faiss", phase="build", n=n, threads=a.build_threads, seconds=round(secs, 3), cpu_seconds=round(cpu, 3),
                 vectors_per_s=round(n / secs, 1), bytes_per_vector=round(mem, 1))
            if a.save_dir:
                faiss.write_index(index, os.path.join(a.save_dir, f"faiss-hnsw-{a.m}-{a.efc}.index"))
            faiss.omp_set_num_threads(1)
            for ef in efs:
                index.hnsw.efSearch = ef
                found = []
                t0 = time.perf_counter(); c0 = time.process_time()
                for q in queries:
                    _, ids = index.search(q.reshape(1, -1), a.k)
                    found.append(ids[0])
                secs = time.perf_counter() - t0; cpu = time.process_time() - c0
                emit(lib="faiss", phase="query", ef=ef, recall=round(recall_at(found, gt, a.k), 4),
                     qps=round(len(queries) / secs, 1),
                     qps_per_cpu_second=round(len(queries) / cpu, 1), bytes_per_vector=round(mem, 1))
            del index
        elif lib == "hnswlib":
            import hnswlib
            space = {"l2": "l2", "ip": "ip", "cosine": "cosine"}[a.metric]
            r0 = rss(); t0 = time.perf_counter(); c0 = time.process_time()
            index = hnswlib.Index(space=space, dim=d)
            index.init_index(max_elements=n, ef_construction=a.efc, M=a.m, random_seed=100)
            index.add_items(base, np.arange(n), num_threads=a.build_threads)
            secs = time.perf_counter() - t0; cpu = time.process_time() - c0; mem = (rss() - r0) / n
            emit(lib="hnswlib", phase="build", n=n, threads=a.build_threads, seconds=round(secs, 3), cpu_seconds=round(cpu, 3),
                 vectors_per_s=round(n / secs, 1), bytes_per_vector=round(mem, 1))
            if a.save_dir:
                index.save_index(os.path.join(a.save_dir, f"hnswlib-{a.m}-{a.efc}.index"))
            index.set_num_threads(1)
            for ef in efs:
                index.set_ef(max(ef, a.k))
                found = []
                t0 = time.perf_counter(); c0 = time.process_time()
                for q in queries:
                    labels, _ = index.knn_query(q.reshape(1, -1), k=a.k, num_threads=1)
                    found.append(labels[0])
                secs = time.perf_counter() - t0; cpu = time.process_time() - c0
                emit(lib="hnswlib", phase="query", ef=ef, recall=round(recall_at(found, gt, a.k), 4),
                     qps=round(len(queries) / secs, 1),
                     qps_per_cpu_second=round(len(queries) / cpu, 1), bytes_per_vector=round(mem, 1))
            del index


if __name__ == "__main__":
    main()
