"""The pytest plugin: one server per session, reset before every test, cheap to load."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flask_capture_link.emulator import EmulatorServer


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_starts_from_the_seeded_state(
    capture_emulator: EmulatorServer, capture_emulator_server: EmulatorServer, turn: int
) -> None:
    assert capture_emulator is capture_emulator_server
    emulator = capture_emulator.emulator
    assert emulator.calls == []
    assert emulator.identities(emulator.demo_email) == []
    # Leave state behind: whichever turn runs second would see it without the reset.
    emulator.add_identity(emulator.demo_email, "google", f"turn{turn}")
    emulator.set_fault("*", "html_502")


def test_loading_the_plugin_does_not_import_the_emulator() -> None:
    code = (
        "import sys, flask_capture_link.pytest_plugin;"
        "sys.exit('flask_capture_link.emulator' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
