"""Many workers behind one site: the link flow across gunicorn processes, sessions in Redis.

Each flow's button page, cross-site token POST (bounced), bounced POST and landing page are
separate connections to a pool of worker processes, so they land on different workers. Every
link must succeed and every replay must be refused, also when another process issued the state.
"""

from __future__ import annotations

import html

import redis

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer

from ..helpers import LINK
from .helpers import GunicornSite, button_token_url, deliver, sign_in

FLOWS = 12


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
