"""Shared helpers of the adversarial tests: what an attacker, a broken Capture or a crowd of
users does to a site built with the extension, measured as a browser or Capture would see it.

The fixtures ``app``, ``client``, ``emulator``, ``signed_in``, ``token_url`` and ``all_logs`` come
from ``tests/conftest.py``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from flask import Flask

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import flashes

from ..conftest import make_site, site_config

__all__ = [
    "LINK",
    "UNLINK",
    "browser_target",
    "last_flash",
    "link_calls",
    "make_site",
    "site_config",
    "site_with",
    "state_of",
]

LINK = "/oauth/link_account_native"
UNLINK = "/oauth/unlink_account_native"

#: What the WHATWG URL parser drops before parsing: ASCII tab and newlines anywhere, and C0
#: controls and spaces at either end.
_STRIPPED_INSIDE = re.compile(r"[\t\n\r]")


def link_calls(emulator: CaptureEmulator) -> int:
    """How many link calls Capture received."""
    return len(emulator.calls_to(LINK))


def last_flash(client: Any) -> tuple[str, str]:
    """The last ``(category, message)`` flashed to this browser."""
    found = flashes(client)
    assert found, "nothing was flashed"
    return found[-1]


def state_of(token_url: str) -> str:
    """The ``state`` query value of a token URL."""
    return parse_qs(urlsplit(token_url).query)["state"][0]


def browser_target(location: str, base: str = "http://localhost/capture-link/token") -> str:
    """The absolute URL a browser goes to for ``Location: location`` on a response to
    ``base``: the quirks that make ``/\\evil.example`` or ``\\t//evil.example`` leave the site
    (backslash read as slash, tab and newlines removed, ends trimmed), then RFC 3986 joining."""
    cleaned = _STRIPPED_INSIDE.sub("", location).strip("".join(map(chr, range(0x21))))
    return urljoin(base, cleaned.replace("\\", "/"))


def stays_on_site(location: str, host: str = "localhost") -> bool:
    """Whether a browser following ``location`` stays on ``http://host``."""
    target = urlsplit(browser_target(location, f"http://{host}/capture-link/token"))
    return target.scheme == "http" and target.netloc == host and location.startswith("/")


def site_with(server: EmulatorServer, **overrides: Any) -> Flask:
    """:func:`make_site` on ``server`` with config ``overrides``."""
    return make_site(site_config(server, **overrides))
