"""Node persistence: SAVE / SHUTDOWN SAVE write ``<dir>/<dbfilename>`` and a restart on the same dir loads it.

Strings, hashes and TTLs come back; an all-RAM HNSW index is rebuilt from the loaded hashes; a STORAGE TIERED index
reopens its page files without rebuilding (no page written, no seal after the restart) and its documents read their
vector bytes back from them. A damaged or foreign dump stops the node with a clear message and a non-zero exit.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import redis

from conftest import start_server_process

DIM = 32
K = 10


def text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def knn(c: redis.Redis, index: str, q: np.ndarray, ef: int) -> list:
    """The whole KNN reply (RESP2): total, then id / [score field, value] pairs."""
    return c.execute_command("FT.SEARCH", index, f"*=>[KNN {K} @v $q EF_RUNTIME {ef}]", "PARAMS", "2", "q",
                             q.astype(np.float32).tobytes(), "SORTBY", "__v_score", "RETURN", "1", "__v_score",
                             "LIMIT", "0", str(K), "DIALECT", "2")


def ft_info(c: redis.Redis, index: str) -> dict:
    reply = c.execute_command("FT.INFO", index)
    return {text(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}


def wait_indexed(c: redis.Redis, index: str, docs: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = ft_info(c, index)
        if int(info["num_docs"]) == docs and int(info["indexing"]) == 0:
            return
        time.sleep(0.1)
    pytest.fail(f"{index} not indexed in {timeout} s: {ft_info(c, index)}", pytrace=False)


def shutdown_save(srv) -> None:
    c = srv.client(protocol=2)
    try:
        c.execute_command("SHUTDOWN", "SAVE")
    except redis.ConnectionError:
        pass  # the node closes the connection as it exits, as Redis does
    assert srv.proc.wait(60) == 0, srv.log()[-2000:]


def restart(srv, *args):
    return start_server_process(srv.dir, *args, timeout=60)


def test_keyspace_survives_shutdown_save(tmp_path: Path):
    srv = start_server_process(tmp_path)
    c = srv.client(protocol=2)
    c.set("s", "hello")
    c.set("bin", bytes(range(256)))
    c.set("ttl", "soon", ex=1000)
    c.set("gone", "x", px=50)
    c.hset("h", mapping={"a": "1", "b": "2"})
    c.hset("big", mapping={f"f{i}": f"v{i}" * 20 for i in range(200)})
    assert srv.cli("BGSAVE").stdout.strip() == "Background saving started"
    assert c.info("persistence")["rdb_changes_since_last_save"] == 0
    lastsave = c.lastsave()
    time.sleep(0.1)
    shutdown_save(srv)
    assert (tmp_path / "dump.rdb").read_bytes()[:6] == b"VSSNAP"

    srv2 = restart(srv)
    c = srv2.client(protocol=2)
    try:
        assert c.get("s") == b"hello"
        assert c.get("bin") == bytes(range(256))
        assert 990 <= c.ttl("ttl") <= 1000
        assert c.exists("gone") == 0
        assert c.hgetall("h") == {b"a": b"1", b"b": b"2"}
        assert c.hgetall("big") == {f"f{i}".encode(): (f"v{i}" * 20).encode() for i in range(200)}
        assert c.dbsize() == 5
        assert c.lastsave() >= lastsave
        assert "DB loaded from disk" in srv2.log()
    finally:
        srv2.stop()


def test_sigterm_saves_when_save_points_are_set(tmp_path: Path):
    srv = start_server_process(tmp_path, "--save", "3600 1")
    srv.client().set("k", "v")
    assert srv.stop() == 0
    assert "DB saved on disk" in srv.log()
    srv2 = restart(srv)
    try:
        assert srv2.client().get("k") == b"v"
        srv2.client().set("k2", "v2")
        srv2.client().config_set("save", "")
    finally:
        srv2.stop()  # no save points now: the change is not saved
    srv3 = restart(srv)
    try:
        assert srv3.client().get("k") == b"v" and srv3.client().exists("k2") == 0
    finally:
        srv3.stop()


def test_ram_hnsw_index_is_rebuilt_with_the_same_answers(tmp_path: Path):
    n = 1000
    srv = start_server_process(tmp_path)
    c = srv.client(protocol=2)
    rng = np.random.default_rng(3)
    vectors = rng.random((n, DIM), dtype=np.float32)
    assert c.execute_command("FT.CREATE", "ram", "PREFIX", "1", "r:", "SCHEMA", "t", "TAG", "v", "VECTOR", "HNSW", "8",
                             "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "L2", "STORAGE", "RAM") == b"OK"
    assert c.execute_command("FT.ALIASADD", "ram_alias", "ram") == b"OK"
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(f"r:{i}", mapping={"v": vectors[i].tobytes(), "t": f"g{i % 3}"})
    pipe.execute()
    wait_indexed(c, "ram", n)
    queries = rng.random((5, DIM), dtype=np.float32)
    before = [knn(c, "ram", q, ef=n) for q in queries]
    docs_before = {i: c.hgetall(f"r:{i}") for i in range(0, n, 97)}
    shutdown_save(srv)

    srv2 = restart(srv)
    c = srv2.client(protocol=2)
    try:
        wait_indexed(c, "ram", n)
        assert [knn(c, "ram", q, ef=n) for q in queries] == before
        assert knn(c, "ram_alias", queries[0], ef=n) == before[0]
        assert {i: c.hgetall(f"r:{i}") for i in range(0, n, 97)} == docs_before
        assert docs_before[0][b"v"] == vectors[0].tobytes()
        assert c.execute_command("FT.SEARCH", "ram", "@t:{g1}", "LIMIT", "0", "0")[0] == len(range(1, n, 3))
    finally:
        srv2.stop()


def test_tiered_index_reopens_its_page_files(tmp_path: Path):
    n = 5000
    srv = start_server_process(tmp_path, "--vector-memory-limit", "1mb")
    c = srv.client(protocol=2)
    rng = np.random.default_rng(11)
    vectors = rng.random((n, DIM), dtype=np.float32)
    assert c.execute_command("FT.CREATE", "idx", "PREFIX", "1", "d:", "SCHEMA", "n", "NUMERIC", "v", "VECTOR", "HNSW",
                             "8", "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "L2",
                             "STORAGE", "TIERED") == b"OK"
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(f"d:{i}", mapping={"v": vectors[i].tobytes(), "n": i})
    pipe.execute()
    wait_indexed(c, "idx", n)
    # Deletes and updates after the vectors were sealed: their tombstones are in RAM only until the restart.
    deadline = time.monotonic() + 60
    while c.info("tiering")["tiering_segments"] < 1 or c.info("tiering")["tiering_busy"]:
        assert time.monotonic() < deadline, c.info("tiering")
        time.sleep(0.1)
    for i in range(0, 100):
        c.delete(f"d:{i}")
    for i in range(100, 200):
        vectors[i] = rng.random(DIM, dtype=np.float32)
        c.hset(f"d:{i}", "v", vectors[i].tobytes())
    assert c.execute_command("SAVE") is True  # seals everything: the answers below are the page files'
    # Deleted after the last seal: only the snapshot's document table says these records are gone.
    for i in range(200, 250):
        c.delete(f"d:{i}")
    docs = n - 150
    queries = np.vstack([rng.random((4, DIM), dtype=np.float32), vectors[150:151], vectors[50:51], vectors[220:221]])
    before = [knn(c, "idx", q, ef=1000) for q in queries]
    hashes_before = {i: c.hgetall(f"d:{i}") for i in range(100, n, 7) if not 200 <= i < 250}
    assert int(ft_info(c, "idx")["num_docs"]) == docs
    directories = sorted(p.name for p in (tmp_path / "vecshard-tiering").iterdir())
    shutdown_save(srv)
    stale = tmp_path / "vecshard-tiering" / "dropped-v-1234"  # an index the snapshot does not name
    stale.mkdir()
    (stale / "seg-1.vsp").write_bytes(b"\0" * 4096)

    srv2 = restart(srv, "--vector-memory-limit", "1mb")
    c = srv2.client(protocol=2)
    try:
        assert int(ft_info(c, "idx")["num_docs"]) == docs
        assert int(ft_info(c, "idx")["indexing"]) == 0
        assert [knn(c, "idx", q, ef=1000) for q in queries] == before
        hashes_after = {i: c.hgetall(f"d:{i}") for i in hashes_before}
        assert hashes_after == hashes_before
        for i in hashes_before:
            assert hashes_after[i][b"v"] == vectors[i].tobytes()
        assert c.exists("d:5") == 0 and c.exists("d:220") == 0
        assert "50 stale record(s) tombstoned" in srv2.log()
        # Reopened, not rebuilt: nothing was written to SSD or sealed since the start.
        t = c.info("tiering")
        assert t["tiering_pages_written"] == 0 and t["tiering_seals"] == 0, t
        assert "without rebuilding" in srv2.log()
        assert sorted(p.name for p in (tmp_path / "vecshard-tiering").iterdir()) == directories
        # Still writable: a new document and an update are found.
        c.hset("d:new", mapping={"v": vectors[0].tobytes(), "n": -1})
        assert text(knn(c, "idx", vectors[0], ef=1000)[1]) == "d:new"
    finally:
        srv2.stop()


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign"])
def test_damaged_dump_refuses_to_start(tmp_path: Path, damage: str):
    srv = start_server_process(tmp_path)
    c = srv.client(protocol=2)
    for i in range(50):
        c.set(f"k{i}", f"v{i}")
    c.hset("h", mapping={"a": "1"})
    shutdown_save(srv)
    dump = tmp_path / "dump.rdb"
    data = bytearray(dump.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        data = data[: len(data) - 9]
    else:
        data = bytearray(b"REDIS0011" + bytes(data[9:]))
    dump.write_bytes(bytes(data))
    srv2 = start_server_process(tmp_path, ping=False)
    try:
        code = srv2.proc.wait(30)
    finally:
        srv2.stop()
    log = srv2.log()
    assert code != 0, log
    assert "Bad snapshot file dump.rdb" in log, log
    expected = {"flip": "checksum", "truncate": "checksum", "foreign": "Wrong signature"}[damage]
    assert expected in log, log
