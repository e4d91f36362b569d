"""Many workers behind one site: the link flow across gunicorn processes, sessions in Redis.

Each flow's button page, cross-site token POST (bounced), bounced POST and landing page are
separate connections to a pool of worker processes, so they land on different workers. Every
link must succeed and every replay must be refused, also when another process issued the state.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import redis
import requests

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer

from .conftest import GunicornSite

FLOWS = 12
LINK = "/oauth/link_account_native"


def sign_in(site: GunicornSite, email: str, password: str) -> requests.Session:
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
    page = browser.get(site.url + "/account", timeout=10).text
    href = re.search(r'class="capture-link-button capture-link-google" href="([^"]+)"', page)
    assert href is not None, site.error_log.read_text()[-2000:]
    return parse_qs(urlsplit(html.unescape(href.group(1))).query)["token_url"][0]


def deliver(browser: requests.Session, token_url: str, token: str) -> str:
    """Social Login's cross-site POST (no cookie: bounced), then the bounce page's POST."""
    bounce = requests.post(token_url, data={"token": token}, timeout=10, allow_redirects=False)
    assert bounce.status_code == 200, bounce.status_code
    fields = dict(re.findall(r'name="([\w]+)" value="([^"]*)"', bounce.text))
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
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_links_and_replays_across_workers_with_redis_sessions(
    gunicorn_site: GunicornSite, capture_emulator: EmulatorServer, redis_url: str
) -> None:
    emulator = capture_emulator.emulator
    for number in range(FLOWS):
        email = f"user{number}@example.com"
        emulator.add_user(email, "pw")
        browser = sign_in(gunicorn_site, email, "pw")
        token_url = button_token_url(browser, gunicorn_site)

        landing = deliver(browser, token_url, emulator.issue_social_token("google", email))
        assert html.escape(ENGLISH["success"], quote=True) in landing
        assert [p["profile"]["preferredUsername"] for p in emulator.identities(email)] == [email]

        replay = deliver(browser, token_url, emulator.issue_social_token("facebook", email))
        assert "did not start on this page" in replay
        assert len(emulator.identities(email)) == 1

        # The session cookie holds an id, not the tokens: those are in Redis.
        cookie = browser.cookies.get("session")
        assert cookie is not None and len(cookie) < 100

    link_calls = emulator.calls_to(LINK)
    assert len(link_calls) == FLOWS  # replays never reached Capture
    assert all(call.stat == "ok" for call in link_calls)

    served = gunicorn_site.pids_by_path()
    assert len(served["/capture-link/token"]) > 1, served  # more than one worker took part
    assert len(set().union(*served.values())) == gunicorn_site.workers

    store = redis.Redis.from_url(redis_url)
    try:
        assert len(store.keys("session:*")) >= FLOWS
    finally:
        store.close()
