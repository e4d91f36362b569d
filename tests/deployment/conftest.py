"""Real processes for deployment tests: the example site under gunicorn, against one
redis-server (the ``redis_url`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

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

    def pids_by_path(self) -> dict[str, set[str]]:
        """Which worker pids served each path (from gunicorn's access log)."""
        served: dict[str, set[str]] = {}
        for line in self.access_log.read_text().splitlines():
            path, _, pid = line.rpartition(" ")
            path = path.split(" ")[1]
            served.setdefault(path, set()).add(pid)
        return served


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
        while requests.get(url + "/login", timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("the site did not answer")
            time.sleep(0.1)
        yield GunicornSite(url=url, access_log=log, error_log=errors, workers=workers)
    finally:
        stop(process)
        error_file.close()
