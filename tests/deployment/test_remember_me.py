"""Session fixation through remember-me, where the review found it: the example site under
gunicorn, sessions in Redis (Flask-Session). An attacker plants an anonymous session id of
theirs in the victim's browser, which has dropped its own session but kept the remember
cookie; Flask-Login restores the victim into the planted session (4 of 4 trials), unless the
session gets a new id then, as the extension now gives it.
"""

from __future__ import annotations

import re
import time

import redis
import requests

from flask_capture_link.emulator import EmulatorServer

from .helpers import GunicornSite

TRIALS = 4


def sign_in_remembered(site: GunicornSite, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(site.url + "/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "email": email, "password": "pw", "remember": "yes"}
    answer = browser.post(site.url + "/login", data=form, timeout=10)
    assert answer.url.endswith("/account")
    assert "remember_token" in browser.cookies
    return browser


def test_a_restore_from_remember_me_gives_a_new_session_id(
    gunicorn_site: GunicornSite, capture_emulator: EmulatorServer, redis_url: str
) -> None:
    emulator = capture_emulator.emulator
    store = redis.Redis.from_url(redis_url)
    try:
        for trial in range(TRIALS):
            email = f"remembered-{trial}-{time.monotonic_ns()}@example.com"
            emulator.add_user(email, "pw")
            victim = sign_in_remembered(gunicorn_site, email)
            attacker = requests.Session()
            attacker.get(gunicorn_site.url + "/login", timeout=10)
            planted = attacker.cookies["session"]
            assert store.exists(f"session:{planted}")

            # The victim's browser dropped its session; the attacker's id is planted in it.
            victim.cookies.set("session", planted, domain="127.0.0.1", path="/")
            victim.get(gunicorn_site.url + "/account", timeout=10)  # restored from the cookie

            assert victim.cookies["session"] != planted
            assert not store.exists(f"session:{planted}")  # the planted record is gone
            seen = attacker.get(gunicorn_site.url + "/login", timeout=10).text
            assert email not in seen  # the attacker's session is nobody's
            assert "Use your account's email address" in seen
    finally:
        store.close()
