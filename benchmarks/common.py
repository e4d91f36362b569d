"""What every benchmark shares: reports and targets, the load generator, the gunicorn site, and
link requests prepared ahead of the timed loops.

The load generator is deliberately small: one thread per simulated client, each with one
keep-alive ``http.client`` connection, taking the next prepared request from a shared counter.
Every loop stops at a request count and at a deadline, whichever comes first.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import flask

from flask_capture_link.client.models import Tokens

from . import site_app
from .capture_process import CaptureProcess

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
LINK_PATH = "/oauth/link_account_native"

# Reports -----------------------------------------------------------------------------------


@dataclass
class Target:
    """One target: the measured figure, the goal, and whether the figure meets it."""

    name: str
    figure: str
    goal: str
    met: bool

    @property
    def verdict(self) -> str:
        return "met" if self.met else "NOT MET"


@dataclass
class Report:
    """A benchmark's printed result: notes (counts, setup), a table of figures, the targets."""

    key: str
    title: str
    notes: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    #: Figures printed under the table that have no target.
    findings: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(target.met for target in self.targets)

    def render(self) -> str:
        lines = [f"== {self.key}: {self.title}", *(f"   {note}" for note in self.notes), ""]
        if self.rows:
            lines += table(self.headers, self.rows)
            lines.append("")
        if self.findings:
            lines += [*self.findings, ""]
        lines += table(
            ["target", "measured", "goal", "verdict"],
            [[t.name, t.figure, t.goal, t.verdict] for t in self.targets],
        )
        return "\n".join(lines) + "\n"


_FIGURE = re.compile(r"^[\d.,/ ]+(x| ms| s| B)?$")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a plain-text table: columns of figures right-aligned, words left-aligned."""
    cells = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    figures = [
        i > 0 and bool(rows) and all(_FIGURE.match(row[i]) for row in cells[1:])
        for i in range(len(headers))
    ]

    def line(row: list[str]) -> str:
        parts = [
            cell.rjust(width) if figure else cell.ljust(width)
            for cell, width, figure in zip(row, widths, figures, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(cells[0]), rule, *(line(row) for row in cells[1:])]


def machine_info() -> list[str]:
    """Lines saying where the figures were measured."""
    from importlib.metadata import version

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return [
        f"cpus: {os.cpu_count()} (usable {usable}); load average at start: {load_average()} "
        "(other work on the machine: each benchmark prints the load around it)",
        f"python: {platform.python_implementation()} {platform.python_version()}; "
        f"platform: {platform.platform()}; requests {version('requests')}, "
        f"urllib3 {version('urllib3')}",
        f"site server: gunicorn {version('gunicorn')}, 1 worker, gthread, keep-alive, its own "
        "process (benchmarks/site_app.py)",
        "Capture: the package's emulator (EmulatorServer, thread per connection) on "
        "127.0.0.1, its own process (benchmarks/capture_process.py)",
        "load generator: benchmarks/common.py run_threads, one thread per client, each one "
        "keep-alive http.client connection, requests prepared before the clock starts",
        "compared variants run interleaved (A B, B A, A B, ...); a ratio is the median of the "
        "rounds' ratios (each round's A and B ran back to back)",
    ]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def rates(runs: Sequence[Run]) -> str:
    """The per-round rates, e.g. ``"612 598 605"``."""
    return " ".join(f"{run.rate:.0f}" for run in runs)


def ms(seconds: float, digits: int = 0) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile of sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# The load generator ------------------------------------------------------------------------


@dataclass
class Run:
    """What one timed loop did."""

    done: int
    errors: int
    elapsed: float
    latencies: list[float]
    statuses: Counter[int]
    #: CPU seconds the measured program (the client, or the site) used during the loop.
    cpu: float = 0.0

    @property
    def cpu_per_op(self) -> float:
        return self.cpu / self.done if self.done else 0.0

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


Work = Callable[[int], int]
MakeWorker = Callable[[contextlib.ExitStack], Work]


def run_threads(threads: int, count: int, seconds: float, make_worker: MakeWorker) -> Run:
    """Run ``work(i)`` for ``i`` in ``range(count)`` on ``threads`` threads until done or
    ``seconds`` pass. ``make_worker(stack)`` runs in each thread before the clock starts (to
    connect; cleanups go on ``stack``, closed when the thread ends); ``work`` returns a status
    (HTTP status, or 0) or raises (an error)."""
    counter = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    statuses: list[Counter[int]] = [Counter() for _ in range(threads)]
    errors = [0] * threads
    finished = [0.0] * threads
    clock: dict[str, float] = {}

    def start() -> None:
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds

    barrier = threading.Barrier(threads, action=start)
    failures: list[BaseException] = []

    def body(k: int) -> None:
        with contextlib.ExitStack() as stack:
            measure(k, stack)

    def measure(k: int, stack: contextlib.ExitStack) -> None:
        try:
            work = make_worker(stack)
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        deadline, mine, seen = clock["deadline"], latencies[k], statuses[k]
        perf_counter = time.perf_counter
        while True:
            i = next(counter)
            began = perf_counter()
            if i >= count or began > deadline:
                break
            try:
                status = work(i)
            except Exception:
                errors[k] += 1
            else:
                seen[status] += 1
                mine.append(perf_counter() - began)
        finished[k] = perf_counter()

    workers = [threading.Thread(target=body, args=(k,), daemon=True) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 120)
    if failures:
        raise RuntimeError("a load thread could not start") from failures[0]
    if any(worker.is_alive() for worker in workers):
        raise RuntimeError("a load thread did not finish in time")
    all_latencies = [value for values in latencies for value in values]
    return Run(
        done=len(all_latencies),
        errors=sum(errors),
        elapsed=max(finished) - clock["start"],
        latencies=all_latencies,
        statuses=sum(statuses, Counter()),
    )


@dataclass(frozen=True)
class Job:
    """One prepared HTTP request."""

    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def http_worker(port: int, jobs: Sequence[Job]) -> MakeWorker:
    """Workers that send ``jobs[i]`` over one keep-alive connection each and read the answer."""

    def make(stack: contextlib.ExitStack) -> Work:
        conn = _connect(port)
        stack.callback(conn.close)

        def work(i: int) -> int:
            job = jobs[i]
            try:
                conn.request(job.method, job.path, job.body, job.headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()  # the next request reconnects
                raise
            if response.will_close:
                conn.close()
            return response.status

        return work

    return make


def _connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    conn.connect()
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET on a fresh connection: status, headers (lower-case names), body."""
    conn = _connect(port)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def interleave(
    rounds: int, names: Iterable[str], measure: Callable[[str], Run]
) -> dict[str, list[Run]]:
    """``measure(name)`` for each variant once per round, alternating the order (A B, B A)."""
    order = list(names)
    results: dict[str, list[Run]] = {name: [] for name in order}
    for r in range(rounds):
        for name in order if r % 2 == 0 else reversed(order):
            results[name].append(measure(name))
    return results


def paired_ratio(numerator: Sequence[Run], denominator: Sequence[Run]) -> float:
    """The median over rounds of ``numerator``'s rate over ``denominator``'s in that round.

    The two ran back to back in each round, so a shared machine's slow moments fall mostly on
    both halves of a pair; the median drops the rounds where they did not."""
    ratios = [a.rate / b.rate for a, b in zip(numerator, denominator, strict=True) if b.rate]
    return median(ratios)


def load_average() -> str:
    """The 1-minute load average (how busy the shared machine was), or ``?``."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


# The site ----------------------------------------------------------------------------------


class SiteServer:
    """:mod:`benchmarks.site_app` under gunicorn (1 worker, gthread, ``threads`` threads) on a
    loopback port the benchmark binds and hands over, in its own process."""

    def __init__(
        self, config: dict[str, Any], threads: int, app: str = "benchmarks.site_app:create_app()"
    ) -> None:
        self.config = config
        self.threads = threads
        self.app = app
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the site runs

    def start(self, timeout: float = 20.0) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(1024)
        self.port = listener.getsockname()[1]
        fd = listener.fileno()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=fd://{fd}",
            "--workers=1",
            "--worker-class=gthread",
            f"--threads={self.threads}",
            "--keep-alive=10",
            "--graceful-timeout=3",
            "--log-level=warning",
            self.app,
        ]
        env = {**os.environ, site_app.CONFIG_ENV: json.dumps(self.config)}
        try:
            self._process = subprocess.Popen(
                command, cwd=ROOT, env=env, pass_fds=(fd,), stdout=self._log, stderr=self._log
            )
        finally:
            listener.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(self.port, "/health")[0] == 200:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the benchmark site did not start:\n{self.log()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the site's processes (gunicorn's master and worker)."""
        return 0.0 if self._process is None else process_tree_cpu(self._process.pid)

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._log.close()


def process_tree_cpu(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` and its descendants (0 off Linux)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        proc = Path(f"/proc/{current}")
        try:
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in (proc / "task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total / ticks


def site_config(
    capture: CaptureProcess, domain: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The site's ``CAPTURE_LINK_*`` config for ``capture`` (reached at ``domain`` if given)."""
    config = {k: v for k, v in capture.settings().items() if k.startswith("CAPTURE_LINK_")}
    config.pop("CAPTURE_LINK_CLIENT_SECRET", None)  # no refresh: nothing but the link call
    if domain is not None:
        config["CAPTURE_LINK_DOMAIN"] = domain
    return {**config, **extra}


# Prepared links ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """Everything one link request needs, made before the clock starts: a signed-in session
    cookie with a state issued to it, and a fresh Social Login token."""

    cookie: str
    token_path: str
    token: str
    access_token: str
    plain_cookie: str = ""

    def extension(self) -> Job:
        """The Social Login token POST to the extension's token URL."""
        return _form_post(self.token_path, {"token": self.token}, self.cookie)

    def bare(self) -> Job:
        """The same POST to the bare view (which takes the access token from the form)."""
        body = {"token": self.token, "at": self.access_token}
        return _form_post("/bare/token", body, self.cookie)

    def naive(self) -> Job:
        """The same POST to the sample-code view (which reads the access token from the
        session in the clear, as the samples keep it, and no state)."""
        return _form_post("/naive/token", {"token": self.token}, self.plain_cookie)


def _form_post(path: str, fields: dict[str, str], cookie: str) -> Job:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    return Job("POST", path, urlencode(fields).encode(), headers)


class LinkFactory:
    """Makes :class:`Link` requests for a site config: signed-in users at the emulator (their
    tokens sealed in the session as ``store_tokens`` keeps them), a state per link signed as
    the site signs it, a Social Login token per link."""

    def __init__(self, capture: CaptureProcess, config: dict[str, Any], users: int = 8) -> None:
        self.capture = capture
        self.app = site_app.create_app(config)
        self._serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        self._cookie_name = self.app.config["SESSION_COOKIE_NAME"]
        self.emails, self.access_tokens, self.refresh_tokens = capture.sign_in_users(users)
        self._expires_at = time.time() + 3600

    def cookie(self, access_token: str | None) -> str:
        """A session cookie of a user signed in with ``access_token`` (and a refresh token and
        expiry, sealed as the extension keeps them), or of nobody."""
        with self.app.test_request_context("/"):
            if access_token:
                self._store(access_token)
            return f"{self._cookie_name}={self._serializer.dumps(dict(flask.session))}"

    def plain_cookie(self, access_token: str) -> str:
        """The same user's session cookie with the tokens in the clear, under the three session
        keys the extension used before it sealed them: the cookie sealing is measured against."""
        data = {
            site_app.ACCESS_TOKEN_KEY: access_token,
            "capture_refresh_token": self._refresh_token(access_token),
            "capture_access_token_expires_at": self._expires_at,
        }
        return f"{self._cookie_name}={self._serializer.dumps(data)}"

    def _store(self, access_token: str) -> None:
        """Keep the user's tokens in the current request's session as ``store_tokens`` does
        (without its sign-in record: the benchmark measures the link, not freshness)."""
        tokens = Tokens(
            access_token,
            refresh_token=self._refresh_token(access_token),
            expires_at=self._expires_at,
        )
        self.app.extensions["capture_link"].token_storage.save("", tokens)

    def _refresh_token(self, access_token: str) -> str:
        return self.refresh_tokens[self.access_tokens.index(access_token)]

    def links(self, count: int, next_path: str | None = None) -> list[Link]:
        """``count`` link requests, each with its own session, state and token."""
        ext = self.app.extensions["capture_link"]
        tokens = self.capture.social_tokens(count)
        made: list[Link] = []
        with self.app.test_request_context("/"):
            session = flask.session
            for n, token in enumerate(tokens):
                access_token = self.access_tokens[n % len(self.access_tokens)]
                session.clear()
                self._store(access_token)
                url = urlsplit(ext.token_url(next_path))
                cookie = f"{self._cookie_name}={self._serializer.dumps(dict(session))}"
                made.append(
                    Link(
                        cookie,
                        f"{url.path}?{url.query}",
                        token,
                        access_token,
                        plain_cookie=self.plain_cookie(access_token),
                    )
                )
        return made

    def linked(self) -> int:
        """Identities linked so far to the benchmark's users (Capture's own count)."""
        return self.capture.linked(self.emails)
