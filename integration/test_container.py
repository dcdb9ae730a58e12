"""The container image: build it with podman from a host-built static binary and check that a container answers.

The official swift:* builder images are not reachable here, so the image's `prebuilt` stage takes a binary built on
the host with `swift build -c release --static-swift-stdlib` (into .build-static, keeping .build intact).
Podman is set up by ../shared/containers/setup-podman.sh (idempotent); the test is skipped, with the reason, only
when podman cannot be made to run.

Environment: VECSHARD_STATIC_BIN=path uses that static binary instead of building one;
VECSHARD_SETUP_PODMAN=path overrides the setup script's location.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, free_port, redis_cli

IMAGE = "localhost/vecshard-test"
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
STATIC_SCRATCH = ".build-static"

pytestmark = [pytest.mark.container, pytest.mark.slow]


def _run(cmd, timeout, log: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if log is not None:
        log.write_text(f"$ {' '.join(map(str, cmd))}\n{res.stdout}\n{res.stderr}")
    return res


def _tail(res: subprocess.CompletedProcess, n: int = 40) -> str:
    return "\n".join((res.stdout + "\n" + res.stderr).strip().splitlines()[-n:])


def _podman_ready() -> None:
    """Make podman usable (setup-podman.sh), or skip with the reason."""
    script = Path(os.environ.get("VECSHARD_SETUP_PODMAN") or REPO.parent / "shared" / "containers" / "setup-podman.sh")
    reason = ""
    if script.is_file() and os.geteuid() == 0:
        res = _run(["bash", str(script)], timeout=900)
        if res.returncode != 0:
            reason = f"{script} failed (exit {res.returncode}): {_tail(res, 10)}"
    elif not script.is_file():
        reason = f"{script} not found"
    else:
        reason = f"{script} needs root"
    if shutil.which("podman") is None:
        pytest.skip(f"podman cannot run here: not installed, and {reason}")
    if _run(["podman", "image", "exists", BASE_IMAGE], timeout=60).returncode != 0:
        pytest.skip(f"podman has no local {BASE_IMAGE} base image (no registry is reachable) and {reason}")


def _static_binary(tmp_path: Path) -> Path:
    """A vecshard-server with the Swift runtime linked in, built into .build-static unless VECSHARD_STATIC_BIN."""
    if os.environ.get("VECSHARD_STATIC_BIN"):
        return Path(os.environ["VECSHARD_STATIC_BIN"]).resolve()
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    cmd = [swift, "build", "-c", "release", "--static-swift-stdlib", "--scratch-path", STATIC_SCRATCH,
           "--product", "vecshard-server"]
    res = _run(cmd, timeout=1500, log=tmp_path / "static-build.log", cwd=REPO)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{_tail(res)}"
    return REPO / STATIC_SCRATCH / "release" / "vecshard-server"


@pytest.mark.timeout(2400)
def test_image_builds_and_container_answers(tmp_path):
    _podman_ready()
    binary = _static_binary(tmp_path)
    assert binary.is_file(), binary
    ldd = _run(["ldd", str(binary)], timeout=30).stdout
    assert "libswiftCore" not in ldd, f"{binary} is not linked with --static-swift-stdlib:\n{ldd}"
    try:
        rel = binary.relative_to(REPO)
    except ValueError:  # a binary outside the build context: stage a copy inside it
        stage = REPO / STATIC_SCRATCH / "release-image"
        stage.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, stage / "vecshard-server")
        rel = (stage / "vecshard-server").relative_to(REPO)

    build = ["podman", "build", "--pull=never", "--network", "host", "--format", "docker",
             "--build-arg", "BINARY_SOURCE=prebuilt", "--build-arg", f"PREBUILT_BINARY={rel}", "-t", IMAGE, "."]
    res = _run(build, timeout=900, log=tmp_path / "podman-build.log", cwd=REPO)
    assert res.returncode == 0, f"{' '.join(build)} failed:\n{_tail(res)}"

    port = free_port()
    name = f"vecshard-test-{port}"
    password = "container-secret"
    # --port as a flag after the image; the password through the VECSHARD_* environment passthrough;
    # VECSHARD_PORT tells the HEALTHCHECK where to ping.
    run = ["podman", "run", "-d", "--rm", "--network", "host", "--name", name,
           "-e", f"VECSHARD_PORT={port}", "-e", f"VECSHARD_REQUIREPASS={password}", IMAGE, "--port", str(port)]
    res = _run(run, timeout=120)
    assert res.returncode == 0, f"{' '.join(run)} failed:\n{_tail(res)}"
    try:
        auth = ["-a", password, "--no-auth-warning"]
        deadline = time.monotonic() + 20
        pong = ""
        while time.monotonic() < deadline:
            pong = redis_cli(port, *auth, "PING", timeout=5).stdout.strip()
            if pong == "PONG":
                break
            time.sleep(0.2)
        logs = _run(["podman", "logs", name], timeout=30)
        assert pong == "PONG", f"container did not answer PING on port {port}; logs:\n{_tail(logs)}"

        assert "NOAUTH" in redis_cli(port, "PING").stdout  # VECSHARD_REQUIREPASS reached the server
        assert redis_cli(port, *auth, "HSET", "container:h", "f1", "v1", "f2", "v2").stdout.strip() == "2"
        assert redis_cli(port, *auth, "HGET", "container:h", "f2").stdout.strip() == "v2"
        assert redis_cli(port, *auth, "HGET", "container:h", "f1").stdout.strip() == "v1"

        uid = _run(["podman", "exec", name, "id", "-u"], timeout=30).stdout.strip()
        assert uid not in ("", "0"), f"server runs as uid {uid!r}, expected a non-root user"
        health = _run(["podman", "healthcheck", "run", name], timeout=60)
        assert health.returncode == 0, f"HEALTHCHECK failed: {_tail(health)}"
    finally:
        _run(["podman", "stop", "-t", "5", name], timeout=60)
        _run(["podman", "rm", "-f", "--ignore", name], timeout=60)
