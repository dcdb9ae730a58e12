"""Commands that normally wait (on a worker thread, a timer or SSD reads) inside MULTI/EXEC: each replies before the next
queued command runs, so EXEC's array keeps its order. Before, an FT.SEARCH on a tiered index inside EXEC left its slot to
the next command's reply. WAIT against redis-server: same replies and errors (no replicas here either)."""

from __future__ import annotations

import struct
import time

import redis


def blob(*values: float) -> bytes:
    return struct.pack(f"{len(values)}f", *values)


def test_searches_warmup_and_wait_answer_in_place_inside_exec(server):
    c = server.client(protocol=3)
    try:
        c.config_set("vector-memory-limit", "1mb")
        c.execute_command("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "v", "VECTOR", "HNSW", "8",
                          "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "STORAGE", "TIERED", "n", "NUMERIC")
        for i in range(300):
            c.hset(f"d:{i}", mapping={"v": blob(i, 1, 2, 3), "n": i % 7})
        for attempt in range(2):  # once fresh, once after the index had time to seal to SSD
            p = c.pipeline(transaction=True)
            p.ping()
            p.execute_command("FT.SEARCH", "idx", "*=>[KNN 2 @v $B]", "PARAMS", "2", "B", blob(5, 1, 2, 3),
                              "DIALECT", "2", "NOCONTENT")
            p.execute_command("FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@n", "REDUCE", "COUNT", "0", "AS", "c",
                              "SORTBY", "2", "@n", "ASC", "LIMIT", "0", "1")
            p.execute_command("WAIT", "1", "0")
            p.execute_command("FT.WARMUP", "idx", "4")
            p.echo("last")
            ping, search, aggregate, wait, warmup, last = p.execute()
            assert ping is True and last == b"last"
            assert search[b"total_results"] == 2
            assert sorted(r[b"id"] for r in search[b"results"]) == [b"d:4", b"d:5"]
            assert aggregate[b"results"][0][b"extra_attributes"] == {b"n": b"0", b"c": b"43"}
            assert wait == 0 and isinstance(warmup, int)
            time.sleep(1.5)
        assert c.ping()
    finally:
        c.config_set("vector-memory-limit", "0")
        c.close()


def test_wait_like_redis(redis_reference, server):
    def reply(port, *args):
        with redis.Redis(host="127.0.0.1", port=port, protocol=2, socket_timeout=5) as c:
            try:
                return c.execute_command(*args)
            except redis.ResponseError as e:
                return ("error", str(e))
    for args in [("WAIT", "0", "0"), ("WAIT", "a", "0"), ("WAIT", "1", "a"), ("WAIT", "1", "-1"), ("WAIT", "-1", "10"),
                 ("WAIT", "1")]:
        assert reply(server.port, *args) == reply(redis_reference.port, *args), args
    for port in (server.port, redis_reference.port):
        reply(port, "CONFIG", "SET", "slowlog-log-slower-than", "100000")
        reply(port, "SLOWLOG", "RESET")
        started = time.monotonic()
        assert reply(port, "WAIT", "1", "300") == 0
        assert 0.25 <= time.monotonic() - started < 3, port
        # The wait is not execution time: neither server logs it as slow.
        assert reply(port, "SLOWLOG", "LEN") == 0, port
        reply(port, "CONFIG", "SET", "slowlog-log-slower-than", "10000")
