"""Real headless Chromium against the example site and the Capture emulator.

Three origins, as in production: the site on ``127.0.0.1``, the emulator's Social Login pages
on ``localhost`` (another site, so the token POST is cross-site and the session cookie,
``SameSite=Lax``, stays behind), and an attacker's page on ``localhost`` too.

The folder is skipped when no Chromium is found, except in CI (``CI`` set), where a missing
Chromium is an error. ``CHROMIUM_PATH`` names a binary to use. The emulator is the one the
package's pytest plugin serves (``capture_emulator``), reset before each test. Each test leaves
a full-page screenshot of every browser page it opened in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from werkzeug.serving import make_server

from example_app import create_app
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Milliseconds a page action or expectation may take before the test fails.
TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent


def find_chromium() -> str | None:
    """``CHROMIUM_PATH``, else a Chromium on the usual paths."""
    candidates = [
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def in_ci() -> bool:
    """Whether the environment says this is CI, where the browser tests must run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's tests when there is no Chromium, unless in CI."""
    if find_chromium() is not None or in_ci():
        return
    skip = pytest.mark.skip(reason="no Chromium found (set CHROMIUM_PATH); CI=1 makes it an error")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


# The servers ----------------------------------------------------------------------------------


@pytest.fixture
def emulator(capture_emulator: EmulatorServer) -> CaptureEmulator:
    """The emulator (served by the package's pytest plugin for the whole session), back to
    only its demo user, with no tokens, faults or recorded calls."""
    return capture_emulator.emulator


class SiteServer:
    """The example site on a free port of 127.0.0.1, served by threads in the background."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.social_login_url = str(app.config["CAPTURE_LINK_SOCIAL_LOGIN_URL"])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        with self.app.app_context():
            self.app.extensions["capture_link"].client.close()


def serve_site(emulator_server: EmulatorServer, **config: Any) -> Iterator[SiteServer]:
    settings = emulator_server.settings()
    site_config: dict[str, Any] = {
        key: value for key, value in settings.items() if key.startswith("CAPTURE_LINK_")
    }
    site_config.update(
        SECRET_KEY="browser-tests-secret-key",
        EXAMPLE_SHOW_DEMO_CREDENTIALS=True,
        EXAMPLE_DEMO_EMAIL=settings["DEMO_EMAIL"],
        EXAMPLE_DEMO_PASSWORD=settings["DEMO_PASSWORD"],
    )
    site_config.update(config)
    server = SiteServer(create_app(site_config))
    yield server
    server.stop()


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


class AttackerSite:
    """Pages on another site (``localhost``) that submit forms to the victim's site."""

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}
        self._pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def auto_post(self, action: str, fields: dict[str, str]) -> str:
        """Publish a page that POSTs ``fields`` to ``action`` as soon as it loads; its URL."""
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in fields.items()
        )
        path = f"/prize-{len(self._pages)}"
        self._pages[path] = (
            "<!doctype html><title>You won!</title>"
            f'<form id="f" method="post" action="{html.escape(action)}">{inputs}</form>'
            '<script>document.getElementById("f").submit();</script>'
        ).encode()
        return self.url + path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


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


class Visitor:
    """One person at the example site, in a browser context (cookies) of their own."""

    def __init__(self, page: Page, site: SiteServer) -> None:
        self.page = page
        self.site = site

    def goto(self, path: str) -> None:
        self.page.goto(self.site.url + path)

    def wait_for(self, path: str) -> None:
        """Wait until the page shown is ``path`` on the site (the query included)."""
        self.page.wait_for_url(re.compile(re.escape(self.site.url + path) + "$"))

    def sign_in(self, email: str, password: str) -> None:
        """Sign in on the site's form and land on the connected-accounts page."""
        self.goto("/login")
        self.submit_sign_in(email, password)
        self.wait_for("/account")

    def submit_sign_in(self, email: str, password: str) -> None:
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def link_button(self, provider: str) -> Locator:
        return self.page.get_by_role("link", name=f"Link your {provider} account")

    def start_link(self, provider: str = "Google") -> None:
        """Click a link button and wait for the provider's page at Social Login."""
        self.link_button(provider).click()
        self.page.wait_for_url(self.site.social_login_url + "/**")

    def sign_in_at_provider(self, identifier: str) -> None:
        """On the provider's page: sign in as ``identifier``, which delivers the token."""
        self.page.locator("input[name=identifier]").fill(identifier)
        self.page.get_by_role("button", name="Sign in").click()

    def flash(self, role: str) -> Locator:
        """The flashed messages with ARIA role ``alert`` (errors) or ``status``."""
        return self.page.locator(f".flash[role={role}]")

    def identities(self) -> list[str]:
        """The labels of the identities listed on the connected-accounts page."""
        return self.page.locator(".identity-label").all_inner_texts()


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
