"""Concurrent schema and data churn while searches run on the worker threads: the node must keep answering.

The fuzz harness (Sources/vecshard-fuzz) runs one request at a time with no worker threads, so it cannot reach races
between a search in flight and a change to what it reads. Here several real clients do that at once for a few
seconds: KNN, text and aggregate queries (cursors too) against indexes that are dropped, recreated, altered,
flushed and re-limited under them. Any reply is acceptable, errors included; a dropped connection, a hang or a dead
node is not.
"""

from __future__ import annotations

import os
import random
import struct
import threading
import time

import redis

DIM = 8
SECONDS = float(os.environ.get("VS_CHAOS_SECONDS", "6"))  # longer by hand: VS_CHAOS_SECONDS=120
CREATE = ("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "d:", "SCHEMA", "t", "TEXT", "n", "NUMERIC", "SORTABLE",
          "g", "TAG", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "L2",
          "f", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", str(DIM), "DISTANCE_METRIC", "COSINE")
WORDS = ["alpha", "beta", "gamma", "delta", "run", "running", "hello", "world"]


def vector(rng: random.Random) -> bytes:
    return struct.pack(f"{DIM}f", *[rng.uniform(-1, 1) for _ in range(DIM)])


def queries(rng: random.Random) -> list[tuple]:
    blob = vector(rng)
    return [
        ("FT.SEARCH", "idx", "*=>[KNN 5 @v $B]", "PARAMS", "2", "B", blob, "DIALECT", "2"),
        ("FT.SEARCH", "idx", "@g:{a|b}=>[KNN 5 @f $B AS d]", "PARAMS", "2", "B", blob, "SORTBY", "d", "DIALECT", "2"),
        ("FT.SEARCH", "idx", "@v:[VECTOR_RANGE 1.5 $B]", "PARAMS", "2", "B", blob, "NOCONTENT", "DIALECT", "2"),
        ("FT.SEARCH", "idx", "hello | run*", "WITHSCORES", "SCORER", "BM25STD", "LIMIT", "0", "20"),
        ("FT.SEARCH", "idx", "@n:[10 60] -gamma", "SORTBY", "n", "DESC"),
        ("FT.AGGREGATE", "idx", "alpha|beta", "ADDSCORES", "SORTBY", "2", "@__score", "DESC", "MAX", "5"),
        ("FT.AGGREGATE", "idx", "*", "LOAD", "2", "@n", "@g", "GROUPBY", "1", "@g", "REDUCE", "SUM", "1", "@n", "AS", "s"),
        ("FT.INFO", "idx"),
        ("FT.TAGVALS", "idx", "g"),
    ]


def churn(port: int, seed: int, stop: threading.Event, failures: list) -> None:
    rng = random.Random(seed)
    r = redis.Redis(port=port, socket_timeout=20)
    try:
        while not stop.is_set():
            try:
                act(r, rng)
            except redis.ResponseError:
                pass  # an error reply is fine
            time.sleep(rng.random() * 0.01)
    except Exception as e:  # noqa: BLE001 - a lost connection or timeout is the failure we look for
        failures.append(f"churn: {type(e).__name__}: {e}")


def act(r: redis.Redis, rng: random.Random) -> None:
    """One change to the keyspace, the schema or the limits."""
    action = rng.random()
    if action < 0.45:
        pipe = r.pipeline(transaction=False)
        for _ in range(20):
            i = rng.randrange(400)
            pipe.hset(f"d:{i}", mapping={"t": " ".join(rng.choices(WORDS, k=4)), "n": rng.randrange(100),
                                         "g": rng.choice("abc"), "v": vector(rng), "f": vector(rng)})
        pipe.execute()
    elif action < 0.6:
        r.delete(*[f"d:{rng.randrange(400)}" for _ in range(10)])
    elif action < 0.7:
        r.execute_command("FT.DROPINDEX", "idx", *(["DD"] if rng.random() < 0.3 else []))
        r.execute_command(*CREATE)
    elif action < 0.78:
        r.execute_command("FT.ALTER", "idx", "SCHEMA", "ADD", f"x{rng.randrange(1000)}", "NUMERIC")
    elif action < 0.84:
        r.execute_command("FLUSHALL", rng.choice(["SYNC", "ASYNC"]))
        r.execute_command(*CREATE)
    elif action < 0.92:
        r.config_set("vector-memory-limit", rng.choice(["0", "200kb", "1mb"]))
    else:
        r.execute_command("FT.CONFIG", "SET", "TIMEOUT", str(rng.choice([0, 1, 500])))


def search(port: int, seed: int, stop: threading.Event, failures: list, counts: list) -> None:
    rng = random.Random(seed)
    r = redis.Redis(port=port, socket_timeout=20, protocol=rng.choice([2, 3]))
    n = 0
    try:
        while not stop.is_set():
            q = rng.choice(queries(rng))
            try:
                if rng.random() < 0.1:
                    reply = r.execute_command("FT.AGGREGATE", "idx", "*", "LOAD", "1", "@n", "WITHCURSOR", "COUNT", "3")
                    cursor = reply[1] if isinstance(reply, list) else 0
                    for _ in range(3):
                        if not cursor:
                            break
                        reply = r.execute_command("FT.CURSOR", "READ", "idx", cursor)
                        cursor = reply[1] if isinstance(reply, list) else 0
                else:
                    r.execute_command(*q)
            except redis.ResponseError:
                pass
            n += 1
    except Exception as e:  # noqa: BLE001
        failures.append(f"search: {type(e).__name__}: {e}")
    counts.append(n)


def test_searches_survive_schema_and_data_churn(fresh_server):
    port = fresh_server.port
    r = redis.Redis(port=port, protocol=2)
    r.execute_command(*CREATE)
    stop, failures, counts = threading.Event(), [], []
    seed = int(os.environ.get("VS_CHAOS_SEED", "1"))
    threads = [threading.Thread(target=churn, args=(port, seed + s, stop, failures)) for s in (1, 2)]
    threads += [threading.Thread(target=search, args=(port, seed + s, stop, failures, counts)) for s in (3, 4, 5, 6)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not failures, failures
    assert sum(counts) > 100, counts
    assert r.ping()
    # The node is still consistent enough to index and find a new document.
    r.config_set("vector-memory-limit", "0")
    r.execute_command("FT.DROPINDEX", "idx")
    r.execute_command(*CREATE)
    r.hset("d:new", mapping={"t": "unique", "n": 1, "g": "a", "v": struct.pack(f"{DIM}f", *[0.0] * DIM),
                             "f": struct.pack(f"{DIM}f", *[1.0] * DIM)})
    deadline = time.time() + 10
    while time.time() < deadline:
        res = r.execute_command("FT.SEARCH", "idx", "unique", "NOCONTENT")
        if res[0] == 1:
            break
        time.sleep(0.1)
    assert res[:2] == [1, b"d:new"]
