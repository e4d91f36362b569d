"""The state store's one hot Redis command, ``SET key 1 NX PX ttl``, sent cheaply.

Every token URL request spends its state with this command. Through ``client.set`` it costs
about 75 µs of CPU on one thread and twice that with four threads contending for the
connection pool's lock (redis-py 8: its retry, observability and health-check layers). Here it
costs less than half of that: it is written in Redis's wire protocol once, here, and sent on a
connection kept in a lock-free deque, whose answer redis-py's parser reads. The connections
come from the client's own pool settings (``pool.make_connection()``: host, TLS, password,
database, protocol), so nothing is configured twice.

A connection that fails is dropped, with every idle one (a restarted Redis closed them all),
and the command sent once more on a new connection: a ``SET NX`` that reached Redis twice can
only make a state refused as used, never spent twice.
"""

from __future__ import annotations

import collections
import os
from typing import Any

#: Idle connections kept at most; one more is closed when it is put back.
MAX_IDLE = 32


class SetNX:
    """``SET key 1 NX PX milliseconds`` on ``client``'s Redis; call it for whether it set."""

    def __init__(self, client: Any) -> None:
        self._pool = client.connection_pool
        self._idle: collections.deque[Any] = collections.deque(maxlen=MAX_IDLE)
        self._pid = os.getpid()
        settings = self._pool.connection_kwargs  # keys encoded as the client encodes them
        self._encoding = (
            settings.get("encoding", "utf-8"),
            settings.get("encoding_errors", "strict"),
        )

    def __call__(self, key: str, milliseconds: int) -> bool:
        from redis.exceptions import ConnectionError, TimeoutError

        if os.getpid() != self._pid:  # forked: the parent's sockets are not this process's
            self._idle = collections.deque(maxlen=MAX_IDLE)
            self._pid = os.getpid()
        command = packed_set_nx(key.encode(*self._encoding), milliseconds)
        for attempt in (1, 2):
            connection = self._take() if attempt == 1 else self._pool.make_connection()
            try:
                answer = ask(connection, command)
            except (ConnectionError, TimeoutError):
                connection.disconnect()
                if attempt == 2:
                    raise
                self._drop_idle()  # Redis restarted or timed them out: likely all as dead
                continue
            except BaseException:
                connection.disconnect()  # its answer may still be unread: never reuse it
                raise
            self._idle.append(connection)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop_idle(self) -> None:
        while True:
            try:
                self._idle.pop().disconnect()
            except IndexError:
                return

    def _take(self) -> Any:
        try:
            return self._idle.pop()
        except IndexError:
            return self._pool.make_connection()


def packed_set_nx(key: bytes, milliseconds: int) -> bytes:
    """``SET key 1 NX PX milliseconds`` in RESP, as redis-py would write it."""
    parts = (b"SET", key, b"1", b"NX", b"PX", b"%d" % milliseconds)
    return b"*6\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


def ask(connection: Any, command: bytes) -> bool:
    """Send the packed ``SET ... NX`` on ``connection`` (connecting it first if needed) and
    read its answer: whether the key was set (``OK``; a null when the key was there)."""
    connection.send_packed_command([command], check_health=False)
    return connection.read_response() is not None


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
