"""The link state: what proves that a token URL request continues a button this user clicked.

Without it, an attacker who signs in at a provider and gets the victim's browser to deliver the
attacker's Social Login token would link the attacker's identity to the victim's account, and
could then sign in as the victim ("link CSRF").

A state is a value signed with the app's ``SECRET_KEY`` (itsdangerous, own salt) holding:

* a random nonce, so that each state can be used once;
* a keyed hash of a random key kept in this browser's session: another session's state fails;
* a keyed hash of the user's identity: a state issued before a sign-out and sign-in as someone
  else fails;
* the purpose (``link`` or ``unlink``), so one kind cannot stand for the other, and for an
  unlink state a keyed hash of the one identity it may remove;
* the ``next`` path to return to; the issue time (checked against ``STATE_MAX_AGE``);
* for a link state, the provider whose button made it (for the messages of the outcome).

Rendering buttons costs the session nothing per state. What a state's use records, its nonce,
is kept in a short list in the session, pruned by age and bounded in length; when the bound
pushes out an unexpired nonce, states issued before it are refused, so single use holds.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

#: Session key of the extension's own small record (session key and used nonces).
SESSION_RECORD = "_capture_link"

#: How many used nonces the session remembers before the oldest gives way.
MAX_USED = 16

#: Longer state values are refused unread.
MAX_STATE_LENGTH = 4096

#: Purpose of a state made for the token URL.
LINK = "link"

#: Purpose of a state made for the unlink endpoint.
UNLINK = "unlink"

_SALT = "flask-capture-link.state"


class InvalidState(Exception):
    """The state is missing, forged, expired, used, or not this session's or user's.

    ``reason`` says which, for logs; users only ever see the ``invalid_state`` message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkState:
    """A state that passed every check: where to go next, and what it was for."""

    purpose: str
    next: str | None
    issued_at: float
    #: The Social Login provider of the button that made a link state, if it said.
    provider: str | None = None


def issue(
    session: MutableMapping[str, Any],
    purpose: str,
    user: str | None,
    next: str | None,
    subject: str | None = None,
    provider: str | None = None,
) -> str:
    """Make a state for this session and user. ``next`` must already be a safe path;
    ``subject`` is what the state may act on (the identifier an unlink state may remove);
    ``provider`` the Social Login provider of the button."""
    record = _record(session, create=True)
    payload = {
        "n": secrets.token_urlsafe(12),
        "s": _digest("session", record["k"]),
        "u": _digest("user", user or ""),
        "i": _digest("subject", subject or ""),
        "p": purpose,
        "x": next,
        "t": time.time(),
    }
    if provider is not None:
        payload["v"] = provider
    return _serializer().dumps(payload)


def consume(
    session: MutableMapping[str, Any],
    value: str | None,
    purpose: str,
    user: str | None,
    max_age: int,
    subject: str | None = None,
) -> LinkState:
    """Check ``value`` and mark it used; raise :class:`InvalidState` if any check fails.

    The state is spent as soon as it is shown to belong to this session, before the user
    check and before any call to Capture, so it cannot be replayed after success or failure.
    """
    if not value:
        raise InvalidState("no state")
    if len(value) > MAX_STATE_LENGTH:
        raise InvalidState("state too long")
    try:
        payload = _serializer().loads(value, max_age=max_age)
    except BadData as exc:
        raise InvalidState(f"bad signature or expired ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or not all(k in payload for k in "nsuipxt"):
        raise InvalidState("malformed payload")
    record = _record(session, create=False)
    if record is None or not _matches(payload["s"], "session", record["k"]):
        raise InvalidState("issued to another session")
    nonce, issued_at = str(payload["n"]), float(payload["t"])
    if issued_at <= record["f"] or any(hmac.compare_digest(nonce, n) for n, _ in record["used"]):
        raise InvalidState("already used")
    _mark_used(session, record, nonce, issued_at, max_age)
    if payload["p"] != purpose:
        raise InvalidState(f"issued for {payload['p']!r}, used for {purpose!r}")
    if not _matches(payload["u"], "user", user or ""):
        raise InvalidState("issued to another user")
    if not _matches(payload["i"], "subject", subject or ""):
        raise InvalidState("issued for another identity")
    next_path = payload["x"] if isinstance(payload["x"], str) else None
    provider = payload.get("v") if isinstance(payload.get("v"), str) else None
    return LinkState(purpose=purpose, next=next_path, issued_at=issued_at, provider=provider)


def peek_next(value: str | None, max_age: int) -> str | None:
    """The ``next`` of a well-signed, unexpired state, without spending it (for redirects
    after a refusal)."""
    if not value or len(value) > MAX_STATE_LENGTH:
        return None
    try:
        payload = _serializer().loads(value, max_age=max_age)
    except BadData:
        return None
    found = payload.get("x") if isinstance(payload, dict) else None
    return found if isinstance(found, str) else None


def _serializer() -> URLSafeTimedSerializer:
    app = current_app
    return _serializer_for((*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key))


@functools.lru_cache(maxsize=16)
def _serializer_for(keys: tuple[Any, ...]) -> URLSafeTimedSerializer:
    # Built once per set of keys: deriving the signing keys is a measurable part of a request.
    return URLSafeTimedSerializer(list(keys), salt=_SALT)


def _digest(kind: str, value: str, key: Any = None) -> str:
    secret = current_app.secret_key if key is None else key
    mac = hmac.new(str(secret).encode(), f"{_SALT}.{kind}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:24]


def _matches(found: object, kind: str, value: str) -> bool:
    """Whether ``found`` is the digest of ``value`` under the secret key or one of its
    fallbacks (so states issued before a key rotation still pass). Constant time."""
    keys = [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]
    return any(hmac.compare_digest(str(found), _digest(kind, value, key)) for key in keys)


def _record(session: MutableMapping[str, Any], *, create: bool) -> Any:
    record = session.get(SESSION_RECORD)
    valid = (
        isinstance(record, dict)
        and isinstance(record.get("k"), str)
        and isinstance(record.get("used"), list)
        and isinstance(record.get("f"), (int, float))
    )
    if valid:
        return record
    if not create:
        return None
    record = {"k": secrets.token_urlsafe(16), "used": [], "f": 0}
    session[SESSION_RECORD] = record
    return record


def _mark_used(
    session: MutableMapping[str, Any],
    record: dict[str, Any],
    nonce: str,
    issued_at: float,
    max_age: int,
) -> None:
    horizon = time.time() - max_age
    used = [[n, t] for n, t in record["used"] if t > horizon]
    used.append([nonce, issued_at])
    used.sort(key=lambda entry: entry[1])
    floor = record["f"]
    while len(used) > MAX_USED:  # the oldest-issued give way; the floor keeps them refused
        floor = max(floor, used.pop(0)[1])
    session[SESSION_RECORD] = {"k": record["k"], "used": used, "f": floor}
