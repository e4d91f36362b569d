"""Fixtures for replaying the corpus: a site against the emulator over loopback (the client,
``capture``, and ``emulator`` come from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
from flask import Flask

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
