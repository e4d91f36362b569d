"""The Redis state store against a real redis-server: one spend per state among processes,
idempotent when redis-py sends a SET twice, every kind of client (RESP2 and RESP3, another
encoding, Sentinel, a cluster, an ACL user), refreshes single-flight across processes, and a
lock per account."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from flask_capture_link import state
from flask_capture_link.client.errors import CaptureUnavailable, RefreshTokenInvalid
from flask_capture_link.client.models import Tokens
from flask_capture_link.store import CLOCK_SKEW, RedisStateStore, StateStoreUnavailable

from ..helpers import race
from ..processes import free_port, redis_sentinel, redis_server

THREADS = 12


# Spending ----------------------------------------------------------------------------------


def test_spends_once_among_processes(client_of: Callable[[], redis.Redis], prefix: str) -> None:
    # One store per thread, each with its own client: as many processes or machines would.
    stores = [RedisStateStore(client_of(), prefix) for _ in range(THREADS)]
    assert race(THREADS, lambda i: stores[i].spend("nonce", 600)).count(True) == 1
    assert stores[0].spend("nonce", 600) is False


def test_a_set_sent_twice_counts_as_this_request_s_spend(redis_url: str, prefix: str) -> None:
    # A frozen Redis: redis-py's socket timeout fires, it sends the SET again on a new
    # connection, and Redis runs both. The second finds the key: the first attempt's own.
    class SentTwice(redis.Redis):
        def set(self, *args: Any, **kwargs: Any) -> Any:
            super().set(*args, **kwargs)  # the answer that was lost
            return super().set(*args, **kwargs)

    client = SentTwice.from_url(redis_url)
    try:
        store = RedisStateStore(client, prefix)
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False  # another request's, really spent before
    finally:
        client.close()


def test_keeps_a_nonce_as_long_as_its_state_lives(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    RedisStateStore(client, prefix).spend("nonce", 120)
    ttl = client.pttl(f"{prefix}state:nonce") / 1000
    assert 120 + CLOCK_SKEW - 5 < ttl <= 120 + CLOCK_SKEW


def test_a_state_is_spent_with_its_remaining_lifetime(
    app: Flask, client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    store = RedisStateStore(client, prefix)
    with app.test_request_context("/"):
        from flask import session

        value = state.issue(session, state.LINK, "user:1", None)
        state.consume(session, value, state.LINK, "user:1", 100, None, store)
    (key,) = client.keys(f"{prefix}state:*")
    assert 100 + CLOCK_SKEW - 5 < client.pttl(key) / 1000 <= 100 + CLOCK_SKEW


def test_survives_its_connections_being_closed_by_the_server(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    store = RedisStateStore(client, prefix)
    assert store.spend("before", 600) is True
    assert race(4, lambda i: store.spend(f"concurrent {i}", 600)) == [True] * 4
    # Redis restarted, or its idle timeout: every connection of the client's pool is closed.
    assert client_of().client_kill_filter(_type="normal", skipme=True) >= 1
    assert store.spend("after", 600) is True
    assert store.spend("after", 600) is False
    assert store.spend("before", 600) is False


def test_in_a_forked_process_uses_connections_of_its_own(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    store = RedisStateStore(client_of(), prefix)
    assert store.spend("parent", 600) is True  # leaves an idle connection behind
    with warnings.catch_warnings():  # Python 3.12+ warns of fork() beside threads: known here
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: as a worker forked from a preloading master
        code = 0 if store.spend("child", 600) is True and not store.spend("parent", 600) else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.spend("child", 600) is False
    assert store.spend("parent again", 600) is True  # the parent's connection still works


def test_a_site_s_subclass_is_asked_through_its_own_set(redis_url: str, prefix: str) -> None:
    class Instrumented(redis.Redis):  # a site's subclass may add to set: it is honoured
        calls = 0

        def set(self, *args: Any, **kwargs: Any) -> Any:
            Instrumented.calls += 1
            return super().set(*args, **kwargs)

    client = Instrumented.from_url(redis_url)
    try:
        store = RedisStateStore(client, prefix)
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False
        assert Instrumented.calls == 2
    finally:
        client.close()


def test_redis_down_is_unavailable_not_a_pass() -> None:
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    with pytest.raises(StateStoreUnavailable, match="Redis"):
        RedisStateStore(client).spend("nonce", 600)


@pytest.mark.parametrize("protocol", [2, 3])
def test_spends_once_on_either_protocol(redis_url: str, prefix: str, protocol: int) -> None:
    client = redis.Redis.from_url(redis_url, protocol=protocol)
    try:
        store = RedisStateStore(client, prefix)
        assert store.spend("nonce", 5) is True
        assert store.spend("nonce", 5) is False
    finally:
        client.close()


@pytest.mark.parametrize("decode_responses", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_keys_are_the_ones_the_client_itself_writes(
    redis_url: str, encoding: str, decode_responses: bool
) -> None:
    client = redis.Redis.from_url(redis_url, encoding=encoding, decode_responses=decode_responses)
    try:
        store = RedisStateStore(client, "étiquette:")
        assert store.spend("café", 600) is True
        assert store.spend("café", 600) is False
        assert client.exists("étiquette:state:café") == 1
        client.delete("étiquette:state:café")
    finally:
        client.close()


def test_a_sentinel_managed_client_spends_on_the_master(
    redis_url: str, prefix: str, tmp_path: Path, client_of: Callable[[], redis.Redis]
) -> None:
    from redis.sentinel import Sentinel

    with redis_sentinel(tmp_path, redis_url) as address:
        client = Sentinel([address], socket_timeout=5).master_for("mymaster")
        try:
            store = RedisStateStore(client, prefix)
            assert store.spend("nonce", 600) is True
            assert store.spend("nonce", 600) is False
            assert client_of().exists(f"{prefix}state:nonce") == 1
        finally:
            client.close()


def test_a_cluster_client_that_loses_its_cluster_is_unavailable(tmp_path: Path) -> None:
    from redis.cluster import RedisCluster

    options = (
        "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf"),
        "--cluster-port", str(free_port()),  # else port + 10000, which may be past 65535
    )  # fmt: skip
    with redis_server(tmp_path, *options) as url:
        node = redis.Redis.from_url(url)
        node.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)  # one node holds it all
        while node.cluster("INFO")["cluster_state"] != "ok":
            time.sleep(0.05)
        node.close()
        client = RedisCluster.from_url(url)
        store = RedisStateStore(client, "{capture}:")
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False
    # The cluster is gone: a RedisClusterException, which is not a RedisError.
    with pytest.raises(StateStoreUnavailable, match="Redis"):
        store.spend("another", 600)
    client.close()


def test_an_error_answer_is_unavailable_and_the_next_spend_works(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    admin = client_of()
    admin.acl_setuser(
        "no-set", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-set"]
    )
    settings = admin.connection_pool.connection_kwargs
    limited = redis.Redis(
        host=settings["host"], port=settings["port"], username="no-set", password="pw"
    )
    try:
        store = RedisStateStore(limited, prefix)
        with pytest.raises(StateStoreUnavailable, match="no permissions"):
            store.spend("nonce", 600)
        assert admin.exists(f"{prefix}state:nonce") == 0
        admin.acl_setuser("no-set", enabled=True, commands=["+set"])  # allowed again
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False
    finally:
        limited.close()
        admin.acl_deluser("no-set")


# Refresh across processes ------------------------------------------------------------------


def test_refresh_is_single_flight_across_processes(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    calls: list[str] = []
    stores = [RedisStateStore(client_of(), prefix) for _ in range(6)]

    def refresh(token: str) -> Tokens:
        calls.append(token)
        time.sleep(0.3)  # long enough for every other "process" to find the lock taken
        return Tokens(access_token="new-access", refresh_token="new-refresh", expires_at=5.0)

    results = race(6, lambda i: stores[i].refresh("old-refresh", refresh, wait=5))
    assert calls == ["old-refresh"]
    assert {(r.access_token, r.refresh_token, r.expires_at) for r in results} == {
        ("new-access", "new-refresh", 5.0)
    }
    # Keyed by a hash: the refresh token itself is never a key (nor a value) in Redis.
    client = client_of()
    keys = [key.decode() for key in client.keys(f"{prefix}*")]
    assert keys and all("old-refresh" not in key for key in keys)
    assert all(b"old-refresh" not in (client.get(key) or b"") for key in keys)


def test_a_failed_refresh_is_not_shared(client_of: Callable[[], redis.Redis], prefix: str) -> None:
    store = RedisStateStore(client_of(), prefix)
    attempts: list[str] = []

    def refused(token: str) -> Tokens:
        attempts.append(token)
        raise RefreshTokenInvalid("refused")

    for _ in range(2):
        with pytest.raises(RefreshTokenInvalid):
            store.refresh("spent", refused, wait=2)
    assert attempts == ["spent", "spent"]  # the lock was let go each time


def test_a_refresh_held_too_long_elsewhere_is_unavailable(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    key = f"{prefix}refresh:{sha256(b'busy').hexdigest()}:lock"
    client.set(key, "someone else", px=60_000)
    called: list[str] = []
    with pytest.raises(CaptureUnavailable):
        RedisStateStore(client, prefix).refresh(
            "busy", lambda token: called.append(token) or Tokens("a"), wait=0.3
        )
    assert called == []  # it waited for the other, and never refreshed itself
    assert client.get(key) == b"someone else"  # nor took or released the other's lock


def test_a_refresh_result_is_kept_sealed_while_its_access_token_lives(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    lifetime = 3600.0
    new = Tokens("new-access", "new-refresh", expires_at=time.time() + lifetime)
    calls: list[str] = []
    secrets = ["site secret"]
    first = RedisStateStore(client_of(), prefix).refresh(
        "old-refresh", lambda token: calls.append(token) or new, wait=2, secret_keys=secrets
    )
    assert first == new
    # The process that refreshed is gone (its session never saved); later, another process
    # gets a request still holding the spent refresh token: it takes the new tokens.
    later = RedisStateStore(client_of(), prefix).refresh(
        "old-refresh", lambda token: calls.append(token) or Tokens("x"), wait=2,
        secret_keys=secrets,
    )  # fmt: skip
    assert later == new and calls == ["old-refresh"]
    client = client_of()
    [key] = [k for k in client.keys(f"{prefix}refresh:*") if not k.endswith(b":lock")]
    assert client.pttl(key) > (lifetime - 120) * 1000  # not the 10 s of concurrent requests
    kept = client.get(key) or b""
    assert b"new-access" not in kept and b"new-refresh" not in kept  # sealed
    # A store with another secret cannot open it, and refreshes itself (the site's own secret
    # seals: a Redis shared with another site reveals nothing to it).
    other = RedisStateStore(client_of(), prefix).refresh(
        "old-refresh", lambda token: Tokens("other"), wait=2, secret_keys=["another secret"]
    )
    assert other.access_token == "other"


def test_fresh_spends_during_a_frozen_redis_are_not_refused(tmp_path: Path, prefix: str) -> None:
    # A really frozen redis-server (SIGSTOP): redis-py's socket timeout fires, its retry sends
    # the SET again on a new connection; then Redis thaws and runs both. Each fresh state must
    # still count as spent by its own request, not be refused as "already used".
    import signal
    import threading

    from redis.backoff import NoBackoff
    from redis.retry import Retry

    reconnected = threading.Event()

    class Watched(redis.Connection):
        def _connect(self) -> Any:  # the retry's new connection: the time to thaw Redis
            made = super()._connect()
            reconnected.set()
            return made

    with redis_server(tmp_path) as url:
        address = redis.Redis.from_url(url).connection_pool.connection_kwargs
        pool = redis.ConnectionPool(
            connection_class=Watched,
            host=address["host"],
            port=address["port"],
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 2),
            # redis-py 5 retries a timeout only when told to (8 does by default).
            retry_on_error=[redis.exceptions.TimeoutError, redis.exceptions.ConnectionError],
        )
        client = redis.Redis(connection_pool=pool)
        try:
            pid = int(client.info()["process_id"])
            store = RedisStateStore(client, prefix)
            for number in range(3):
                client.ping()  # the connection stands before Redis freezes
                reconnected.clear()
                os.kill(pid, signal.SIGSTOP)
                try:
                    spent: list[object] = []
                    spender = threading.Thread(
                        target=_spend_into, args=(store, f"fresh-{number}", spent)
                    )
                    spender.start()
                    assert reconnected.wait(30), "redis-py did not retry"
                finally:
                    os.kill(pid, signal.SIGCONT)
                spender.join(30)
                assert spent == [True]  # a fresh click, not "already used"
            sets = client.info("commandstats")["cmdstat_set"]["calls"]
            assert sets >= 2 * 3  # Redis ran each request's SET twice: the retry happened
        finally:
            client.close()


def _spend_into(store: RedisStateStore, nonce: str, results: list[object]) -> None:
    try:
        results.append(store.spend(nonce, 600))
    except StateStoreUnavailable as exc:
        results.append(exc)


# The per-account lock -------------------------------------------------------------------------


def test_a_lock_lets_one_process_in_at_a_time(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    # One store per thread, each with its own client: as many processes or machines would.
    stores = [RedisStateStore(client_of(), prefix) for _ in range(THREADS)]
    count, inside, most = [0], [0], [0]

    def change(i: int) -> None:
        with stores[i].locked("account:a", ttl=30, wait=30):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            seen = count[0]
            time.sleep(0.005)  # let another in, if the lock would let it
            count[0] = seen + 1
            inside[0] -= 1

    race(THREADS, change)
    assert (count[0], most[0]) == (THREADS, 1)
    assert client_of().exists(f"{prefix}lock:account:a") == 0  # let go after the last


def test_a_lock_held_all_the_wait_is_not_taken(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    holder, other = RedisStateStore(client_of(), prefix), RedisStateStore(client_of(), prefix)
    token = holder.acquire("account:a", ttl=30, wait=0)
    assert token is not None
    assert other.acquire("account:a", ttl=30, wait=0.1) is None
    assert other.acquire("account:b", ttl=30, wait=0) is not None  # another account's
    holder.release("account:a", token)
    assert other.acquire("account:a", ttl=30, wait=0) is not None


def test_a_dead_holder_s_lock_expires_and_its_late_release_frees_nothing(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    dead, other = RedisStateStore(client_of(), prefix), RedisStateStore(client_of(), prefix)
    stale = dead.acquire("account:a", ttl=0.05, wait=0)
    assert stale is not None
    token = other.acquire("account:a", ttl=30, wait=5)  # taken once the first one expired
    assert token is not None
    dead.release("account:a", stale)  # too late: the lock is another's now
    assert client_of().get(f"{prefix}lock:account:a") == token.encode()
    other.release("account:a", token)


def test_a_lock_in_a_redis_that_is_down_is_unavailable() -> None:
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    with pytest.raises(StateStoreUnavailable, match="Redis"):
        RedisStateStore(client).acquire("account:a", ttl=30, wait=1)


# Values kept for a while, taken once -------------------------------------------------------


def test_a_kept_value_is_taken_once(client_of: Callable[[], redis.Redis], prefix: str) -> None:
    store, other = RedisStateStore(client_of(), prefix), RedisStateStore(client_of(), prefix)
    store.keep("merge:1", "sealed value", ttl=30)
    assert 25_000 < client_of().pttl(f"{prefix}kept:merge:1") <= 30_000
    assert (
        race(4, lambda i: (store if i % 2 else other).take("merge:1")).count("sealed value") == 1
    )
    assert store.take("merge:1") is None


def test_keep_take_and_locks_with_redis_down_are_unavailable_or_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    store = RedisStateStore(client, "down:")
    for attempt in (
        lambda: store.keep("merge:1", "value", ttl=30),
        lambda: store.take("merge:1"),
        lambda: store.acquire("account:a", ttl=30, wait=0),
    ):
        with pytest.raises(StateStoreUnavailable, match="Redis"):
            attempt()
    store.release("account:a", "token")  # the lock expires by itself: logged, not raised
    assert "could not let go of a lock" in caplog.text
