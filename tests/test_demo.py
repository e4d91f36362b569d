"""``python -m example_app.demo`` serves a working site: sign in with the printed demo account
and see the connected-accounts page."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SITE_LINE = re.compile(r"^Site: (http://127\.0\.0\.1:\d+/)$")
DEMO_LINE = re.compile(r"^Demo account: (\S+) / (\S+)$")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def read_banner(process: subprocess.Popen[str], timeout: float = 30.0) -> list[str]:
    """The demo's lines up to "Press Ctrl-C", read in a thread so a silent demo cannot hang."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(timeout):
        pytest.fail(f"the demo printed no banner in {timeout} s; got {lines!r}")
    return lines


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_demo_serves_sign_in_and_connected_accounts() -> None:
    command = [sys.executable, "-m", "example_app.demo", "--port", "0", "--emulator-port", "0"]
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            banner = read_banner(process)
            [site] = [m.group(1) for line in banner if (m := SITE_LINE.match(line))]
            [(email, password)] = [m.groups() for line in banner if (m := DEMO_LINE.match(line))]

            with requests.Session() as browser:
                sign_in = browser.get(site + "login", timeout=10)
                assert sign_in.status_code == 200
                assert "<h1>Sign in</h1>" in sign_in.text
                assert email in sign_in.text and password in sign_in.text

                csrf_match = CSRF_FIELD.search(sign_in.text)
                assert csrf_match is not None
                page = browser.post(
                    site + "login",
                    data={"csrf_token": csrf_match.group(1), "email": email, "password": password},
                    timeout=10,
                )
                assert page.status_code == 200
                assert page.url == site + "account"
                assert "<h1>Connected accounts</h1>" in page.text
                assert email in page.text
                assert "No social accounts are linked yet." in page.text
                for provider in ("Google", "Facebook", "LinkedIn"):
                    assert f"Link your {provider} account" in page.text
                # The link buttons lead to Social Login on another site: the emulator's localhost.
                assert re.search(r'href="http://localhost:\d+/google/start\?token_url=', page.text)
        finally:
            process.terminate()
            _, errors = process.communicate(timeout=15)
        assert process.returncode == 0, errors
