"""Shared fixtures for VecShard's integration tests.

Every test talks to a real ``vecshard-server`` process started on a free port of 127.0.0.1 in a temporary
directory. The binary is ``$VECSHARD_BIN`` (default ``<repo>/.build/release/vecshard-server``, built by
``make test``). Pointing ``VECSHARD_BIN`` at Debian's ``/usr/bin/redis-server`` runs the same tests against
Redis, which is how a test's expectation is checked against the reference.

Fixtures
    server        module-shared server, FLUSHALL'd before each test (the cheap default)
    fresh_server  a new server process for this test only
    start_server  factory: ``start_server("--requirepass", "s")`` -> Server (stopped after the test)
    client        redis-py client to ``server`` speaking RESP3 (``protocol=3``)
    client2       redis-py client to ``server`` speaking RESP2 (``protocol=2``)

Helpers
    redis_cli(port, *args, stdin=None)   run the real ``redis-cli`` binary, returns a CompletedProcess (text)
    redis_benchmark(port, *args)         run the real ``redis-benchmark`` (hiredis) binary
    resp_command(*args)                  encode one command as RESP bytes (for --pipe and raw sockets)
    raw_command(port, payload)           send raw bytes on a socket, return what came back before close/timeout
    free_port()                          an unused TCP port on 127.0.0.1
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import pytest
import redis

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT = float(os.environ.get("VECSHARD_STARTUP_TIMEOUT", "10"))


def vecshard_bin() -> str:
    return os.environ.get("VECSHARD_BIN") or str(REPO / ".build" / "release" / "vecshard-server")


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it). Startup retries on a lost race."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _ping(port: int, timeout: float = 0.5) -> bool:
    """True when something on the port answers a RESP PING with any reply (+PONG, or -NOAUTH with requirepass)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = s.recv(64)
            return data[:1] in (b"+", b"-")
    except OSError:
        return False


class Server(NamedTuple):
    """A running server: unpacks as ``host, port, proc, log_path``."""

    host: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def dir(self) -> Path:
        return self.log_path.parent

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def client(self, protocol: int = 3, **kwargs) -> redis.Redis:
        kwargs.setdefault("socket_timeout", 30)
        return redis.Redis(host=self.host, port=self.port, protocol=protocol, **kwargs)

    def cli(self, *args, stdin=None, **kwargs) -> subprocess.CompletedProcess:
        return redis_cli(self.port, *args, stdin=stdin, host=self.host, **kwargs)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` s. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def start_server_process(workdir: Path, *extra_args: str, binary: str | None = None,
                         timeout: float = STARTUP_TIMEOUT, ping: bool = True) -> Server:
    """Start a server on a free port of 127.0.0.1 with ``--dir workdir`` and wait until it answers PING.

    ``extra_args`` go after the defaults, so they can override them (later flags win, as with redis-server).
    Fails the test with the server's log when it exits early or does not answer within ``timeout`` s.
    """
    binary = binary or vecshard_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"server binary {binary} not found or not executable (run `make build`, or set VECSHARD_BIN)")
    workdir.mkdir(parents=True, exist_ok=True)
    last_log = ""
    for attempt in range(3):  # a free port can be taken between free_port() and bind(): retry with another
        port = free_port()
        log_path = workdir / f"server-{port}.log"
        cmd = [binary, "--port", str(port), "--bind", HOST, "--dir", str(workdir), *extra_args]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=workdir)
        srv = Server(HOST, port, proc, log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if not ping or _ping(port):
                return srv
            time.sleep(0.05)
        srv.stop()
        last_log = srv.log()
        if "in use" not in last_log.lower():
            break
    pytest.fail(
        f"{' '.join(cmd)}\n  did not answer PING within {timeout:.0f} s (exit code {proc.returncode}); log:\n"
        + _tail(last_log),
        pytrace=False,
    )


def redis_cli(port: int, *args, stdin: bytes | str | None = None, host: str = HOST, timeout: float = 60,
              check: bool = False) -> subprocess.CompletedProcess:
    """Run Debian's ``redis-cli -h host -p port args...``; stdout/stderr decoded as text (UTF-8, replace).

    ``stdin`` (bytes or str) is fed to the process, e.g. RESP for ``--pipe``.
    """
    exe = shutil.which("redis-cli")
    if exe is None:
        pytest.fail("redis-cli not found (apt-get install redis-tools; `make test` does it)")
    if isinstance(stdin, str):
        stdin = stdin.encode()
    res = subprocess.run([exe, "-h", host, "-p", str(port), *map(str, args)], input=stdin,
                         capture_output=True, timeout=timeout)
    out = subprocess.CompletedProcess(res.args, res.returncode, res.stdout.decode("utf-8", "replace"),
                                      res.stderr.decode("utf-8", "replace"))
    if check and out.returncode != 0:
        raise AssertionError(f"redis-cli {' '.join(map(str, args))} exited {out.returncode}: {out.stderr}")
    return out


def redis_benchmark(port: int, *args, host: str = HOST, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run Debian's hiredis-based ``redis-benchmark -h host -p port args...`` (text output)."""
    exe = shutil.which("redis-benchmark")
    if exe is None:
        pytest.fail("redis-benchmark not found (apt-get install redis-tools; `make test` does it)")
    return subprocess.run([exe, "-h", host, "-p", str(port), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def raw_command(port: int, payload: bytes, host: str = HOST, timeout: float = 2.0) -> bytes:
    """Send ``payload`` on a new connection and return every byte received until the server closes it or
    nothing arrives for ``timeout`` s."""
    chunks = []
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(payload)
        while True:
            try:
                data = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def resp_command(*args) -> bytes:
    """Encode one command as a RESP multibulk (str args UTF-8, bytes as they are)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def _check_alive(srv: Server, what: str) -> None:
    if not srv.alive():
        pytest.fail(f"{what} (port {srv.port}) died with exit code {srv.proc.returncode}; log:\n"
                    + _tail(srv.log()), pytrace=False)


@pytest.fixture(scope="module")
def module_server(tmp_path_factory) -> Server:
    """One server shared by the tests of a module (use ``server`` to get it flushed)."""
    srv = start_server_process(tmp_path_factory.mktemp("vecshard-module"))
    yield srv
    alive = srv.alive()
    srv.stop()
    if not alive:
        pytest.fail(f"module server died with exit code {srv.proc.returncode}; log:\n" + _tail(srv.log()),
                    pytrace=False)


@pytest.fixture
def server(module_server) -> Server:
    """The module's shared server, emptied with FLUSHALL before the test; fails the test if it crashed."""
    _check_alive(module_server, "module server")
    with module_server.client(protocol=2) as c:
        c.flushall()
    yield module_server
    _check_alive(module_server, "module server")


@pytest.fixture
def fresh_server(tmp_path) -> Server:
    """A new server process for this test only (its own --dir)."""
    srv = start_server_process(tmp_path / "fresh")
    yield srv
    alive = srv.alive()
    srv.stop()
    if not alive:
        pytest.fail(f"server died with exit code {srv.proc.returncode}; log:\n" + _tail(srv.log()),
                    pytrace=False)


@pytest.fixture
def start_server(tmp_path):
    """Factory: ``start_server(*extra_args, ping=True)`` starts a new server with extra flags (e.g.
    ``"--requirepass", "secret"`` or ``"--config", path``); every server it started is stopped after the test."""
    started: list[Server] = []

    def _start(*extra_args: str, **kwargs) -> Server:
        srv = start_server_process(tmp_path / f"srv{len(started)}", *map(str, extra_args), **kwargs)
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        srv.stop()


@pytest.fixture
def client(server) -> redis.Redis:
    """redis-py (8.x) client speaking RESP3 to the shared, flushed server."""
    c = server.client(protocol=3)
    yield c
    c.close()


@pytest.fixture
def client2(server) -> redis.Redis:
    """redis-py client speaking RESP2 to the shared, flushed server."""
    c = server.client(protocol=2)
    yield c
    c.close()


@pytest.fixture(scope="module")
def redis_reference(tmp_path_factory) -> Server:
    """Debian's redis-server on a free port (no persistence), for differential tests; skipped where it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    srv = start_server_process(tmp_path_factory.mktemp("redis-reference"), "--save", "", "--appendonly", "no",
                               binary=binary)
    yield srv
    srv.stop()
