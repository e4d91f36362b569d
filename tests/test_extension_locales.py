"""Languages: the user's picks the messages, the flow's nearest goes to Capture."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import request

from flask_capture_link import CaptureLink
from flask_capture_link.catalog import CATALOG
from flask_capture_link.config import nearest_locale
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import LINK, last_flash, make_site, site_config

DOCS = Path(__file__).resolve().parents[1] / "docs"


def languages_example() -> str:
    """The Python block of "Languages" in docs/outcomes.md, as a reader copies it."""
    page = (DOCS / "outcomes.md").read_text(encoding="utf-8")
    found = re.search(r"## Languages\n.*?```python\n(.*?)```", page, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("accept", "language", "sent"),
    [
        ("en-US", "en", "en-US"),
        ("es-ES", "es", "es-ES"),
        ("fr-FR", "fr", "en-US"),  # the flow has no French: its first locale
        ("de-DE,de;q=0.9", "de", "en-US"),
    ],
)
def test_the_docs_locale_example_links_in_four_languages(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, accept: str, language: str,
    sent: str,
) -> None:  # fmt: skip
    capture_link = CaptureLink()
    app = make_site(site_config(capture_emulator), capture_link)
    namespace: dict[str, Any] = {"app": app, "capture_link": capture_link, "request": request}
    exec(compile(languages_example(), "docs/outcomes.md", "exec"), namespace)  # noqa: S102
    with app.test_client() as client:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
        sign_in(client, emulator, emulator.demo_email)
        with app.test_request_context(headers={"Accept-Language": accept}):
            assert capture_link.flow_locale() == sent
        token_url = find_token_url(client.get("/account"), "google")
        deliver_token(client, token_url, emulator.issue_social_token("google", "alice"))
        assert last_flash(client) == ("success", CATALOG[language]["success"])
    assert [call.stat for call in emulator.calls_to(LINK)] == ["ok"]


def test_without_flow_locales_a_french_user_still_links(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    capture_link = CaptureLink()
    app = make_site(site_config(capture_emulator), capture_link)
    app.config["CAPTURE_LINK_FLOW_LOCALES"] = None  # the default: [CAPTURE_LINK_LOCALE]
    with app.app_context():
        capture_link.locale_selector(lambda: "fr-FR")
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        token_url = find_token_url(client.get("/account"), "google")
        deliver_token(client, token_url, emulator.issue_social_token("google", "alice"))
        assert last_flash(client) == ("success", CATALOG["fr"]["success"])


def test_a_flow_with_other_locales_from_the_emulator(
    emulator: CaptureEmulator,
) -> None:
    with EmulatorServer(CaptureEmulator(locales=["fr-CA", "en-GB"])) as server:
        settings = server.settings()
        assert settings["CAPTURE_LINK_LOCALE"] == "fr-CA"
        assert settings["CAPTURE_LINK_FLOW_LOCALES"] == "fr-CA,en-GB"
        capture_link = CaptureLink()
        app = make_site(site_config(server), capture_link)
        with app.app_context():
            capture_link.locale_selector(lambda: "en-US")
        with app.test_client() as client:
            sign_in(client, server.emulator, server.emulator.demo_email)
            with app.test_request_context():
                assert capture_link.flow_locale() == "en-GB"
            token_url = find_token_url(client.get("/account"), "google")
            token = server.emulator.issue_social_token("google", "alice")
            deliver_token(client, token_url, token)
            assert last_flash(client) == ("success", CATALOG["en"]["success"])


@pytest.mark.parametrize(
    ("wanted", "available", "found"),
    [
        ("es-MX", ["en-US", "es-ES"], "es-ES"),
        ("ES-es", ["en-US", "es-ES"], "es-ES"),
        ("pt-BR", ["en-US", "es-ES"], "en-US"),
        ("en-GB", ["en-US", "en-GB"], "en-GB"),
    ],
)
def test_nearest_locale(wanted: str, available: list[str], found: str) -> None:
    assert nearest_locale(wanted, available) == found
