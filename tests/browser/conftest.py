"""Real headless Chromium against the example site and the Capture emulator.

Three origins, as in production: the site on ``127.0.0.1``, the emulator's Social Login pages
on ``localhost`` (another site, so the token POST is cross-site and the session cookie,
``SameSite=Lax``, stays behind), and an attacker's page on ``localhost`` too.

The folder is skipped when no Chromium is found, except in CI (``CI`` set), where a missing
Chromium is an error. ``CHROMIUM_PATH`` names a binary to use. The emulator is the one the
package's pytest plugin serves (``capture_emulator``; ``emulator`` from ``tests/conftest.py``),
reset before each test. Each test leaves a full-page screenshot of every browser page it opened
in ``artifacts/screenshots/``. The servers and the visitor the fixtures make are in
``helpers.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from flask_capture_link.emulator import EmulatorServer

from .helpers import (
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    AttackerSite,
    SiteServer,
    Visitor,
    find_chromium,
    in_ci,
    serve_site,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's tests when there is no Chromium, unless in CI."""
    if find_chromium() is not None or in_ci():
        return
    skip = pytest.mark.skip(reason="no Chromium found (set CHROMIUM_PATH); CI=1 makes it an error")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


# The servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _quiet_request_logs() -> Iterator[None]:
    # werkzeug logs every request of the site's threads; the tests assert on pages instead.
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="session")
def site(capture_emulator_server: EmulatorServer) -> Iterator[SiteServer]:
    """The example site, with the client secret: it refreshes expired access tokens."""
    yield from serve_site(capture_emulator_server)


@pytest.fixture(scope="session")
def site_without_secret(capture_emulator_server: EmulatorServer) -> Iterator[SiteServer]:
    """The example site without a client secret: an expired access token means sign in."""
    yield from serve_site(capture_emulator_server, CAPTURE_LINK_CLIENT_SECRET=None)


@pytest.fixture(scope="session")
def attacker_site() -> Iterator[AttackerSite]:
    """A site of the attacker's, on ``localhost``."""
    attacker = AttackerSite()
    yield attacker
    attacker.stop()


# The browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session; each visitor gets their own context."""
    path = find_chromium()
    if path is None:
        pytest.fail("Chromium is required for the browser tests in CI; set CHROMIUM_PATH")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def visit(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Visitor]]:
    """``visit(site)``: a new visitor (fresh cookies) of ``site``. Every visitor's last page is
    saved as ``artifacts/screenshots/<test>.png`` (earlier visitors: ``<test>-<n>.png``)."""
    visitors: list[Visitor] = []

    def open_visitor(site: SiteServer) -> Visitor:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        visitor = Visitor(context.new_page(), site)
        visitors.append(visitor)
        return visitor

    yield open_visitor

    folder = request.config.rootpath / "artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    for number, visitor in enumerate(visitors, start=1):
        suffix = "" if number == len(visitors) else f"-{number}"
        try:
            visitor.page.screenshot(path=folder / f"{name}{suffix}.png", full_page=True)
        finally:
            visitor.page.context.close()
