"""Where the user's Registration tokens are kept: one owner for them.

Every part of the extension that reads or writes the tokens (:meth:`CaptureLink.store_tokens`,
:meth:`~CaptureLink.forget_tokens`, :meth:`~CaptureLink.access_token`, the refresh, and
:func:`flask_capture_link.testing.sign_in`) goes through the app's :class:`TokenStorage`. The
default, :class:`SessionStorage`, keeps them in Flask's session, encrypted. A site that keeps them
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

import json
import logging
from abc import ABC, abstractmethod
from typing import Any

from flask import current_app, session

from .client.models import Tokens
from .sealing import SealError, seal, unseal

logger = logging.getLogger(__name__)

#: Session key of the sealed tokens :class:`SessionStorage` keeps.
TOKENS_KEY = "_capture_link_tokens"

#: What the sealed tokens are for: bound to them, so a value sealed for anything else with the
#: same secret does not open as tokens.
PURPOSE = b"session tokens"


class TokenStorage(ABC):
    """Keeps the current user's :class:`~flask_capture_link.Tokens`.

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
    """The default storage: the tokens in ``flask.session``, sealed.

    The access token, the refresh token and the expiry are kept together as one value under
    :data:`TOKENS_KEY`, encrypted and authenticated (AES-GCM, :mod:`~flask_capture_link.sealing`)
    with a key derived from the app's ``SECRET_KEY``: Flask's default cookie session is only
    signed, and anyone who holds a copy of the cookie could otherwise read the tokens in it and
    call Capture as the user. A value sealed with a key of ``SECRET_KEY_FALLBACKS`` still opens
    (and is sealed again with ``SECRET_KEY``); one that opens with no key (rotated away,
    changed) counts as no tokens, and is dropped.

    An access token a site puts under ``session[CAPTURE_LINK_SESSION_KEY]`` itself is read too,
    when no sealed tokens are there: it is as readable as the cookie, and has no refresh.
    """

    def load(self) -> Tokens | None:
        sealed = session.get(TOKENS_KEY)
        if sealed is not None:
            tokens = self._open(sealed)
            if tokens is not None:
                return tokens
        access_token = session.get(_session_key())
        if not isinstance(access_token, str) or not access_token:
            return None
        return Tokens(access_token=access_token)

    def save(self, tokens: Tokens) -> None:
        session[TOKENS_KEY] = _seal(tokens)
        # The site's own plain access token is replaced too: nothing survives from before.
        session.pop(_session_key(), None)

    def forget(self) -> None:
        session.pop(TOKENS_KEY, None)
        session.pop(_session_key(), None)

    def _open(self, sealed: object) -> Tokens | None:
        keys = _secret_keys()
        try:
            if not isinstance(sealed, str):
                raise SealError("not a sealed value")
            data, index = unseal(sealed, keys, purpose=PURPOSE)
            tokens = _tokens(data)
        except SealError as exc:
            # The value is not logged: whatever it holds stays unread.
            logger.warning("capture-link: the session's tokens are dropped: %s", exc)
            session.pop(TOKENS_KEY, None)
            return None
        if index > 0:
            session[TOKENS_KEY] = _seal(tokens)  # from a fallback key: move on to the current
        return tokens


def _session_key() -> str:
    return str(current_app.config["CAPTURE_LINK_SESSION_KEY"])


def _secret_keys() -> list[str | bytes]:
    """``SECRET_KEY`` and then ``SECRET_KEY_FALLBACKS`` (Flask 3.1), read at use."""
    config = current_app.config
    keys: list[str | bytes] = [config.get("SECRET_KEY") or ""]
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or ()
    if isinstance(fallbacks, (str, bytes)):
        fallbacks = (fallbacks,)
    keys.extend(key for key in fallbacks if isinstance(key, (str, bytes)) and key)
    return keys


def _seal(tokens: Tokens) -> str:
    record: dict[str, Any] = {"a": tokens.access_token}
    if tokens.refresh_token is not None:
        record["r"] = tokens.refresh_token
    if tokens.expires_at is not None:
        record["e"] = tokens.expires_at
    data = json.dumps(record, separators=(",", ":")).encode("utf-8")
    try:
        return seal(data, _secret_keys(), purpose=PURPOSE)
    except ValueError:
        raise RuntimeError(
            "the tokens are sealed with the app's SECRET_KEY, and it is not set"
        ) from None


def _tokens(data: bytes) -> Tokens:
    """The tokens of an opened record."""
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError:
        raise SealError("a sealed value that holds no tokens") from None
    if not isinstance(record, dict) or not isinstance(record.get("a"), str) or not record["a"]:
        raise SealError("a sealed value that holds no tokens")
    refresh_token, expires_at = record.get("r"), record.get("e")
    return Tokens(
        access_token=record["a"],
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        expires_at=float(expires_at)
        if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool)
        else None,
    )
