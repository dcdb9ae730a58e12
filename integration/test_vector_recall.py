"""Recall through the server on real embeddings with the default all-RAM HNSW codes.

pypi-minilm-50k (``../shared/data``, 50,000 × 384 COSINE) is loaded with pipelined HSETs into an HNSW field. The index
walks 4-bit codes until 20,000 vectors, then its width test switches it to 2-bit codes (these embeddings pass it), so
FT.INFO's `vector_index_sz_mb` per document drops below what 4-bit codes take. KNN at EF_RUNTIME 10 and 40 must keep
the recall of a float walk (session 10: 0.828 and 0.958 on the server; Redis Stack 0.787 and 0.947).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import redis

from conftest import start_server_process

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("PYPI_DATA", REPO.parent / "shared" / "data" / "pypi-minilm-50k"))
QUERIES = 300


def read_vecs(path: Path, dtype) -> np.ndarray:
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    return raw.reshape(-1, dim + 1)[:, 1:].view(dtype)


def recall(c: redis.Redis, queries: np.ndarray, truth: np.ndarray, ef: int) -> float:
    found = 0
    for q, expected in zip(queries, truth):
        reply = c.execute_command("FT.SEARCH", "idx", f"*=>[KNN 10 @v $q EF_RUNTIME {ef}]", "PARAMS", "2", "q",
                                  q.tobytes(), "NOCONTENT", "LIMIT", "0", "10", "DIALECT", "2")
        ids = {int(x.decode().split(":")[1]) for x in reply[1:]}
        found += len(ids & set(int(i) for i in expected[:10]))
    return found / (len(queries) * 10)


@pytest.mark.timeout(300)
def test_pypi_recall_and_code_width(tmp_path):
    assert DATA.is_dir(), f"{DATA} not found: this test needs ../shared beside the checkout"
    base = read_vecs(DATA / "base.fvecs", np.float32)
    queries = read_vecs(DATA / "query.fvecs", np.float32)[:QUERIES]
    truth = read_vecs(DATA / "groundtruth.ivecs", np.int32)[:QUERIES]
    srv = start_server_process(tmp_path / "node")
    try:
        c = srv.client(protocol=2)
        c.execute_command("FT.CREATE", "idx", "PREFIX", "1", "doc:", "SCHEMA", "v", "VECTOR", "HNSW", "10", "TYPE",
                          "FLOAT32", "DIM", "384", "DISTANCE_METRIC", "COSINE", "M", "16", "EF_CONSTRUCTION", "200")
        pipe = c.pipeline(transaction=False)
        for i, v in enumerate(base):
            pipe.hset(f"doc:{i}", "v", v.tobytes())
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        deadline = time.time() + 120
        while True:
            info = c.execute_command("FT.INFO", "idx")
            fields = {info[i].decode(): info[i + 1] for i in range(0, len(info) - 1, 2) if isinstance(info[i], bytes)}
            if int(fields["num_docs"]) == len(base) and float(fields["percent_indexed"]) == 1.0:
                break
            assert time.time() < deadline, f"not indexed in time: {fields['num_docs']} docs"
            time.sleep(0.2)
        per_doc = float(fields["vector_index_sz_mb"]) * 1024 * 1024 / len(base)
        # 2-bit codes: 108 B per 384-d vector, 4-bit: 204 B, on top of the same ~1,711 B of graph and vectors.
        # The engine alone counts 1,819 B per vector with 2-bit codes and 1,915 with 4-bit ones (vector-bench); the
        # server adds ~95 B of write buffer and search scratch (1,914 measured with 2-bit codes).
        assert 1_700 < per_doc < 1_960, f"vector index bytes per document {per_doc:.0f}: not walking 2-bit codes?"
        at10, at40 = recall(c, queries, truth, 10), recall(c, queries, truth, 40)
        assert at10 >= 0.79, f"recall@10 at EF_RUNTIME 10: {at10}"
        assert at40 >= 0.95, f"recall@10 at EF_RUNTIME 40: {at40}"
    finally:
        srv.stop()
