"""SSD tiering end to end: `vector-memory-limit`, FT.CREATE ... STORAGE RAM|TIERED, INFO tiering, FT.INFO's
`tiering` key, FT.WARMUP, and the page files under ``<dir>/vecshard-tiering``.

One server with a 2 MB limit holds 4,000 32-d vectors in an HNSW index (tiered because the limit is set), so most of
them are sealed into SSD segments; a FLAT index over the same documents is the exact reference its answers are
compared with. A 3-node fleet checks that STORAGE survives the cluster's schema broadcast.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import redis

from conftest import HOST, Server, start_server_process
from test_cluster import start_fleet

DIM = 32
N = 4000
K = 10
EF = 200
HNSW = ["VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "L2"]
FLAT = ["VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "L2"]


def text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def knn(c: redis.Redis, index: str, q: np.ndarray, k: int = K) -> list[str]:
    """Ids of the k nearest, best first (RESP2 reply: total, then id / fields pairs)."""
    reply = c.execute_command("FT.SEARCH", index, f"*=>[KNN {k} @v $q EF_RUNTIME {EF}]", "PARAMS", "2", "q",
                              q.astype(np.float32).tobytes(), "SORTBY", "__v_score", "NOCONTENT",
                              "LIMIT", "0", str(k), "DIALECT", "2")
    return [text(x) for x in reply[1:]]


def info_tiering(c: redis.Redis) -> dict:
    return c.info("tiering")


def ft_info(c: redis.Redis, index: str) -> dict:
    """FT.INFO as a str-keyed dict (RESP2 flat list)."""
    reply = c.execute_command("FT.INFO", index)
    return {text(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}


def index_directories(srv: Server) -> list[Path]:
    base = srv.dir / "vecshard-tiering"
    return sorted(base.iterdir()) if base.is_dir() else []


def wait_settled(c: redis.Redis, timeout: float = 120) -> dict:
    """Until the write buffer is drained into the graph and no seal or compaction is running or due."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        t = info_tiering(c)
        drained = ft_info(c, "idx")["indexing"] == 0
        on_ssd = t["tiering_segments"] + t.get("tiering_cold_segments", 0)  # an idle index may already be cold
        calm = calm + 1 if drained and t["tiering_busy"] == 0 and on_ssd >= 1 else 0
        if calm >= 2:  # twice in a row: a drain that lands just after one look can start a seal
            return t
        time.sleep(0.2)
    pytest.fail(f"tiering did not settle in {timeout:.0f} s: {info_tiering(c)}", pytrace=False)


@pytest.fixture(scope="module")
def tiered(tmp_path_factory):
    """A server with a 2 MB vector limit and a stale index directory from an 'earlier run' in its dir."""
    workdir = tmp_path_factory.mktemp("tiering")
    stale = workdir / "vecshard-tiering" / "old-v-1234"
    stale.mkdir(parents=True)
    (stale / "seg-1.vsp").write_bytes(b"\0" * 4096)
    srv = start_server_process(workdir, "--vector-memory-limit", "2mb")
    c = srv.client(protocol=2)
    rng = np.random.default_rng(7)
    vectors = rng.random((N, DIM), dtype=np.float32)
    # FLAT first: a hash refers to the copy of the index created last, so HGET reads the tiered index's storage.
    assert c.execute_command("FT.CREATE", "flat", "PREFIX", "1", "d:", "SCHEMA", "v", *FLAT) == b"OK"
    assert c.execute_command("FT.CREATE", "idx", "PREFIX", "1", "d:", "SCHEMA", "v", *HNSW) == b"OK"
    pipe = c.pipeline(transaction=False)
    for i in range(N):
        pipe.hset(f"d:{i}", mapping={"v": vectors[i].tobytes(), "n": i})
    pipe.execute()
    settled = wait_settled(c)
    yield srv, c, vectors, settled
    c.close()
    alive = srv.alive()
    srv.stop()
    if not alive:
        pytest.fail(f"server died ({srv.proc.returncode}); log:\n{srv.log()[-3000:]}", pytrace=False)


def test_startup_removes_stale_index_directories(tiered):
    srv, _, _, _ = tiered
    assert not (srv.dir / "vecshard-tiering" / "old-v-1234").exists()
    assert "stale tiered index director" in srv.log()


def test_limit_puts_most_vectors_on_ssd(tiered):
    srv, c, _, settled = tiered
    assert settled["vector_memory_limit"] == 2 * 1024 * 1024
    assert settled["tiering_indexes"] == 1  # the HNSW index; FLAT stays in RAM
    assert settled["tiering_ssd_bytes"] > 0 and settled["tiering_failures"] == 0
    dirs = index_directories(srv)
    assert len(dirs) == 1 and dirs[0].name.startswith("idx-v-")
    assert any(p.suffix == ".vsp" for p in dirs[0].iterdir())
    info = ft_info(c, "idx")
    assert int(info["num_docs"]) == N
    t = info["tiering"]
    tiering = {text(t[i]): t[i + 1] for i in range(0, len(t), 2)}
    assert list(tiering) == ["ram_bytes", "ssd_bytes", "segments", "ram_vectors", "ssd_vectors", "pool_bytes",
                             "pool_hit_ratio", "promotions", "evictions", "compaction_debt_bytes", "busy"]
    assert tiering["ssd_vectors"] > 0 and tiering["segments"] >= 1
    assert tiering["ram_vectors"] + tiering["ssd_vectors"] == N
    # vector_index_sz_mb is RAM only: well under the 4,000 full vectors plus graph an all-RAM index would hold
    size = float(info["vector_index_sz_mb"]) * 1024 * 1024
    assert tiering["ram_bytes"] <= size + 1 <= tiering["ram_bytes"] + 512 * 1024  # + the write buffer's arena
    assert "tiering" not in ft_info(c, "flat")
    # RESP3: a map, with the ratio as a double
    r3 = srv.client(protocol=3)
    m = r3.execute_command("FT.INFO", "idx")[b"tiering"]
    assert m[b"segments"] >= 1 and isinstance(m[b"pool_hit_ratio"], float)
    r3.close()


def test_knn_matches_flat(tiered):
    _, c, _, _ = tiered
    before = info_tiering(c)["tiering_queries"]
    rng = np.random.default_rng(99)
    hits = identical = 0
    for _ in range(20):
        q = rng.random(DIM, dtype=np.float32)
        got, want = knn(c, "idx", q), knn(c, "flat", q)
        assert len(got) == K and len(want) == K
        hits += len(set(got) & set(want))
        identical += got == want
    assert hits / (20 * K) >= 0.95
    assert identical >= 18
    assert info_tiering(c)["tiering_queries"] >= before + 20


def test_hget_reads_exact_bytes_back_from_ssd(tiered):
    _, c, vectors, _ = tiered
    for i in np.random.default_rng(3).choice(N, 20, replace=False):
        assert c.hget(f"d:{i}", "v") == vectors[i].tobytes()
    reply = c.execute_command("FT.SEARCH", "idx", f"*=>[KNN 1 @v $q]", "PARAMS", "2", "q", vectors[11].tobytes(),
                              "RETURN", "1", "v", "DIALECT", "2")
    assert text(reply[1]) == "d:11" and reply[2] == [b"v", vectors[11].tobytes()]


def test_warmup_and_errors(tiered):
    _, c, _, _ = tiered
    assert isinstance(c.execute_command("FT.WARMUP", "idx"), int)
    assert isinstance(c.execute_command("FT.WARMUP", "idx", "16"), int)
    assert c.execute_command("FT.WARMUP", "flat") == 0
    with pytest.raises(redis.ResponseError, match="Unknown index name"):
        c.execute_command("FT.WARMUP", "nosuch")
    with pytest.raises(redis.ResponseError, match="must be positive"):
        c.execute_command("FT.WARMUP", "idx", "0")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        c.execute_command("FT.WARMUP")
    with pytest.raises(redis.ResponseError, match="STORAGE TIERED needs an HNSW"):
        c.execute_command("FT.CREATE", "bad", "SCHEMA", "v", "VECTOR", "FLAT", "8", "TYPE", "FLOAT32", "DIM", "4",
                          "DISTANCE_METRIC", "L2", "STORAGE", "TIERED")
    with pytest.raises(redis.ResponseError, match="RAM or TIERED"):
        c.execute_command("FT.CREATE", "bad", "SCHEMA", "v", "VECTOR", "HNSW", "8", "TYPE", "FLOAT32", "DIM", "4",
                          "DISTANCE_METRIC", "L2", "STORAGE", "DISK")


def test_info_sections(tiered):
    srv, c, _, _ = tiered
    for section in ([], ["all"], ["everything"], ["tiering"]):
        body = srv.cli("INFO", *section, check=True).stdout
        assert "# Tiering" in body and "tiering_segments:" in body, section
    assert "# Tiering" not in srv.cli("INFO", "modules", check=True).stdout  # not a module
    assert "# Tiering" not in srv.cli("INFO", "server", check=True).stdout
    assert info_tiering(c)["tiering_queries"] > 0
    assert c.execute_command("CONFIG", "RESETSTAT") == b"OK"
    assert info_tiering(c)["tiering_queries"] == 0


def test_deletes_and_updates(tiered):
    _, c, vectors, _ = tiered
    rng = np.random.default_rng(5)
    queries = [rng.random(DIM, dtype=np.float32) for _ in range(10)]
    first = [knn(c, "idx", q) for q in queries]
    doomed = sorted({ids[0] for ids in first} | {ids[1] for ids in first})
    for n, key in enumerate(doomed):
        if n % 2:
            assert c.delete(key) == 1
        else:
            assert c.hdel(key, "v") == 1  # the hash stays, without its vector
    for q in queries:
        got = knn(c, "idx", q, 20)
        assert not set(got) & set(doomed)
        assert len(got) == 20
    # an update moves the document: a query equal to the new vector finds it first, at distance 0
    new = rng.random(DIM, dtype=np.float32) + 5
    c.hset("d:42", "v", new.tobytes())
    # An explicit EF_RUNTIME: the new vector sits far from all others, and an HNSW walk (in RAM or on PQ codes) can
    # miss such an isolated node with few candidates (seen rarely at 32 in CI loops, never at 100).
    reply = c.execute_command("FT.SEARCH", "idx", "*=>[KNN 1 @v $q EF_RUNTIME 100 AS d]", "PARAMS", "2", "q",
                              new.tobytes(), "RETURN", "1", "d", "DIALECT", "2")
    assert text(reply[1]) == "d:42" and float(reply[2][1]) == 0.0
    assert c.hget("d:42", "v") == new.tobytes()
    # the old vector no longer finds it
    assert "d:42" not in knn(c, "idx", vectors[42], 5)


def test_config_set_vector_memory_limit(tiered):
    _, c, _, _ = tiered
    assert c.config_get("vector-memory-limit") == {"vector-memory-limit": "2097152"}
    try:
        assert c.config_set("vector-memory-limit", "0")
        assert c.config_get("vector-memory-limit") == {"vector-memory-limit": "0"}
        assert info_tiering(c)["vector_memory_limit"] == 0
        # no limit and no STORAGE: a new HNSW index stays in RAM
        c.execute_command("FT.CREATE", "ram", "PREFIX", "1", "none:", "SCHEMA", "v", *HNSW)
        assert "tiering" not in ft_info(c, "ram")
        assert c.config_set("vector-memory-limit", "100mb")
        assert c.config_get("vector-memory-limit") == {"vector-memory-limit": str(100 * 1024 * 1024)}
        with pytest.raises(redis.ResponseError):
            c.config_set("vector-memory-limit", "lots")
    finally:
        c.config_set("vector-memory-limit", "2mb")
        c.execute_command("FT.DROPINDEX", "ram")


def test_dropindex_removes_the_files(tiered):
    """Last in the module: it drops the tiered index."""
    srv, c, vectors, _ = tiered
    [directory] = index_directories(srv)
    assert c.execute_command("FT.DROPINDEX", "idx") == b"OK"
    deadline = time.monotonic() + 5
    while directory.exists() and any(directory.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not directory.exists() or not any(directory.iterdir())
    assert info_tiering(c)["tiering_indexes"] == 0
    # the hashes got their own copies before the files went
    assert c.hget("d:7", "v") == vectors[7].tobytes()


def test_storage_survives_the_schema_broadcast(tmp_path):
    fleet = start_fleet(tmp_path, "local-3.conf")
    try:
        c0 = fleet.client(0)
        assert c0.execute_command("FT.CREATE", "t", "PREFIX", "1", "x:", "SCHEMA", "v", "VECTOR", "HNSW", "8",
                                  "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "TIERED") == b"OK"
        assert c0.execute_command("FT.CREATE", "r", "PREFIX", "1", "y:", "SCHEMA", "v", *HNSW) == b"OK"
        for i in range(3):
            with fleet.client(i) as c:
                # a peer whose link was not up yet gets the schema when it comes up
                deadline = time.monotonic() + 15
                while set(c.execute_command("FT._LIST")) != {b"t", b"r"} and time.monotonic() < deadline:
                    time.sleep(0.1)
                local = c.execute_command("_FT.LOCAL", "FT.INFO", "t")
                assert b"tiering" in local[0::2], f"node {i}"
                assert b"tiering" not in c.execute_command("_FT.LOCAL", "FT.INFO", "r")[0::2]
        schemas = fleet.client(2).execute_command("_FT.SCHEMAS")
        assert [b"STORAGE", b"TIERED"] == [s for s in schemas if s[1] == b"t"][0][-2:]
    finally:
        fleet.stop()


def test_idle_index_goes_cold_and_comes_back(tmp_path):
    """`vector-cold-dir` / `vector-cold-after`: an index untouched for a second moves its segment to the cold
    directory (RAM released, `tiering_cold_bytes` counted), the next FT.SEARCH opens it there and answers the same,
    and after enough searches it moves back."""
    srv = start_server_process(tmp_path, "--vector-memory-limit", "2mb", "--vector-cold-dir", str(tmp_path / "cold"),
                               "--vector-cold-after", "1")
    try:
        c = srv.client(protocol=2)
        vectors = np.random.default_rng(11).random((5000, DIM), dtype=np.float32)  # past the 1 MB active-graph cap
        assert c.execute_command("FT.CREATE", "idx", "PREFIX", "1", "d:", "SCHEMA", "v", *HNSW) == b"OK"
        pipe = c.pipeline(transaction=False)
        for i in range(len(vectors)):
            pipe.hset(f"d:{i}", mapping={"v": vectors[i].tobytes()})
        pipe.execute()
        wait_settled(c)
        warm_hits = knn(c, "idx", vectors[3])
        deadline = time.monotonic() + 30
        while info_tiering(c)["tiering_cold_segments"] == 0 and time.monotonic() < deadline:
            time.sleep(0.3)  # INFO does not touch the index: it stays idle
        t = info_tiering(c)
        assert t["tiering_cold_segments"] == 1 and t["tiering_segments"] == 0, t
        assert t["tiering_cold_bytes"] > 0 and t["tiering_cold_moves"] == 1
        assert any(p.suffix == ".vsp" for p in (tmp_path / "cold").iterdir())
        assert c.execute_command("CONFIG", "SET", "vector-cold-after", "0") == b"OK"
        assert knn(c, "idx", vectors[3]) == warm_hits
        assert info_tiering(c)["tiering_cold_loads"] == 1
        assert c.hget("d:7", "v") == vectors[7].tobytes()
        for _ in range(40):
            knn(c, "idx", vectors[9])
        deadline = time.monotonic() + 30
        while info_tiering(c)["tiering_cold_promotions"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        t = info_tiering(c)
        assert t["tiering_cold_promotions"] == 1 and t["tiering_cold_segments"] == 0, t
        assert not any(p.suffix == ".vsp" for p in (tmp_path / "cold").iterdir())
        assert knn(c, "idx", vectors[3]) == warm_hits
    finally:
        alive = srv.alive()
        srv.stop()
        assert alive, srv.log()[-3000:]


def test_delete_all_then_reload(tmp_path):
    """Deleting every vector of a tiered index, then reloading the same keys: they must be searchable again (the
    emptied segment once became the base of the next merge and lost the entry point: every KNN came back empty). The
    keys go by DEL: FLUSHALL now drops the index itself, as RediSearch does."""
    srv = start_server_process(tmp_path, "--vector-memory-limit", "1mb")
    try:
        c = srv.client(protocol=2)
        vectors = np.random.default_rng(5).random((6000, DIM), dtype=np.float32)
        assert c.execute_command("FT.CREATE", "idx", "PREFIX", "1", "d:", "SCHEMA", "v", *HNSW) == b"OK"

        def load():
            pipe = c.pipeline(transaction=False)
            for i in range(len(vectors)):
                pipe.hset(f"d:{i}", mapping={"v": vectors[i].tobytes()})
            pipe.execute()
            wait_settled(c)

        load()
        keys = [f"d:{i}" for i in range(len(vectors))]
        for start in range(0, len(keys), 1000):
            assert c.delete(*keys[start:start + 1000]) == len(keys[start:start + 1000])
        wait_settled(c)
        assert knn(c, "idx", vectors[0]) == []
        load()
        for i in (0, 17, 4242):
            assert knn(c, "idx", vectors[i])[0] == f"d:{i}"
        assert c.hget("d:17", "v") == vectors[17].tobytes()
    finally:
        alive = srv.alive()
        srv.stop()
        assert alive, srv.log()[-3000:]


def test_bulk_load_waits_for_sealing(tmp_path):
    """Writers are held (their next requests wait) while a seal is behind, so a bulk load cannot park itself in RAM;
    every acknowledged vector is indexed, other clients stay served, and no client is left held."""
    srv = start_server_process(tmp_path, "--vector-memory-limit", "1mb")
    try:
        c = srv.client(protocol=2)
        dim, n, writers = 64, 24000, 4
        hnsw = ["VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", str(dim), "DISTANCE_METRIC", "L2"]
        assert c.execute_command("FT.CREATE", "bulk", "PREFIX", "1", "b:", "SCHEMA", "v", *hnsw) == b"OK"
        vectors = np.random.default_rng(11).random((n, dim), dtype=np.float32)
        peak_ram, pings, batches = [0], [], []
        done = threading.Event()

        def watch():
            w = srv.client(protocol=2)
            while not done.is_set():
                started = time.monotonic()
                assert w.ping()
                pings.append(time.monotonic() - started)
                peak_ram[0] = max(peak_ram[0], info_tiering(w)["tiering_ram_bytes"])
                time.sleep(0.05)
            w.close()

        def write(part: int):
            w = srv.client(protocol=2)
            for start in range(part, n, writers * 200):
                pipe = w.pipeline(transaction=False)
                for i in range(start, min(start + 200, n)):
                    pipe.hset(f"b:{i}", "v", vectors[i].tobytes())
                started = time.monotonic()
                assert all(r == 1 for r in pipe.execute())
                batches.append(time.monotonic() - started)
            w.close()

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=write, args=(p * 200,)) for p in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        watcher.join()
        deadline = time.monotonic() + 120
        while (ft_info(c, "bulk")["indexing"] != 0 or info_tiering(c)["tiering_busy"] != 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        t = info_tiering(c)
        assert t["tiering_held_clients"] == 0 and t["tiering_write_stalled"] == 0, t
        assert t["tiering_failures"] == 0, t
        assert int(ft_info(c, "bulk")["num_docs"]) == n
        # Without holds the RAM graphs took most of the load (12.3 MB measured here, 24,000 x ~400 B in all); with them
        # 6.6-8.1 MB (segment arrays and pool, the sealing graph, the active graph up to its cap, the write buffer).
        assert peak_ram[0] < 10 * 1024 * 1024, f"RAM graphs peaked at {peak_ram[0]} B (holds: {t['tiering_write_holds']})"
        for i in range(0, n, 997):
            q = vectors[i]
            reply = c.execute_command("FT.SEARCH", "bulk", "*=>[KNN 1 @v $q EF_RUNTIME 100]", "PARAMS", "2", "q",
                                      q.tobytes(), "NOCONTENT", "DIALECT", "2")
            assert text(reply[1]) == f"b:{i}"
        # The loop never links vectors itself (a full write buffer holds writers instead), and a hold lasts at most
        # about a second at a time: neither PINGs nor a writer's batch wait long.
        assert max(pings) < 5, f"a PING waited {max(pings):.1f} s during the load"
        assert max(batches) < 10, f"a batch of 200 HSETs waited {max(batches):.1f} s"
    finally:
        srv.stop()
