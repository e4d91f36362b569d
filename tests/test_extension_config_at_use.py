"""Config read when used: settings changed after init_app reach Capture calls."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from flask_capture_link import CaptureLink, ConfigError
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import LINK, last_flash, make_site, site_config

#: Valid settings that lead nowhere: what an app factory loads before a test overrides them.
ELSEWHERE: dict[str, Any] = {
    "SECRET_KEY": "test secret key",
    "CAPTURE_LINK_DOMAIN": "https://capture.invalid",
    "CAPTURE_LINK_CLIENT_ID": "from-the-environment",
    "CAPTURE_LINK_FLOW_VERSION": "1",
    "CAPTURE_LINK_REDIRECT_URI": "https://www.example.com/",
    "CAPTURE_LINK_SOCIAL_LOGIN_URL": "https://example.rpxnow.com",
}


def test_settings_changed_after_init_app_are_used(capture_emulator: EmulatorServer) -> None:
    emulator = capture_emulator.emulator
    app = make_site(ELSEWHERE)  # init_app with the factory's settings
    app.config.update(site_config(capture_emulator))  # then the test's, as a test does
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/account").get_data(as_text=True), "google")
        deliver_token(client, url, emulator.issue_social_token("google", "later"))
        assert last_flash(client) == ("success", ENGLISH["success"])
    assert emulator.calls_to(LINK)[0].stat == "ok"
    assert [i["domain"] for i in emulator.identities(emulator.demo_email)] == ["google.com"]


def test_client_is_rebuilt_only_when_its_settings_change(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator))
    ext: CaptureLink = app.extensions["capture_link"]
    with app.app_context():
        first = ext.client
        assert ext.client is first
        app.config["CAPTURE_LINK_MESSAGES"] = {"success": "Done."}  # not the client's
        app.config["CAPTURE_LINK_STATE_MAX_AGE"] = 60
        assert ext.client is first
        app.config["CAPTURE_LINK_TIMEOUT"] = [2, 5]
        second = ext.client
        assert second is not first and second.timeout == (2, 5)
        app.config["CAPTURE_LINK_TIMEOUT"][1] = 7  # changed in place: seen too
        assert ext.client.timeout == (2, 7)
        app.config["CAPTURE_LINK_LOCALE"] = "es-ES"
        assert ext.client.locale == "es-ES"


def test_a_wrong_value_set_after_init_app_names_the_key(
    capture_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator))
    app.config["CAPTURE_LINK_DOMAIN"] = "http://capture.example.com"
    with app.app_context(), pytest.raises(ConfigError) as raised:
        app.extensions["capture_link"].client  # noqa: B018
    assert raised.value.key == "CAPTURE_LINK_DOMAIN"
    app.testing = False  # as in production: a bug of ours would be raised under TESTING
    with app.test_client() as client:  # a user's request: a message, never a 500
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/account").get_data(as_text=True), "google")
        caplog.set_level(logging.ERROR, logger="flask_capture_link")
        response = deliver_token(client, url, emulator.issue_social_token("google", "x"))
        assert response.status_code == 303
        assert last_flash(client) == ("error", ENGLISH["unknown"])
    assert "CAPTURE_LINK_DOMAIN" in caplog.text
    assert emulator.calls_to(LINK) == []


def test_url_prefix_changed_after_init_app_says_to_set_it_before(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator))
    app.config["CAPTURE_LINK_URL_PREFIX"] = "/accounts/link"
    with app.app_context(), pytest.raises(ConfigError, match="before calling init_app") as raised:
        app.extensions["capture_link"].client  # noqa: B018
    assert raised.value.key == "CAPTURE_LINK_URL_PREFIX"


def test_init_app_still_checks_what_is_there() -> None:
    app = Flask(__name__)
    app.config.update({**ELSEWHERE, "CAPTURE_LINK_DOMAIN": "https://capture.example/oauth/"})
    with pytest.raises(ConfigError) as raised:
        CaptureLink(app)
    assert raised.value.key == "CAPTURE_LINK_DOMAIN"
