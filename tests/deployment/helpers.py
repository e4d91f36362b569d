"""What the deployment tests share: the example site served by gunicorn, and a browser's way
through it over real HTTP (sign in, take the button's token URL, deliver a token cross-site)."""

from __future__ import annotations

import contextlib
import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from flask_capture_link.emulator import EmulatorServer

from ..helpers import form_fields
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
    folder: Path,
    emulator_server: EmulatorServer,
    workers: int,
    app: str = "example_app:create_app()",
    **settings: str,
) -> Iterator[GunicornSite]:
    """``example_app`` (or another ``app``, gunicorn's ``module:call()``) under gunicorn (sync
    workers) with the emulator's settings and ``settings`` in its environment."""
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
         "--access-logformat", "%(m)s %(U)s %(s)s %(p)s", app],
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


def sign_in(site: GunicornSite, email: str, password: str) -> requests.Session:
    """A browser (its own cookies) signed in on the example site's form."""
    browser = requests.Session()
    page = browser.get(site.url + "/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    answer = browser.post(
        site.url + "/login",
        data={"csrf_token": csrf.group(1), "email": email, "password": password},
        timeout=10,
    )
    assert answer.url.endswith("/account"), answer.url
    return browser


def button_token_url(browser: requests.Session, site: GunicornSite) -> str:
    """The token URL in the Google link button of the browser's ``/account`` page."""
    page = browser.get(site.url + "/account", timeout=10).text
    href = re.search(r'class="capture-link-button capture-link-google" href="([^"]+)"', page)
    assert href is not None, site.error_log.read_text()[-2000:]
    return parse_qs(urlsplit(html.unescape(href.group(1))).query)["token_url"][0]


def deliver(browser: requests.Session, token_url: str, token: str) -> str:
    """Social Login's cross-site POST (no cookie: bounced), then the bounce page's POST."""
    bounce = requests.post(token_url, data={"token": token}, timeout=10, allow_redirects=False)
    assert bounce.status_code == 200, bounce.status_code
    fields = form_fields(bounce.text)
    assert fields["token"] == token
    landing = browser.post(
        site_root(token_url) + "/capture-link/token",
        data={key: html.unescape(value) for key, value in fields.items()},
        timeout=10,
    )
    assert landing.status_code == 200
    assert landing.history and landing.history[0].status_code == 303
    return landing.text


def site_root(url: str) -> str:
    """``scheme://host:port`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
