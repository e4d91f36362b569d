"""Single-flight refresh: one refresh per refresh token at a time.

Refresh tokens are single-use: when two requests of one session (two tabs) both find the access
token expired, only one may send the refresh token to Capture. The others, instead of spending
the used refresh token (which Capture refuses, signing the user out), wait for and take the
first one's new tokens, kept for :data:`SHARE_FOR` seconds. :class:`RefreshCoordinator` does
this between the threads of one process; :class:`RedisRefresh` among every process and machine
that shares a Redis: the first takes a short lock, the others wait on it.

Redis keys are ``{prefix}refresh:{sha256 of the refresh token}``: the refresh token itself is
never written to Redis. The new tokens are, for :data:`SHARE_FOR` seconds, as they are in the
session when sessions are in Redis.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .errors import CaptureUnavailable
from .models import Tokens
from .redis_errors import redis_failures

logger = logging.getLogger("flask_capture_link")

#: Seconds the new tokens are kept for a concurrent request with the same old refresh token.
#: Short: for that long, whoever holds the spent refresh token gets the new tokens.
SHARE_FOR = 10.0

#: Refresh results kept at most in one process (each a few hundred bytes).
MAX_SHARED = 1024

#: Seconds between two looks at the lock by a waiting request.
POLL = 0.02

#: Deletes the lock only if this request still holds it (it may have expired and been taken).
_RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


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


class RedisRefresh:
    """One refresh per refresh token at a time, among every process that shares ``client``."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._release = client.register_script(_RELEASE)
        # When Redis cannot be asked, refreshes are still shared between this process's threads.
        self._fallback = RefreshCoordinator()

    def refresh(self, refresh_token: str, call: Callable[[str], Tokens], *, wait: float) -> Tokens:
        """``call(refresh_token)`` under the lock, or the result of whoever held it. Waits at
        most ``wait`` seconds (the lock's own lifetime) for another request's refresh.

        :raises CaptureUnavailable: when another request held the lock all that time.
        """
        key = self.prefix + "refresh:" + hashlib.sha256(refresh_token.encode()).hexdigest()
        try:
            return self._single_flight(key, refresh_token, call, wait)
        except redis_failures() as exc:
            logger.warning("capture-link: Redis unavailable for refresh sharing: %s", exc)
            return self._fallback.refresh(refresh_token, call)

    def _single_flight(
        self, key: str, refresh_token: str, call: Callable[[str], Tokens], wait: float
    ) -> Tokens:
        lock_key, result_key = key + ":lock", key + ":tokens"
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + wait
        for _ in range(int(wait / POLL) + 2):  # bounded in count as well as in time
            shared = self._shared(result_key)
            if shared is not None:
                return shared
            if self.client.set(lock_key, owner, nx=True, px=int(wait * 1000)):
                try:
                    shared = self._shared(result_key)  # it may have landed just now
                    if shared is not None:
                        return shared
                    tokens = call(refresh_token)
                    self._share(result_key, tokens)
                    return tokens
                finally:
                    self._release(keys=[lock_key], args=[owner])
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        raise CaptureUnavailable("another request was refreshing the same tokens for too long")

    def _shared(self, result_key: str) -> Tokens | None:
        found = self.client.get(result_key)
        if found is None:
            return None
        data = json.loads(found)
        return Tokens(
            access_token=data["a"], refresh_token=data.get("r"), expires_at=data.get("e")
        )

    def _share(self, result_key: str, tokens: Tokens) -> None:
        data = {"a": tokens.access_token, "r": tokens.refresh_token, "e": tokens.expires_at}
        try:
            self.client.set(result_key, json.dumps(data), px=int(SHARE_FOR * 1000))
        except redis_failures() as exc:  # the tokens are this request's anyway; others may fail
            logger.warning("capture-link: could not share refreshed tokens: %s", exc)
