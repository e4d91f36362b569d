"""Refreshing the stored tokens: before expiry, on 414, a refresh token spent once (concurrent
refreshes share one call), and what a refused refresh leaves behind."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link import signals
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.client.models import Tokens
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import (
    LINK,
    REFRESH,
    change_tokens,
    last_flash,
    make_site,
    session_tokens,
    site_config,
    stored_tokens,
)


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    secret = capture_emulator.emulator.client_secret
    app = make_site(
        site_config(
            capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret, CAPTURE_LINK_LOGIN_URL="/sign-in"
        )
    )

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(
            "{% for i in capture_link_identities() %}<li>{{ i.domain }}</li>{% endfor %}"
        )

    return app


def stored(client: FlaskClient) -> Tokens:
    """The tokens kept in the client's session; none: empty ones."""
    return stored_tokens(client) or Tokens(access_token="")


def test_refresh_before_expiry(app: Flask, client: FlaskClient, emulator: CaptureEmulator) -> None:
    answer = sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.advance_clock(3600 - 30)  # inside the refresh leeway
    session_tokens(client, expires_at=time.time() + 30)
    refreshed: list[Any] = []
    with signals.access_token_refreshed.connected_to(lambda s, **kw: refreshed.append(kw), app):
        deliver_token(client, url, emulator.issue_social_token("google", "a"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.calls_to(REFRESH)) == 1
    assert [c.stat for c in emulator.calls_to(LINK)] == ["ok"]  # refreshed before the call
    assert stored(client).access_token != answer["access_token"]
    assert stored(client).refresh_token != answer["refresh_token"]
    assert len(refreshed) == 1
    assert answer["access_token"] not in repr(refreshed)


def test_refresh_on_expired_answer_then_retry(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.expire_access_tokens()  # Capture says 414 although our clock says fine
    deliver_token(client, url, emulator.issue_social_token("google", "b"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert [c.code for c in emulator.calls_to(LINK)] == [414, None]
    assert len(emulator.calls_to(REFRESH)) == 1
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_used_refresh_token_signs_out_cleanly(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    answer = sign_in(client, emulator, emulator.demo_email)
    with app.test_request_context("/"):
        app.extensions["capture_link"].client.refresh(
            answer["refresh_token"], emulator.client_secret
        )  # someone else spent it
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.expire_access_tokens()
    response = deliver_token(client, url, emulator.issue_social_token("google", "c"))
    assert response.headers["Location"] == "/sign-in"
    assert last_flash(client) == ("error", ENGLISH["access_token_expired"])
    assert stored(client).refresh_token is None
    assert emulator.identities(emulator.demo_email) == []


def test_no_secret_means_sign_in_again(capture_emulator: EmulatorServer) -> None:
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator))
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        emulator.expire_access_tokens()
        deliver_token(client, url, emulator.issue_social_token("google", "d"))
        assert last_flash(client) == ("error", ENGLISH["session_expired"])
    assert emulator.calls_to(REFRESH) == []


def test_concurrent_refresh_in_one_session_spends_the_refresh_token_once(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    emulator.add_identity(emulator.demo_email, "google", "e")
    session_tokens(client, expires_at=time.time() - 1)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    emulator.set_fault(REFRESH, "latency", seconds=0.3)  # both requests meet the refresh

    pages: list[str] = []
    barrier = threading.Barrier(2)

    def tab() -> None:
        with app.test_client() as other:
            other.set_cookie(cookie.key, cookie.value)
            barrier.wait()
            pages.append(other.get("/accounts").get_data(as_text=True))

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    emulator.clear_faults()
    assert pages == ["<li>google.com</li>", "<li>google.com</li>"]
    assert len(emulator.calls_to(REFRESH)) == 1


def test_new_tokens_replace_all_of_the_previous_users(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    """B signs in on A's session with tokens that carry no refresh token: a 414 must not be
    refreshed with A's refresh token (that would link B's identity to A's account)."""
    emulator.add_user("b@example.com", "pw")
    sign_in(client, emulator, emulator.demo_email)  # A, with a refresh token
    b_access_token = emulator.sign_in("b@example.com")["access_token"]

    @app.route("/b-signs-in")
    def b_signs_in() -> str:
        app.extensions["capture_link"].store_tokens(Tokens(access_token=b_access_token))
        return "ok"

    client.get("/b-signs-in")
    assert stored(client).refresh_token is None
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.expire_access_tokens("b@example.com")
    deliver_token(client, url, emulator.issue_social_token("google", "b-google"))
    assert last_flash(client) == ("error", ENGLISH["session_expired"])
    assert emulator.calls_to(REFRESH) == []
    assert emulator.identities(emulator.demo_email) == []


def test_a_refresh_between_button_and_token_keeps_the_state_valid(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    session_tokens(client, expires_at=time.time() - 1)
    client.get("/accounts")  # another tab refreshes the access token
    assert len(emulator.calls_to(REFRESH)) == 1
    deliver_token(client, url, emulator.issue_social_token("google", "after-refresh"))
    assert last_flash(client) == ("success", ENGLISH["success"])


EXPIRY_AS_INVALID_ARGUMENT = {
    "stat": "error",
    "code": 200,
    "error": "invalid_argument",
    "argument_name": "access_token",
    "error_description": "access_token is expired",
    "request_id": "x7c2mq9v4kp1dz8a",
}


def test_expiry_reported_as_invalid_argument_is_refreshed_and_retried(
    app: Flask, client: Any, emulator: CaptureEmulator
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.answer_next(LINK, EXPIRY_AS_INVALID_ARGUMENT)  # Janrain's own examples' shape
    deliver_token(client, url, emulator.issue_social_token("google", "iv"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.calls_to(REFRESH)) == 1
    assert len(emulator.calls_to(LINK)) == 2  # refused once, then linked with the new token
    assert len(emulator.identities(emulator.demo_email)) == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"stat": "error", "code": 500, "error": "unexpected_error", "error_description": "x"},
            "unavailable",
        ),
        (
            {"stat": "error", "code": 510, "error": "api_limit_error", "error_description": "x"},
            "api_limit_error",
        ),
    ],
    ids=["unexpected_error", "api_limit_error"],
)
def test_a_refresh_capture_cannot_answer_keeps_the_tokens(
    app: Flask, client: Any, emulator: CaptureEmulator, answer: dict[str, Any], message: str
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.expire_access_tokens()
    emulator.answer_next(REFRESH, answer)
    response = deliver_token(client, url, emulator.issue_social_token("google", "t1"))
    assert response.headers["Location"] != "/sign-in"  # not signed out
    assert last_flash(client)[1] == ENGLISH[message]
    # The refresh token was not spent: the next try refreshes with it and links.
    url = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, url, emulator.issue_social_token("google", "t2"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_a_failed_refresh_ahead_of_expiry_goes_on_with_the_access_token(
    app: Flask, client: Any, emulator: CaptureEmulator
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    change_tokens(client, expires_at=time.time() + 30)  # inside the refresh leeway
    emulator.set_fault(REFRESH, "html_502", times=1)
    deliver_token(client, url, emulator.issue_social_token("google", "t3"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.calls_to(REFRESH)) == 1
    assert [c.stat for c in emulator.calls_to(LINK)] == ["ok"]


def test_an_expired_sign_in_without_refresh_token_is_not_sent_to_capture(
    capture_emulator: EmulatorServer,
) -> None:
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_LOGIN_URL="/sign-in"))
    with app.test_client() as client:
        with app.test_request_context("/"):
            ext = app.extensions["capture_link"]
            tokens = ext.client.sign_in(emulator.demo_email, emulator.demo_password)
        assert tokens.refresh_token is None  # no client secret: an access token only
        sign_in(client, emulator, emulator.demo_email)
        change_tokens(client, refresh_token=None, expires_at=time.time() - 1)
        url = find_token_url(client.get("/").get_data(as_text=True))
        response = deliver_token(client, url, emulator.issue_social_token("google", "t4"))
        assert response.headers["Location"] == "/sign-in"
        assert last_flash(client) == ("error", ENGLISH["session_expired"])
    assert emulator.calls_to(LINK) == []
    assert emulator.calls_to(REFRESH) == []
