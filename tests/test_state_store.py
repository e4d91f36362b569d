"""The state store: one atomic spend per state, in memory or in a real Redis, chosen from the
app's config at request time; refreshes single-flight across "processes" through Redis."""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from flask_capture_link import CaptureLink, Tokens, state, state_store
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer
from flask_capture_link.errors import RefreshTokenInvalid
from flask_capture_link.shared_refresh import RedisRefresh
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import last_flash, link_calls, make_site, race, site_config

THREADS = 12


# Spending ----------------------------------------------------------------------------------


def test_memory_store_spends_once_among_threads() -> None:
    store = state_store.MemoryStateStore()
    assert race(THREADS, lambda i: store.spend("nonce", 600)).count(True) == 1
    assert store.spend("nonce", 600) is False
    assert store.spend("another", 600) is True


def test_memory_store_forgets_a_nonce_when_its_state_has_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = state_store.MemoryStateStore()
    now = [1000.0]
    monkeypatch.setattr(state_store.time, "monotonic", lambda: now[0])
    assert store.spend("nonce", 5)
    now[0] += 4
    assert not store.spend("nonce", 5)
    now[0] += state_store.PRUNE_EVERY  # expired, and pruned
    assert store.spend("nonce", 5)


def test_redis_store_spends_once_among_processes(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    # One store per thread, each with its own client: as many processes or machines would.
    stores = [state_store.RedisStateStore(client_of(), prefix) for _ in range(THREADS)]
    assert race(THREADS, lambda i: stores[i].spend("nonce", 600)).count(True) == 1
    assert stores[0].spend("nonce", 600) is False


def test_redis_store_keeps_a_nonce_as_long_as_its_state_lives(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    state_store.RedisStateStore(client, prefix).spend("nonce", 120)
    ttl = client.pttl(f"{prefix}state:nonce") / 1000
    assert 120 + state_store.CLOCK_SKEW - 5 < ttl <= 120 + state_store.CLOCK_SKEW


def test_redis_store_survives_its_connections_being_closed_by_the_server(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    store = state_store.RedisStateStore(client, prefix)
    assert store.spend("before", 600) is True
    # Several idle connections, as after concurrent requests.
    assert race(4, lambda i: store.spend(f"concurrent {i}", 600)) == [True] * 4
    # Redis restarted, or its idle timeout: every connection of the store's pool is closed.
    killed = client_of().client_kill_filter(_type="normal", skipme=True)
    assert killed >= 1
    assert store.spend("after", 600) is True
    assert store.spend("after", 600) is False
    assert store.spend("before", 600) is False


def test_redis_store_in_a_forked_process_uses_connections_of_its_own(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    store = state_store.RedisStateStore(client_of(), prefix)
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


def test_a_client_of_another_kind_is_asked_through_its_own_set(
    redis_url: str, prefix: str
) -> None:
    class Instrumented(redis.Redis):  # a site's subclass may add to set: it is honoured
        calls = 0

        def set(self, *args: Any, **kwargs: Any) -> Any:
            Instrumented.calls += 1
            return super().set(*args, **kwargs)

    client = Instrumented.from_url(redis_url)
    try:
        store = state_store.RedisStateStore(client, prefix)
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False
        assert Instrumented.calls == 2
        assert client.exists(f"{prefix}state:nonce") == 1
    finally:
        client.close()


def test_redis_down_is_unavailable_not_a_pass_and_said_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[Any] = []
    connect = socket.socket.connect

    def counted(sock: socket.socket, address: Any) -> None:
        if address[1] == 1:  # the Redis that is down; other threads may connect elsewhere
            tried.append(address)
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", counted)
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(state_store.StateStoreUnavailable):
        state_store.RedisStateStore(client).spend("nonce", 600)
    # Not redis-py 8's ten retries with backoff (seconds) on a refused connection, for every
    # token URL request while Redis is down: the store tries once more, on a new connection.
    assert 1 <= len(tried) <= 2, tried


def test_a_state_is_spent_with_its_remaining_lifetime(
    app: Flask, client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    client = client_of()
    store = state_store.RedisStateStore(client, prefix)
    with app.test_request_context("/"):
        from flask import session

        value = state.issue(session, state.LINK, "user:1", None)
        time.sleep(0.01)
        state.consume(session, value, state.LINK, "user:1", 100, store=store)
    (key,) = client.keys(f"{prefix}state:*")
    assert (
        100 + state_store.CLOCK_SKEW - 5 < client.pttl(key) / 1000 < 100 + state_store.CLOCK_SKEW
    )


# Which store -------------------------------------------------------------------------------


def test_without_redis_the_store_is_the_apps_memory(app: Flask) -> None:
    with app.test_request_context("/"):
        first = state_store.current()
        assert isinstance(first, state_store.MemoryStateStore) and not first.shared
        assert state_store.current() is first
    other = Flask("other")
    with other.test_request_context("/"):
        assert state_store.current() is not first


def test_redis_url_is_read_at_request_time_and_its_client_cached(
    capture_emulator: EmulatorServer, redis_url: str, prefix: str, emulator: Any
) -> None:
    app = make_site(site_config(capture_emulator))
    app.config.update(CAPTURE_LINK_REDIS_URL=redis_url, CAPTURE_LINK_REDIS_PREFIX=prefix)
    with app.test_request_context("/"):
        store = state_store.current()
        assert isinstance(store, state_store.RedisStateStore) and store.shared
        assert state_store.current().client is store.client
    # A whole link through it: the spent nonce is in Redis, and a replay is refused.
    with app.test_client() as browser:
        sign_in(browser, emulator, emulator.demo_email)
        url = find_token_url(browser.get("/").get_data(as_text=True))
        deliver_token(browser, url, emulator.issue_social_token("google", "r"))
        assert last_flash(browser)[0] == "success"
        deliver_token(browser, url, emulator.issue_social_token("google", "s"))
        assert last_flash(browser) == ("error", ENGLISH["invalid_state"])
    assert link_calls(emulator) == 1
    assert len(store.client.keys(f"{prefix}state:*")) == 1


def test_a_client_given_to_the_extension_wins(
    capture_emulator: EmulatorServer, client_of: Callable[[], redis.Redis], redis_url: str
) -> None:
    given = client_of()
    config = site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=redis_url)
    direct = make_site(config, CaptureLink(redis=given))  # CaptureLink(app, redis=client)
    factory = Flask("factory")
    factory.config.update(config)
    CaptureLink().init_app(factory, redis=given)
    for app in (direct, factory):
        assert app.config["CAPTURE_LINK_REDIS"] is given
        with app.test_request_context("/"):
            assert state_store.current().client is given


def test_flask_session_redis_is_used_when_nothing_is_set(
    capture_emulator: EmulatorServer, client_of: Callable[[], redis.Redis]
) -> None:
    from flask_session import Session

    sessions = client_of()

    def server_side_sessions(app: Flask) -> None:
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=sessions)
        Session(app)

    app = make_site(site_config(capture_emulator), before=server_side_sessions)
    with app.test_request_context("/"):
        assert state_store.current().client is sessions


def test_unavailable_redis_refuses_the_link_and_calls_nothing(
    capture_emulator: EmulatorServer, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_site(site_config(capture_emulator))
    with app.test_client() as browser:
        sign_in(browser, emulator, emulator.demo_email)
        url = find_token_url(browser.get("/?next=/settings").get_data(as_text=True))
        app.config["CAPTURE_LINK_REDIS"] = redis.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.5
        )
        response = deliver_token(browser, url, emulator.issue_social_token("google", "d"))
        assert response.status_code == 303
        assert response.headers["Location"] == "/settings"  # the button's page
        assert last_flash(browser) == ("error", ENGLISH["unavailable"])
    assert link_calls(emulator) == 0
    assert "state store" in caplog.text


# Warnings ----------------------------------------------------------------------------------


def test_warning_at_start_with_many_workers_and_no_redis(
    capture_emulator: EmulatorServer,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with caplog.at_level(logging.WARNING, logger="flask_capture_link"):
        make_site(site_config(capture_emulator))
        assert "single use of a link state" in caplog.text
        assert "WEB_CONCURRENCY=4" in caplog.text
        caplog.clear()
        make_site(site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=redis_url))
        make_site(site_config(capture_emulator, SESSION_TYPE="redis"))
        assert caplog.text == ""


def test_warning_at_the_first_request_of_a_multiprocess_server(
    app: Flask, client: FlaskClient, signed_in: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = urlsplit(find_token_url(client.get("/").get_data(as_text=True)))
    with caplog.at_level(logging.WARNING, logger="flask_capture_link"):
        for _ in range(2):
            client.post(
                url.path + "?" + url.query,
                data={"token": "x" * 40},
                environ_overrides={"wsgi.multiprocess": True},
            )
    assert caplog.text.count("holds per process only") == 1


# Refresh across processes ------------------------------------------------------------------


def test_refresh_is_single_flight_across_processes(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    calls: list[str] = []
    stores = [RedisRefresh(client_of(), prefix) for _ in range(6)]

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
    refresher = RedisRefresh(client_of(), prefix)
    attempts: list[str] = []

    def refused(token: str) -> Tokens:
        attempts.append(token)
        raise RefreshTokenInvalid("refused")

    for _ in range(2):
        with pytest.raises(RefreshTokenInvalid):
            refresher.refresh("spent", refused, wait=2)
    assert attempts == ["spent", "spent"]  # the lock was let go each time


def test_a_refresh_held_too_long_elsewhere_is_unavailable(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    from hashlib import sha256

    from flask_capture_link.errors import CaptureUnavailable

    client = client_of()
    key = f"{prefix}refresh:{sha256(b'busy').hexdigest()}:lock"
    client.set(key, "someone else", px=60_000)
    refreshed: list[str] = []

    def refresh(token: str) -> Tokens:
        refreshed.append(token)
        return Tokens("a")

    began = time.monotonic()
    with pytest.raises(CaptureUnavailable):
        RedisRefresh(client, prefix).refresh("busy", refresh, wait=0.3)
    # Under test: the wait (0.3 s) ends it, not the lock's 60 s; loosely, for a slow machine.
    assert time.monotonic() - began < 30
    assert refreshed == []  # the token is the other holder's to refresh
