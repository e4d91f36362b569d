"""The example site's own pages: what a user sees when Capture ends or cannot refresh their
session (never a 500)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app import account, create_app
from flask_capture_link.emulator import EmulatorServer

from .helpers import REFRESH, stored_tokens
from .processes import free_port


@pytest.fixture
def site(capture_emulator: EmulatorServer) -> Flask:
    settings = capture_emulator.settings()
    config: dict[str, Any] = {k: v for k, v in settings.items() if k.startswith("CAPTURE_LINK_")}
    return create_app({**config, "SECRET_KEY": "example test key", "TESTING": True})


def signed_in(site: Flask, capture_emulator: EmulatorServer, **more: str) -> FlaskClient:
    browser = site.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    answer = browser.post(
        "/login",
        data={
            "csrf_token": csrf.group(1),
            "email": capture_emulator.emulator.demo_email,
            "password": capture_emulator.settings()["DEMO_PASSWORD"],
            **more,
        },
    )
    assert answer.status_code == 303
    return browser


def stored_refresh_token(browser: FlaskClient) -> str:
    stored = stored_tokens(browser)
    assert stored is not None
    assert isinstance(stored.refresh_token, str)
    return stored.refresh_token


def test_a_refused_refresh_shows_the_sign_in_page_with_a_message(
    site: Flask, capture_emulator: EmulatorServer
) -> None:
    browser = signed_in(site, capture_emulator)
    # Another worker spent the refresh token (as in a race): this one's refresh is refused.
    with site.test_request_context("/"):
        capture_link = site.extensions["capture_link"]
        capture_link.client.refresh(
            stored_refresh_token(browser), site.config["CAPTURE_LINK_CLIENT_SECRET"]
        )
    capture_emulator.emulator.expire_access_tokens()
    answer = browser.get("/account")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=")
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert account.SIGN_IN_AGAIN in page


def test_a_refresh_capture_cannot_answer_keeps_the_page(
    site: Flask, capture_emulator: EmulatorServer
) -> None:
    browser = signed_in(site, capture_emulator)
    capture_emulator.emulator.expire_access_tokens()
    capture_emulator.emulator.set_fault(REFRESH, "html_502")
    answer = browser.get("/account")
    assert answer.status_code == 200
    assert account.LIST_UNAVAILABLE in answer.get_data(as_text=True)


def test_a_remembered_user_finds_their_connected_accounts(
    site: Flask, capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    emulator.add_identity(emulator.demo_email, "google", "alice")
    browser = signed_in(site, capture_emulator, remember="yes")
    browser.delete_cookie("session")  # the browser closed; the remember-me cookie stays
    page = browser.get("/account")
    assert page.status_code == 200
    assert "alice" in page.get_data(as_text=True)  # the tokens were kept for the user
    with site.test_request_context():
        storage = site.extensions["capture_link"].token_storage
        key = site.extensions["example_remember_keys"].current(emulator.demo_email)
        owner = f"user:{emulator.demo_email}|{key}"  # the Flask-Login id: email and remember key
        assert storage.load(owner) is not None
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert csrf is not None
    browser.post("/logout", data={"csrf_token": csrf.group(1)})
    with site.test_request_context():
        assert storage.load(owner) is None  # sign-out forgets them


def sign_in_token_url(page: str, provider: str) -> str:
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    button = f'class="capture-link-button capture-link-sign-in capture-link-{provider}"'
    found = re.search(re.escape(button) + r' href="([^"]+)"', page)
    assert found is not None, page
    return parse_qs(urlsplit(unescape(found.group(1))).query)["token_url"][0]


def test_sam_signs_in_with_facebook(site: Flask, capture_emulator: EmulatorServer) -> None:
    from flask_capture_link.testing import deliver_token

    browser = site.test_client()
    url = sign_in_token_url(browser.get("/login").get_data(as_text=True), "facebook")
    token = capture_emulator.emulator.issue_social_token("facebook", "sam-facebook")

    answer = deliver_token(browser, url, token)

    assert answer.status_code == 303
    page = browser.get("/account").get_data(as_text=True)
    assert "sam@example.com" in page
    assert "You are signed in." in page


def test_the_demo_user_merges_demo_google_with_the_password(
    site: Flask, capture_emulator: EmulatorServer
) -> None:
    from flask_capture_link.testing import deliver_token

    emulator = capture_emulator.emulator
    browser = site.test_client()
    url = sign_in_token_url(browser.get("/login").get_data(as_text=True), "google")
    answer = deliver_token(browser, url, emulator.issue_social_token("google", "demo-google"))
    merge_page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Example site" in merge_page  # the site's own layout
    state = re.search(r'name="state" value="([^"]+)"', merge_page)
    assert state is not None

    browser.post(
        "/capture-link/merge",
        data={
            "state": state.group(1),
            "email": emulator.demo_email,
            "password": capture_emulator.settings()["DEMO_PASSWORD"],
        },
    )

    page = browser.get("/account").get_data(as_text=True)
    assert emulator.demo_email in page
    assert [p["domain"] for p in emulator.identities(emulator.demo_email)] == ["google.com"]


def test_a_session_store_that_is_down_answers_503_not_500(
    capture_emulator: EmulatorServer,
) -> None:
    # Redis restarting: no page can load its session. The user is told to try again shortly.
    settings = capture_emulator.settings()
    config: dict[str, Any] = {k: v for k, v in settings.items() if k.startswith("CAPTURE_LINK_")}
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    site = create_app({**config, "SECRET_KEY": "example test key", "EXAMPLE_REDIS_URL": nowhere})

    response = site.test_client().get("/login")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "briefly unavailable" in response.get_data(as_text=True)
