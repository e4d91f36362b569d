"""The review's findings, each where it was found: the example site under gunicorn (3 worker
processes; a second master as another machine), one real redis-server, cookie and Redis
sessions.

1. a state survives a cancel and sits in the access log; 2. a late session save brings a spent
state back; 3. simultaneous requests with one state all reach Capture; 4. session fixation at
sign-in; 5. a chunked body passes the 64 KiB limit; 6. ``/account`` answers 500 when two
workers race to refresh. (7, plain http for ``*.localhost``, is a config check:
``tests/test_config.py``.)
"""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from requests.cookies import RequestsCookieJar

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer

from ..helpers import LINK, REFRESH, form_fields, race, state_of
from .helpers import GunicornSite, button_token_url, deliver, serve_example, sign_in

#: Concurrent requests in a race.
RACERS = 8
ALREADY_USED = "refused: already used"


@pytest.fixture(params=["redis sessions", "cookie sessions"])
def site(request: pytest.FixtureRequest) -> GunicornSite:
    """The site with sessions in Redis (link states spent in Flask-Session's Redis), or in the
    cookie (link states spent in ``CAPTURE_LINK_REDIS_URL``)."""
    name = "gunicorn_site" if request.param == "redis sessions" else "cookie_site"
    found: GunicornSite = request.getfixturevalue(name)
    return found


def new_user(emulator: Any, tag: str) -> str:
    email = f"{tag}-{time.monotonic_ns()}@example.com"
    emulator.add_user(email, "pw")
    return email


def post_state(
    site: GunicornSite, cookies: RequestsCookieJar, token: str, state: str
) -> requests.Response:
    """The bounced POST of a browser that has the session (a copy of ``cookies``, so that the
    cookie the answer sets replaces it): token and state in the body."""
    with requests.Session() as browser:
        browser.cookies = cookies.copy()
        return browser.post(
            site.url + "/capture-link/token",
            data={"token": token, "state": state, "capture_link_bounced": "1"},
            timeout=30,
        )


# 3. One state, many simultaneous requests --------------------------------------------------


def test_one_state_many_simultaneous_requests_one_link(
    site: GunicornSite, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "race")
    browser = sign_in(site, email, "pw")
    state = state_of(button_token_url(browser, site))
    cookies = browser.cookies
    tokens = [emulator.issue_social_token("google", f"{email}-{i}") for i in range(RACERS)]
    refused_before = site.errors().count(ALREADY_USED)

    answers = race(RACERS, lambda i: post_state(site, cookies, tokens[i], state))

    assert all(isinstance(a, requests.Response) and a.status_code == 200 for a in answers)
    assert len(emulator.calls_to(LINK)) == 1
    assert len(emulator.identities(email)) == 1
    assert site.errors().count(ALREADY_USED) - refused_before == RACERS - 1
    if len(cookies["session"]) > 100:  # cookie sessions: each answer has its own flash
        pages = [a.text for a in answers]
        assert sum(html.escape(ENGLISH["success"], quote=True) in p for p in pages) == 1
        assert sum("did not start on this page" in p for p in pages) == RACERS - 1


def test_two_machines_sharing_one_redis_link_once(
    gunicorn_site: GunicornSite, second_machine: GunicornSite, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "machines")
    browser = sign_in(gunicorn_site, email, "pw")
    state = state_of(button_token_url(browser, gunicorn_site))
    cookies = browser.cookies
    machines = [gunicorn_site, second_machine]
    tokens = [emulator.issue_social_token("google", f"{email}-{i}") for i in range(RACERS)]
    refused_before = sum(m.errors().count(ALREADY_USED) for m in machines)

    answers = race(RACERS, lambda i: post_state(machines[i % 2], cookies, tokens[i], state))

    assert all(isinstance(a, requests.Response) and a.status_code == 200 for a in answers)
    assert len(emulator.calls_to(LINK)) == 1
    refused = sum(m.errors().count(ALREADY_USED) for m in machines) - refused_before
    assert refused == RACERS - 1
    assert "/capture-link/token" in second_machine.pids_by_path()  # both machines took part


# 2. A late save of an older session --------------------------------------------------------


def test_a_late_save_of_an_older_session_does_not_revive_a_spent_state(
    gunicorn_site: GunicornSite, capture_emulator: EmulatorServer, redis_url: str
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "lost-update")
    browser = sign_in(gunicorn_site, email, "pw")
    token_url = button_token_url(browser, gunicorn_site)
    store = redis.Redis.from_url(redis_url)
    try:
        key = f"session:{browser.cookies['session']}"
        older = store.get(key)
        assert older is not None
        landing = deliver(browser, token_url, emulator.issue_social_token("google", email))
        assert html.escape(ENGLISH["success"], quote=True) in landing
        # What another request of this session (started before the link, finished after it,
        # even a /static GET) does when it saves: its older copy of the session wins.
        store.set(key, older)
    finally:
        store.close()
    replay = deliver(browser, token_url, emulator.issue_social_token("facebook", email))
    assert "did not start on this page" in replay
    assert len(emulator.calls_to(LINK)) == 1


# 1. A cancelled state, read from the access log --------------------------------------------


def test_a_state_from_the_access_log_is_spent(
    site: GunicornSite, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "log-reader")
    victim = sign_in(site, email, "pw")
    token_url = button_token_url(victim, site)
    # The victim cancels at the provider: Social Login posts back without a token; the request
    # URL, with the state, is in the access log.
    cancel = requests.post(token_url, data={}, timeout=10, allow_redirects=False)
    assert cancel.status_code == 200  # the bounce page (no cookie on a cross-site POST)
    fields = form_fields(cancel.text)
    landing = victim.post(
        site.url + "/capture-link/token",
        data={k: html.unescape(v) for k, v in fields.items()},
        timeout=10,
    )
    assert html.escape(ENGLISH["missing_token"], quote=True) in landing.text
    # The attacker, with the logged state, sends the victim's browser through her own page:
    # a cross-site POST of her token and that state, which the bounce completes.
    attacker_token = emulator.issue_social_token("google", "mallory")
    landing = deliver(victim, token_url, attacker_token)
    assert "did not start on this page" in landing
    assert emulator.calls_to(LINK) == []
    assert emulator.identities(email) == []


def test_a_logged_state_of_a_bounce_the_victim_never_finished_is_spent(
    site: GunicornSite, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "abandoned")
    victim = sign_in(site, email, "pw")
    token_url = button_token_url(victim, site)
    # Social Login's cross-site POST arrives (logged with the state); the victim closes the tab
    # before the bounce page posts on.
    bounce = requests.post(
        token_url, data={"token": emulator.issue_social_token("google", email)}, timeout=10
    )
    assert bounce.status_code == 200
    landing = deliver(victim, token_url, emulator.issue_social_token("google", "mallory"))
    assert "did not start on this page" in landing
    assert emulator.calls_to(LINK) == []


# 4. Session fixation -----------------------------------------------------------------------


def test_sign_in_gives_a_new_session_id(
    gunicorn_site: GunicornSite, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "fixation")
    attacker = requests.Session()
    attacker.get(gunicorn_site.url + "/login", timeout=10)
    planted = attacker.cookies["session"]

    victim = requests.Session()
    victim.cookies = attacker.cookies.copy()  # planted: the attacker's session id
    page = victim.get(gunicorn_site.url + "/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    answer = victim.post(
        gunicorn_site.url + "/login",
        data={"csrf_token": csrf.group(1), "email": email, "password": "pw"},
        timeout=10,
    )
    assert answer.url.endswith("/account")
    assert victim.cookies["session"] != planted
    seen = attacker.get(gunicorn_site.url + "/account", timeout=10, allow_redirects=False)
    assert seen.status_code == 302 and "/login" in seen.headers["Location"]


# 5. A chunked body -------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_a_chunked_body_is_refused_unread(gunicorn_site: GunicornSite) -> None:
    total = 64 * 1024 * 1024
    chunk = b"token=" + b"a" * (256 * 1024 - 6)
    sent = [0]
    host = urlsplit(gunicorn_site.url).netloc
    before = {pid: rss_kib(pid) for pid in gunicorn_site.worker_pids()}
    with socket.create_connection(("127.0.0.1", int(host.rpartition(":")[2])), timeout=10) as conn:
        conn.sendall(
            f"POST /capture-link/token?state=x HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )

        def send() -> None:
            try:
                while sent[0] < total:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent[0] += len(chunk)
                conn.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server answered and closed: what we hope for

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        status_line = conn.makefile("rb").readline()
        answered_after = sent[0]
        sender.join(30)
    assert status_line.startswith(b"HTTP/1.1 303"), status_line
    # Answered long before the body was all sent (reading 4 MB once cost seconds of CPU).
    assert answered_after < total / 4
    after = {pid: rss_kib(pid) for pid in gunicorn_site.worker_pids()}
    grown = max(after[pid] - before.get(pid, after[pid]) for pid in after)
    assert grown < 32 * 1024  # KiB: no worker took the body into memory


# 6. Refresh race across workers ------------------------------------------------------------


def test_two_workers_refreshing_one_session_make_one_refresh(
    site: GunicornSite, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    email = new_user(emulator, "refresh")
    browser = sign_in(site, email, "pw")
    cookies = browser.cookies
    emulator.expire_access_tokens(email)
    # Each refresh takes a while, so that every request finds the token expired meanwhile.
    emulator.set_fault(REFRESH, "latency", seconds=0.5)
    refreshes_before = len(emulator.calls_to(REFRESH))

    def account(i: int) -> requests.Response:
        with requests.Session() as tab:
            tab.cookies = cookies.copy()
            return tab.get(site.url + "/account", timeout=30, allow_redirects=False)

    try:
        answers = race(RACERS, account)
    finally:
        emulator.clear_faults()
    statuses = [a.status_code if isinstance(a, requests.Response) else repr(a) for a in answers]
    assert statuses == [200] * RACERS, site.errors()[-3000:]
    assert len(emulator.calls_to(REFRESH)) - refreshes_before == 1
    assert all("Connected accounts" in a.text for a in answers)


# Without Redis -----------------------------------------------------------------------------


def test_many_workers_without_redis_are_warned_about(
    capture_emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    with serve_example(tmp_path, capture_emulator_server, 2) as site:
        requests.get(site.url + "/login", timeout=10)
        deadline = time.monotonic() + 10
        while site.errors().count("holds per process only") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        # Each worker, at its start: "more than one worker process is likely (the gunicorn
        # command line (--workers 2))".
        assert site.errors().count("holds per process only") >= 2
        assert "--workers 2" in site.errors()
