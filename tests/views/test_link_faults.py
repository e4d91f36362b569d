"""The views when something fails after Capture acted: the session store down when the outcome
is saved (a real redis-server under Flask-Session, stopped mid-request)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask

from flask_capture_link import CaptureLink
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.signals import account_linked
from flask_capture_link.testing import deliver_token, find_token_url, sign_in
from flask_capture_link.views.flow import OUTCOME_PARAM

from ..helpers import make_site, site_config
from ..processes import free_port, redis_server

SUCCESS = html.escape(ENGLISH["success"], quote=True)


def test_redis_stopped_after_the_link_lands_on_the_outcome_not_a_500(
    capture_emulator: EmulatorServer,
    emulator: CaptureEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask_session import Session

    caplog.set_level("INFO", logger="flask_capture_link")
    port = free_port()
    with redis_server(tmp_path, port=port) as url:
        sessions = redis.Redis.from_url(url)

        def server_side_sessions(app: Flask) -> None:
            app.config.update(SESSION_TYPE="redis", SESSION_REDIS=sessions)
            Session(app)

        site = make_site(site_config(capture_emulator), CaptureLink(), before=server_side_sessions)

        def stop_redis(app: Flask, **details: Any) -> None:
            sessions.shutdown(save=True)  # after Capture linked: saved to disk, then gone

        browser = site.test_client()
        sign_in(browser, emulator, emulator.demo_email)
        token_url = find_token_url(browser.get("/account"), "google")
        token = emulator.issue_social_token("google", emulator.demo_email)
        with account_linked.connected_to(stop_redis, sender=site):
            answer = deliver_token(browser, token_url, token)

    assert answer.status_code == 303  # not a 500, though the session could not be saved
    assert [i["domain"] for i in emulator.identities(emulator.demo_email)] == ["google.com"]
    location = answer.headers["Location"]
    assert OUTCOME_PARAM in location and token not in location
    assert "the session could not be saved" in caplog.text

    # Redis back (from its dump): the page shows the outcome, once.
    with redis_server(tmp_path, port=port):
        target = urlsplit(location)
        landing = browser.get(target.path, query_string=target.query)
        assert SUCCESS in landing.get_data(as_text=True)
        again = browser.get(target.path, query_string=target.query)
        assert SUCCESS not in again.get_data(as_text=True)
        # Another browser cannot see it either (a copied URL): it is the user's.
        stranger = site.test_client().get(target.path, query_string=target.query)
        assert SUCCESS not in stranger.get_data(as_text=True)
    sessions.close()
