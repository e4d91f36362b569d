"""The state store's one hot Redis command, ``SET key 1 NX PX ttl``, sent cheaply.

Every token URL request spends its state with this command. Through ``client.set`` it costs
about 75 µs of CPU on one thread and twice that with four threads contending for the
connection pool's lock (redis-py 8: its retry, observability and health-check layers). Sent on
a connection kept in a lock-free deque, it costs less than half of that. redis-py still writes
the command (so keys are encoded exactly as ``client.set`` encodes them) and reads the answer.

The connections are the store's own: made with the client's pool settings (its
``connection_class`` and ``connection_kwargs``: host, TLS, password, database, protocol), so
nothing is configured twice, but not taken from the pool, so they do not count against the
pool's ``max_connections``. A process holds at most one per request spending a state at that
moment, and keeps at most :data:`MAX_IDLE` idle.

A connection that fails is dropped, with every idle one (a restarted Redis closed them all),
and the command sent once more on a new connection: a ``SET NX`` that reached Redis twice can
only make a state refused as used, never spent twice.
"""

from __future__ import annotations

import collections
import os
from typing import Any

#: Idle connections kept at most (per process); one more is closed when it is put back.
MAX_IDLE = 32


class SetNX:
    """``SET key 1 NX PX milliseconds`` on ``client``'s Redis; call it for whether it set."""

    def __init__(self, client: Any) -> None:
        self._pool = client.connection_pool
        self._idle: collections.deque[Any] = collections.deque()
        self._pid = os.getpid()

    def __call__(self, key: str, milliseconds: int) -> bool:
        from redis.exceptions import ConnectionError, TimeoutError

        if os.getpid() != self._pid:  # forked: the parent's sockets are not this process's
            self._idle = collections.deque()
            self._pid = os.getpid()
        for attempt in (1, 2):
            connection, new = self._take() if attempt == 1 else (self._new_connection(), True)
            try:
                if new:  # explicitly: redis-py 8 connects lazily past a connection class's
                    connection.connect()  # own connect(), and Sentinel's finds the master
                connection.send_command("SET", key, b"1", "NX", "PX", milliseconds)
                answer = connection.read_response()
            except (ConnectionError, TimeoutError):
                connection.disconnect()
                if attempt == 2:
                    raise
                self._drop_idle()  # Redis restarted or timed them out: likely all as dead
                continue
            except BaseException:
                connection.disconnect()  # its answer may still be unread: never reuse it
                raise
            self._put_back(connection)
            return answer is not None
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop_idle(self) -> None:
        while True:
            try:
                self._idle.pop().disconnect()
            except IndexError:
                return

    def _take(self) -> tuple[Any, bool]:
        """An idle connection, else a new one (not connected yet): and whether it is new."""
        try:
            return self._idle.pop(), False
        except IndexError:
            return self._new_connection(), True

    def _put_back(self, connection: Any) -> None:
        if len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.disconnect()

    def _new_connection(self) -> Any:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries of redis-py's own (redis-py 8 tries a refused connection 10 times, with
        # backoff, for seconds): the store retries once, on a new connection, itself.
        settings = {**self._pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
        return self._pool.connection_class(**settings)


def fast_set_nx(client: Any) -> SetNX | None:
    """A :class:`SetNX` for a plain ``redis.Redis`` client; ``None`` for any other (a cluster,
    a subclass that adds to ``set``), which is asked through its own ``set``."""
    try:
        import redis
    except ImportError:  # pragma: no cover - a client without the package cannot exist
        return None
    if type(client) is not redis.Redis or not hasattr(client, "connection_pool"):
        return None
    return SetNX(client)
