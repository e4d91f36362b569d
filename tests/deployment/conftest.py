"""Real processes for deployment tests: the example site under gunicorn, against one
redis-server (the ``redis_url`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from flask_capture_link.emulator import EmulatorServer

from ..processes import free_port, stop, wait_for_port


@dataclass
class GunicornSite:
    """The example site served by gunicorn worker processes."""

    url: str
    access_log: Path
    error_log: Path
    workers: int
    pid: int

    def pids_by_path(self) -> dict[str, set[str]]:
        """Which worker pids served each path (from gunicorn's access log)."""
        served: dict[str, set[str]] = {}
        for line in self.access_log.read_text().splitlines():
            path, _, pid = line.rpartition(" ")
            path = path.split(" ")[1]
            served.setdefault(path, set()).add(pid)
        return served

    def errors(self) -> str:
        """What the workers wrote to stderr (the extension's warnings land there)."""
        return self.error_log.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """The pids of the master's worker processes (from /proc)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:
                found.append(int(stat.parent.name))
        return found


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within 10 s."""
    try:
        return requests.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def serve_example(
    folder: Path, emulator_server: EmulatorServer, workers: int, **settings: str
) -> Iterator[GunicornSite]:
    """``example_app`` under gunicorn (sync workers) with the emulator's settings and
    ``settings`` in its environment."""
    port = free_port()
    log, errors = folder / "access.log", folder / "error.log"
    env = {
        **os.environ,
        **{k: v for k, v in emulator_server.settings().items() if k.startswith("CAPTURE")},
        "SECRET_KEY": "one secret for every worker",
        **settings,
    }
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
        deadline = time.monotonic() + 60  # workers boot slowly on a busy machine
        while not answers(url + "/login"):
            if time.monotonic() > deadline:
                raise TimeoutError("the site did not answer")
            time.sleep(0.1)
        yield GunicornSite(
            url=url, access_log=log, error_log=errors, workers=workers, pid=process.pid
        )
    finally:
        stop(process)
        error_file.close()


@pytest.fixture(scope="module")
def gunicorn_site(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """``example_app`` under gunicorn with 3 workers, sessions in Redis (Flask-Session), link
    states spent there too (nothing else set)."""
    folder = tmp_path_factory.mktemp("gunicorn")
    with serve_example(folder, capture_emulator_server, 3, EXAMPLE_REDIS_URL=redis_url) as site:
        yield site


@pytest.fixture(scope="module")
def second_machine(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """Another gunicorn master (another "machine") serving the same site with the same Redis."""
    folder = tmp_path_factory.mktemp("gunicorn-b")
    with serve_example(folder, capture_emulator_server, 2, EXAMPLE_REDIS_URL=redis_url) as site:
        yield site


@pytest.fixture(scope="module")
def cookie_site(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """``example_app`` under gunicorn with 3 workers, Flask's cookie sessions, and
    ``CAPTURE_LINK_REDIS_URL`` for link states and refreshes."""
    folder = tmp_path_factory.mktemp("gunicorn-cookie")
    with serve_example(
        folder, capture_emulator_server, 3, CAPTURE_LINK_REDIS_URL=redis_url
    ) as site:
        yield site
