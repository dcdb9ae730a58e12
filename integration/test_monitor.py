"""MONITOR against Debian's redis-server: the same lines for the same commands (quoting and escaping of binary
arguments, AUTH redacted, admin commands and refused commands left out, EXEC's commands before EXEC), the monitor's own
commands, CLIENT LIST's O flag; and redis-py's ``monitor()`` reads our lines."""

from __future__ import annotations

import re
import socket
import time

import redis

from conftest import resp_command

SCRIPT = [
    ("SET", "k", b'a"b\\\n\r\t\x07\x08 z'),
    ("GET", b"\x00\xffz"),
    ("HSET", "h", "f", "v"),
    ("AUTH", "user", "secret"),
    ("CONFIG", "GET", "port"),
    ("MULTI",), ("INCR", "n"), ("EXEC",),
    ("NOSUCHCOMMAND", "x"),
    ("GET",),
    ("DEL", "k", "h"),
    ("PING",),
]


def read_available(sock: socket.socket, settle: float = 0.3) -> bytes:
    time.sleep(settle)
    sock.setblocking(False)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return data


def monitor_lines(port: int) -> tuple[list[str], bytes, bytes, str]:
    monitor = socket.create_connection(("127.0.0.1", port), timeout=5)
    monitor.sendall(resp_command("MONITOR"))
    assert read_available(monitor, 0.1) == b"+OK\r\n"
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    for args in SCRIPT:
        client.sendall(resp_command(*args))
        read_available(client, 0.02)
    client.sendall(b"PING inline\r\n")
    read_available(client, 0.02)
    fed = read_available(monitor).decode("latin-1")
    # The monitor's own commands: a keyed one is refused, PING runs and is fed back to it.
    monitor.sendall(resp_command("GET", "k"))
    refused = read_available(monitor, 0.1)
    monitor.sendall(resp_command("PING"))
    own = read_available(monitor, 0.1)
    client.sendall(resp_command("CLIENT", "LIST"))
    listing = read_available(client, 0.1).decode()
    monitor.close()
    client.close()
    # Timestamps and client ports differ between the two servers.
    lines = [re.sub(r"^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] ", "+T [0 A] ", l) for l in fed.split("\r\n") if l]
    own = re.sub(rb"\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] ", b"+T [0 A] ", own)
    return lines, refused, own, listing


def test_same_lines_as_redis(redis_reference, server):
    ours, theirs = monitor_lines(server.port), monitor_lines(redis_reference.port)
    assert ours[0] == theirs[0]
    assert ours[0][0] == r'+T [0 A] "SET" "k" "a\"b\\\n\r\t\a\b z"'
    assert '+T [0 A] "AUTH" "(redacted)" "(redacted)"' in ours[0]
    assert not any("CONFIG" in l or "NOSUCHCOMMAND" in l for l in ours[0])
    assert ours[1:3] == theirs[1:3] == (b"-ERR Replica can't interact with the keyspace\r\n", b'+PONG\r\n+T [0 A] "PING"\r\n')
    assert re.search(r"flags=O ", ours[3]) and re.search(r"flags=O ", theirs[3])


def test_redis_py_monitor_reads_our_lines(server):
    c = server.client(protocol=2)
    with c.monitor() as m:
        other = server.client(protocol=3)
        other.set("key", "value")
        command = m.next_command()
        while command["command"] != "SET key value":  # the connection's HELLO / CLIENT SETINFO come first
            assert command["command"].split()[0] in ("HELLO", "CLIENT"), command
            command = m.next_command()
        assert command["db"] == 0 and command["client_type"] == "tcp"
        assert abs(command["time"] - time.time()) < 5
        other.close()
    c.close()


def test_role_and_command_list_like_redis(redis_reference, server):
    """ROLE (a master, no replicas) and COMMAND LIST's subcommands and filters, against redis-server 7.0."""
    def names(port, **filters):
        with redis.Redis(host="127.0.0.1", port=port, protocol=2) as c:
            return set(c.command_list(**filters))
    def raw(port, *args):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(resp_command(*args))
            return read_available(sock, 0.1)
    assert raw(server.port, "ROLE") == raw(redis_reference.port, "ROLE") == b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
    assert raw(server.port, "ROLE", "x") == raw(redis_reference.port, "ROLE", "x")
    ours, theirs = names(server.port, pattern="config*"), names(redis_reference.port, pattern="config*")
    assert b"config|get" in ours and ours <= theirs
    assert {b"slowlog|get", b"slowlog|len", b"slowlog|reset", b"slowlog|help"} <= names(server.port)
    assert b"FT.SEARCH" in names(server.port, module="search")
