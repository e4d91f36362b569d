"""The state store: the one place where a link state is spent, and where refreshes meet.

Spending is one atomic check-and-set: of all the requests that present one state, exactly one
wins, whichever process or machine serves it. Two backends:

* :class:`MemoryStateStore` (the default): a dict under a lock. It holds between the threads of
  one process only; with several worker processes, each has its own.
* :class:`RedisStateStore`: ``SET key NX`` with the state's remaining lifetime as TTL, shared by
  every process and machine that uses the same Redis. Refreshes are single-flight there too
  (:mod:`flask_capture_link.shared_refresh`).

Which one an app uses is decided from its config each time (:func:`current`): a Redis client in
``CAPTURE_LINK_REDIS`` (what ``CaptureLink(app, redis=client)`` sets), else
``CAPTURE_LINK_REDIS_URL``, else Flask-Session's Redis client when the site keeps its sessions
there, else the process's memory.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_request_context, request

from . import shared_refresh, workers
from .models import Tokens
from .redis_errors import redis_failures
from .redis_set_nx import fast_set_nx

logger = logging.getLogger("flask_capture_link")

#: Seconds added to a spent state's lifetime in Redis: the machines' clocks may disagree a
#: little about when a state was issued, and a nonce must not be forgotten while any of them
#: would still accept its state.
CLOCK_SKEW = 60.0

#: How often (seconds) the in-process store drops the nonces of expired states.
PRUNE_EVERY = 30.0

#: Redis clients made from a ``CAPTURE_LINK_REDIS_URL``, one (with its connection pool) per URL.
_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()

#: Each app's in-process store.
_MEMORY: weakref.WeakKeyDictionary[Flask, MemoryStateStore] = weakref.WeakKeyDictionary()
_MEMORY_LOCK = threading.Lock()


class StateStoreUnavailable(Exception):
    """The store could not be asked (Redis down): no state can be spent, so none is accepted."""


class StateStore:
    """Where nonces of used link states are kept until their states expire."""

    #: Whether single use holds across processes and machines (``False``: this process only).
    shared = False

    def spend(self, nonce: str, ttl: float) -> bool:
        """Mark ``nonce`` spent for ``ttl`` seconds. ``True`` for exactly one caller; every
        other (concurrent or later) caller gets ``False``.

        :raises StateStoreUnavailable: when the store cannot answer.
        """
        raise NotImplementedError

    def refresh(self, refresh_token: str, call: Callable[[str], Tokens]) -> Tokens:
        """``call(refresh_token)``, unless a concurrent refresh of the same refresh token is
        under way or just finished: then its result (refresh tokens are single-use)."""
        raise NotImplementedError


class MemoryStateStore(StateStore):
    """Spent nonces in this process's memory; thread-safe. Right for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, float] = {}
        self._prune_at = 0.0
        self._refreshes = shared_refresh.RefreshCoordinator()
        #: Whether the "single use holds per process only" warning was given at a request.
        self.warned = False

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

    def refresh(self, refresh_token: str, call: Callable[[str], Tokens]) -> Tokens:
        return self._refreshes.refresh(refresh_token, call)


class RedisStateStore(StateStore):
    """Spent nonces in Redis, ``{prefix}state:{nonce}``, each expiring with its state."""

    shared = True

    def __init__(self, client: Any, prefix: str = "capture_link:") -> None:
        self.client = client
        self.prefix = prefix
        self._refreshes = shared_refresh.RedisRefresh(client, prefix)
        self._fast_set_nx = fast_set_nx(client)

    def spend(self, nonce: str, ttl: float) -> bool:
        key = f"{self.prefix}state:{nonce}"
        milliseconds = max(1000, int((ttl + CLOCK_SKEW) * 1000))
        try:
            return self._set_nx(key, milliseconds)
        except redis_failures() as exc:
            raise StateStoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from None

    def _set_nx(self, key: str, milliseconds: int) -> bool:
        if self._fast_set_nx is not None:
            return self._fast_set_nx(key, milliseconds)
        return bool(self.client.set(key, b"1", nx=True, px=milliseconds))

    def refresh(self, refresh_token: str, call: Callable[[str], Tokens]) -> Tokens:
        return self._refreshes.refresh(refresh_token, call, wait=refresh_wait())


def current() -> StateStore:
    """The current app's store, chosen from its config now (so config set after ``init_app``
    counts)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    client = redis_client(app)
    if client is not None:
        return _redis_store(client, str(app.config["CAPTURE_LINK_REDIS_PREFIX"]))
    store = _memory_store(app)
    if not store.warned and has_request_context() and request.environ.get("wsgi.multiprocess"):
        store.warned = True
        logger.warning(
            "capture-link: %s", per_process_warning("the WSGI server says wsgi.multiprocess")
        )
    return store


def redis_client(app: Flask) -> Any:
    """The Redis client the app's store uses, or ``None`` for the in-process store."""
    given = app.config.get("CAPTURE_LINK_REDIS")
    if given is not None:
        return given
    url = app.config.get("CAPTURE_LINK_REDIS_URL")
    if url:
        return _client_for(str(url))
    return flask_session_client(app)


def flask_session_client(app: Flask) -> Any:
    """Flask-Session's Redis client, when the app keeps its sessions in Redis with it."""
    if app.config.get("SESSION_TYPE") != "redis":
        return None
    return getattr(app.session_interface, "client", None) or app.config.get("SESSION_REDIS")


def uses_redis(app: Flask) -> bool:
    """Whether single use will hold across processes: some Redis is configured (Flask-Session
    may be set up after ``init_app``, so ``SESSION_TYPE`` alone counts)."""
    return bool(
        app.config.get("CAPTURE_LINK_REDIS") is not None
        or app.config.get("CAPTURE_LINK_REDIS_URL")
        or app.config.get("SESSION_TYPE") == "redis"
    )


def per_process_warning(source: str) -> str:
    """What to say when several worker processes share no store."""
    return (
        f"more than one worker process is likely ({source}), but there is no Redis for link "
        "states: "
        "single use of a link state (and refresh sharing) holds per process only. Set "
        "CAPTURE_LINK_REDIS_URL (or give CaptureLink a redis client)."
    )


def warn_at_start(app: Flask) -> str | None:
    """Log (and return) the per-process warning when many workers are likely and no Redis is
    set; called by ``init_app``."""
    if uses_redis(app):
        return None
    many = workers.likely_many()
    if many is None:
        return None
    message = per_process_warning(many)
    logger.warning("capture-link: %s", message)
    return message


def refresh_wait() -> float:
    """Seconds a refresh may take: the Capture timeout (connect + read) and a margin."""
    timeout = current_app.config["CAPTURE_LINK_TIMEOUT"]
    seconds = sum(timeout) if isinstance(timeout, (list, tuple)) else float(timeout)
    return float(seconds) + 2.0


def _client_for(url: str) -> Any:
    client = _CLIENTS.get(url)  # every request: no lock once the client exists
    if client is not None:
        return client
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(url)
        if client is None:
            import redis

            client = _CLIENTS[url] = redis.Redis.from_url(url)
        return client


_REDIS_STORES: dict[tuple[int, str], RedisStateStore] = {}


def _redis_store(client: Any, prefix: str) -> RedisStateStore:
    key = (id(client), prefix)
    store = _REDIS_STORES.get(key)
    if store is None or store.client is not client:
        with _CLIENTS_LOCK:
            if len(_REDIS_STORES) > 64:  # clients made per request: do not keep them all
                _REDIS_STORES.clear()
            store = _REDIS_STORES[key] = RedisStateStore(client, prefix)
    return store


def _memory_store(app: Flask) -> MemoryStateStore:
    store = _MEMORY.get(app)
    if store is None:
        with _MEMORY_LOCK:
            store = _MEMORY.setdefault(app, MemoryStateStore())
    return store
