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

Rendering buttons costs the session nothing per state, and using one costs it nothing either:
the session keeps only its random key, in the extension's one session record
(:data:`SESSION_RECORD`, shared with the sign-in record of :mod:`.freshness`). Whether a state
was used is decided by the state store (:mod:`flask_capture_link.store`), atomically, and every
request that presents a well-signed, unexpired state spends it, whatever happens next.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, g
from itsdangerous import BadData, URLSafeTimedSerializer

from .store import StateStore, StateStoreUnavailable

#: Session key of the extension's one record in the session: the random key states are bound
#: to (``k``), and the sign-in that :mod:`.freshness` notes.
SESSION_RECORD = "_capture_link"

#: Longer state values are refused unread.
MAX_STATE_LENGTH = 4096

#: Purpose of a state made for the token URL.
LINK = "link"

#: Purpose of a state made for the unlink endpoint.
UNLINK = "unlink"

#: Purpose of a state of a sign-in button (:meth:`CaptureLink.sign_in_button`): its token
#: arrives at the token URL and signs the user in. Nobody is signed in yet: it is bound to the
#: session only.
SIGN_IN = "sign_in"

#: Purpose of a state of the existing provider's button on the merge page: its token proves
#: the existing account, and the kept merge token is linked to it. Bound to the session and
#: to the one merge (its subject).
MERGE = "merge"

#: Purpose of the merge page's password form (``existing_provider`` ``capture``).
MERGE_PASSWORD = "merge_password"  # noqa: S105 (a purpose, not a password)

#: Purpose of the merge page's cancel form.
MERGE_CANCEL = "merge_cancel"

#: The purposes whose states are bound to the session only (no user yet).
SIGN_IN_PURPOSES = frozenset({SIGN_IN, MERGE, MERGE_PASSWORD, MERGE_CANCEL})

_SALT = "flask-capture-link.state"

logger = logging.getLogger(__name__)


class InvalidState(Exception):
    """The state is missing, forged, expired, used, or not this session's or user's.

    ``reason`` says which, for logs; users only ever see the ``invalid_state`` message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedState:
    """A state that was spent by this request and passed every check: where to go next, and
    what it was for."""

    purpose: str
    next: str | None
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
    record = session_record(session)
    if not isinstance(record.get("k"), str):
        record = update_record(session, k=secrets.token_urlsafe(16))
    key = current_app.secret_key
    payload = {
        "n": secrets.token_urlsafe(12),
        "s": _digest(key, "session", record["k"]),
        "u": _digest(key, "user", user or ""),
        "i": _digest(key, "subject", subject or ""),
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
    subject: str | None,
    store: StateStore,
) -> VerifiedState:
    """Spend ``value`` and check it; raise :class:`InvalidState` if any check fails.

    A well-signed, unexpired state is spent first, in the state store, whatever the checks
    after find: so it cannot be replayed after a success, a failure or a refusal, and of
    concurrent requests with one state exactly one gets past this line.

    :raises StateStoreUnavailable: when the store cannot be asked (nothing may go ahead).
    """
    keys = _signing_keys()
    payload = _load(value, max_age, keys)
    _spend(payload, max_age, store)
    bound = session_record(session).get("k")
    if not isinstance(bound, str):
        # Not proof of another session: the session may be new, or its store lost it (a Redis
        # restarted without persistence, or down when the session was read).
        raise InvalidState("this session holds no state key (a new session, or one lost)")
    if not _matches(keys, payload["s"], "session", bound):
        raise InvalidState("issued to another session")
    if payload["p"] != purpose:
        raise InvalidState(f"issued for {payload['p']!r}, used for {purpose!r}")
    if not _matches(keys, payload["u"], "user", user or ""):
        raise InvalidState("issued to another user")
    if not _matches(keys, payload["i"], "subject", subject or ""):
        raise InvalidState("issued for another identity")
    next_path = payload["x"] if isinstance(payload["x"], str) else None
    provider = payload.get("v") if isinstance(payload.get("v"), str) else None
    return VerifiedState(purpose=purpose, next=next_path, provider=provider)


def pass_on(value: str | None, max_age: int, store: StateStore) -> str:
    """Spend ``value`` and return its successor: the same state with a new nonce.

    For the bounce page: the cookieless POST that carried the state in its URL (and so in the
    web server's access log) spends it; the successor travels only in the page's body and the
    bounced POST's body, which no access log records. A state that is not usable gets a
    successor of the same shape that no session accepts, so the page says nothing about it;
    it keeps only the ``next`` of a well-signed state (a used one, say), so that the refusal
    after the bounce leads back to the button's page.
    """
    payload: dict[str, Any] | None = None
    try:
        payload = _load(value, max_age)
        _spend(payload, max_age, store)
    except (InvalidState, StateStoreUnavailable) as exc:
        logger.info("bounced state not usable: %s", getattr(exc, "reason", exc))
        void = _digest(current_app.secret_key, "void", secrets.token_urlsafe(12))
        next_path = payload.get("x") if payload is not None else None
        payload = {
            "s": void,
            "u": void,
            "i": void,
            "p": "void",
            "x": next_path if isinstance(next_path, str) else None,
            "t": time.time(),
        }
    return _serializer().dumps({**payload, "n": secrets.token_urlsafe(12)})


def peek_purpose(value: str | None, max_age: int) -> str | None:
    """The purpose of a well-signed, unexpired state, without spending it: which flow the
    token URL runs (a signed purpose cannot be chosen by whoever sends the state)."""
    payload = _peek(value, max_age)
    found = payload.get("p") if payload is not None else None
    return found if isinstance(found, str) else None


def _peek(value: str | None, max_age: int) -> dict[str, Any] | None:
    if not value or len(value) > MAX_STATE_LENGTH:
        return None
    payload = _decode(value, max_age)
    return payload if isinstance(payload, dict) else None


#: States decoded in this app context (a request), at most this many.
_DECODED_PER_REQUEST = 8


def _decode(value: str, max_age: int, keys: tuple[Any, ...] | None = None) -> object:
    """The payload of a well-signed, unexpired ``value``, or the :class:`BadData` that says why
    it is not. Decoded once per request: the token URL reads a state's purpose to choose its
    flow, which then spends the state (the signature check is most of a state's cost)."""
    keys = _signing_keys() if keys is None else keys
    decoded: dict[tuple[Any, ...], object] = g.setdefault("_capture_link_states", {})
    key = (value, max_age, keys)
    if key not in decoded:
        if len(decoded) >= _DECODED_PER_REQUEST:
            decoded.clear()
        try:
            # itsdangerous signs with the last key and tries them all, newest first.
            decoded[key] = _serializer_for(keys[::-1]).loads(value, max_age=max_age)
        except BadData as exc:
            decoded[key] = exc
    return decoded[key]


def peek_next(value: str | None, max_age: int) -> str | None:
    """The ``next`` of a well-signed, unexpired state, without spending it (for redirects
    after a refusal)."""
    payload = _peek(value, max_age)
    found = payload.get("x") if payload is not None else None
    return found if isinstance(found, str) else None


#: Seconds an outcome carried by a redirect stays showable (once).
OUTCOME_MAX_AGE = 300

_OUTCOME_SALT = "flask-capture-link.outcome"


def carry_outcome(fields: dict[str, str | None], user: str | None) -> str:
    """An outcome (its message key, category, provider) signed for the redirect that ends a
    request whose session could not be saved: shown once, to ``user``, within
    :data:`OUTCOME_MAX_AGE` seconds (:func:`open_outcome`). It holds no token."""
    keys = _signing_keys()
    payload = {
        **fields,
        "n": secrets.token_urlsafe(12),
        "u": _digest(keys[0], "user", user or ""),
    }
    return URLSafeTimedSerializer(list(keys[::-1]), salt=_OUTCOME_SALT).dumps(payload)


def open_outcome(value: str, user: str | None, store: StateStore) -> dict[str, Any] | None:
    """The fields of an outcome :func:`carry_outcome` signed, spent in ``store``; ``None``
    (logged) when it is not this user's, expired, already shown, or cannot be spent now."""
    if len(value) > MAX_STATE_LENGTH:
        return None
    serializer = URLSafeTimedSerializer(list(_signing_keys()[::-1]), salt=_OUTCOME_SALT)
    try:
        payload = serializer.loads(value, max_age=OUTCOME_MAX_AGE)
    except BadData as exc:
        logger.info("carried outcome not shown: %s", type(exc).__name__)
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("n"), str):
        return None
    if not _matches(_signing_keys(), payload.get("u"), "user", user or ""):
        logger.info("carried outcome not shown: it is another user's")
        return None
    try:
        fresh = store.spend("outcome:" + payload["n"], OUTCOME_MAX_AGE)
    except StateStoreUnavailable as exc:
        logger.warning("carried outcome not shown: the state store is unavailable: %s", exc)
        return None
    if not fresh:
        logger.info("carried outcome not shown again")
        return None
    return payload


def _load(value: str | None, max_age: int, keys: tuple[Any, ...] | None = None) -> dict[str, Any]:
    if not value:
        raise InvalidState("no state")
    if len(value) > MAX_STATE_LENGTH:
        raise InvalidState("state too long")
    payload = _decode(value, max_age, keys)
    if isinstance(payload, BadData):
        raise InvalidState(f"bad signature or expired ({type(payload).__name__})")
    if not isinstance(payload, dict) or not all(k in payload for k in "nsuipxt"):
        raise InvalidState("malformed payload")
    if not isinstance(payload["t"], (int, float)) or not isinstance(payload["n"], str):
        raise InvalidState("malformed payload")
    return payload


def _spend(payload: dict[str, Any], max_age: int, store: StateStore) -> None:
    remaining = float(payload["t"]) + max_age - time.time()
    if not store.spend(payload["n"], remaining):
        raise InvalidState("already used")


def _signing_keys() -> tuple[Any, ...]:
    """The secret key first, then its fallbacks (states issued before a rotation pass)."""
    app = current_app
    return (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))


def _serializer() -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and tries them all, newest first.
    return _serializer_for(_signing_keys()[::-1])


@functools.lru_cache(maxsize=16)
def _serializer_for(keys: tuple[Any, ...]) -> URLSafeTimedSerializer:
    # Built once per set of keys: deriving the signing keys is a measurable part of a request.
    return URLSafeTimedSerializer(list(keys), salt=_SALT)


def _digest(key: Any, kind: str, value: str) -> str:
    message = f"{_SALT}.{kind}:{value}".encode()
    return hmac.digest(str(key).encode(), message, hashlib.sha256).hex()[:24]


def _matches(keys: tuple[Any, ...], found: object, kind: str, value: str) -> bool:
    """Whether ``found`` is the digest of ``value`` under one of ``keys``. Constant time."""
    found = str(found)
    return any(hmac.compare_digest(found, _digest(key, kind, value)) for key in keys)


def session_record(session: MutableMapping[str, Any]) -> dict[str, Any]:
    """The extension's record in ``session`` (a copy: change it with :func:`update_record`)."""
    found = session.get(SESSION_RECORD)
    return dict(found) if isinstance(found, dict) else {}


def update_record(
    session: MutableMapping[str, Any], *, remove: tuple[str, ...] = (), **fields: Any
) -> dict[str, Any]:
    """Set ``fields`` of the extension's record in ``session``, drop those named in
    ``remove``, and return the record. The record is written anew, so every session interface
    sees the change."""
    record = {k: v for k, v in session_record(session).items() if k not in remove}
    record.update(fields)
    session[SESSION_RECORD] = record
    return record
