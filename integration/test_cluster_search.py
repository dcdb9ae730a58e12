"""FT.* across a cluster: any node coordinates (schema broadcast, fan-out FT.SEARCH / FT.INFO / FT.TAGVALS, merge).

Starts ``cluster-config/local-3.conf`` on free ports (as test_cluster.py does) plus one standalone node holding the
same documents, and checks that redis-py's ``RedisCluster`` (FT.* go to a random primary) gets answers equal to the
single node's: FLAT KNN ids and distances exactly, SORTBY + LIMIT pages, totals. Then kills one master during a
query loop (replies keep coming within TIMEOUT, flagged partial) and restarts it (it pulls the schema back).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
import redis
from redis.cluster import RedisCluster
from redis.commands.search.field import NumericField, TagField, TextField, VectorField
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import Query

from conftest import HOST, start_server_process, vecshard_bin
from test_cluster import start_fleet

DIM = 8
N = 400
SCHEMA = [VectorField("v", "FLAT", {"TYPE": "FLOAT32", "DIM": DIM, "DISTANCE_METRIC": "L2"}),
          TagField("t"), NumericField("n", sortable=True), TextField("body")]
DEFINITION = IndexDefinition(prefix=["doc:"], index_type=IndexType.HASH)


def documents():
    rng = np.random.default_rng(11)
    vecs = rng.random((N, DIM)).astype(np.float32)
    for i in range(N):
        yield f"doc:{i}", {"v": vecs[i].tobytes(), "t": "red" if i % 3 else "blue", "n": i % 50,
                           "body": "hello world" if i % 4 == 0 else "other text"}


def queries(count: int):
    rng = np.random.default_rng(5)
    return [rng.random(DIM).astype(np.float32).tobytes() for _ in range(count)]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    fleet = start_fleet(tmp_path_factory.mktemp("csearch"), "local-3.conf")
    single = start_server_process(tmp_path_factory.mktemp("csingle"))
    rc = RedisCluster(host=HOST, port=fleet.ports[0], socket_timeout=10)
    try:
        rc.ft("idx").create_index(SCHEMA, definition=DEFINITION)
        single_client = single.client(protocol=2)
        single_client.ft("idx").create_index(SCHEMA, definition=DEFINITION)
        pipe = single_client.pipeline(transaction=False)
        for key, mapping in documents():
            rc.hset(key, mapping=mapping)
            pipe.hset(key, mapping=mapping)
        pipe.execute()
        yield fleet, single, rc
    finally:
        rc.close()
        single.stop()
        fleet.stop()


def raw(port: int, *args, protocol: int = 2):
    with redis.Redis(host=HOST, port=port, protocol=protocol, socket_timeout=10) as c:
        return c.execute_command(*args)


def test_schema_broadcast_lists_everywhere(env):
    fleet, _, rc = env
    for port in fleet.ports:
        assert raw(port, "FT._LIST") == [b"idx"]
    # FT.ALIASADD / FT.ALTER / FT.CONFIG SET sent to one node apply on every node
    assert raw(fleet.ports[1], "FT.ALIASADD", "idx_alias", "idx") == b"OK"
    assert raw(fleet.ports[2], "FT.ALTER", "idx", "SCHEMA", "ADD", "extra", "TAG") == b"OK"
    assert raw(fleet.ports[0], "FT.CONFIG", "SET", "MAXEXPANSIONS", "321") == b"OK"
    for port in fleet.ports:
        assert raw(port, "FT.SEARCH", "idx_alias", "*", "LIMIT", "0", "0")[0] == N
        attrs = [a[1] for a in redis.Redis(host=HOST, port=port, protocol=2).ft("idx").info()["attributes"]]
        assert b"extra" in attrs
        assert raw(port, "FT.CONFIG", "GET", "MAXEXPANSIONS") == [[b"MAXEXPANSIONS", b"321"]]
    # internal commands: _FT.SCHEMAS replays what makes the index
    schemas = raw(fleet.ports[2], "_FT.SCHEMAS")
    assert schemas[0][:2] == [b"FT.CREATE", b"idx"] and any(s[0] == b"FT.ALTER" for s in schemas)


def test_knn_identical_from_every_primary_and_equal_to_single_node(env):
    fleet, single, rc = env
    s = single.client(protocol=2)
    for q in queries(8):
        query = Query("*=>[KNN 5 @v $B]").dialect(2)
        want = s.ft("idx").search(query, query_params={"B": q})
        answers = [rc.ft("idx").search(query, query_params={"B": q}) for _ in range(4)]
        for port in fleet.ports:  # every node coordinates, RESP3 and RESP2
            for protocol in (None, 2):  # None: redis-py 8 default (RESP3, legacy Result)
                answers.append(redis.Redis(host=HOST, port=port, protocol=protocol).ft("idx").search(query, query_params={"B": q}))
        want_pairs = sorted((d.id, d.__v_score) for d in want.docs)
        for got in answers:
            assert got.total == want.total == 5
            # single node: doc-id order; cluster: ascending distance (docs/COMPATIBILITY.md). Same set, same distances.
            assert sorted((d.id, d.__v_score) for d in got.docs) == want_pairs
            distances = [float(d.__v_score) for d in got.docs]
            assert distances == sorted(distances)
        # with SORTBY on the distance both orders are defined: exact equality of the raw replies
        args = ["FT.SEARCH", "idx", "*=>[KNN 10 @v $B AS dist]", "PARAMS", "2", "B", q, "SORTBY", "dist",
                "RETURN", "2", "dist", "t", "DIALECT", "2"]
        expected = raw(single.port, *args)
        for port in fleet.ports:
            assert raw(port, *args) == expected


def test_filters_sortby_limit_totals(env):
    fleet, single, _ = env
    cases = [
        ["FT.SEARCH", "idx", "@t:{blue}", "SORTBY", "n", "DESC", "LIMIT", "5", "7", "RETURN", "1", "n"],
        ["FT.SEARCH", "idx", "@n:[10 20]", "SORTBY", "n", "ASC", "LIMIT", "0", "15", "NOCONTENT"],
        ["FT.SEARCH", "idx", "*", "LIMIT", "0", "0"],
        ["FT.SEARCH", "idx", "(@t:{red})=>[KNN 7 @v $B AS d]", "PARAMS", "2", "B", queries(1)[0], "SORTBY", "d",
         "RETURN", "1", "d", "DIALECT", "2"],
    ]
    for args in cases:
        want = raw(single.port, *args)
        for port in fleet.ports:
            got = raw(port, *args)
            assert got[0] == want[0], args
            if "SORTBY" in args and "NOCONTENT" not in args:
                # the sort values agree position by position (ties may pick other ids)
                assert [f for f in got[2::2]] == [f for f in want[2::2]], args
            elif "NOCONTENT" in args:
                assert len(got) == len(want)
    # RESP3 map shape with an empty warning list when every shard answered
    r3 = raw(fleet.ports[1], "FT.SEARCH", "idx", "hello", "LIMIT", "0", "3", protocol=3)
    assert r3[b"total_results"] == raw(single.port, "FT.SEARCH", "idx", "hello", "LIMIT", "0", "0")[0]
    assert len(r3[b"results"]) == 3 and r3[b"warning"] == []


def test_info_and_tagvals_are_cluster_wide(env):
    fleet, single, _ = env
    want = single.client(protocol=2).ft("idx").info()
    for port in fleet.ports:
        info = redis.Redis(host=HOST, port=port, protocol=2).ft("idx").info()
        assert int(info["num_docs"]) == int(want["num_docs"]) == N
        assert int(info["hash_indexing_failures"]) == 0
        assert raw(port, "FT.TAGVALS", "idx", "t") == raw(single.port, "FT.TAGVALS", "idx", "t")


def _pid(fleet, node: str) -> int:
    return int((fleet.run_dir / node / f"{node}.pid").read_text())


def _wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} did not open")


def test_stalled_master_times_out_then_breaker_fails_fast_then_recovers(env):
    fleet, _, _ = env
    args = ["FT.SEARCH", "idx", "*=>[KNN 5 @v $B]", "PARAMS", "2", "B", queries(1)[0], "DIALECT", "2", "TIMEOUT", "200"]
    c = redis.Redis(host=HOST, port=fleet.ports[0], protocol=3, socket_timeout=5)
    assert c.execute_command(*args)[b"warning"] == []
    pid = _pid(fleet, "m2")
    os.kill(pid, signal.SIGSTOP)  # alive but silent: "slower than TIMEOUT"
    try:
        times = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            start = time.monotonic()
            reply = c.execute_command(*args)
            times.append(time.monotonic() - start)
            assert reply[b"warning"] == [b"Timeout limit was reached"] and len(reply[b"results"]) == 5
        assert max(times) < 0.2 + 0.4, max(times)
        # the stall detector opened the breaker: the last replies did not wait for the timeout
        assert min(times[-5:]) < 0.15, times[-5:]
        # a schema change while m2 is silent: the forward to m2 fails fast; m2's own links never broke, so only
        # m1 pushing its schema when its link to m2 comes back can deliver it
        assert c.execute_command("FT.CREATE", "whilestalled", "ON", "HASH", "PREFIX", "1", "ws:", "SCHEMA", "x", "TAG") == b"OK"
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and c.execute_command(*args)[b"warning"]:
        time.sleep(0.1)
    assert c.execute_command(*args)[b"warning"] == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"whilestalled" not in raw(fleet.ports[1], "FT._LIST"):
        time.sleep(0.1)
    assert sorted(raw(fleet.ports[1], "FT._LIST")) == [b"idx", b"whilestalled"]
    assert raw(fleet.ports[0], "FT.DROPINDEX", "whilestalled") == b"OK"
    assert [raw(p, "FT._LIST") for p in fleet.ports] == [[b"idx"]] * 3


def test_master_down_partial_results_within_timeout_then_converges(env):
    fleet, single, rc = env
    q = queries(1)[0]
    args = ["FT.SEARCH", "idx", "*=>[KNN 5 @v $B]", "PARAMS", "2", "B", q, "DIALECT", "2", "TIMEOUT", "300"]
    full = raw(fleet.ports[0], *args, protocol=3)
    assert full[b"warning"] == [] and full[b"total_results"] == 5

    os.kill(_pid(fleet, "m3"), signal.SIGKILL)
    c3 = redis.Redis(host=HOST, port=fleet.ports[0], protocol=3, socket_timeout=5)
    c2 = redis.Redis(host=HOST, port=fleet.ports[1], protocol=2, socket_timeout=5)
    partial = 0
    for i in range(30):
        start = time.monotonic()
        reply = c3.execute_command(*args)
        elapsed = time.monotonic() - start
        assert elapsed < 0.3 + 0.5, f"reply {i} took {elapsed:.3f}s"
        assert len(reply[b"results"]) == 5
        if reply[b"warning"]:
            assert reply[b"warning"] == [b"Timeout limit was reached"]
            partial += 1
        r2 = c2.execute_command(*args)  # RESP2, ON_TIMEOUT RETURN: partial results, no error
        assert r2[0] <= 5
    assert partial == 30
    # ON_TIMEOUT FAIL: RESP2 gets the error instead
    assert c2.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "FAIL") == b"OK"
    with pytest.raises(redis.ResponseError, match="Timeout limit was reached"):
        c2.execute_command(*args)
    assert c2.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "RETURN") == b"OK"
    # schema changes while m3 is down still succeed on the live nodes
    assert raw(fleet.ports[0], "FT.CREATE", "later", "ON", "HASH", "PREFIX", "1", "later:", "SCHEMA", "x", "TAG") == b"OK"

    # restart m3: it comes back empty and pulls every index from its peers
    port = fleet.ports[2]
    d = fleet.run_dir / "m3"
    with open(d / "m3.restart.log", "wb") as log:
        proc = subprocess.Popen([vecshard_bin(), "--port", str(port), "--bind", HOST, "--dir", str(d), "--cluster-enabled",
                                 "yes", "--cluster-topology", str(fleet.topology), "--cluster-node", "m3"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    (d / "m3.pid").write_text(str(proc.pid))
    _wait_port(port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sorted(raw(port, "FT._LIST")) != [b"idx", b"later"]:
        time.sleep(0.1)
    assert sorted(raw(port, "FT._LIST")) == [b"idx", b"later"]
    assert raw(port, "FT.CONFIG", "GET", "MAXEXPANSIONS") == [[b"MAXEXPANSIONS", b"321"]]
    # reload m3's documents: answers equal the single node's again, with no warning (breakers closed)
    for key, mapping in documents():
        rc.hset(key, mapping=mapping)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and raw(fleet.ports[0], *args, protocol=3)[b"warning"]:
        time.sleep(0.1)
    got = raw(fleet.ports[0], *args, protocol=3)
    assert got[b"warning"] == []
    want = raw(single.port, *args)
    assert sorted(r[b"id"] for r in got[b"results"]) == sorted(want[1::2])
