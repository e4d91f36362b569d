"""Fresh sign-ins: linking and unlinking are sensitive actions.

Adding a sign-in method is how a stolen session becomes a permanent account takeover: whoever
holds a victim's session for a moment (a restored remember-me cookie, a shared computer) links
their own identity and signs in as the victim from then on. So, with
``CAPTURE_LINK_REQUIRE_FRESH``, link and unlink need a *fresh* sign-in:

* with Flask-Login (a user signed in through it), Flask-Login's own notion,
  :func:`flask_login.login_fresh`: a session restored from a remember-me cookie is not fresh;
* otherwise, when :meth:`CaptureLink.store_tokens` stored the tokens: they came from a sign-in
  (not a refresh) less than ``CAPTURE_LINK_FRESH_FOR`` seconds ago;
* otherwise the site hands the access token over itself (its own session key, an
  ``access_token_loader``) and the extension cannot tell: the change is allowed, and
  ``flask capture-link check`` says so.

The sign-in record (when and how, and a random sign-in id that link states are bound to when
the site has no Flask-Login user) is kept in the browser's session whatever
:class:`~flask_capture_link.storage.TokenStorage` keeps the tokens: it is this browser's
sign-in, and a fresh sign-in elsewhere must not make this session fresh.

A session that is not fresh is sent to re-authenticate: Flask-Login's ``refresh_view`` (else
its ``login_view``, else ``CAPTURE_LINK_LOGIN_URL``) with ``next`` back to the page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, current_app, session

from .models import PASSWORD, REFRESH, Tokens

#: Session key of the sign-in record that :func:`record` writes.
SIGNED_IN_KEY = "_capture_link_signed_in"

#: Session key of the sign-in id that :func:`record` writes (see :func:`sign_in_id`).
SIGN_IN_KEY = "_capture_link_sign_in"


@dataclass(frozen=True)
class SignIn:
    """How and when the tokens in the session were got: ``at`` is the Unix time of the
    sign-in (``None`` for tokens from a refresh), ``password`` whether it was a sign-in with
    email and password."""

    at: float | None
    password: bool


def record(session: MutableMapping[str, Any], tokens: Tokens, *, now: float | None = None) -> None:
    """Note a new sign-in that stored ``tokens``, with a new random sign-in id: tokens from a
    refresh note no sign-in time, so they never make a session fresh."""
    at = None if tokens.obtained_by == REFRESH else (time.time() if now is None else now)
    session[SIGN_IN_KEY] = secrets.token_urlsafe(16)
    session[SIGNED_IN_KEY] = {"at": at, "password": tokens.obtained_by == PASSWORD}


def forget(session: MutableMapping[str, Any]) -> None:
    """Drop the sign-in record (the tokens are gone)."""
    session.pop(SIGN_IN_KEY, None)
    session.pop(SIGNED_IN_KEY, None)


def sign_in_id(session: MutableMapping[str, Any]) -> str | None:
    """The random id of the sign-in that :func:`record` noted: unlike the access token, it
    survives a refresh, so link states bound to it do too."""
    found = session.get(SIGN_IN_KEY)
    return found if isinstance(found, str) and found else None


def signed_in(session: MutableMapping[str, Any]) -> SignIn | None:
    """The sign-in record, or ``None`` when ``store_tokens`` did not store the tokens."""
    found = session.get(SIGNED_IN_KEY)
    if not isinstance(found, dict):
        return None
    at = found.get("at")
    if not isinstance(at, (int, float)) or isinstance(at, bool):
        at = None
    return SignIn(at=at, password=found.get("password") is True)


def uses_flask_login() -> bool:
    """Whether a user is signed in through Flask-Login (whose freshness then decides)."""
    if not hasattr(current_app, "login_manager"):
        return False
    from flask_login import current_user

    return bool(current_user.is_authenticated)


def is_fresh() -> bool:
    """Whether this session may link and unlink now (see the module's docstring)."""
    if not current_app.config["CAPTURE_LINK_REQUIRE_FRESH"]:
        return True
    if uses_flask_login():
        from flask_login import login_fresh

        return bool(login_fresh())
    found = signed_in(session)
    if found is None:  # the site hands the access token over itself: it cannot be told
        return True
    fresh_for = float(current_app.config["CAPTURE_LINK_FRESH_FOR"])
    return found.at is not None and 0 <= time.time() - found.at < fresh_for


def signed_in_with_password() -> bool:
    """Whether the tokens in the session came from a sign-in with email and password (so the
    account has a password to sign in with)."""
    found = signed_in(session)
    return found is not None and found.password


def reauthentication_url(next: str) -> str:
    """Where a session that is not fresh confirms its password, coming back to ``next`` (a
    safe path): Flask-Login's ``refresh_view``, else its ``login_view``, else
    ``CAPTURE_LINK_LOGIN_URL``, else ``/``."""
    manager = getattr(current_app, "login_manager", None)
    view = manager and (manager.refresh_view or manager.login_view)
    if view:
        from flask_login import login_url

        return str(login_url(view, next_url=next))
    configured = current_app.config["CAPTURE_LINK_LOGIN_URL"]
    if not configured:
        return "/"
    parts = urlsplit(str(configured))
    query = "&".join(filter(None, (parts.query, urlencode({"next": next}))))
    return urlunsplit(parts._replace(query=query))


def describe(
    app: Flask, *, uses_access_token_loader: bool, token_storage: str | None = None
) -> list[str]:
    """What ``flask capture-link check`` says about freshness for ``app``: whether it is
    enforced, and how to enforce it where it is not. ``token_storage`` names the site's own
    :class:`~flask_capture_link.storage.TokenStorage` (``None``: the session's)."""
    fresh_for = app.config["CAPTURE_LINK_FRESH_FOR"]
    if not app.config["CAPTURE_LINK_REQUIRE_FRESH"]:
        return [
            "freshness: NOT enforced (CAPTURE_LINK_REQUIRE_FRESH = False): a stolen or "
            "remembered session can link and unlink; set it to True to ask for a fresh sign-in"
        ]
    manager = getattr(app, "login_manager", None)
    if manager is not None:
        lines = [
            "freshness: Flask-Login's login_fresh() for its users (a session restored from a "
            "remember-me cookie confirms its password before link and unlink)"
        ]
        if not manager.refresh_view and not manager.needs_refresh_callback:
            lines.append(
                "freshness: login_manager.refresh_view is not set; users confirm their "
                "password at the login_view meanwhile"
            )
    else:
        lines = []
    # Without a Flask-Login user (none signed in, or no Flask-Login), store_tokens decides.
    others = "without a Flask-Login user, " if manager is not None else ""
    how = (
        "to enforce it, "
        + ("" if manager is not None else "sign users in with Flask-Login, or ")
        + "keep their tokens with "
        "capture_link.store_tokens(capture_link.client.sign_in(email, password))"
    )
    if uses_access_token_loader:
        lines.append(
            "freshness: NOT enforced where the access token comes from access_token_loader "
            f"without a Flask-Login user (the extension cannot tell when they signed in); {how}"
        )
    else:
        if token_storage is None:
            elsewhere = (
                "tokens the site puts in "
                f"session[{app.config['CAPTURE_LINK_SESSION_KEY']!r}] itself"
            )
        else:
            elsewhere = f"tokens that reach the site's {token_storage} other than by store_tokens"
        lines.append(
            f"freshness: {others}link and unlink need a sign-in stored with store_tokens less "
            f"than {fresh_for} s ago; {elsewhere} carry no sign-in time and are not checked "
            f"(if your site has such tokens: {how})"
        )
    return lines
