"""Fixtures for replaying the corpus: a client and a site against the emulator over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from flask_capture_link.client import CaptureClient
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from ..helpers import make_site, site_config


@pytest.fixture
def capture(capture_emulator: EmulatorServer) -> Iterator[CaptureClient]:
    """A ``CaptureClient`` of the emulator's login client."""
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
    """A site that can refresh (it has the client secret) and sends users to /sign-in."""
    secret = capture_emulator.emulator.client_secret
    return make_site(
        site_config(
            capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret, CAPTURE_LINK_LOGIN_URL="/sign-in"
        )
    )


@pytest.fixture
def emulator(capture_emulator: EmulatorServer) -> CaptureEmulator:
    """The emulator, in its seeded state."""
    return capture_emulator.emulator
