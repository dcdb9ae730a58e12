"""SLOWLOG against Debian's redis-server: the same commands logged the same way (arguments trimmed at 32 and at 128
bytes, AUTH redacted, EXEC not logged), the same errors and help; redis-py's ``slowlog_get`` parses our entries in
RESP2 and RESP3; an FT.SEARCH that waited on a worker thread is logged with its whole time."""

from __future__ import annotations

import struct

import pytest
import redis



# AUTH last: redis-py drops a connection whose AUTH fails.
SCRIPT = [
    ("SET", "k", "A" * 129),
    ("DEL", *[f"key{i}" for i in range(1, 33)]),
    ("CLIENT", "SETNAME", "slow-client"),
    ("MULTI",),
    ("INCR", "n"),
    ("EXEC",),
    ("GET", "k"),
    ("AUTH", "nobody", "wrong"),
]


def logged(port: int, protocol: int) -> list[tuple]:
    """Runs SCRIPT with every command logged and returns the log as (arguments, client name), oldest first."""
    with redis.Redis(host="127.0.0.1", port=port, protocol=protocol) as admin:
        admin.config_set("slowlog-log-slower-than", 0)
        admin.config_set("slowlog-max-len", 128)
    c = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, single_connection_client=True)
    try:
        c.slowlog_reset()
        address = c.client_info()["addr"]
        for args in SCRIPT:
            try:
                c.execute_command(*args)
            except redis.RedisError:
                pass  # AUTH fails on both
    finally:
        c.close()
    with redis.Redis(host="127.0.0.1", port=port, protocol=protocol) as admin:
        entries = admin.slowlog_get(-1)
        admin.config_set("slowlog-log-slower-than", 10000)
    for e in entries:
        assert isinstance(e["id"], int) and isinstance(e["start_time"], int) and e["duration"] >= 0
    entries = [e for e in entries if e["client_address"] == address.encode()]
    return [(e["command"], e["client_name"]) for e in reversed(entries)]


@pytest.mark.parametrize("protocol", [2, 3])
def test_same_entries_as_redis(redis_reference, server, protocol):
    ours, theirs = logged(server.port, protocol), logged(redis_reference.port, protocol)
    assert ours == theirs
    commands = [c for c, _ in ours]
    assert commands[:2] == [b"SLOWLOG RESET", b"CLIENT INFO"]
    assert commands[2] == b"SET k " + b"A" * 128 + b"... (1 more bytes)"
    assert commands[3].endswith(b"key30 ... (2 more arguments)")
    assert commands[-1] == b"AUTH (redacted) (redacted)"
    assert b"EXEC" not in commands and b"INCR n" in commands
    assert ours[-1][1] == b"slow-client"


@pytest.mark.parametrize("args", [
    ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "abc"), ("SLOWLOG", "GET", "1", "2"), ("SLOWLOG", "foo"),
    ("SLOWLOG", "LEN", "x"), ("SLOWLOG",), ("SLOWLOG", "HELP"), ("SLOWLOG", "GET", "0"),
    ("CONFIG", "SET", "slowlog-max-len", "-1"), ("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
    ("CONFIG", "GET", "slowlog-max-len"),
])
def test_same_errors_and_help_as_redis(redis_reference, server, args):
    def reply(port):
        with redis.Redis(host="127.0.0.1", port=port, protocol=2) as c:
            try:
                return c.execute_command(*args)
            except redis.ResponseError as e:
                return ("error", str(e))
    assert reply(server.port) == reply(redis_reference.port)


def test_offloaded_search_is_logged_with_its_time(server):
    c = server.client(protocol=3)
    try:
        c.execute_command("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA",
                          "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "64", "DISTANCE_METRIC", "L2")
        for i in range(200):
            c.hset(f"doc:{i}", mapping={"v": struct.pack("64f", *[float((i * 7 + j) % 13) for j in range(64)])})
        c.config_set("slowlog-log-slower-than", 0)
        c.slowlog_reset()
        blob = struct.pack("64f", *[1.0] * 64)
        c.execute_command("FT.SEARCH", "idx", "*=>[KNN 5 @v $B]", "PARAMS", "2", "B", blob, "DIALECT", "2")
        entries = c.slowlog_get(10)
        search = [e for e in entries if e["command"].startswith(b"FT.SEARCH")]
        assert len(search) == 1, entries
        args = search[0]["command"]
        # The 256-byte blob is logged as its first 128 bytes and a note.
        assert args.endswith(b"... (128 more bytes) DIALECT 2")
        assert search[0]["duration"] > 0
    finally:
        c.config_set("slowlog-log-slower-than", 10000)
        c.close()
