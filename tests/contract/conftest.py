"""Fixtures for replaying the corpus: a site against the emulator over loopback (the client,
``capture``, and ``emulator`` come from ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from flask_capture_link.client import CaptureClient
from flask_capture_link.emulator import EmulatorServer

from ..helpers import make_site, site_config


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    """A site that can refresh (it has the client secret) and sends users to /sign-in."""
    secret = capture_emulator.emulator.client_secret
    return make_site(
        site_config(
            capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret, CAPTURE_LINK_LOGIN_URL="/sign-in"
        )
    )


@pytest.fixture
def capture_with_secret(capture_emulator: EmulatorServer) -> Iterator[CaptureClient]:
    """A ``CaptureClient`` of the emulator's login client with its secret: it signs in for a
    code and exchanges it."""
    emulator = capture_emulator.emulator
    with CaptureClient(
        capture_emulator.url,
        emulator.client_id,
        flow_version=emulator.flow_version,
        redirect_uri="http://localhost/",
        timeout=(1.0, 3.0),
        client_secret=emulator.client_secret,
    ) as client:
        yield client
