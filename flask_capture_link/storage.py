"""Where the user's Registration tokens are kept: one owner for them.

Every part of the extension that reads or writes the tokens (:meth:`CaptureLink.store_tokens`,
:meth:`~CaptureLink.forget_tokens`, :meth:`~CaptureLink.access_token`, the refresh, and
:func:`flask_capture_link.testing.sign_in`) goes through the app's :class:`TokenStorage`. The
default, :class:`SessionStorage`, keeps them in Flask's session. A site that keeps them
elsewhere (a database row of the user, a server-side cache) gives its own storage to the
extension, as with Flask-Dance::

    capture_link = CaptureLink(app, token_storage=UserTableStorage())

A storage works on the current request's user (``flask.session``, ``flask_login.current_user``),
like the rest of a Flask extension, so its methods take no user argument.

What a storage holds are the tokens only. The record of the sign-in that stored them (a random
sign-in id that link states are bound to, and when and how the user signed in, for
:mod:`~flask_capture_link.freshness`) stays in the browser's session whatever the storage:
it describes this browser's sign-in, and a fresh sign-in in one browser must not make another
browser's session fresh.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from flask import current_app, session

from .client.models import Tokens


class TokenStorage(ABC):
    """Keeps the current user's :class:`~flask_capture_link.models.Tokens`.

    Subclass it to keep them elsewhere than the session::

        class UserTableStorage(TokenStorage):
            def load(self):
                row = db.session.get(CaptureTokens, current_user.id)
                return row.tokens() if row else None

            def save(self, tokens):
                db.session.merge(CaptureTokens.from_tokens(current_user.id, tokens))
                db.session.commit()

            def forget(self):
                db.session.execute(delete(CaptureTokens).filter_by(user_id=current_user.id))
                db.session.commit()

    A storage must never write a token to a log or an exception message.
    """

    @abstractmethod
    def load(self) -> Tokens | None:
        """The current user's tokens, or ``None`` when they have no access token."""

    @abstractmethod
    def save(self, tokens: Tokens) -> None:
        """Keep ``tokens`` for the current user, replacing whatever was kept: a token the new
        ones lack (a refresh token, an expiry) must not survive from before. ``obtained_by``
        need not be kept."""

    @abstractmethod
    def forget(self) -> None:
        """Drop the current user's tokens (they must sign in again). Nothing kept is no error."""


class SessionStorage(TokenStorage):
    """The default storage: the tokens in ``flask.session``, under the keys the app's config
    names when they are used: ``CAPTURE_LINK_SESSION_KEY`` (the access token; a site may put
    it there itself), ``CAPTURE_LINK_REFRESH_TOKEN_SESSION_KEY`` and
    ``CAPTURE_LINK_EXPIRES_AT_SESSION_KEY`` (a Unix timestamp)."""

    def load(self) -> Tokens | None:
        access_token = session.get(_key("SESSION_KEY"))
        if not isinstance(access_token, str) or not access_token:
            return None
        refresh_token = session.get(_key("REFRESH_TOKEN_SESSION_KEY"))
        expires_at = session.get(_key("EXPIRES_AT_SESSION_KEY"))
        return Tokens(
            access_token=access_token,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            expires_at=float(expires_at) if isinstance(expires_at, (int, float)) else None,
        )

    def save(self, tokens: Tokens) -> None:
        session[_key("SESSION_KEY")] = tokens.access_token
        for name, value in (
            ("REFRESH_TOKEN_SESSION_KEY", tokens.refresh_token),
            ("EXPIRES_AT_SESSION_KEY", tokens.expires_at),
        ):
            if value is not None:
                session[_key(name)] = value
            else:
                session.pop(_key(name), None)

    def forget(self) -> None:
        for name in ("SESSION_KEY", "REFRESH_TOKEN_SESSION_KEY", "EXPIRES_AT_SESSION_KEY"):
            session.pop(_key(name), None)


def _key(name: str) -> str:
    return str(current_app.config[f"CAPTURE_LINK_{name}"])
