"""Helpers for a site's own tests, with the ``capture_emulator`` fixture.

A site test that links an identity end to end, as a browser would (docs/testing.md, "Testing
your site", has the whole file, with the app factory and fixtures)::

    from flask_capture_link.testing import deliver_token, find_token_url, flashes, sign_in

    def test_link_google(app, client, capture_emulator):
        emulator = capture_emulator.emulator
        sign_in(client, emulator, emulator.demo_email, user=User(emulator.demo_email))
        token_url = find_token_url(client.get("/account"), "google")
        token = emulator.issue_social_token("google", "alice")
        response = deliver_token(client, token_url, token)
        assert response.status_code == 303
        assert flashes(client)[-1][0] == "success"
        assert emulator.identities(emulator.demo_email)
"""

from __future__ import annotations

import html
import re
import time
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from flask.ctx import RequestContext
from flask.testing import EnvironBuilder, FlaskClient
from werkzeug.test import TestResponse

from . import freshness
from .client.models import PASSWORD, Tokens

_BUTTON_HREF = re.compile(r'class="capture-link-button capture-link-([a-z0-9_]+)" href="([^"]+)"')


class _SignsIn(Protocol):
    def sign_in(self, email: str) -> dict[str, Any]: ...


class _FlaskLoginUser(Protocol):
    def get_id(self) -> Any: ...


def find_token_url(page: str | TestResponse, provider: str | None = None) -> str:
    """The token URL of the first link button in ``page`` (of ``provider``, if given).

    ``page`` is the response of a page (``client.get("/account")``) or its HTML. Given the
    response, a missing button is reported with what came back instead: the status, and where
    a redirect led (often the site's sign-in page: see :func:`sign_in`'s ``user``).

    :raises AssertionError: when the page has no such button.
    """
    page_html = page if isinstance(page, str) else page.get_data(as_text=True)
    for found_provider, href in _BUTTON_HREF.findall(page_html):
        if provider is None or found_provider == provider:
            query = parse_qs(urlsplit(html.unescape(href)).query)
            return query["token_url"][0]
    wanted = f"no capture_link_button{f' for {provider}' if provider else ''}"
    raise AssertionError(f"{wanted} in {_what_came_back(page)}")


def _what_came_back(page: str | TestResponse) -> str:
    if isinstance(page, str):
        return f"the page given ({len(page)} characters; pass the response to see its status)"
    described = f"the page that came back: {page.status}"
    location = page.headers.get("Location")
    if location:
        described += f", Location: {location}"
    if 300 <= page.status_code < 400:
        described += (
            " (a redirect, to sign-in? if the page needs the site's own user, sign them in "
            "too: sign_in(client, emulator, email, user=...))"
        )
    return described


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
    client: FlaskClient,
    emulator: _SignsIn,
    email: str,
    *,
    user: _FlaskLoginUser | str | None = None,
    fresh: bool = True,
    session_key: str | None = None,
    by_password: bool = True,
) -> dict[str, Any]:
    """Sign ``email`` in to the emulator and keep the tokens with
    :meth:`CaptureLink.store_tokens`, in a request of the client's session: they land where
    the app's :attr:`~CaptureLink.token_storage` keeps them (by default sealed in the client's
    session), and the sign-in is
    recorded in the session. Returns the emulator's answer.

    ``user`` signs in the site's own user too, as Flask-Login's ``login_user`` would: give
    the user object your ``user_loader`` returns for this account (or its id), and pages behind
    ``login_required`` open. Without ``user``, only the Capture tokens are stored: a site whose
    pages need a Flask-Login user redirects the client to its sign-in page.
    ``fresh=False`` makes the sign-in non-fresh (as after "remember me", or long ago), so link
    and unlink ask to confirm the password first.
    ``session_key`` also stores the access token under that key (for a site that reads it
    from there with its own ``access_token_loader``).
    ``by_password=False`` makes it a sign-in that is not by password (with a linked identity,
    or the site's own): the default rule then keeps the last identity from being unlinked.

    A storage that keys tokens by the Flask-Login user finds ``user`` signed in already.

    :raises ValueError: for ``user`` on an app without Flask-Login's ``LoginManager``.
    """
    app = client.application
    answer = emulator.sign_in(email)
    tokens = Tokens.from_answer(
        answer, now=time.time(), obtained_by=PASSWORD if by_password else None
    )
    identifier = _session_identifier(client) if user is not None else None
    with client.session_transaction() as session:
        if user is not None:
            # What flask_login.login_user writes.
            session["_user_id"] = user if isinstance(user, str) else str(user.get_id())
            session["_fresh"] = fresh
            session["_id"] = identifier
            freshness.record_flask_login(session, fresh=fresh)  # as its user_logged_in
        # A request of the client's own session (and a new app context: no user cached in
        # ``g``), so that the tokens go where the app's storage keeps them.
        with app.app_context(), RequestContext(app, _environ(client), session=session):
            app.extensions["capture_link"].store_tokens(tokens)
            if not fresh:
                freshness.record(session, tokens, now=0.0)
        if session_key is not None:
            session[session_key] = tokens.access_token
    return answer


def _environ(client: FlaskClient) -> dict[str, Any]:
    """The WSGI environment of a request of ``client`` (its address and user agent)."""
    builder = EnvironBuilder(
        client.application, environ_base=getattr(client, "environ_base", None)
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _session_identifier(client: FlaskClient) -> str:
    """Flask-Login's identifier of the client's session (its address and user agent), so its
    session protection finds the sign-in unchanged."""
    app = client.application
    manager = getattr(app, "login_manager", None)
    if manager is None:
        raise ValueError(
            "sign_in(user=...) signs in a Flask-Login user, but this app has no LoginManager"
        )
    with app.request_context(_environ(client)):
        return str(manager._session_identifier_generator())


def unlink(
    client: FlaskClient, page: str | TestResponse, identifier: str | None = None
) -> TestResponse:
    """Press the unlink button of ``identifier`` (an identity's ``identifier``; ``None``: the
    first) on ``page`` (a response, or its HTML), as a browser would: the form's POST, with its
    state. Returns the response (a redirect, the outcome flashed)::

        page = client.get("/account")
        response = unlink(client, page, "https://google.com/alice")
        assert flashes(client)[-1][0] == "success"

    :raises AssertionError: when the page has no such button that can be pressed (saying
        whether it is disabled, or leads to confirming the password first).
    """
    page_html = page if isinstance(page, str) else page.get_data(as_text=True)
    for form in _UNLINK_FORM.finditer(page_html):
        classes, action, body = form.group(1), html.unescape(form.group(2)), form.group(3)
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(body)}
        if "capture-link-reauthenticate" in classes:
            if identifier is None:
                raise AssertionError(
                    "the unlink button leads to confirming the password first: the session is "
                    "not fresh (sign_in(..., fresh=True))"
                )
            continue
        if identifier is None or fields.get("identifier") == identifier:
            return client.post(action, data=fields)
    described = f"no unlink button{f' for {identifier!r}' if identifier else ''}"
    if "capture-link-unlink-disabled" in page_html:
        described += (
            " that can be pressed: the page has a disabled one (the last way into an account "
            "whose session did not sign in by password, see unlink_allowed)"
        )
    raise AssertionError(f"{described} in {_what_came_back(page)}")


_UNLINK_FORM = re.compile(
    r'<form class="(capture-link-unlink[^"]*)" method="[a-z]+" action="([^"]*)">(.*?)</form>',
    re.S,
)
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def flashes(client: FlaskClient) -> list[tuple[str, str]]:
    """The ``(category, message)`` pairs flashed and not yet shown."""
    with client.session_transaction() as session:
        return [(str(item[0]), str(item[1])) for item in session.get("_flashes", [])]
