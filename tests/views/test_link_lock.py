"""The account's lock (views.one_change_at_a_time): held while a listing decides a change.

An unlink always takes it (it decides from the identities listed); a link only when an
``account_linked`` listener compares the identities listed before and after it. Each test holds
the lock from another request of the same user, as a second tab or machine would.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link import signals
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url
from flask_capture_link.views.link import account_lock_name

from ..helpers import LINK, UNLINK, last_flash, make_site, site_config, unlink_forms

ACCOUNTS = """
{% for identity in capture_link_identities() %}
{{ capture_link_unlink_button(identity, next="/accounts") }}
{% endfor %}
"""


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    # A short timeout: a request waits for the lock as long as one call to Capture may take.
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_TIMEOUT=(0.2, 0.3)))
    held: dict[str, str] = {}

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)

    @app.post("/hold")
    def hold() -> str:
        ext = app.extensions["capture_link"]
        name = account_lock_name(ext.user_binding())
        token = ext.state_store().acquire(name, ttl=30, wait=0)
        assert token is not None
        held[name] = token
        return name

    @app.post("/let-go")
    def let_go() -> str:
        store = app.extensions["capture_link"].state_store()
        for name, token in held.items():
            store.release(name, token)
        held.clear()
        return "ok"

    return app


def test_a_link_with_no_listener_takes_no_lock(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    client.post("/hold")
    deliver_token(client, token_url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.calls_to(LINK)) == 1


def test_a_link_whose_notice_lists_waits_for_the_lock(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    seen: list[dict[str, Any]] = []
    client.post("/hold")
    with signals.account_linked.connected_to(lambda sender, **kw: seen.append(kw), app):
        deliver_token(client, token_url, emulator.issue_social_token("google", "ann"))
        assert last_flash(client) == ("error", ENGLISH["unavailable"])
        assert emulator.calls_to(LINK) == [] and seen == []
        client.post("/let-go")
        url = find_token_url(client.get("/account").get_data(as_text=True), "google")
        deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert [notice["identity"].domain for notice in seen] == ["google.com"]


def test_an_unlink_waits_for_the_lock(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: dict[str, Any]
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "ann")
    form = unlink_forms(client.get("/accounts").get_data(as_text=True))[0]
    client.post("/hold")
    client.post("/capture-link/unlink", data=form)
    assert last_flash(client) == ("error", ENGLISH["unavailable"])
    assert emulator.calls_to(UNLINK) == []
    assert len(emulator.identities(emulator.demo_email)) == 1
