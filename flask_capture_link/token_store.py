"""The user's Registration tokens in the session, and their refresh.

:meth:`CaptureLink.store_tokens` puts what :meth:`CaptureClient.sign_in` or ``refresh`` return
into the session. With ``CAPTURE_LINK_CLIENT_SECRET`` set and a refresh token stored, an access
token near its expiry is refreshed before a call, and a call answered "access token expired" is
refreshed and tried once more.

Refresh tokens are single-use. Two requests of one session (two tabs) can find the same expired
token at once; the first refreshes, and the second, instead of spending the used refresh token
(which Capture refuses, signing the user out), waits for and takes the first one's new tokens.
That holds between the threads of one process; see the README for many processes.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from typing import Any

from flask import current_app

from . import freshness
from .models import Tokens

#: Seconds a refresh result is kept for a concurrent request with the same old refresh token.
#: Short: for that long, whoever holds the spent refresh token gets the new tokens.
SHARE_FOR = 10.0

#: Session key of the sign-in id (see :func:`save`).
SIGN_IN_KEY = "_capture_link_sign_in"

#: Refresh results kept at most (each a few hundred bytes).
MAX_SHARED = 1024


def _key(name: str) -> str:
    return str(current_app.config[f"CAPTURE_LINK_{name}"])


def save(session: MutableMapping[str, Any], tokens: Tokens, *, new_sign_in: bool) -> None:
    """Store ``tokens`` where the extension reads them, replacing whatever was there: a token
    the new ones lack (a refresh token, an expiry) must not survive from a previous user.

    A new sign-in also gets a new random sign-in id, which link states are bound to when the
    site has no Flask-Login user: unlike the access token, it survives a refresh.
    """
    session[_key("SESSION_KEY")] = tokens.access_token
    for name, value in (
        ("REFRESH_TOKEN_SESSION_KEY", tokens.refresh_token),
        ("EXPIRES_AT_SESSION_KEY", tokens.expires_at),
    ):
        if value is not None:
            session[_key(name)] = value
        else:
            session.pop(_key(name), None)
    if new_sign_in:
        session[SIGN_IN_KEY] = secrets.token_urlsafe(16)


def forget(session: MutableMapping[str, Any]) -> None:
    """Drop every token from the session (the user must sign in again)."""
    for name in ("SESSION_KEY", "REFRESH_TOKEN_SESSION_KEY", "EXPIRES_AT_SESSION_KEY"):
        session.pop(_key(name), None)
    session.pop(SIGN_IN_KEY, None)
    freshness.forget(session)


def sign_in_id(session: MutableMapping[str, Any]) -> str | None:
    """The random id of the sign-in that stored the current tokens, if ``save`` stored them."""
    found = session.get(SIGN_IN_KEY)
    return found if isinstance(found, str) and found else None


def stored(session: MutableMapping[str, Any]) -> Tokens | None:
    """The tokens in the session, or ``None`` when there is no access token."""
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


class RefreshCoordinator:
    """Makes concurrent refreshes of one refresh token into one call to Capture."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, threading.Lock] = {}
        self._results: OrderedDict[str, tuple[float, Tokens]] = OrderedDict()

    def refresh(self, refresh_token: str, call: Callable[[str], Tokens]) -> Tokens:
        """``call(refresh_token)``, unless another thread did it in the last
        :data:`SHARE_FOR` seconds: then its result. Errors are not shared."""
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        with self._lock:
            lock = self._in_flight.setdefault(key, threading.Lock())
        with lock:
            shared = self._shared(key)
            if shared is not None:
                return shared
            try:
                tokens = call(refresh_token)
            except BaseException:
                with self._lock:
                    self._in_flight.pop(key, None)
                raise
            with self._lock:  # the result is shared before the lock is let go
                self._results[key] = (time.monotonic(), tokens)
                while len(self._results) > MAX_SHARED:
                    self._results.popitem(last=False)
                self._in_flight.pop(key, None)
            return tokens

    def _shared(self, key: str) -> Tokens | None:
        with self._lock:
            found = self._results.get(key)
            if found is None:
                return None
            if time.monotonic() - found[0] > SHARE_FOR:
                del self._results[key]
                return None
            return found[1]
