"""Real processes for deployment tests: a redis-server and the example site under gunicorn.

Like the browser tests, these skip only when the program is missing and ``CI`` is unset; in CI
(`.ci/run` installs Debian's redis-server) a missing program is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from flask_capture_link.emulator import EmulatorServer


def free_port() -> int:
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


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, nothing saved to disk."""
    program = shutil.which("redis-server")
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@dataclass
class GunicornSite:
    """The example site served by gunicorn worker processes."""

    url: str
    access_log: Path
    error_log: Path
    workers: int

    def pids_by_path(self) -> dict[str, set[str]]:
        """Which worker pids served each path (from gunicorn's access log)."""
        served: dict[str, set[str]] = {}
        for line in self.access_log.read_text().splitlines():
            path, _, pid = line.rpartition(" ")
            path = path.split(" ")[1]
            served.setdefault(path, set()).add(pid)
        return served


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within 5 s."""
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def gunicorn_site(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """``example_app`` under gunicorn with 3 workers, sessions in Redis."""
    port = free_port()
    folder = tmp_path_factory.mktemp("gunicorn")
    log, errors = folder / "access.log", folder / "error.log"
    env = {
        **os.environ,
        **{k: v for k, v in capture_emulator_server.settings().items() if k.startswith("CAPTURE")},
        "SECRET_KEY": "one secret for every worker",
        "EXAMPLE_REDIS_URL": redis_url,
    }
    workers = 3
    error_file = errors.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--access-logfile", str(log),
         # The path only (never the query: a GET token URL would carry the token) and the pid.
         "--access-logformat", "%(m)s %(U)s %(s)s %(p)s", "example_app:create_app()"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=error_file,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not answers(url + "/login"):  # workers still booting on a busy machine
            if time.monotonic() > deadline:
                raise TimeoutError("the site did not answer")
            time.sleep(0.1)
        yield GunicornSite(url=url, access_log=log, error_log=errors, workers=workers)
    finally:
        stop(process)
        error_file.close()
