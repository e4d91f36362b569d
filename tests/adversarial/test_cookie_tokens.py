"""Whoever holds a copy of the session cookie (or a dump of the server-side sessions) reads no
token in it.

Flask's cookie session is signed, not encrypted: its payload is base64 (and zlib) that anyone
decodes without the site's key. The user's Registration tokens are in the session, and
Capture's link call needs nothing else (no client secret); read from a copied or remember-me
cookie, they would link an attacker's identity with none of the site's checks. So the attacker
here decodes the cookie the site set, without the key, and looks for the tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask, redirect, render_template_string, request
from flask.testing import FlaskClient
from itsdangerous.encoding import base64_decode

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.client import CaptureClient
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.errors import CaptureError
from flask_capture_link.storage import TOKENS_KEY
from flask_capture_link.testing import deliver_token, find_token_url

from ..helpers import LINK, last_flash, make_site, site_config, stored_tokens

ACCOUNTS = (
    "{% for identity in capture_link_identities() %}<li>{{ identity.domain }}</li>{% endfor %}"
)


def add_pages(app: Flask) -> None:
    """The site's own sign-in, the documented one-liner, and a page listing identities."""

    @app.post("/password")
    def password() -> Any:
        ext = app.extensions["capture_link"]
        ext.store_tokens(ext.client.sign_in(request.form["email"], request.form["password"]))
        return redirect("/account")

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)


def tokens_site(server: EmulatorServer, **config: Any) -> Flask:
    secret = server.emulator.client_secret  # with it, the sign-in gives a refresh token too
    app = make_site(
        site_config(server, CAPTURE_LINK_CLIENT_SECRET=secret, **config),
        before=config.pop("_before", None),
    )
    add_pages(app)
    return app


def sign_in_by_password(browser: FlaskClient, emulator: CaptureEmulator) -> str:
    """Sign in as a user does; the session cookie's value the site set."""
    response = browser.post(
        "/password", data={"email": emulator.demo_email, "password": emulator.demo_password}
    )
    assert response.status_code == 302
    cookie = next(
        (h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")), None
    )
    assert cookie is not None, "the sign-in set no session cookie"
    return cookie.split(";", 1)[0].split("=", 1)[1]


def decoded_without_the_key(value: str) -> str:
    """The cookie's payload as anyone reads it: base64, maybe zlib; no key, no signature
    check."""
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".", 1)[0]
    data = base64_decode(payload)
    if compressed:
        data = zlib.decompress(data)
    text = data.decode("utf-8")
    json.loads(text)  # it is the session, readable
    return text


def pieces(secret: str, size: int = 8) -> Iterator[str]:
    """Every substring of ``size`` characters of ``secret``."""
    for start in range(len(secret) - size + 1):
        yield secret[start : start + size]


def assert_shows_none_of(text: str, secrets: list[str]) -> None:
    """Neither ``text`` nor anything an attacker decodes out of it (every base64 run, as
    itself and inflated) holds 8 characters in a row of a secret."""
    readings = [text, *decodings(text)]
    for secret in secrets:
        assert len(secret) >= 8
        shown = [piece for piece in pieces(secret) for reading in readings if piece in reading]
        assert shown == [], "a piece of a token is readable"


def decodings(text: str) -> Iterator[str]:
    for run in re.findall(r"[A-Za-z0-9_\-+/]{16,}", text):
        for alphabet in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                data = alphabet(run + "=" * (-len(run) % 4))
            except (ValueError, binascii.Error):
                continue
            yield data.decode("latin-1")
            try:
                inflated = zlib.decompress(data)
            except zlib.error:
                continue
            yield inflated.decode("latin-1")


def the_tokens(browser: FlaskClient) -> list[str]:
    """The user's tokens, as the site reads them (with its key)."""
    kept = stored_tokens(browser)
    assert kept is not None
    assert kept.refresh_token is not None
    return [kept.access_token, kept.refresh_token]


# The cookie session ------------------------------------------------------------------------


@pytest.fixture
def site(capture_emulator: EmulatorServer) -> Flask:
    return tokens_site(capture_emulator)


def test_a_copied_cookie_shows_no_token_and_the_site_still_uses_them(
    site: Flask, emulator: CaptureEmulator
) -> None:
    with site.test_client() as browser:
        cookie = sign_in_by_password(browser, emulator)
        tokens = the_tokens(browser)
        text = decoded_without_the_key(cookie)
        assert TOKENS_KEY in text  # the tokens are in there, sealed
        assert_shows_none_of(text, tokens)

        # The site uses them all the same: a link, and the list of identities.
        url = find_token_url(browser.get("/account"), "google")
        deliver_token(browser, url, emulator.issue_social_token("google", "owner"))
        assert last_flash(browser) == ("success", ENGLISH["success"])
        assert "google.com" in browser.get("/accounts").get_data(as_text=True)
        # Every cookie the site set on the way shows none either.
        latest = browser.get_cookie("session")
        assert latest is not None
        assert_shows_none_of(decoded_without_the_key(latest.value), tokens)


def test_what_the_cookie_shows_does_not_link_at_capture(
    site: Flask, emulator: CaptureEmulator, capture: CaptureClient
) -> None:
    with site.test_client() as browser:
        text = decoded_without_the_key(sign_in_by_password(browser, emulator))
    found = strings_in(json.loads(text))
    # And every string in what decodes out of them (a token in base64 would be there).
    found += [s for reading in decodings(text) for s in re.findall(r'"([^"\\]{8,})"', reading)]
    assert found  # the attacker has something to try
    for candidate in found:
        token = emulator.issue_social_token("google", f"attacker-{len(candidate)}")
        with pytest.raises(CaptureError):
            capture.link_account(token, candidate)
    assert [call.stat for call in emulator.calls_to(LINK)] == ["error"] * len(found)
    assert emulator.identities(emulator.demo_email) == []


def strings_in(value: Any) -> list[str]:
    """Every string of a decoded session, keys and tagged values included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*strings_in(key), *strings_in(item))]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


def test_after_a_key_rotation_the_old_keys_tokens_work_with_it_as_a_fallback(
    site: Flask, emulator: CaptureEmulator
) -> None:
    old = site.config["SECRET_KEY"]
    with site.test_client() as browser:
        sign_in_by_password(browser, emulator)
        tokens = the_tokens(browser)
        site.config.update(SECRET_KEY="a new secret key", SECRET_KEY_FALLBACKS=[old])
        url = find_token_url(browser.get("/account"), "google")
        deliver_token(browser, url, emulator.issue_social_token("google", "rotated"))
        assert last_flash(browser) == ("success", ENGLISH["success"])
        # Sealed again with the new key on the way: the old one can go.
        site.config["SECRET_KEY_FALLBACKS"] = []
        assert "google.com" in browser.get("/accounts").get_data(as_text=True)
        assert the_tokens(browser) == tokens


def test_tokens_sealed_under_a_key_rotated_away_are_no_tokens(
    site: Flask, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    old = site.config["SECRET_KEY"]
    with site.test_client() as browser:
        sign_in_by_password(browser, emulator)
        with browser.session_transaction() as stored:
            sealed = stored[TOKENS_KEY]
        # The cookie is signed again with the new key, the tokens stay sealed with the old
        # one; then the old key goes.
        site.config.update(SECRET_KEY="a new secret key", SECRET_KEY_FALLBACKS=[old])
        with browser.session_transaction() as stored:
            stored[TOKENS_KEY] = sealed
        site.config["SECRET_KEY_FALLBACKS"] = ["unrelated"]
        url = find_token_url(browser.get("/account"), "google")
        response = deliver_token(browser, url, emulator.issue_social_token("google", "gone"))
        assert response.status_code == 303
        assert last_flash(browser) == ("error", ENGLISH["missing_access_token"])
    assert emulator.calls_to(LINK) == []
    assert sealed not in caplog.text
    assert "tokens are dropped" in caplog.text


def test_a_tampered_blob_gives_no_tokens_and_no_500(
    site: Flask, emulator: CaptureEmulator
) -> None:
    with site.test_client() as browser:
        sign_in_by_password(browser, emulator)
        url = find_token_url(browser.get("/account"), "google")
        with browser.session_transaction() as stored:
            sealed = stored[TOKENS_KEY]
            stored[TOKENS_KEY] = sealed[:20] + ("B" if sealed[20] == "A" else "A") + sealed[21:]
        assert browser.get("/accounts").status_code == 200  # no identities, no error
        response = deliver_token(browser, url, emulator.issue_social_token("google", "t"))
        assert response.status_code == 303
        assert last_flash(browser) == ("error", ENGLISH["missing_access_token"])
        with browser.session_transaction() as stored:
            assert TOKENS_KEY not in stored  # dropped
    assert emulator.calls_to(LINK) == []


# Server-side sessions ----------------------------------------------------------------------


@pytest.fixture
def redis_site(
    capture_emulator: EmulatorServer, client_of: Callable[[], redis.Redis], prefix: str
) -> Flask:
    from flask_session import Session

    sessions = client_of()

    def server_side_sessions(app: Flask) -> None:
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=sessions, SESSION_KEY_PREFIX=prefix)
        Session(app)

    return tokens_site(capture_emulator, _before=server_side_sessions)


def stored_sessions(redis_site: Flask) -> dict[bytes, bytes]:
    sessions: redis.Redis = redis_site.config["SESSION_REDIS"]
    prefix = redis_site.config["SESSION_KEY_PREFIX"]
    return {key: sessions.get(key) for key in sessions.scan_iter(match=f"{prefix}*")}


def test_a_dump_of_the_redis_sessions_shows_no_token(
    redis_site: Flask, emulator: CaptureEmulator
) -> None:
    with redis_site.test_client() as browser:
        sign_in_by_password(browser, emulator)
        tokens = the_tokens(browser)
        dump = stored_sessions(redis_site)
        assert len(dump) == 1
        (stored,) = dump.values()
        assert TOKENS_KEY.encode() in stored
        assert_shows_none_of(stored.decode("latin-1"), tokens)

        url = find_token_url(browser.get("/account"), "google")
        deliver_token(browser, url, emulator.issue_social_token("google", "server-side"))
        assert last_flash(browser) == ("success", ENGLISH["success"])
        assert "google.com" in browser.get("/accounts").get_data(as_text=True)
        for stored in stored_sessions(redis_site).values():
            assert_shows_none_of(stored.decode("latin-1"), tokens)


def test_a_blob_changed_in_redis_gives_no_tokens_and_no_500(
    redis_site: Flask, emulator: CaptureEmulator
) -> None:
    with redis_site.test_client() as browser:
        sign_in_by_password(browser, emulator)
        url = find_token_url(browser.get("/account"), "google")
        sessions: redis.Redis = redis_site.config["SESSION_REDIS"]
        ((key, stored),) = stored_sessions(redis_site).items()
        # Whoever may write to Redis changes a character of the sealed value.
        at = stored.index(TOKENS_KEY.encode()) + len(TOKENS_KEY) + 30
        changed = stored[:at] + (b"B" if stored[at : at + 1] == b"A" else b"A") + stored[at + 1 :]
        sessions.set(key, changed, keepttl=True)
        response = deliver_token(browser, url, emulator.issue_social_token("google", "r"))
        assert response.status_code == 303
        assert last_flash(browser) == ("error", ENGLISH["missing_access_token"])
    assert emulator.calls_to(LINK) == []
