"""Signing in with an Identity Cloud email and password, and signing out.

There is no user database: the signed-in user is their email address, which Flask-Login keeps
in the session, and their Capture tokens sit beside it (see ``capture_link.store_tokens``), so
every worker that can open the session (cookie, or Redis with ``EXAMPLE_REDIS_URL``) finds them.

"Remember me" keeps the user signed in to the site after the browser drops its session:
Flask-Login restores the user from its remember cookie, and the user's tokens are where the
extension's token storage keeps them for that user, on the server (:mod:`example_app.tokens`,
or Redis). The cookie carries the user's current *remember key* (:class:`RememberKeys`) beside
the email address, and signing out replaces the key: every remember cookie of the user (a copy
left on a shared computer included) and every session signed in with the old key are then
nobody's. A restored session is not fresh: to link or unlink, the user confirms their password
first (``refresh_view``). The extension gives the session a new id whenever Flask-Login signs a
user in (with Flask-Session).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user, login_user, logout_user

from flask_capture_link import CaptureError, Tokens
from flask_capture_link.errors import InvalidCredentials

from .extensions import capture_link, login_manager

blueprint = Blueprint("auth", __name__)

SIGN_IN_UNAVAILABLE = "We could not sign you in right now. Please try again in a few minutes."
MISSING_FIELDS = "Enter your email address and password."
SIGNED_OUT = "You are signed out."


class User(UserMixin):  # type: ignore[misc]
    """A signed-in user, known by email address, with the remember key they signed in with."""

    def __init__(self, email: str, remember_key: str) -> None:
        self.email = email
        self.remember_key = remember_key

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session and the remember cookie: the email address
        and the user's remember key, so that a new key ends both."""
        return f"{self.email}|{self.remember_key}"


class RememberKeys:
    """Each user's current remember key, by email address: in Redis when the site has one
    (every worker and machine must see the same key), else in this process's memory (the
    one-process demo). A key is made at the user's first sign-in and replaced at sign-out."""

    def __init__(self, redis_url: str | None) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}
        self._redis: Any = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)

    def current(self, email: str) -> str | None:
        """The user's key, or ``None`` when they have none (signed out since)."""
        if self._redis is not None:
            found = self._redis.get(self._name(email))
            return found.decode() if isinstance(found, bytes) else None
        with self._lock:
            return self._keys.get(email)

    def issue(self, email: str) -> str:
        """The user's key, made now when they have none."""
        key = secrets.token_urlsafe(24)
        if self._redis is not None:
            self._redis.set(self._name(email), key, nx=True)  # a key made meanwhile stays
            return self.current(email) or key
        with self._lock:
            return self._keys.setdefault(email, key)

    def replace(self, email: str) -> None:
        """End every remember cookie and session of the user: the next sign-in makes a new
        key."""
        if self._redis is not None:
            self._redis.delete(self._name(email))
            return
        with self._lock:
            self._keys.pop(email, None)

    @staticmethod
    def _name(email: str) -> str:
        return "example:remember:" + hashlib.sha256(email.encode()).hexdigest()


def remember_keys() -> RememberKeys:
    """The current app's :class:`RememberKeys`."""
    keys: RememberKeys = current_app.extensions["example_remember_keys"]
    return keys


def init_app(app: Flask) -> None:
    """Keep ``app``'s remember keys in its Redis (sessions' or link states'), if it has one."""
    url = app.config["EXAMPLE_REDIS_URL"] or app.config.get("CAPTURE_LINK_REDIS_URL")
    app.extensions["example_remember_keys"] = RememberKeys(url)


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load_user(user_id: str) -> User | None:
    """The user whose email address the session (or remember cookie) holds, if it also holds
    the user's current remember key."""
    email, _, key = user_id.rpartition("|")
    current = remember_keys().current(email) if "@" in email and key else None
    if current is None or not hmac.compare_digest(current, key):
        return None
    return User(email, key)


def safe_path(value: str | None) -> str | None:
    """``value`` when it is a path on this site (so never an open redirect), else ``None``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(char == "\\" or not char.isprintable() for char in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form. It also serves a signed-in user whose access token was dropped: the
    extension sends them here, with ``next``, to get fresh tokens."""
    next_path = safe_path(request.values.get("next"))
    if request.method == "GET":
        email = current_user.email if current_user.is_authenticated else ""
        return render_template("login.html", email=email, next=next_path)

    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    if not email or not password:
        flash(MISSING_FIELDS, "error")
        return render_template("login.html", email=email, next=next_path)
    try:
        tokens = capture_link.client.sign_in(email, password, locale=capture_link.flow_locale())
    except InvalidCredentials:
        flash(capture_link.message("invalid_credentials"), "error")
        return render_template("login.html", email=email, next=next_path)
    except CaptureError as error:
        current_app.logger.warning("sign-in failed: %s", error)
        flash(SIGN_IN_UNAVAILABLE, "error")
        return render_template("login.html", email=email, next=next_path)
    start_session(email, tokens, remember=request.form.get("remember") == "yes")
    return redirect(next_path or url_for("account.connected_accounts"), 303)


@blueprint.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Sign out: drop the Capture tokens and everything else the session held."""
    capture_link.forget_tokens()
    if current_user.is_authenticated:
        remember_keys().replace(current_user.email)
    session.clear()
    logout_user()  # after clear(), which would drop its order to delete the remember cookie
    flash(SIGNED_OUT, "success")
    return redirect(url_for("auth.login"), 303)


@capture_link.signed_in
def signed_in_with_identity(tokens: Tokens, capture_user: dict[str, Any] | None) -> None:
    """A sign-in with a linked identity ("Sign in with Google") or a merge on sign-in: the
    site's user is Capture's user's email address. The extension stores the tokens after this
    (for the user ``login_user`` signed in)."""
    email = capture_user.get("email") if capture_user else None
    if not isinstance(email, str) or "@" not in email:
        raise ValueError("Capture sent no email address for the signed-in user")
    session.clear()
    login_user(User(email, remember_keys().issue(email)), fresh=True)


def start_session(email: str, tokens: Tokens, *, remember: bool = False) -> None:
    """A fresh session for ``email``: nothing of the previous user's session is kept, and with
    server-side sessions not even its id (the extension gives the session a new id when
    ``login_user`` signs the user in: an id planted in the victim's browser before sign-in
    would otherwise see the victim's account). With ``remember``, a remember cookie (with the
    user's remember key) outlives the session."""
    session.clear()
    login_user(User(email, remember_keys().issue(email)), remember=remember, fresh=True)
    capture_link.store_tokens(tokens)  # the user first, then their tokens
