"""Real processes for tests: free ports, waiting for a listener, stopping, a redis-server.

Like the browser tests, Redis tests skip only when ``redis-server`` is missing and ``CI`` is
unset; in CI (`.ci/run` installs Debian's redis-server) a missing program is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest


def free_port() -> int:
    """A loopback port that nothing listens on now: for a server to bind, or for a Capture that
    refuses connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {seconds} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def redis_server(folder: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (or ``port``: to start one again where
    another was), nothing saved to disk unless asked, with more command-line ``options`` if
    given: its URL."""
    program = shutil.which("redis-server")
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    port = port or free_port()
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@contextlib.contextmanager
def redis_sentinel(folder: Path, master_url: str) -> Iterator[tuple[str, int]]:
    """A throwaway Redis Sentinel on a free loopback port watching the redis-server at
    ``master_url`` as ``mymaster``: its host and port."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("redis-server is not installed")  # redis_server() failed first in CI
    port = free_port()
    master = urlsplit(master_url)
    config = folder / "sentinel.conf"  # Sentinel rewrites its config: a file of its own
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor mymaster {master.hostname} {master.port} 1\n"
    )
    process = subprocess.Popen(
        [program, str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield "127.0.0.1", port
    finally:
        stop(process)
