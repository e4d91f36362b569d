"""An identity Capture refuses as already linked: a message that is true wherever it is."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link.catalog import ENGLISH, SPANISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url, sign_in
from flask_capture_link.views.flow import is_of_provider

from ..helpers import LINK, last_flash, make_site, site_config

LISTED = ENGLISH["unique_violation_listed"].replace("{provider}", "Google")


def link(
    client: FlaskClient, emulator: CaptureEmulator, provider: str, account: str
) -> tuple[str, str]:
    url = find_token_url(client.get("/account").get_data(as_text=True), provider)
    deliver_token(client, url, emulator.issue_social_token(provider, account))
    return last_flash(client)


def test_the_general_message_is_true_wherever_the_identity_is() -> None:
    text = ENGLISH["unique_violation"]
    assert "yours or another one" in text
    assert "another profile" not in text.split("(")[0]  # no claim that it is someone else's


def test_identity_already_on_this_account_may_be_the_listed_one(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "alice")
    assert link(client, emulator, "google", "alice") == ("error", LISTED)
    assert "may be the Google account already listed" in LISTED
    assert len(emulator.calls_to(LINK)) == 1


def test_same_provider_on_this_account_identity_elsewhere(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "alice")
    emulator.add_user("other@example.com", "pw")
    emulator.add_identity("other@example.com", "google", "bob")
    assert link(client, emulator, "google", "bob") == ("error", LISTED)


def test_no_identity_of_that_provider_gets_the_general_message(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    emulator.add_identity(emulator.demo_email, "facebook", "alice")
    emulator.add_user("other@example.com", "pw")
    emulator.add_identity("other@example.com", "google", "bob")
    assert link(client, emulator, "google", "bob") == ("error", ENGLISH["unique_violation"])


def test_a_token_url_without_provider_gets_the_general_message(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "alice")

    @app.route("/plain")
    def plain() -> str:
        return render_template_string("{{ capture_link_token_url() }}")

    url = client.get("/plain").get_data(as_text=True)
    deliver_token(client, url, emulator.issue_social_token("google", "alice"))
    assert last_flash(client) == ("error", ENGLISH["unique_violation"])


def test_the_listed_message_in_the_users_language(capture_emulator: EmulatorServer) -> None:
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_LOCALE="es-ES"))
    emulator.add_identity(emulator.demo_email, "google", "alice")
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        expected = SPANISH["unique_violation_listed"].replace("{provider}", "Google")
        assert link(client, emulator, "google", "alice") == ("error", expected)


@pytest.mark.parametrize(
    ("domain", "provider", "of"),
    [
        ("google.com", "google", True),
        ("www.facebook.com", "facebook", True),
        ("facebook.com", "google", False),
        ("live.com", "microsoft", True),
        ("x.com", "twitter", True),
        ("acme.example", "acme", True),
        ("googleusercontent.com", "google", False),
    ],
)
def test_is_of_provider(domain: str, provider: str, of: bool) -> None:
    assert is_of_provider(domain, provider) is of


def test_token_url_refuses_a_provider_social_login_would_not_have(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="provider"):
        render_template_string('{{ capture_link_token_url(provider="../x") }}')
