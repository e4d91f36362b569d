"""Shared fixtures: a small site using the extension (``tests/helpers.py``), against the
emulator over loopback.

``capture_emulator`` (a real HTTP server in a thread, reset per test) comes from the package's
own pytest plugin, ``flask_capture_link.pytest_plugin``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from flask_capture_link.client import CaptureClient
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import find_token_url, sign_in

from .helpers import make_site, site_config
from .processes import redis_server


@pytest.fixture
def emulator(capture_emulator: EmulatorServer) -> CaptureEmulator:
    """The emulator behind ``capture_emulator``, in its seeded state."""
    return capture_emulator.emulator


@pytest.fixture
def capture(capture_emulator: EmulatorServer) -> Iterator[CaptureClient]:
    """A ``CaptureClient`` of the emulator's login client (no site around it)."""
    emulator = capture_emulator.emulator
    with CaptureClient(
        capture_emulator.url,
        emulator.client_id,
        flow=emulator.flow,
        flow_version=emulator.flow_version,
        redirect_uri="http://localhost/",
        timeout=(1.0, 3.0),
    ) as client:
        yield client


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    """The site (pytest-flask's ``client`` fixture uses it)."""
    return make_site(site_config(capture_emulator))


@pytest.fixture
def signed_in(client: FlaskClient, emulator: CaptureEmulator) -> dict[str, Any]:
    """The demo user's tokens, in the test client's session."""
    return sign_in(client, emulator, emulator.demo_email)


@pytest.fixture
def token_url(client: FlaskClient, signed_in: dict[str, Any]) -> str:
    """A token URL issued to the signed-in demo user (from the rendered button)."""
    return find_token_url(client.get("/account").get_data(as_text=True), "google")


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record, of every logger, at DEBUG (urllib3's included)."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "flask_capture_link", "werkzeug", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole run (tests use their own
    keys, or flush)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def prefix() -> str:
    """Keys of this test only, in the shared redis-server."""
    return f"test-{secrets.token_hex(6)}:"


@pytest.fixture
def client_of(redis_url: str) -> Iterator[Callable[[], redis.Redis]]:
    """New Redis clients (each its own pool, as another process would have), closed after."""
    made: list[redis.Redis] = []

    def make() -> redis.Redis:
        made.append(redis.Redis.from_url(redis_url))
        return made[-1]

    yield make
    for client in made:
        client.close()
