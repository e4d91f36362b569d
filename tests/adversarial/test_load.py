"""Load without loss: the example site under a real multi-threaded WSGI server, eight users
linking at once over loopback while some of Capture's link calls fail.

Every link Capture made is in its records exactly once and was reported to its user as a
success; every link that failed was reported to its user as a failure; no request got a 500.
Half of the token deliveries come cross-site (no cookie) and go through the bounce page, as
real browsers' do.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer
from flask_capture_link.testing import find_token_url

from ..helpers import LINK

USERS = 8
LINKS_PER_USER = 10
PROVIDERS = ("google", "facebook", "linkedin")
# Phase one: the first 10 link calls meet an HTML 502; phase two: the first 6, Capture's
# "too many calls" error.
PHASES = (("html_502", 10, ENGLISH["unavailable"]), ("unavailable", 6, ENGLISH["api_limit_error"]))
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'<p class="flash flash-(\w+)"[^>]*>(.*?)</p>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form id="capture-link-continue" method="post" action="([^"]+)"')
TIMEOUT = 10


@dataclass
class Outcome:
    """What one user saw."""

    email: str
    succeeded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (identity, message)
    statuses: list[int] = field(default_factory=list)
    bounced: int = 0


@pytest.fixture
def site(capture_emulator: EmulatorServer) -> Iterator[str]:
    """The example site on a threaded werkzeug server on 127.0.0.1; yields its base URL."""
    example_app = pytest.importorskip("example_app")
    settings = capture_emulator.settings()
    config = {k: v for k, v in settings.items() if k.startswith("CAPTURE_LINK_")}
    config.update(SECRET_KEY="load-test-secret-key", CAPTURE_LINK_TIMEOUT=(2.0, 5.0))
    app = example_app.create_app(config)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="load-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def record(outcome: Outcome, response: requests.Response) -> requests.Response:
    outcome.statuses.extend(r.status_code for r in [*response.history, response])
    return response


def sign_in(browser: requests.Session, site: str, email: str, outcome: Outcome) -> None:
    page = record(outcome, browser.get(site + "login", timeout=TIMEOUT))
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "email": email, "password": "pw-" + email}
    landing = record(outcome, browser.post(site + "login", data=form, timeout=TIMEOUT))
    assert landing.url == site + "account", landing.url


def deliver(
    browser: requests.Session,
    token_url: str,
    token: str,
    outcome: Outcome,
    *,
    cross_site: bool,
) -> requests.Response:
    """Social Login's form POST of the token: with the site's cookie, or cross-site without it
    (then the bounce page posts it again, as its script does in a browser)."""
    if not cross_site:
        return record(outcome, browser.post(token_url, data={"token": token}, timeout=TIMEOUT))
    bounce = record(outcome, requests.post(token_url, data={"token": token}, timeout=TIMEOUT))
    assert bounce.status_code == 200, bounce.status_code
    outcome.bounced += 1
    action = FORM_ACTION.search(bounce.text)
    assert action is not None
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(bounce.text)}
    target = urljoin(token_url, html.unescape(action.group(1)))
    return record(outcome, browser.post(target, data=fields, timeout=TIMEOUT))


def user_session(
    site: str, capture_emulator: EmulatorServer, user: int, halfway: threading.Barrier
) -> Outcome:
    emulator = capture_emulator.emulator
    email = f"user{user}@example.com"
    outcome = Outcome(email)
    with requests.Session() as browser:
        sign_in(browser, site, email, outcome)
        for link in range(LINKS_PER_USER):
            if link == LINKS_PER_USER // 2:
                halfway.wait(timeout=20)
            provider = PROVIDERS[(user + link) % len(PROVIDERS)]
            page = record(outcome, browser.get(site + "account", timeout=TIMEOUT))
            token_url = find_token_url(page.text, provider)
            identity = f"u{user}-l{link}"
            token = emulator.issue_social_token(provider, identity)
            landing = deliver(browser, token_url, token, outcome, cross_site=link % 2 == 1)
            assert landing.url == site + "account", landing.url
            flashed = [(c, html.unescape(m.strip())) for c, m in FLASH.findall(landing.text)]
            assert len(flashed) == 1, flashed
            category, message = flashed[0]
            if category == "success":
                assert message == ENGLISH["success"]
                outcome.succeeded.append(identity)
            else:
                outcome.failed.append((identity, message))
    return outcome


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_eight_users_link_at_once_while_capture_fails(
    site: str, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    for user in range(USERS):
        emulator.add_user(f"user{user}@example.com", f"pw-user{user}@example.com")

    def next_phase() -> None:  # runs once, when all users reach the middle
        emulator.clear_faults()
        kind, times, _ = PHASES[1]
        emulator.set_fault(LINK, kind, times=times)

    halfway = threading.Barrier(USERS, action=next_phase)
    kind, times, _ = PHASES[0]
    emulator.set_fault(LINK, kind, times=times)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        futures = [
            pool.submit(user_session, site, capture_emulator, user, halfway)
            for user in range(USERS)
        ]
        outcomes = [future.result(timeout=45) for future in futures]
    elapsed = time.monotonic() - started
    emulator.clear_faults()

    statuses = Counter(status for outcome in outcomes for status in outcome.statuses)
    assert all(status < 500 for status in statuses), statuses
    # Each delivery made one call, and none was retried.
    assert len(emulator.calls_to(LINK)) == USERS * LINKS_PER_USER
    for outcome in outcomes:
        linked = [p["profile"]["preferredUsername"] for p in emulator.identities(outcome.email)]
        assert Counter(linked) == Counter(outcome.succeeded), outcome.email  # each once
        assert not {identity for identity, _ in outcome.failed} & set(linked)
        assert len(outcome.succeeded) + len(outcome.failed) == LINKS_PER_USER
    failures = Counter(message for outcome in outcomes for _, message in outcome.failed)
    assert failures == Counter({message: times for _, times, message in PHASES})
    assert sum(len(o.succeeded) for o in outcomes) == USERS * LINKS_PER_USER - 16
    assert sum(o.bounced for o in outcomes) == USERS * LINKS_PER_USER // 2
    print(  # for the table in docs/security.md
        f"\nload: {USERS} users x {LINKS_PER_USER} links in {elapsed:.1f} s; "
        f"statuses {dict(statuses)}; failures {dict(failures)}"
    )
