"""The in-process state store: spent nonces in a dict under a lock, and refreshes shared
between the threads of one process.

Right for one process. With several worker processes each has its own, so single use of a
link state (and refresh sharing) holds per process only: give the extension Redis instead
(:mod:`flask_capture_link.store.redis`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from ..client.models import Tokens
from .base import KEEP_AT_LEAST, StateStore, keep_for

#: How often (seconds) the store drops the nonces of expired states.
PRUNE_EVERY = 30.0

#: The least time (seconds) the new tokens are kept for a request with the same old refresh
#: token; they are kept as long as their access token lives (:func:`~.base.keep_for`).
SHARE_FOR = KEEP_AT_LEAST

#: Refresh results kept at most in one process (each a few hundred bytes): the oldest go first.
MAX_SHARED = 4096


class MemoryStateStore(StateStore):
    """Spent nonces in this process's memory; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, float] = {}
        self._prune_at = 0.0
        self._refreshes = RefreshCoordinator()
        self._locks = NamedLocks()
        self._kept: dict[str, tuple[str, float]] = {}

    def spend(self, nonce: str, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if now >= self._prune_at:
                self._spent = {n: until for n, until in self._spent.items() if until > now}
                self._prune_at = now + PRUNE_EVERY
            until = self._spent.get(nonce)
            if until is not None and until > now:
                return False
            self._spent[nonce] = now + max(ttl, 1.0)
            return True

    def refresh(
        self,
        refresh_token: str,
        call: Callable[[str], Tokens],
        *,
        wait: float = 0.0,
        secret_keys: Sequence[str | bytes] = (),
    ) -> Tokens:
        return self._refreshes.refresh(refresh_token, call)

    def acquire(self, name: str, *, ttl: float, wait: float) -> str | None:
        # A thread's lock is let go in a ``finally``: in one process no holder dies holding it.
        return self._locks.acquire(name, wait)

    def release(self, name: str, token: str) -> None:
        self._locks.release(name, token)

    def keep(self, name: str, value: str, ttl: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._kept = {k: kept for k, kept in self._kept.items() if kept[1] > now}
            self._kept[name] = (value, now + ttl)

    def take(self, name: str) -> str | None:
        with self._lock:
            found = self._kept.pop(name, None)
        return found[0] if found is not None and found[1] > time.monotonic() else None


class NamedLocks:
    """A lock per name (per account), made when first wanted and dropped when nobody holds or
    waits for it, so the table holds only the accounts being changed now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: name -> (its lock, how many threads hold or wait for it, the holder's token)
        self._named: dict[str, tuple[threading.Lock, int, str | None]] = {}

    def acquire(self, name: str, wait: float) -> str | None:
        """The holder's token, or ``None`` when ``wait`` seconds passed first."""
        with self._lock:
            lock, users, holder = self._named.get(name, (threading.Lock(), 0, None))
            self._named[name] = (lock, users + 1, holder)
        if not lock.acquire(timeout=max(wait, 0.0)):
            self._leave(name)
            return None
        token = secrets.token_hex(8)
        with self._lock:
            lock, users, _ = self._named[name]
            self._named[name] = (lock, users, token)
        return token

    def release(self, name: str, token: str) -> None:
        """Let go of ``name`` if ``token`` holds it."""
        with self._lock:
            found = self._named.get(name)
            if found is None or found[2] != token:
                return
            self._named[name] = (found[0], found[1], None)
            found[0].release()
        self._leave(name)

    def _leave(self, name: str) -> None:
        with self._lock:
            lock, users, holder = self._named[name]
            if users <= 1:
                del self._named[name]
            else:
                self._named[name] = (lock, users - 1, holder)


class RefreshCoordinator:
    """Makes concurrent refreshes of one refresh token, in one process, into one call.

    When two requests of one session (two tabs) both find the access token expired, only one
    may send the refresh token to Capture. The others wait for and take the first one's new
    tokens instead of spending the used refresh token (which Capture refuses, signing the user
    out). The new tokens are kept as long as their access token lives, so a request that read
    the session before the refresh was saved (or whose refresh was never saved) takes them too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, threading.Lock] = {}
        #: Refresh token hash -> (monotonic time until which it is kept, the new tokens).
        self._results: OrderedDict[str, tuple[float, Tokens]] = OrderedDict()

    def refresh(self, refresh_token: str, call: Callable[[str], Tokens]) -> Tokens:
        """``call(refresh_token)``, unless another thread did it while its new access token
        lives: then its result. Errors are not shared."""
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
                self._results[key] = (time.monotonic() + keep_for(tokens), tokens)
                while len(self._results) > MAX_SHARED:
                    self._results.popitem(last=False)
                self._in_flight.pop(key, None)
            return tokens

    def _shared(self, key: str) -> Tokens | None:
        with self._lock:
            found = self._results.get(key)
            if found is None:
                return None
            if time.monotonic() > found[0]:
                del self._results[key]
                return None
            return found[1]
