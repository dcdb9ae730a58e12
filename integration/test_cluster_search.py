"""FT.* across a cluster: any node coordinates (schema broadcast, fan-out FT.SEARCH / FT.AGGREGATE / FT.INFO /
FT.TAGVALS, merge).

Starts ``cluster-config/local-3.conf`` on free ports (as test_cluster.py does) plus one standalone node holding the
same documents, and checks that redis-py's ``RedisCluster`` (FT.* go to a random primary) gets answers equal to the
single node's: FLAT KNN ids and distances exactly, SORTBY + LIMIT pages, totals, FT.AGGREGATE rows and cursors. Then
stalls one master and kills another during query loops (FT.SEARCH and FT.AGGREGATE replies keep coming within
TIMEOUT, flagged partial) and restarts the killed one (it pulls the schema back).
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


def test_fan_out_inside_multi_is_refused_and_exec_stays_in_order(env):
    """Inside EXEC no command may wait for other nodes: FT.SEARCH / FT.INFO answer with an error in their slot and the
    transaction's other replies keep their places (they used to be shifted by a late fan-out answer)."""
    fleet, _, _ = env
    with redis.Redis(host=HOST, port=fleet.ports[0], protocol=2, socket_timeout=10) as c:
        p = c.pipeline(transaction=True)
        p.ping()
        p.execute_command("FT.SEARCH", "idx", "*", "LIMIT", "0", "1")
        p.execute_command("FT.INFO", "idx")
        p.echo("after")
        replies = p.execute(raise_on_error=False)
        assert replies[0] is True and replies[3] == b"after"
        for r in replies[1:3]:
            assert isinstance(r, redis.ResponseError) and "inside MULTI on a cluster" in str(r)
        assert c.ping()
        assert raw(fleet.ports[0], "FT._LIST") == [b"idx"]


def test_info_and_tagvals_are_cluster_wide(env):
    fleet, single, _ = env
    want = single.client(protocol=2).ft("idx").info()
    for port in fleet.ports:
        info = redis.Redis(host=HOST, port=port, protocol=2).ft("idx").info()
        assert int(info["num_docs"]) == int(want["num_docs"]) == N
        assert int(info["hash_indexing_failures"]) == 0
        assert raw(port, "FT.TAGVALS", "idx", "t") == raw(single.port, "FT.TAGVALS", "idx", "t")


def _agg_row(row):
    """A RESP2 aggregate row with TOLIST-style lists sorted (their order follows insertion order, not defined)."""
    return tuple(tuple(sorted(v)) if isinstance(v, list) else v for v in row)


def _cursor_rows(port: int, args) -> tuple[int, list]:
    """Runs FT.AGGREGATE ... WITHCURSOR on one node and reads the cursor there until it is done."""
    with redis.Redis(host=HOST, port=port, protocol=2, socket_timeout=10) as c:
        (first, cursor) = c.execute_command(*args)
        total, rows, reads = first[0], [_agg_row(r) for r in first[1:]], 0
        while cursor:
            chunk, cursor = c.execute_command("FT.CURSOR", "READ", args[1], cursor)
            rows += [_agg_row(r) for r in chunk[1:]]
            reads += 1
            assert reads < 100
        return total, rows


AGGREGATES = [
    # (arguments after FT.AGGREGATE, whether the row order is defined)
    (["idx", "*", "GROUPBY", "1", "@t", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@n", "AS", "s",
      "REDUCE", "AVG", "1", "@n", "AS", "a", "REDUCE", "MIN", "1", "@n", "AS", "lo", "REDUCE", "MAX", "1", "@n", "AS", "hi",
      "REDUCE", "COUNT_DISTINCT", "1", "@n", "AS", "cd", "REDUCE", "TOLIST", "1", "@body", "AS", "tl"], False),
    (["idx", "*", "GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "2", "@n", "ASC", "MAX", "10"], True),
    (["idx", "@t:{blue}", "GROUPBY", "2", "@n", "@body", "REDUCE", "COUNT", "0", "AS", "c", "SORTBY", "6", "@c", "DESC",
      "@n", "ASC", "@body", "ASC", "LIMIT", "3", "6"], True),
    (["idx", "*", "APPLY", "@n * 2", "AS", "m", "FILTER", "@m > 50", "SORTBY", "2", "@m", "DESC", "LIMIT", "0", "5"], True),
    (["idx", "*", "LOAD", "2", "@__key", "@body", "SORTBY", "4", "@n", "DESC", "@__key", "ASC", "MAX", "7"], True),
    (["idx", "*", "LOAD", "1", "@__key", "SORTBY", "2", "@__key", "ASC", "LIMIT", "390", "20"], True),
    (["idx", "hello", "LOAD", "1", "@n", "FILTER", "@n < 10", "GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c"], False),
    (["idx", "*", "LOAD", "2", "@__key", "@t", "APPLY", "upper(@t)", "AS", "u", "FILTER", "@u == \"BLUE\"",
      "GROUPBY", "1", "@u", "REDUCE", "COUNT", "0", "AS", "c"], True),
    (["idx", "*", "LIMIT", "0", "0"], True),
    (["idx", "@t:{red}", "GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@n", "AS", "s"], True),
    (["idx", "*", "LOAD", "2", "@__key", "@n"], False),
    (["idx", "nomatch", "GROUPBY", "1", "@t", "REDUCE", "COUNT", "0", "AS", "c"], True),
]


def test_aggregate_equal_to_single_node_from_every_node(env):
    fleet, single, _ = env
    for args, ordered in AGGREGATES:
        want = raw(single.port, "FT.AGGREGATE", *args)
        want_rows = [_agg_row(r) for r in want[1:]]
        for port in fleet.ports:
            got = raw(port, "FT.AGGREGATE", *args)
            got_rows = [_agg_row(r) for r in got[1:]]
            if ordered:
                assert got_rows == want_rows, (port, args)
            else:
                assert sorted(got_rows) == sorted(want_rows), (port, args)
            # total: groups for GROUPBY, matches read for blocking steps, rows read until the first one otherwise
            assert got[0] == want[0], (port, args)
    # KNN: the global k nearest, nearest first, then the rest of the pipeline over them
    for q in queries(3):
        for tail in (["LOAD", "2", "@__key", "@n"],
                     ["FILTER", "@n > 20", "LOAD", "1", "@__key"],
                     ["GROUPBY", "1", "@t", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "MIN", "1", "@dist", "AS", "nearest"]):
            args = ["idx", "*=>[KNN 12 @v $B AS dist]", "PARAMS", "2", "B", q, *tail, "DIALECT", "2"]
            want = raw(single.port, "FT.AGGREGATE", *args)
            for port in fleet.ports:
                got = raw(port, "FT.AGGREGATE", *args)
                if "GROUPBY" in tail:
                    assert got[0] == want[0] and sorted(got[1:]) == sorted(want[1:]), tail
                else:
                    assert got[1:] == want[1:], tail
    # errors come back in RediSearch's words
    for args in (["idx", "*", "APPLY", "@t + 1", "AS", "x"], ["idx", "*", "GROUPBY", "1", "t"],
                 ["idx", "*", "APPLY", "upper(@t)", "AS", "u", "LOAD", "1", "@t"],
                 ["nosuchidx", "*"], ["idx", "*", "SORTBY", "2", "@nope", "ASC"]):
        with pytest.raises(redis.ResponseError) as want_error:
            raw(single.port, "FT.AGGREGATE", *args)
        for port in fleet.ports:
            with pytest.raises(redis.ResponseError) as got_error:
                raw(port, "FT.AGGREGATE", *args)
            assert str(got_error.value) == str(want_error.value), args


def test_scores_across_the_cluster(env):
    """Scores are each shard's own (its document counts: docs/COMPATIBILITY.md), so only their presence, their order
    and the documents they cover are compared with a single node."""
    fleet, single, _ = env
    want = raw(single.port, "FT.SEARCH", "idx", "hello", "WITHSCORES", "NOCONTENT", "SCORER", "BM25STD", "LIMIT", "0", "1000")
    assert want[0] >= 10
    for port in fleet.ports:
        got = raw(port, "FT.SEARCH", "idx", "hello", "WITHSCORES", "NOCONTENT", "SCORER", "BM25STD", "LIMIT", "0", "1000")
        assert got[0] == want[0] and sorted(got[1::2]) == sorted(want[1::2])
        scores = [float(x) for x in got[2::2]]
        assert scores == sorted(scores, reverse=True) and all(x > 0 for x in scores)
        rows = raw(port, "FT.AGGREGATE", "idx", "hello", "ADDSCORES", "LOAD", "1", "@__key",
                   "SORTBY", "2", "@__score", "DESC", "MAX", "1000")
        by_key = {dict(zip(r[::2], r[1::2]))[b"__key"]: float(dict(zip(r[::2], r[1::2]))[b"__score"]) for r in rows[1:]}
        assert sorted(by_key) == sorted(want[1::2]) and all(x > 0 for x in by_key.values())
        assert list(by_key.values()) == sorted(by_key.values(), reverse=True)
        with pytest.raises(redis.ResponseError, match="No such scorer nope"):
            raw(port, "FT.SEARCH", "idx", "hello", "SCORER", "nope")


def test_aggregate_resp3_shape_and_cursors(env):
    fleet, single, _ = env
    args = ["FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c",
            "SORTBY", "2", "@n", "DESC", "MAX", "3"]
    want = raw(single.port, *args, protocol=3)
    for port in fleet.ports:
        got = raw(port, *args, protocol=3)
        assert got == want and got[b"warning"] == []
    # WITHCURSOR COUNT n, then FT.CURSOR READ on the node that opened the cursor until it reports 0
    for args, ordered in [(["FT.AGGREGATE", "idx", "*", "LOAD", "2", "@__key", "@n", "WITHCURSOR", "COUNT", "70"], False),
                          (["FT.AGGREGATE", "idx", "*", "LOAD", "1", "@__key", "SORTBY", "2", "@__key", "DESC", "MAX", "150",
                            "WITHCURSOR", "COUNT", "40"], True),
                          (["FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c",
                            "WITHCURSOR", "COUNT", "7"], False)]:
        want_total, want_rows = _cursor_rows(single.port, args)
        assert len(want_rows) == (150 if "MAX" in args else 50 if "GROUPBY" in args else N)
        for port in fleet.ports:
            total, rows = _cursor_rows(port, args)
            assert total == want_total, (port, args)
            assert (rows if ordered else sorted(rows)) == (want_rows if ordered else sorted(want_rows)), (port, args)
    # FT.CURSOR DEL on the coordinator's cursor
    (_, cursor) = raw(fleet.ports[1], "FT.AGGREGATE", "idx", "*", "LOAD", "1", "@n", "WITHCURSOR", "COUNT", "5")
    assert cursor != 0
    with redis.Redis(host=HOST, port=fleet.ports[1], protocol=2) as c:
        assert c.execute_command("FT.CURSOR", "DEL", "idx", cursor) == b"OK"
        with pytest.raises(redis.ResponseError, match="Cursor does not exist"):
            c.execute_command("FT.CURSOR", "DEL", "idx", cursor)


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
        # FT.AGGREGATE does the same: partial rows within TIMEOUT, flagged in RESP3, plain partial rows in RESP2
        agg = ["FT.AGGREGATE", "idx", "*", "GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", "c", "TIMEOUT", "200"]
        start = time.monotonic()
        reply = c.execute_command(*agg)
        assert time.monotonic() - start < 0.2 + 0.4
        assert reply[b"warning"] == [b"Timeout limit was reached"]
        counted = int(reply[b"results"][0][b"extra_attributes"][b"c"])
        assert 0 < counted < N
        assert raw(fleet.ports[0], *agg) == [1, [b"c", str(counted).encode()]]
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
    with pytest.raises(redis.ResponseError, match="Timeout limit was reached"):
        c2.execute_command("FT.AGGREGATE", "idx", "*", "LOAD", "1", "@n", "TIMEOUT", "300")
    assert c2.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "RETURN") == b"OK"
    agg = c3.execute_command("FT.AGGREGATE", "idx", "*", "LOAD", "1", "@n", "TIMEOUT", "300")
    assert agg[b"warning"] == [b"Timeout limit was reached"] and 0 < len(agg[b"results"]) < N
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
