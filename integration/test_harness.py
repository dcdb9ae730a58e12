"""Checks of the test harness itself (conftest.py): the fixtures start, reach and isolate servers."""

from conftest import redis_cli, resp_command, raw_command


def test_shared_server_is_flushed_between_tests_1(client):
    assert client.dbsize() == 0
    client.set("harness:leftover", "1")


def test_shared_server_is_flushed_between_tests_2(client):
    assert client.dbsize() == 0


def test_clients_speak_resp3_and_resp2(server, client, client2):
    assert client.ping() is True and client2.ping() is True
    client.hset("harness:h", mapping={"f": "v"})
    assert client2.hget("harness:h", "f") == b"v"
    assert client.connection_pool.connection_kwargs["protocol"] == 3
    assert client2.connection_pool.connection_kwargs["protocol"] == 2


def test_redis_cli_helper(server):
    assert redis_cli(server.port, "PING").stdout.strip() == "PONG"
    assert server.cli("SET", "harness:k", "v").stdout.strip() == "OK"
    assert server.cli("GET", "harness:k").stdout.strip() == "v"


def test_redis_cli_pipe(server):
    payload = b"".join(resp_command("SET", f"harness:p{i}", i) for i in range(100))
    out = server.cli("--pipe", stdin=payload)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "errors: 0, replies: 100" in out.stdout
    assert server.cli("DBSIZE").stdout.strip() == "100"


def test_raw_command(server):
    assert raw_command(server.port, resp_command("PING") + resp_command("QUIT")) == b"+PONG\r\n+OK\r\n"


def test_fresh_server_has_own_dir(fresh_server, server):
    assert fresh_server.port != server.port
    host, port, proc, log_path = fresh_server
    assert proc.poll() is None and log_path.parent == fresh_server.dir


def test_start_server_with_requirepass(start_server):
    srv = start_server("--requirepass", "s3cret")
    assert "NOAUTH" in srv.cli("PING").stdout
    assert srv.cli("-a", "s3cret", "--no-auth-warning", "PING").stdout.strip() == "PONG"


def test_redis_benchmark_helper(server):
    from conftest import redis_benchmark
    res = redis_benchmark(server.port, "-t", "set,get", "-n", "2000", "-c", "4", "-P", "8", "--csv")
    assert res.returncode == 0, res.stderr
    assert '"SET"' in res.stdout and '"GET"' in res.stdout
