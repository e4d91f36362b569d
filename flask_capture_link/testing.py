"""Helpers for a site's own tests, with the ``capture_emulator`` fixture.

A site test that links an identity end to end, as a browser would::

    from flask_capture_link.testing import deliver_token, find_token_url, flashes, sign_in

    def test_link_google(app, client, capture_emulator):
        emulator = capture_emulator.emulator
        sign_in(client, emulator, emulator.demo_email)
        token_url = find_token_url(client.get("/account").get_data(as_text=True))
        token = emulator.issue_social_token("google", "alice")
        response = deliver_token(client, token_url, token)
        assert response.status_code == 303
        assert flashes(client)[-1][0] == "success"
        assert emulator.identities(emulator.demo_email)
"""

from __future__ import annotations

import html
import re
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_BUTTON_HREF = re.compile(r'class="capture-link-button capture-link-([a-z0-9_]+)" href="([^"]+)"')


class _SignsIn(Protocol):
    def sign_in(self, email: str) -> dict[str, Any]: ...


def find_token_url(page_html: str, provider: str | None = None) -> str:
    """The token URL of the first link button in ``page_html`` (of ``provider``, if given)."""
    for found_provider, href in _BUTTON_HREF.findall(page_html):
        if provider is None or found_provider == provider:
            query = parse_qs(urlsplit(html.unescape(href)).query)
            return query["token_url"][0]
    raise AssertionError(f"no capture_link_button{f' for {provider}' if provider else ''}")


def deliver_token(
    client: FlaskClient, token_url: str, token: str | None, *, method: str = "POST"
) -> TestResponse:
    """Deliver a Social Login token to ``token_url`` as Social Login does: a form POST with
    the single field ``token`` (or a GET with ``token`` in the query; ``None``: a cancel)."""
    parts = urlsplit(token_url)
    if method == "GET":
        query = parse_qs(parts.query)
        if token is not None:
            query["token"] = [token]
        return client.get(parts.path, query_string=query)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return client.post(path, data={"token": token} if token is not None else {})


def sign_in(
    client: FlaskClient, emulator: _SignsIn, email: str, *, session_key: str | None = None
) -> dict[str, Any]:
    """Put fresh emulator tokens for ``email`` in the client's session, as
    ``CaptureLink.store_tokens`` would after a sign-in with email and password (so the session
    is fresh for ``CAPTURE_LINK_FRESH_FOR`` seconds). Returns the emulator's answer."""
    import secrets
    import time

    from . import freshness
    from .config import EXPIRES_AT_SESSION_KEY, REFRESH_TOKEN_SESSION_KEY, SESSION_KEY
    from .models import PASSWORD, Tokens
    from .token_store import SIGN_IN_KEY

    answer = emulator.sign_in(email)
    with client.session_transaction() as session:
        session[session_key or SESSION_KEY] = answer["access_token"]
        session[REFRESH_TOKEN_SESSION_KEY] = answer["refresh_token"]
        session[EXPIRES_AT_SESSION_KEY] = time.time() + float(answer["expires_in"])
        session[SIGN_IN_KEY] = secrets.token_urlsafe(16)
        freshness.record(session, Tokens(answer["access_token"], obtained_by=PASSWORD))
    return answer


def flashes(client: FlaskClient) -> list[tuple[str, str]]:
    """The ``(category, message)`` pairs flashed and not yet shown."""
    with client.session_transaction() as session:
        return [(str(item[0]), str(item[1])) for item in session.get("_flashes", [])]
