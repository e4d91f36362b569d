"""pytest fixtures that serve the offline Capture emulator on a loopback port.

Installed with the package, pytest loads this plugin by itself. One emulator server runs for the
whole test session; ``capture_emulator`` resets it before each test, so every test starts with
only the demo user, no tokens, no faults and no recorded calls.

Example test::

    def test_link_button_links_google(capture_emulator, app, client):
        app.config.update(capture_emulator.settings())  # read when used: fine after init_app
        emulator = capture_emulator.emulator
        sign_in(client, emulator, emulator.demo_email, user=User(emulator.demo_email))
        token_url = find_token_url(client.get("/account"), "google")
        deliver_token(client, token_url, emulator.issue_social_token("google", "alice"))
        assert emulator.calls_to("/oauth/link_account_native")[0].stat == "ok"
        assert emulator.identities(emulator.demo_email)[0]["domain"] == "google.com"

(``sign_in``, ``find_token_url`` and ``deliver_token`` are in :mod:`flask_capture_link.testing`;
"Testing your site" in docs/testing.md is a whole test file.)

The emulator itself is imported only when a test asks for a fixture, so loading the plugin
costs nothing to test runs that do not use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flask_capture_link.emulator import EmulatorServer


@pytest.fixture(scope="session")
def capture_emulator_server() -> Iterator[EmulatorServer]:
    """One emulator served over plain HTTP on 127.0.0.1 (a free port) for the whole session.

    Prefer ``capture_emulator``, which also resets it; use this one in other session fixtures.
    """
    from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

    with EmulatorServer(CaptureEmulator()) as server:
        yield server


@pytest.fixture
def capture_emulator(capture_emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator server, its emulator reset to the seeded state for this test.

    ``capture_emulator.settings()`` gives the ``CAPTURE_LINK_*`` config; ``.emulator`` the
    :class:`~flask_capture_link.emulator.CaptureEmulator` to seed users, tokens and faults
    and to read the calls it received.
    """
    capture_emulator_server.emulator.reset()
    return capture_emulator_server
