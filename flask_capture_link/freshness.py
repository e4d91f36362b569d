"""Fresh sign-ins: linking and unlinking are sensitive actions.

Adding a sign-in method is how a stolen session becomes a permanent account takeover: whoever
holds a victim's session for a moment (a restored remember-me cookie, a shared computer) links
their own identity and signs in as the victim from then on. So, with
``CAPTURE_LINK_REQUIRE_FRESH``, link and unlink need a *fresh* sign-in:

* with Flask-Login (a user signed in through it), Flask-Login's own notion,
  :func:`flask_login.login_fresh` (a session restored from a remember-me cookie is not fresh),
  and a fresh ``login_user`` less than ``CAPTURE_LINK_FRESH_FOR`` seconds ago: Flask-Login's
  ``_fresh`` never ends by itself, so the moment of each fresh sign-in is noted on its
  ``user_logged_in`` signal (:func:`flask_login_signed_in`), and a session fresh with no moment
  noted counts as stale;
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
``CAPTURE_LINK_LOGIN_URL``, else its ``login_view``) with ``next`` back to the page (see
:func:`flask_capture_link.redirects.sign_in_url`).

Whenever Flask-Login signs a user in, by password or from the remember cookie, the session
gets a new id where the session interface can give one (Flask-Session): an id planted in the
browser before (session fixation) is then nobody's.

The sign-in record lives in the extension's one session record (``_capture_link``):
``id`` (the random sign-in id), ``at`` (when; ``None`` for tokens from a refresh) and ``pw``
(whether by password), and ``fl``, when Flask-Login last signed the user in fresh.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, session

from . import integrations
from .client.models import PASSWORD, REFRESH, Tokens
from .state import session_record, update_record


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
    update_record(session, id=secrets.token_urlsafe(16), at=at, pw=tokens.obtained_by == PASSWORD)


def forget(session: MutableMapping[str, Any]) -> None:
    """Drop the sign-in record (the tokens are gone)."""
    update_record(session, remove=("id", "at", "pw"))


def sign_in_id(session: MutableMapping[str, Any]) -> str | None:
    """The random id of the sign-in that :func:`record` noted: unlike the access token, it
    survives a refresh, so link states bound to it do too."""
    found = session_record(session).get("id")
    return found if isinstance(found, str) and found else None


def signed_in(session: MutableMapping[str, Any]) -> SignIn | None:
    """The sign-in record, or ``None`` when ``store_tokens`` did not store the tokens."""
    found = session_record(session)
    if "id" not in found:
        return None
    at = found.get("at")
    if not isinstance(at, (int, float)) or isinstance(at, bool):
        at = None
    return SignIn(at=at, password=found.get("pw") is True)


def is_fresh() -> bool:
    """Whether this session may link and unlink now (see the module's docstring)."""
    if not current_app.config["CAPTURE_LINK_REQUIRE_FRESH"]:
        return True
    if integrations.flask_login_user_id() is not None:
        return integrations.flask_login_fresh() and _recent(session_record(session).get("fl"))
    found = signed_in(session)
    if found is None:  # the site hands the access token over itself: it cannot be told
        return True
    return _recent(found.at)


def _recent(at: object) -> bool:
    """Whether ``at`` (a Unix time) is less than ``CAPTURE_LINK_FRESH_FOR`` seconds ago."""
    if not isinstance(at, (int, float)) or isinstance(at, bool):
        return False
    fresh_for = float(current_app.config["CAPTURE_LINK_FRESH_FOR"])
    return 0 <= time.time() - at < fresh_for


def flask_login_signed_in(app: object, **extra: Any) -> None:
    """Flask-Login signed a user in (``login_user``): note the moment when the sign-in is
    fresh (forget it when not), and give the session a new id."""
    record_flask_login(session, fresh=session.get("_fresh") is True)
    integrations.regenerate_session_id()


def record_flask_login(session: MutableMapping[str, Any], *, fresh: bool) -> None:
    """Note that Flask-Login signed a user in now, fresh or not (a sign-in that is not fresh
    drops the moment of an earlier fresh one)."""
    if fresh:
        update_record(session, fl=time.time())
    else:
        update_record(session, remove=("fl",))


def flask_login_restored(app: object, **extra: Any) -> None:
    """Flask-Login restored a user from the remember cookie: not fresh, and a new session
    id."""
    record_flask_login(session, fresh=False)
    integrations.regenerate_session_id()


def signed_in_with_password() -> bool:
    """Whether the tokens in the session came from a sign-in with email and password (so the
    account has a password to sign in with)."""
    found = signed_in(session)
    return found is not None and found.password
