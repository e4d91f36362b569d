"""EmulatorServer: a real threaded HTTP/1.1 server with keep-alive, TLS and a prompt stop."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from ..helpers import ENTITY


@pytest.fixture(scope="module")
def tls_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(CaptureEmulator(), tls=True) as server:
        yield server


@pytest.fixture
def https(tls_server: EmulatorServer) -> EmulatorServer:
    tls_server.emulator.reset()
    return tls_server


def entity(session: requests.Session, server: EmulatorServer, **kwargs: Any) -> int:
    """POST /entity with an unknown access token; returns Capture's error code."""
    verify = server.ca_bundle or True
    url = server.url + ENTITY
    with session.post(url, data={"access_token": "x" * 16}, verify=verify, **kwargs) as answer:
        code: int = answer.json()["code"]
    return code


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    with EmulatorServer(CaptureEmulator()) as server, requests.Session() as session:
        assert server.connections_accepted == 0
        assert entity(session, server) == 413
        assert entity(session, server) == 413
        assert server.connections_accepted == 1


def test_each_answer_is_one_write(server: EmulatorServer) -> None:
    # An answer in two writes meets Nagle's algorithm and delayed ACKs: ~40 ms per keep-alive
    # request. Over loopback one write arrives whole, so one read gets all of it.
    address = urlsplit(server.url)
    host, port = str(address.hostname), int(address.port or 80)
    body = b"access_token=" + b"x" * 16
    request = (
        f"POST {ENTITY} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, port), timeout=10) as connection:
        for _ in range(3):  # on one connection: keep-alive answers too
            connection.sendall(request)
            head, _, payload = connection.recv(65536).partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            assert length is not None, head
            assert len(payload) == int(length.group(1)), (head, payload)
            assert json.loads(payload)["code"] == 413


def test_settings(server: EmulatorServer) -> None:
    emu = server.emulator
    assert server.settings() == {
        "CAPTURE_LINK_DOMAIN": server.url,
        "CAPTURE_LINK_CLIENT_ID": emu.client_id,
        "CAPTURE_LINK_CLIENT_SECRET": emu.client_secret,
        "CAPTURE_LINK_FLOW": "standard",
        "CAPTURE_LINK_FLOW_VERSION": "20190618143040022299",
        "CAPTURE_LINK_LOCALE": "en-US",
        "CAPTURE_LINK_FLOW_LOCALES": "en-US,es-ES",
        "CAPTURE_LINK_SOCIAL_LOGIN_URL": server.social_login_url,
        "CAPTURE_LINK_REDIRECT_URI": server.url + "/",
        "DEMO_EMAIL": "demo@example.com",
        "DEMO_PASSWORD": "demo-password",
        "UNPRIVILEGED_CLIENT_ID": emu.unprivileged_client_id,
    }
    assert len(emu.client_id) == 32
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.social_login_url == f"http://localhost:{server.port}"
    assert server.ca_bundle is None


def test_social_login_url_reaches_the_same_server(server: EmulatorServer) -> None:
    with requests.post(server.social_login_url + ENTITY, timeout=5) as answer:
        assert answer.json()["code"] == 100


def test_the_url_is_known_only_once_started() -> None:
    server = EmulatorServer(CaptureEmulator())
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    with server, pytest.raises(RuntimeError):
        server.start()
    server.stop()  # a second stop is harmless


def test_tls_is_verified_with_the_ca_bundle(https: EmulatorServer) -> None:
    assert https.url.startswith("https://127.0.0.1:")
    assert https.ca_bundle is not None
    assert https.settings()["CAPTURE_LINK_CA_BUNDLE"] == https.ca_bundle
    before = https.connections_accepted
    with requests.Session() as session:
        assert entity(session, https) == 413
        assert entity(session, https) == 413
        assert https.connections_accepted - before == 1
        with session.post(https.social_login_url + ENTITY, verify=https.ca_bundle) as answer:
            assert answer.json()["code"] == 100


def test_tls_is_refused_without_the_ca_bundle(https: EmulatorServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(https.url + ENTITY, timeout=5)
    # The failed handshake does not stop the server.
    with requests.Session() as session:
        assert entity(session, https) == 413


@pytest.mark.parametrize("kind", ["drop", "hang"])
def test_tls_faults_break_the_connection(https: EmulatorServer, kind: str) -> None:
    https.emulator.set_fault(ENTITY, kind, seconds=0.1)
    with requests.Session() as session, pytest.raises(requests.ConnectionError):
        entity(session, https)


def test_the_certificate_files_go_away_on_stop() -> None:
    with EmulatorServer(CaptureEmulator(), tls=True) as server:
        assert server.ca_bundle is not None
        assert os.path.exists(server.ca_bundle)
    assert not os.path.exists(server.ca_bundle)


def test_stop_returns_promptly_while_a_request_hangs() -> None:
    emu = CaptureEmulator()
    errors: list[BaseException] = []
    with EmulatorServer(emu) as server:
        emu.set_fault("*", "hang", seconds=60)

        def call() -> None:
            try:
                requests.post(server.url + ENTITY, timeout=30)
            except requests.ConnectionError as error:
                errors.append(error)

        caller = threading.Thread(target=call)
        caller.start()
        deadline = time.monotonic() + 5
        while not emu.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
    # Under test: stop does not wait for the hang (60 s) to end; loosely, for a slow machine.
    assert time.monotonic() - started < 30
    caller.join(5)
    assert len(errors) == 1


def test_stop_closes_idle_keep_alive_connections() -> None:
    with requests.Session() as session:
        with EmulatorServer(CaptureEmulator()) as server:
            entity(session, server)
            started = time.monotonic()
        # Under test: stop does not wait for the idle connection's timeout (IDLE_TIMEOUT,
        # 120 s) to end it; loosely, for a slow machine.
        assert time.monotonic() - started < 60


def test_requests_are_not_logged(
    server: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    with requests.Session() as session:
        entity(session, server, params={"access_token": "secret-in-query"})
        with session.get(server.url + "/google/start?token_url=http://a/?x=secret") as page:
            assert page.status_code == 200
    out, err = capfd.readouterr()
    assert "secret" not in out + err
    assert "POST" not in err and "GET" not in err


def test_chunked_request_bodies_are_refused(server: EmulatorServer) -> None:
    def body() -> Iterator[bytes]:
        yield b"access_token=x"

    with requests.post(server.url + ENTITY, data=body(), timeout=5) as answer:
        assert answer.status_code == 411
        assert answer.headers["Connection"] == "close"


def test_a_host_name_is_kept_in_the_url() -> None:
    with EmulatorServer(CaptureEmulator(), host="localhost") as server:
        assert urlsplit(server.url).hostname == "localhost"
        with requests.Session() as session:
            assert entity(session, server) == 413
