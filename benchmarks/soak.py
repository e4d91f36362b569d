"""The fault run of issue 22: ``python -m benchmarks.soak [--seconds N] [--users N] [--quick]``.

The example site under gunicorn (3 workers x 8 threads, sessions and link states in a real
redis-server started here on a free loopback port), the emulator in its own process, and N
virtual users (24), each a browser with two tabs (two ``requests.Session`` sharing one cookie
jar), signing in by the site's form and linking and unlinking identities through the token URL
as a browser does (the cookieless POST of Social Login, then the bounce page's). Faults come in
turns: a worker killed (SIGKILL), Redis restarted, Capture slow, 502, 510, garbled JSON,
Capture acting and then losing its answer (502, reset, garbage), and tokens expiring (the
emulator's clock moved an hour on).

Every attempt is compared with Capture's record: a link or unlink shown done but not made, or
made but shown as not made, is a mismatch ("cannot tell" is honest, not one). It prints the
counts, then targets like ``make bench``; exit status 1 when one is not met, 2 when the run
could not start. Not part of ``python -m benchmarks`` nor of ``make test``: ``make soak``.
All traffic is to 127.0.0.1; every loop is bounded in count and time; every process it starts
is stopped, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from flask_capture_link.catalog import ENGLISH

from .capture_process import CaptureProcess
from .common import LOOPBACK, ROOT, Report, Target, load_average

LINK = "/oauth/link_account_native"
UNLINK = "/oauth/unlink_account_native"
ENTITY = "/entity"
TOKEN = "/oauth/token"
PASSWORD = "soak-password"  # the emulator's throwaway users

#: Memory a gunicorn worker may gain over the run (MB of RSS, from /proc).
WORKER_GROWTH_MB = 40.0
#: Memory the emulator may gain over the run (MB of RSS): it drops calls and expired tokens.
EMULATOR_GROWTH_MB = 30.0
#: Seconds any one HTTP request may take (a hang would show as an error, not a stall).
REQUEST_TIMEOUT = 30.0
#: Most requests one tab makes, whatever the duration.
MAX_STEPS_PER_TAB = 100_000

#: The fault turns, in order: (name, what it does). Each gets an equal share of the run.
TURNS = (
    ("none", "no fault"),
    ("kill", "a gunicorn worker killed with SIGKILL, twice"),
    ("redis", "redis-server restarted (append-only file kept), twice"),
    ("latency", "every Capture call 0.3 s slower"),
    ("html_502", "a gateway's HTML 502 for some link, unlink, entity and token calls"),
    ("unavailable", "Capture's 510 api_limit_error for some calls"),
    ("invalid_json", "JSON that does not parse for some calls"),
    ("acted_502", "Capture links or unlinks, then a 502 comes back"),
    ("acted_drop", "Capture links or unlinks, then the connection is reset"),
    ("acted_garbage", "Capture links or unlinks, then garbage comes back"),
    ("expiry", "the emulator's clock moved an hour on: every access token expires"),
)

#: The table's columns after the turn: (header, what is counted).
COLUMNS = (
    ("attempted", "attempted"),
    ("done", "done"),
    ("unknown", "shown unknown"),
    ("not done", "shown not done"),
    ("mismatches", "mismatches"),
    ("500s", "500s"),
    ("503s", "503s"),
    ("sign-outs", "sign-outs"),
    ("conn. errors", "connection errors"),
)

_DONE = {ENGLISH["success"], ENGLISH["unlinked"]}
_UNKNOWN = {ENGLISH["unconfirmed"]}
_OUTCOMES = frozenset(ENGLISH.values())
_FLASH = re.compile(r'<p class="flash flash-(\w+)"[^>]*>(.*?)</p>', re.S)
_FIELD = re.compile(r'name="(\w+)" value="([^"]*)"')
_UNLINK_FORM = re.compile(r'<form class="capture-link-unlink" method="post".*?</form>', re.S)
_BUTTON = re.compile(r'class="capture-link-button capture-link-google" href="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# Processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {seconds:.0f} s")
        time.sleep(0.05)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


def stop_process(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class RedisServer:
    """A redis-server on a free loopback port that keeps an append-only file, so a restart
    keeps the sessions (as a site's would)."""

    def __init__(self, folder: Path) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise RuntimeError("redis-server is not installed")
        self.program = program
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: listening(self.port), 20, "redis-server")

    def restart(self) -> None:
        stop_process(self.process)
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


class Site:
    """``example_app`` under gunicorn: 3 workers x 8 threads (gthread)."""

    def __init__(self, folder: Path, capture: CaptureProcess, redis_url: str) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.error_log = folder / "gunicorn-error.log"
        self.capture = capture
        self.redis_url = redis_url
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        env = {
            **os.environ,
            **{k: v for k, v in self.capture.settings().items() if k.startswith("CAPTURE")},
            "SECRET_KEY": "one secret for every worker of the soak",
            "EXAMPLE_REDIS_URL": self.redis_url,
        }
        with self.error_log.open("wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "3", "--worker-class", "gthread",
                 "--threads", "8", "--bind", f"{LOOPBACK}:{self.port}", "--graceful-timeout", "3",
                 "--timeout", "60", "example_app:create_app()"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )  # fmt: skip
        wait_until(self._answers, 90, "the example site")
        wait_until(lambda: len(self.worker_pids()) == 3, 60, "three gunicorn workers")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.errors()[-3000:]}")
        try:
            return requests.get(self.url + "/login", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The master's worker processes (from /proc)."""
        if self.process is None:
            return []
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return sorted(found)

    def kill_a_worker(self, rng: random.Random) -> None:
        pids = self.worker_pids()
        if pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(pids), signal.SIGKILL)
            self.kills += 1

    def errors(self) -> str:
        return self.error_log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)  # gunicorn's quick shutdown
        self.process = None


def rss_mb(pid: int) -> float | None:
    """The resident memory of a process, in MB (``VmRSS`` in /proc), or ``None`` if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# The users -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the tabs saw, counted under one lock."""

    counts: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    by_turn: dict[str, Counter[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    turn: str = "none"

    def add(self, key: str, detail: str | None = None, turn: str | None = None) -> None:
        """Count ``key`` in ``turn`` (an attempt's outcome in the turn it began in), by default
        the turn now."""
        with self.lock:
            turn = turn or self.turn
            self.counts[key] += 1
            self.by_turn.setdefault(turn, Counter())[key] += 1
            if key == "mismatches" and detail is not None and len(self.mismatches) < 20:
                self.mismatches.append(f"[{turn}] {detail}")


class Tab:
    """One browser tab of a virtual user: links a new identity, or unlinks the one it linked."""

    def __init__(self, soak: Soak, email: str, name: str, jar: requests.cookies.RequestsCookieJar):
        self.soak = soak
        self.email = email
        self.name = name
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy between us and loopback
        self.session.cookies = jar
        self.linked: str | None = None  # the identifier this tab linked, if any
        self.made = 0

    def get(self, path: str) -> requests.Response:
        response = self.session.get(self.soak.site.url + path, timeout=REQUEST_TIMEOUT)
        self.check(response)
        return response

    def check(self, response: requests.Response) -> None:
        tally = self.soak.tally
        for answer in (*response.history, response):
            if answer.status_code == 503:
                tally.add("503s")  # the example site's "briefly unavailable" (Redis down)
            elif answer.status_code >= 500:
                tally.add("500s")
        if urlsplit(response.url).path == "/login" and self.soak.signed_in(self.email):
            # Sent to sign in while the site's session should stand: a sign-out.
            tally.add("sign-outs")
            self.soak.forget_sign_in(self.email)

    def sign_in(self) -> None:
        site = self.soak.site.url
        page = self.session.get(site + "/login", timeout=REQUEST_TIMEOUT)
        csrf = _CSRF.search(page.text)
        if csrf is None:
            self.soak.tally.add("errors")
            return
        answer = self.session.post(
            site + "/login",
            data={"csrf_token": csrf.group(1), "email": self.email, "password": PASSWORD},
            timeout=REQUEST_TIMEOUT,
        )
        self.check(answer)
        if urlsplit(answer.url).path == "/account":
            self.soak.remember_sign_in(self.email)
        else:
            self.soak.tally.add("sign-ins refused")

    def step(self) -> None:
        if not self.soak.signed_in(self.email):
            with self.soak.user_lock(self.email):
                if not self.soak.signed_in(self.email):
                    self.sign_in()
            return
        page = self.get("/account")
        if urlsplit(page.url).path != "/account":
            return
        if self.linked is None:
            self.link(page.text)
        else:
            self.unlink(page.text)

    def link(self, page: str) -> None:
        button = _BUTTON.search(page)
        if button is None:
            self.soak.tally.add("pages without the button")
            return
        token_url = parse_qs(urlsplit(html.unescape(button.group(1))).query)["token_url"][0]
        self.made += 1
        identity = f"soak-{self.email.partition('@')[0]}-{self.name}-{self.made}"
        identifier = f"https://www.google.com/profiles/{identity}"
        token = self.soak.capture.social_token("google", identity)
        # One change of a user at a time, so that the message a landing page shows is this
        # change's (the other tab still loads pages meanwhile, and may show it instead).
        with self.soak.user_lock(self.email):
            turn = self.soak.tally.turn
            self.soak.tally.add("attempted", turn=turn)
            # Social Login's POST comes from another site, without the cookie: the bounce page.
            bounce = requests.post(
                token_url, data={"token": token}, timeout=REQUEST_TIMEOUT, allow_redirects=False
            )
            fields = {key: html.unescape(value) for key, value in _FIELD.findall(bounce.text)}
            if bounce.status_code != 200 or fields.get("token") != token:
                self.check(bounce)
                self.soak.tally.add("bounces refused")
                return
            root = self.soak.site.url
            landing = self.session.post(
                root + "/capture-link/token", data=fields, timeout=REQUEST_TIMEOUT
            )
            self.check(landing)
            made = identifier in self.soak.capture.identities(self.email)
            self.judge(landing, made, f"link {identity}", turn)
        if made:
            self.linked = identifier

    def unlink(self, page: str) -> None:
        assert self.linked is not None
        escaped = html.escape(self.linked, quote=True)
        form = next((f for f in _UNLINK_FORM.findall(page) if escaped in f), None)
        if form is None:
            # The page could not list identities (a Capture fault): next time.
            self.soak.tally.add("pages without the identity")
            return
        fields = {key: html.unescape(value) for key, value in _FIELD.findall(form)}
        with self.soak.user_lock(self.email):
            turn = self.soak.tally.turn
            self.soak.tally.add("attempted", turn=turn)
            landing = self.session.post(
                self.soak.site.url + "/capture-link/unlink", data=fields, timeout=REQUEST_TIMEOUT
            )
            self.check(landing)
            still = self.linked in self.soak.capture.identities(self.email)
            self.judge(landing, not still, f"unlink {self.linked.rpartition('/')[2]}", turn)
        if not still:
            self.linked = None

    def judge(self, landing: requests.Response, made: bool, what: str, turn: str) -> None:
        """Compare the message the landing page shows with what Capture made. The two tabs
        share one session, so a page may show the other tab's message too, or the other tab
        may have shown this one's: only a page with one verdict is judged."""
        tally = self.soak.tally
        messages = [html.unescape(text) for _, text in _FLASH.findall(landing.text)]
        done = ENGLISH["unlinked"] if what.startswith("unlink") else ENGLISH["success"]
        verdicts = {
            "done" if message == done else "unknown" if message in _UNKNOWN else "not done"
            for message in messages
            # The other tab's success, or a page's own notice (the example's "cannot be
            # listed"), says nothing of this change.
            if message in _OUTCOMES and (message not in _DONE or message == done)
        }
        shown = verdicts.pop() if len(verdicts) == 1 else "two" if verdicts else "none"
        tally.add(f"shown {shown}", turn=turn)
        if shown == "done":
            tally.add("done", turn=turn)
        if (shown == "done" and not made) or (shown == "not done" and made):
            detail = f"{what}: shown {shown!r} ({messages}), made={made}"
            tally.add("mismatches", detail, turn=turn)


class Soak:
    """The run: processes, users, fault turns, and what they found."""

    def __init__(self, seconds: float, users: int, seed: int, keep_log: str | None) -> None:
        self.keep_log = keep_log
        self.seconds = seconds
        self.users = users
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.stop = threading.Event()
        self._signed_in: set[str] = set()
        self._user_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.capture: CaptureProcess
        self.site: Site
        self.redis: RedisServer

    def signed_in(self, email: str) -> bool:
        with self._lock:
            return email in self._signed_in

    def remember_sign_in(self, email: str) -> None:
        with self._lock:
            self._signed_in.add(email)

    def forget_sign_in(self, email: str) -> None:
        with self._lock:
            self._signed_in.discard(email)

    def user_lock(self, email: str) -> threading.Lock:
        with self._lock:
            return self._user_locks.setdefault(email, threading.Lock())

    def run_tab(self, tab: Tab, deadline: float) -> None:
        for _ in range(MAX_STEPS_PER_TAB):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            try:
                tab.step()
            except requests.RequestException:
                # A killed worker or a restarting Redis: the browser saw no page.
                self.tally.add("connection errors")
                time.sleep(0.2)
            except Exception:
                self.tally.add("errors")
                traceback.print_exc()
                time.sleep(0.2)

    def turns(self, deadline: float) -> None:
        """Switch each turn's fault on for its share of the run, then off."""
        share = (deadline - time.monotonic()) / len(TURNS)
        for name, _ in TURNS:
            if self.stop.is_set():
                return
            self.tally.turn = name
            self.during(name, min(deadline, time.monotonic() + share))
            self.capture.clear_faults()

    def during(self, name: str, ends: float) -> None:
        """Apply the turn ``name`` until ``ends``: once, twice, or re-armed every second."""
        if name == "latency":
            self.capture.set_fault("*", "latency", seconds=0.3)
        ticks = 0
        while not self.stop.is_set() and time.monotonic() < ends and ticks < 100_000:
            left = ends - time.monotonic()
            if name == "kill" and ticks in (1, 6):
                self.site.kill_a_worker(self.rng)
            elif name == "redis" and ticks in (1, 6):
                self.redis.restart()
            elif name == "expiry" and ticks % 5 == 1:
                self.capture.advance_clock(3600)
            elif name in ("html_502", "unavailable", "invalid_json"):
                endpoint = self.rng.choice((LINK, UNLINK, ENTITY, TOKEN))
                self.capture.set_fault(endpoint, name, times=2)
            elif name.startswith("acted_"):
                self.capture.set_fault(self.rng.choice((LINK, UNLINK)), name, times=2)
            ticks += 1
            self.stop.wait(min(1.0, max(0.0, left)))

    def run(self) -> Report:
        with (
            tempfile.TemporaryDirectory(prefix="soak-") as folder,
            contextlib.ExitStack() as stack,
        ):
            self.redis = RedisServer(Path(folder))
            self.redis.start()
            stack.callback(self.redis.stop)
            self.capture = CaptureProcess(tls=False, keep_calls=10_000)
            self.capture.start()
            stack.callback(self.capture.stop)
            self.site = Site(Path(folder), self.capture, self.redis.url)
            stack.callback(self.site.stop)
            self.site.start()
            try:
                return self.drive()
            finally:
                if self.keep_log is not None:
                    shutil.copy(self.site.error_log, self.keep_log)

    def drive(self) -> Report:
        emails = [f"soak{n}-{os.urandom(3).hex()}@example.com" for n in range(self.users)]
        for email in emails:
            self.capture.add_user(email, PASSWORD)
        tabs = []
        for email in emails:
            jar = requests.cookies.RequestsCookieJar()
            tabs += [Tab(self, email, "a", jar), Tab(self, email, "b", jar)]
        for tab in tabs[::2]:
            tab.sign_in()
        for _ in range(3):  # warm the workers before measuring their memory
            for tab in tabs:
                tab.get("/account")
        start_rss = {pid: rss_mb(pid) for pid in self.site.worker_pids()}
        emulator_start = rss_mb(self.capture.pid)
        started = time.monotonic()
        deadline = started + self.seconds
        threads = [
            threading.Thread(target=self.run_tab, args=(tab, deadline + 5), daemon=True)
            for tab in tabs
        ]
        try:
            for thread in threads:
                thread.start()
            self.turns(deadline)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(REQUEST_TIMEOUT + 10)
        took = time.monotonic() - started
        end_rss = {pid: rss_mb(pid) for pid in self.site.worker_pids()}
        emulator_end = rss_mb(self.capture.pid)
        return self.report(emails, took, start_rss, end_rss, emulator_start, emulator_end)

    def report(
        self,
        emails: list[str],
        took: float,
        start_rss: dict[int, float | None],
        end_rss: dict[int, float | None],
        emulator_start: float | None,
        emulator_end: float | None,
    ) -> Report:
        counts = self.tally.counts
        growth = worker_growth(start_rss, end_rss)
        emulator_growth = (
            None
            if emulator_start is None or emulator_end is None
            else emulator_end - emulator_start
        )
        tokens = self.capture.token_counts()
        log = self.site.errors()
        report = Report(
            "soak",
            "the example site under faults (issue 22)",
            notes=[
                f"{self.users} users x 2 tabs, {took:.0f} s; gunicorn 3 workers x 8 threads, "
                "sessions and link states in redis-server, the emulator in its own process",
                f"turns: {', '.join(name for name, _ in TURNS)}; {self.site.kills} worker(s) "
                f"killed, {self.redis.restarts} Redis restart(s); load average {load_average()}",
            ],
            headers=["turn", *(header for header, _ in COLUMNS)],
            rows=[
                [name, *(str(self.tally.by_turn.get(name, Counter())[key]) for _, key in COLUMNS)]
                for name, _ in TURNS
            ],
        )
        report.findings = [
            "attempted {attempted}, done {done}, shown unknown {shown unknown}, shown not done "
            "{shown not done}, shown none (the other tab showed it) {shown none}, two verdicts "
            "{shown two}; mismatches {mismatches}, 500s {500s}, 503s {503s}, sign-outs "
            "{sign-outs}, connection errors {connection errors}, other errors {errors}".replace(
                "{", "{0["
            )
            .replace("}", "]}")
            .format(counts),
            "worker memory (RSS MB) start -> end: "
            + ", ".join(f"{v:.0f}" for v in start_rss.values() if v is not None)
            + " -> "
            + ", ".join(f"{v:.0f}" for v in end_rss.values() if v is not None),
            f"emulator memory (RSS MB): {fmt_mb(emulator_start)} -> {fmt_mb(emulator_end)}; "
            f"tokens it keeps at the end: {tokens}",
            f"site log: {log.count('Traceback')} traceback(s), {log.count(' ERROR ')} ERROR "
            f"line(s), {log.count('redis.exceptions.ConnectionError')} of Redis connections",
            *(f"mismatch: {line}" for line in self.tally.mismatches),
        ]
        report.targets = [
            Target(
                "links and unlinks attempted",
                str(counts["attempted"]),
                "> 0",
                counts["attempted"] > 0,
            ),
            Target("mismatches", str(counts["mismatches"]), "0", counts["mismatches"] == 0),
            Target("500s", str(counts["500s"]), "0", counts["500s"] == 0),
            Target("sign-outs", str(counts["sign-outs"]), "0", counts["sign-outs"] == 0),
            Target(
                "memory growth per worker",
                fmt_mb(growth),
                f"< {WORKER_GROWTH_MB:.0f} MB",
                growth is not None and growth < WORKER_GROWTH_MB,
            ),
            Target(
                "emulator memory growth",
                fmt_mb(emulator_growth),
                f"< {EMULATOR_GROWTH_MB:.0f} MB",
                emulator_growth is not None and emulator_growth < EMULATOR_GROWTH_MB,
            ),
        ]
        return report


def worker_growth(start: dict[int, float | None], end: dict[int, float | None]) -> float | None:
    """The most a worker grew: over the workers that lived through the run, or (every one was
    killed and replaced) the largest at the end against the largest at the start."""
    both = [
        after - before
        for pid, before in start.items()
        if before is not None and (after := end.get(pid)) is not None
    ]
    if both:
        return max(both)
    starts = [v for v in start.values() if v is not None]
    ends = [v for v in end.values() if v is not None]
    return max(ends) - max(starts) if starts and ends else None


def fmt_mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=270.0, help="load, in seconds (270)")
    parser.add_argument("--users", type=int, default=24, help="virtual users, 2 tabs each (24)")
    parser.add_argument("--seed", type=int, default=22, help="what the fault choices follow")
    parser.add_argument("--keep-log", metavar="FILE", help="copy the site's error log to FILE")
    parser.add_argument(
        "--quick", action="store_true", help="4 users for 22 s: checks that it runs"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.users = 22.0, 4
    if not 1 <= args.users <= 200 or not 1 <= args.seconds <= 3600:
        parser.error("--users from 1 to 200, --seconds from 1 to 3600")
    soak = Soak(args.seconds, args.users, args.seed, args.keep_log)
    print("Flask-Capture-Link soak" + (" (--quick: figures mean nothing)" if args.quick else ""))
    print(flush=True)
    try:
        report = soak.run()
    except KeyboardInterrupt:
        print("interrupted; every process stopped", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("== soak: could not run", flush=True)
        return 2
    print(report.render(), end="", flush=True)
    return 0 if report.met else 1


if __name__ == "__main__":
    sys.exit(main())
