"""Where the user's Registration tokens are kept: one owner for them.

Every part of the extension that reads or writes the tokens (:meth:`CaptureLink.store_tokens`,
:meth:`~CaptureLink.forget_tokens`, :meth:`~CaptureLink.access_token`, the refresh, and
:func:`flask_capture_link.testing.sign_in`) goes through the app's :class:`TokenStorage`. The
default, :class:`SessionStorage`, keeps them in Flask's session, encrypted. A site that keeps them
elsewhere (a database row of the user, a server-side cache) gives its own storage to the
extension, as with Flask-Dance::

    capture_link = CaptureLink(app, token_storage=UserTableStorage())

Every method is told whose tokens it keeps: ``user``, a string the extension makes from
Flask-Login's user id when a user is signed in (``"user:42"``), else from the random sign-in id
that ``store_tokens`` recorded in the session (``"sign-in:..."``). A storage keys its rows on it
and never on ``current_user`` itself: the extension calls no storage for a request in which
nobody is signed in, and :meth:`CaptureLink.store_tokens` refuses to save, on an app with
Flask-Login, before ``login_user``. So no storage can keep tokens under a user who is not
signed in yet, nor give one visitor another's tokens.

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

from flask import current_app, request, session

from .client.models import Tokens
from .sealing import SealError, seal, unseal

logger = logging.getLogger(__name__)

#: Session key of the sealed tokens :class:`SessionStorage` keeps.
TOKENS_KEY = "_capture_link_tokens"

#: What the sealed tokens are for: bound to them, so a value sealed for anything else with the
#: same secret does not open as tokens.
PURPOSE = b"session tokens"


class TokenStorage(ABC):
    """Keeps each user's :class:`~flask_capture_link.Tokens`, by ``user``.

    ``user`` is who the tokens belong to (see the module's docstring): ``"user:42"`` for
    Flask-Login's user 42, ``"sign-in:..."`` for a sign-in without a Flask-Login user. Subclass
    it to keep them elsewhere than the session (docs/token-storage.md has a SQL table's)::

        class UserTableStorage(TokenStorage):
            def load(self, user):
                row = db.session.get(CaptureTokens, user)
                return row.tokens() if row else None

            def save(self, user, tokens):
                db.session.merge(CaptureTokens.from_tokens(user, tokens))
                db.session.commit()

            def forget(self, user):
                db.session.execute(delete(CaptureTokens).filter_by(owner=user))
                db.session.commit()

    A storage must never write a token to a log or an exception message.
    """

    #: ``True`` for a storage that keeps the tokens in the browser's session (which is whose
    #: they are): it is called even when nobody is signed in (``user`` is then ``""``), and
    #: before ``login_user``. Every other storage is called only for a signed-in ``user``.
    in_session = False

    @abstractmethod
    def load(self, user: str) -> Tokens | None:
        """``user``'s tokens, or ``None`` when they have no access token."""

    @abstractmethod
    def save(self, user: str, tokens: Tokens) -> None:
        """Keep ``tokens`` for ``user``, replacing whatever was kept: a token the new ones
        lack (a refresh token, an expiry) must not survive from before. ``obtained_by`` need
        not be kept."""

    @abstractmethod
    def forget(self, user: str) -> None:
        """Drop ``user``'s tokens (they must sign in again). Nothing kept is no error."""


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

    The session is the browser's: ``user`` is not needed to find its tokens, and is ignored.
    """

    in_session = True

    def load(self, user: str = "") -> Tokens | None:
        sealed = session.get(TOKENS_KEY)
        if sealed is not None:
            tokens = self._open(sealed)
            if tokens is not None:
                return tokens
        access_token = session.get(_session_key())
        if not isinstance(access_token, str) or not access_token:
            return None
        return Tokens(access_token=access_token)

    def save(self, user: str, tokens: Tokens) -> None:
        session[TOKENS_KEY] = _seal(tokens)
        # The site's own plain access token is replaced too: nothing survives from before.
        session.pop(_session_key(), None)

    def forget(self, user: str = "") -> None:
        session.pop(TOKENS_KEY, None)
        session.pop(_session_key(), None)

    def _open(self, sealed: object) -> Tokens | None:
        # Opened once per request: the user's binding, the lock and the call all read them.
        opened: dict[object, Tokens] = request.environ.setdefault(_OPENED, {})
        if isinstance(sealed, str) and sealed in opened:
            return opened[sealed]
        keys = _secret_keys()
        try:
            tokens, index = _unseal(sealed, keys, PURPOSE)
        except SealError as exc:
            # The value is not logged: whatever it holds stays unread.
            logger.warning("capture-link: the session's tokens are dropped: %s", exc)
            session.pop(TOKENS_KEY, None)
            return None
        if index > 0:
            session[TOKENS_KEY] = _seal(tokens)  # from a fallback key: move on to the current
        if len(opened) >= _OPENED_PER_REQUEST:
            opened.clear()
        opened[sealed] = tokens
        return tokens


#: Where a request keeps the tokens it opened, by sealed value; at most this many.
_OPENED = "flask_capture_link.opened_tokens"
_OPENED_PER_REQUEST = 4


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


class RedisTokenStorage(TokenStorage):
    """Each user's tokens in Redis, on the server: a user restored from a remember-me cookie
    (in a new session) finds them, and every worker and machine sees the same ones.

    ::

        import redis
        from flask_capture_link.storage import RedisTokenStorage

        capture_link = CaptureLink(token_storage=RedisTokenStorage(redis.Redis.from_url(url)))

    One key per user, ``{prefix}{user}`` (``capture_link:tokens:user:42``), that expires
    ``keep_for`` seconds after the last save (default 30 days: Capture's refresh tokens are
    long-lived; keep it no shorter than your remember-me cookie). The value is sealed as the
    session's is (AES-GCM, a key derived from ``SECRET_KEY``, with ``SECRET_KEY_FALLBACKS``
    honoured): a dump of the Redis database shows no token. A value that does not open counts
    as no tokens and is deleted. Give it a Redis of the site's, not the one link states are
    spent in (see "Shared Redis" in docs/deployment.md).
    """

    def __init__(
        self, client: Any, *, prefix: str = "capture_link:tokens:", keep_for: int = 30 * 24 * 3600
    ) -> None:
        if not callable(getattr(client, "set", None)):
            raise TypeError("RedisTokenStorage needs a redis.Redis client")
        self.client = client
        self.prefix = prefix
        self.keep_for = keep_for

    def load(self, user: str) -> Tokens | None:
        sealed = self.client.get(self.prefix + user)
        if sealed is None:
            return None
        keys = _secret_keys()
        try:
            value = sealed.decode("ascii") if isinstance(sealed, bytes) else sealed
            tokens, index = _unseal(value, keys, REDIS_PURPOSE)
        except (SealError, UnicodeDecodeError) as exc:
            logger.warning("capture-link: a user's tokens in Redis are dropped: %s", exc)
            self.client.delete(self.prefix + user)
            return None
        if index > 0:
            self.save(user, tokens)  # from a fallback key: move on to the current
        return tokens

    def save(self, user: str, tokens: Tokens) -> None:
        self.client.set(self.prefix + user, _seal(tokens, REDIS_PURPOSE), ex=self.keep_for)

    def forget(self, user: str) -> None:
        self.client.delete(self.prefix + user)


#: What :class:`RedisTokenStorage`'s values are for (not the session's: a value copied from
#: one to the other does not open).
REDIS_PURPOSE = b"redis tokens"


def _unseal(sealed: object, keys: list[str | bytes], purpose: bytes) -> tuple[Tokens, int]:
    if not isinstance(sealed, str):
        raise SealError("not a sealed value")
    data, index = unseal(sealed, keys, purpose=purpose)
    return _tokens(data), index


def _seal(tokens: Tokens, purpose: bytes = PURPOSE) -> str:
    record: dict[str, Any] = {"a": tokens.access_token}
    if tokens.refresh_token is not None:
        record["r"] = tokens.refresh_token
    if tokens.expires_at is not None:
        record["e"] = tokens.expires_at
    data = json.dumps(record, separators=(",", ":")).encode("utf-8")
    try:
        return seal(data, _secret_keys(), purpose=purpose)
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
