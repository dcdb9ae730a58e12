"""The node over real sockets: redis-cli, redis-py (RESP3 and RESP2), pipelines, binary values, limits, bad clients."""
import os
import socket
import subprocess
import threading
import time

import pytest
import redis

from conftest import HOST, raw_command, redis_benchmark, resp_command, start_server_process


def test_redis_cli_basic_families(server):
    assert server.cli("SET", "k", "v").stdout.strip() == "OK"
    assert server.cli("HSET", "h", "f1", "v1", "f2", "v2").stdout.strip() == "2"
    assert server.cli("HGETALL", "h").stdout.split() == ["f1", "v1", "f2", "v2"]
    assert server.cli("INCRBY", "n", "5").stdout.strip() == "5"
    assert server.cli("EXPIRE", "k", "100").stdout.strip() == "1"
    ttl = int(server.cli("TTL", "k").stdout.strip())
    assert 95 <= ttl <= 100
    assert server.cli("TYPE", "h").stdout.strip() == "hash"
    assert server.cli("GET", "h").stdout.strip() == "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert server.cli("DBSIZE").stdout.strip() == "3"


def test_resp3_and_resp2_reply_types(server, client, client2):
    client.hset("h", mapping={"a": "1", "b": "2"})
    assert client.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert client2.hgetall("h") == {b"a": b"1", b"b": b"2"}
    hello = client.execute_command("HELLO", "3")
    assert hello[b"proto"] == 3 and hello[b"version"] == b"7.4.1"
    # RESP3 null vs RESP2 null bulk: both surface as None.
    assert client.get("missing") is None and client2.get("missing") is None
    assert client.execute_command("HINCRBYFLOAT", "h", "a", "0.5") in (b"1.5", 1.5)


def test_binary_safe_values_and_keys(client2):
    blob = bytes(range(256)) * 8 + b"\r\n\x00\r\n"
    key = b"bin\x00key\r\n"
    client2.set(key, blob)
    assert client2.get(key) == blob
    client2.hset("hb", blob[:300], blob)
    assert client2.hget("hb", blob[:300]) == blob


def test_pipeline_of_ten_thousand_commands(client2):
    pipe = client2.pipeline(transaction=False)
    for i in range(10_000):
        pipe.hset(f"p:{i}", "f", i)
    assert pipe.execute() == [1] * 10_000
    assert client2.dbsize() == 10_000
    pipe = client2.pipeline(transaction=False)
    for i in range(10_000):
        pipe.hget(f"p:{i}", "f")
    assert pipe.execute() == [str(i).encode() for i in range(10_000)]


def test_redis_py_transaction_pipeline(client):
    with client.pipeline() as p:  # MULTI/EXEC
        p.set("t", 1).incr("t").get("t")
        assert p.execute() == [True, 2, b"2"]


def test_redis_cli_pipe_mass_insertion(server):
    n = 100_000
    payload = b"".join(resp_command("HSET", f"mass:{i}", "f", f"value-{i}") for i in range(n))
    out = server.cli("--pipe", stdin=payload, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"errors: 0, replies: {n}" in out.stdout
    assert server.cli("DBSIZE").stdout.strip() == str(n)
    assert server.cli("HGET", f"mass:{n - 1}", "f").stdout.strip() == f"value-{n - 1}"


def test_one_read_many_commands_one_write(server):
    payload = b"".join(resp_command("PING") for _ in range(500)) + resp_command("QUIT")
    assert raw_command(server.port, payload) == b"+PONG\r\n" * 500 + b"+OK\r\n"


def test_inline_commands(server):
    assert raw_command(server.port, b"SET inline \"a b\"\r\nGET inline\r\nQUIT\r\n") == b"+OK\r\n$3\r\na b\r\n+OK\r\n"


def test_protocol_errors_close_the_connection(server, client2):
    assert raw_command(server.port, b"*1\r\n$x\r\n") == b"-ERR Protocol error: invalid bulk length\r\n"
    assert raw_command(server.port, b"*2\r\n:1\r\n") == b"-ERR Protocol error: expected '$', got ':'\r\n"
    assert raw_command(server.port, b"*abc\r\n") == b"-ERR Protocol error: invalid multibulk length\r\n"
    assert client2.ping() is True


def test_bulk_over_512mb_is_rejected_and_the_server_survives(server, client2):
    header = b"*2\r\n$3\r\nSET\r\n$%d\r\n" % (512 * 1024 * 1024 + 1)
    assert raw_command(server.port, header) == b"-ERR Protocol error: invalid bulk length\r\n"
    assert client2.ping() is True


def test_clients_that_disconnect_mid_command(server, client2):
    for cut in (3, 10, 25):
        payload = resp_command("HSET", "half", "f", "x" * 1000)
        with socket.create_connection((HOST, server.port)) as s:
            s.sendall(payload[:cut])
    # A large value cut in the middle, and a client that never reads its replies.
    with socket.create_connection((HOST, server.port)) as s:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nbig!\r\n$10000000\r\n" + b"x" * 1_000_000)
    s = socket.create_connection((HOST, server.port))
    s.sendall(resp_command("HSET", "big", "f", "y" * 100_000) + resp_command("HGET", "big", "f") * 200)
    s.close()
    time.sleep(0.2)
    assert client2.exists("half") == 0
    assert client2.ping() is True
    assert client2.hlen("big") == 1


def test_maxclients_refuses_extra_connections(tmp_path):
    srv = start_server_process(tmp_path / "mc", "--maxclients", "2")
    try:
        a, b = srv.client(protocol=2), srv.client(protocol=2)
        assert a.ping() and b.ping()
        reply = raw_command(srv.port, resp_command("PING"))
        assert reply == b"-ERR max number of clients reached\r\n"
    finally:
        srv.stop()


def test_idle_timeout_closes_clients(tmp_path):
    srv = start_server_process(tmp_path / "to", "--timeout", "1")
    try:
        s = socket.create_connection((HOST, srv.port))
        time.sleep(2.5)
        s.settimeout(2)
        assert s.recv(10) == b""  # closed by the server
    finally:
        srv.stop()


def test_requirepass_and_auth(tmp_path):
    srv = start_server_process(tmp_path / "auth", "--requirepass", "s3cret")
    try:
        assert srv.cli("GET", "k").stdout.strip().startswith("NOAUTH")
        assert srv.cli("-a", "s3cret", "--no-auth-warning", "SET", "k", "v").stdout.strip() == "OK"
        r = redis.Redis(host=HOST, port=srv.port, password="s3cret", protocol=3)
        assert r.get("k") == b"v"
    finally:
        srv.stop()


def test_config_file_and_unknown_directive(tmp_path):
    conf = tmp_path / "node.conf"
    conf.write_text("# comment\nloglevel warning\nhash-max-listpack-entries 4\n")
    srv = start_server_process(tmp_path / "cf", "--config", str(conf))
    try:
        r = srv.client(protocol=2)
        assert r.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "4"}
        r.hset("h", mapping={str(i): i for i in range(5)})
        assert r.object("encoding", "h") == b"hashtable"
    finally:
        srv.stop()
    bad = subprocess.run([os.environ.get("VECSHARD_BIN", srv.proc.args[0]), "--no-such-directive", "1"],
                         capture_output=True, text=True, timeout=10)
    assert bad.returncode != 0
    assert "no-such-directive" in bad.stderr


def test_info_sections_clients_gate_on(client2):
    info = client2.info()
    assert info["redis_version"] == "7.4.1"
    assert "vecshard_version" in info
    modules = client2.info("modules")
    assert any(m["name"] == "search" for m in modules.get("modules", [])) or "module" in str(modules)
    assert client2.info("keyspace") == {}
    client2.set("x", 1)
    assert client2.info("keyspace")["db0"]["keys"] == 1


def test_command_table_feeds_cluster_clients(client2):
    cmds = client2.command()
    assert cmds["hset"]["first_key_pos"] == 1 and cmds["hset"]["arity"] == -4
    assert cmds["mset"]["step_count"] == 2
    assert [k if isinstance(k, str) else k.decode() for k in client2.command_getkeys("MSET", "a", "1", "b", "2")] == ["a", "b"]


def test_active_expiry_removes_keys_nobody_reads(client2):
    for i in range(200):
        client2.set(f"e:{i}", 1, px=50)
    time.sleep(1.5)
    assert client2.dbsize() == 0  # the background cycle removed them without any access


def test_redis_benchmark_runs_clean(server):
    out = redis_benchmark(server.port, "-t", "ping,set,get,hset,incr", "-n", "20000", "-c", "20", "-P", "16", "-q")
    assert out.returncode == 0, out.stderr
    for name in ("PING_INLINE", "SET", "GET", "HSET", "INCR"):
        assert name in out.stdout
    assert "ERR" not in out.stdout


def test_concurrent_clients(server):
    errors = []

    def worker(n):
        try:
            r = redis.Redis(host=HOST, port=server.port, protocol=2 if n % 2 else 3)
            for i in range(500):
                r.hset(f"c:{n}", i, i)
            assert r.hlen(f"c:{n}") == 500
        except Exception as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
