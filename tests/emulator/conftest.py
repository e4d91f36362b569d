"""Fixtures for the emulator's own tests: every request goes over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from .helpers import CaptureAPI


def pytest_configure(config: pytest.Config) -> None:
    """Load the package's plugin unless ``-p`` or its entry point already did."""
    from flask_capture_link import pytest_plugin

    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "flask_capture_link.pytest_plugin")


@pytest.fixture
def server(capture_emulator: EmulatorServer) -> EmulatorServer:
    """The session's plain-HTTP emulator server, reset."""
    return capture_emulator


@pytest.fixture
def emu(server: EmulatorServer) -> CaptureEmulator:
    """The emulator behind ``server``."""
    return server.emulator


@pytest.fixture
def api(server: EmulatorServer) -> Iterator[CaptureAPI]:
    """A Capture API caller on one keep-alive session."""
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment between us and loopback
        yield CaptureAPI(server, session)
