"""The Redis state store: spent nonces and refreshes shared by every process and machine that
uses one Redis.

A state is spent with redis-py's own ``SET {prefix}state:{nonce} {attempt} NX PX {ttl}``. The
value is unique to the attempt, so the spend is idempotent: when Redis ran a ``SET`` whose
answer was lost (a frozen Redis, a timeout) and the command is sent again (by redis-py's retry),
the second finds the attempt's own value and counts as this request's spend, not as "already
used".

Refresh keys are ``{prefix}refresh:{sha256 of the refresh token}``: the refresh token itself is
never written to Redis. The new tokens are, sealed (AES-GCM with the site's secret, given by the
caller: :mod:`flask_capture_link.sealing`), for as long as their access token lives
(:func:`~.base.keep_for`), so whoever still holds the spent refresh token takes them, also after
the worker that refreshed died before saving its session.

A lock (one change of an account's sign-in methods at a time) is ``SET {prefix}lock:{name}
{token} NX PX {ttl}``, polled while another holds it, and let go by a script that deletes the
key only if it still holds this holder's token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..client.errors import CaptureUnavailable
from ..client.models import Tokens
from ..sealing import SealError, seal, unseal
from .base import CLOCK_SKEW, KEEP_AT_LEAST, StateStore, StateStoreUnavailable, keep_for
from .memory import RefreshCoordinator

logger = logging.getLogger(__name__)

#: Seconds between two looks at the refresh lock by a waiting request.
POLL = 0.02

#: What refreshed tokens kept in Redis are sealed for (never opens as anything else).
SEAL_PURPOSE = b"refreshed tokens"

#: Deletes the lock only if this request still holds it (it may have expired and been taken).
_RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


def redis_failures() -> tuple[type[Exception], ...]:
    """What a Redis client raises when Redis cannot be asked or refuses: redis-py's
    ``RedisError``, and, from a cluster client, ``RedisClusterException``, which is not one.
    (``redis`` must be installed: there is a client.)"""
    from redis.exceptions import RedisClusterException, RedisError

    return (RedisError, RedisClusterException)


class RedisStateStore(StateStore):
    """Spent nonces in Redis, ``{prefix}state:{nonce}``, each expiring with its state, and
    refreshes single-flight across every process that shares ``client``."""

    def __init__(self, client: Any, prefix: str = "capture_link:") -> None:
        self.client = client
        self.prefix = prefix
        self._release = client.register_script(_RELEASE)
        # When Redis cannot be asked, refreshes are still shared between this process's threads.
        self._fallback = RefreshCoordinator()

    def spend(self, nonce: str, ttl: float) -> bool:
        key = f"{self.prefix}state:{nonce}"
        milliseconds = max(1000, int((ttl + CLOCK_SKEW) * 1000))
        attempt = secrets.token_hex(8)
        try:
            if self.client.set(key, attempt, nx=True, px=milliseconds):
                return True
            # Set before: by another request, or by this one's own SET whose answer was lost.
            return _text(self.client.get(key)) == attempt
        except redis_failures() as exc:
            raise StateStoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from None

    def refresh(
        self,
        refresh_token: str,
        call: Callable[[str], Tokens],
        *,
        wait: float,
        secret_keys: Sequence[str | bytes] = (),
    ) -> Tokens:
        """``call(refresh_token)`` under the lock, or the result of whoever held it (kept,
        sealed with ``secret_keys``, as long as its access token lives). Waits at most
        ``wait`` seconds (the lock's own lifetime) for another request's refresh.

        :raises CaptureUnavailable: when another request held the lock all that time.
        """
        key = self.prefix + "refresh:" + hashlib.sha256(refresh_token.encode()).hexdigest()
        try:
            return self._single_flight(key, refresh_token, call, wait, secret_keys)
        except redis_failures() as exc:
            logger.warning("Redis unavailable for refresh sharing: %s", exc)
            return self._fallback.refresh(refresh_token, call)

    def acquire(self, name: str, *, ttl: float, wait: float) -> str | None:
        key = f"{self.prefix}lock:{name}"
        token = secrets.token_hex(8)
        deadline = time.monotonic() + wait
        try:
            for _ in range(int(wait / POLL) + 2):  # bounded in count as well as in time
                if self.client.set(key, token, nx=True, px=max(1, int(ttl * 1000))):
                    return token
                # Set before: by another holder, or by this one's own SET whose answer was lost.
                if _text(self.client.get(key)) == token:
                    return token
                if time.monotonic() >= deadline:
                    break
                time.sleep(POLL)
        except redis_failures() as exc:
            raise StateStoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from None
        return None

    def release(self, name: str, token: str) -> None:
        try:
            self._release(keys=[f"{self.prefix}lock:{name}"], args=[token])
        except redis_failures() as exc:  # it expires by itself
            logger.warning("could not let go of a lock in Redis: %s", exc)

    def keep(self, name: str, value: str, ttl: float) -> None:
        try:
            self.client.set(f"{self.prefix}kept:{name}", value, px=max(1, int(ttl * 1000)))
        except redis_failures() as exc:
            raise StateStoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from None

    def take(self, name: str) -> str | None:
        key = f"{self.prefix}kept:{name}"
        try:
            # GET and DEL in one transaction: of two takers, one gets the value.
            pipe = self.client.pipeline(transaction=True)
            pipe.get(key)
            pipe.delete(key)
            found, _ = pipe.execute()
        except redis_failures() as exc:
            raise StateStoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from None
        return _text(found)

    def _single_flight(
        self,
        key: str,
        refresh_token: str,
        call: Callable[[str], Tokens],
        wait: float,
        secret_keys: Sequence[str | bytes],
    ) -> Tokens:
        lock_key, result_key = key + ":lock", key + ":tokens"
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + wait
        for _ in range(int(wait / POLL) + 2):  # bounded in count as well as in time
            shared = self._shared(result_key, secret_keys)
            if shared is not None:
                return shared
            if self.client.set(lock_key, owner, nx=True, px=int(wait * 1000)):
                try:
                    # it may have landed just now
                    shared = self._shared(result_key, secret_keys)
                    if shared is not None:
                        return shared
                    tokens = call(refresh_token)
                    self._share(result_key, tokens, secret_keys)
                    return tokens
                finally:
                    self._release(keys=[lock_key], args=[owner])
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        raise CaptureUnavailable("another request was refreshing the same tokens for too long")

    def _shared(self, result_key: str, secret_keys: Sequence[str | bytes]) -> Tokens | None:
        found = _text(self.client.get(result_key))
        if found is None:
            return None
        try:
            if found.startswith("{"):  # kept without a secret to seal with
                data = json.loads(found)
            else:
                data = json.loads(unseal(found, secret_keys, purpose=SEAL_PURPOSE)[0])
        except (SealError, ValueError) as exc:
            logger.warning("refreshed tokens kept in Redis do not open: %s", exc)
            return None
        return Tokens(
            access_token=data["a"],
            refresh_token=data.get("r"),
            expires_at=data.get("e"),
            obtained_by=data.get("o"),
        )

    def _share(self, result_key: str, tokens: Tokens, secret_keys: Sequence[str | bytes]) -> None:
        data = {
            "a": tokens.access_token,
            "r": tokens.refresh_token,
            "e": tokens.expires_at,
            "o": tokens.obtained_by,
        }
        text = json.dumps(data)
        seconds = keep_for(tokens)
        if secret_keys and secret_keys[0]:
            text = seal(text.encode(), secret_keys, purpose=SEAL_PURPOSE)
        else:  # never kept in the clear for longer than concurrent requests need
            seconds = KEEP_AT_LEAST
        try:
            self.client.set(result_key, text, px=int(seconds * 1000))
        except redis_failures() as exc:  # the tokens are this request's anyway; others may fail
            logger.warning("could not share refreshed tokens: %s", exc)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None
