"""Signing in with an Identity Cloud email and password, and signing out.

There is no user database: the signed-in user is their email address, which Flask-Login keeps
in the session, and their Capture tokens sit beside it (see ``capture_link.store_tokens``).

"Remember me" keeps the user signed in after the browser drops its session: Flask-Login restores
the user from its remember cookie, and the user's tokens are where the extension's token storage
keeps them for that user, on the server (:mod:`example_app.tokens`, or Redis). Such a session
is not fresh: to link or unlink, the user confirms their password first (``refresh_view``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
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
    """A signed-in user, known by email address (Flask-Login's user id)."""

    def __init__(self, email: str) -> None:
        self.email = email

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: the email address."""
        return self.email


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load_user(user_id: str) -> User | None:
    """The user whose email address the session holds."""
    return User(user_id) if "@" in user_id else None


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
    logout_user()
    session.clear()
    flash(SIGNED_OUT, "success")
    return redirect(url_for("auth.login"), 303)


def start_session(email: str, tokens: Tokens, *, remember: bool = False) -> None:
    """A fresh session for ``email``: nothing of the previous user's session is kept, and with
    server-side sessions not even its id (``session.clear()`` keeps the id, so an id planted in
    the victim's browser before sign-in would see the victim's account: session fixation).
    With ``remember``, a remember-me cookie outlives the session (the tokens are kept for the
    user: the user first, then their tokens)."""
    session.clear()
    login_user(User(email), remember=remember, fresh=True)
    capture_link.store_tokens(tokens)
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if regenerate is not None:  # Flask-Session: a new id, the old one deleted from the store
        regenerate(session)
