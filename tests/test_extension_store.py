"""Which state store an app uses (CaptureLink.state_store): chosen from the app's config at
request time, and the warnings when single use would hold per process only."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from flask_capture_link import CaptureLink
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import EmulatorServer
from flask_capture_link.store import MemoryStateStore, RedisStateStore, StateStoreUnavailable
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import last_flash, link_calls, make_site, site_config
from .processes import free_port


def test_without_redis_the_store_is_the_app_s_memory(capture_emulator: EmulatorServer) -> None:
    ext = CaptureLink()
    first = make_site(site_config(capture_emulator), ext)
    second = make_site(site_config(capture_emulator), ext)
    with first.test_request_context("/"):
        store = ext.state_store()
        assert isinstance(store, MemoryStateStore)
        assert ext.state_store() is store
        assert ext.state_store_source() is None
    with second.test_request_context("/"):
        assert ext.state_store() is not store  # each app its own


def test_redis_url_is_read_at_request_time_and_its_client_cached(
    capture_emulator: EmulatorServer, redis_url: str, prefix: str, emulator: Any
) -> None:
    app = make_site(site_config(capture_emulator))
    app.config.update(CAPTURE_LINK_REDIS_URL=redis_url, CAPTURE_LINK_REDIS_PREFIX=prefix)
    ext = app.extensions["capture_link"]
    with app.test_request_context("/"):
        store = ext.state_store()
        assert isinstance(store, RedisStateStore)
        assert ext.state_store().client is store.client
        assert ext.state_store_source() == "CAPTURE_LINK_REDIS_URL"
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


def test_a_redis_url_client_tries_a_command_twice_at_most(
    capture_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there: Redis is down
    tried: list[Any] = []
    connect = socket.socket.connect

    def counted(sock: socket.socket, address: Any) -> None:
        if address[1] == port:  # other threads may connect elsewhere
            tried.append(address)
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", counted)
    app = make_site(site_config(capture_emulator))
    app.config["CAPTURE_LINK_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    with app.test_request_context("/"):
        store = app.extensions["capture_link"].state_store()
        assert isinstance(store, RedisStateStore)
        with pytest.raises(StateStoreUnavailable):
            store.spend("nonce", 600)
    # Not redis-py 8's default of ten tries with backoff, seconds for every token URL request
    # while Redis is down: one try, and one more.
    assert 1 <= len(tried) <= 2, tried


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
        assert "CAPTURE_LINK_REDIS" not in app.config or app.config["CAPTURE_LINK_REDIS"] is None
        with app.test_request_context("/"):
            ext = app.extensions["capture_link"]
            assert ext.state_store().client is given
            assert ext.state_store_source() == "the Redis client given to CaptureLink"


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
        assert app.extensions["capture_link"].state_store().client is sessions


def test_unavailable_redis_refuses_the_link_and_calls_nothing(
    capture_emulator: EmulatorServer, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_site(site_config(capture_emulator))
    with app.test_client() as browser:
        sign_in(browser, emulator, emulator.demo_email)
        url = find_token_url(browser.get("/?next=/settings").get_data(as_text=True))
        app.config["CAPTURE_LINK_REDIS"] = redis.Redis(
            host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5
        )
        response = deliver_token(browser, url, emulator.issue_social_token("google", "d"))
        assert response.status_code == 303
        assert response.headers["Location"] == "/settings"  # the button's page
        assert last_flash(browser) == ("error", ENGLISH["unavailable"])
    assert link_calls(emulator) == 0
    assert "state store" in caplog.text


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
