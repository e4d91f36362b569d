"""What the browser tests share: finding Chromium, the example site and an attacker's site
served in threads, and a visitor driving a page (the fixtures that start them are in
``conftest.py``)."""

from __future__ import annotations

import html
import os
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from playwright.sync_api import Locator, Page
from werkzeug.serving import make_server

from example_app import create_app
from flask_capture_link.emulator import EmulatorServer

#: Chromium switches for a headless run in a container: no sandbox, GPU or background traffic.
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
    """The example site against ``emulator_server``, with ``config`` on top, until closed."""
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
