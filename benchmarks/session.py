"""F. The session cookie: what sealing the tokens adds, and after 100 pages of link buttons.

A signed-in user's cookie holds their access token, refresh token and expiry, sealed (AES-GCM,
one session key); it is set against the same user's cookie with the tokens in the clear under
three keys, as the extension kept them before sealing. Then the user loads a page with three
link buttons 100 times, the browser keeping each cookie the site sets. Every button carries a
fresh state; states must not pile up in the session (a cookie holds 4 KB at most, and travels
with every request).
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie

from .capture_process import CaptureProcess
from .common import LOOPBACK, LinkFactory, Report, SiteServer, Target, site_config

TITLE = "session cookie after 100 pages with three link buttons each"

#: Target: how much the cookie may grow.
LIMIT = 1024

#: Target: how much sealing the tokens may add to the signed-in cookie (a nonce and a tag of
#: 28 bytes, a version byte, base64 of all, and the loss of zlib's gain on three key names).
SEALING_LIMIT = 128

#: The growth measured before the state store (0.1.0 with used nonces in the session): the
#: session must not grow more now that it keeps no list.
BEFORE_STATE_STORE = 84

BUTTONS_PER_PAGE = 3


@dataclass(frozen=True)
class Counts:
    pages: int = 100
    seconds: float = 60.0  # at most


FULL = Counts()
QUICK = Counts(pages=5, seconds=20.0)


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    with CaptureProcess(tls=True) as capture:
        config = site_config(capture)
        factory = LinkFactory(capture, config, users=1)
        cookie_name = factory.app.config["SESSION_COOKIE_NAME"]
        first = factory.cookie(factory.access_tokens[0]).partition("=")[2]
        plain = factory.plain_cookie(factory.access_tokens[0]).partition("=")[2]
        sizes = []
        buttons = 0
        with SiteServer(config, threads=2) as site:
            conn = http.client.HTTPConnection(LOOPBACK, site.port, timeout=30)
            value = first
            deadline = time.monotonic() + counts.seconds
            try:
                for _ in range(counts.pages):
                    if time.monotonic() > deadline:
                        break
                    conn.request("GET", "/", headers={"Cookie": f"{cookie_name}={value}"})
                    response = conn.getresponse()
                    body = response.read().decode()
                    buttons += body.count('class="capture-link-button ')
                    jar = SimpleCookie(response.getheader("Set-Cookie") or "")
                    if cookie_name in jar:
                        value = jar[cookie_name].value
                    sizes.append(len(value))
            finally:
                conn.close()
    pages = len(sizes)
    last = sizes[-1] if sizes else len(first)
    growth = last - len(first)
    sealing = len(first) - len(plain)
    report = Report(
        "session",
        TITLE,
        notes=[
            f"{pages} GET / by one signed-in browser (gunicorn site, emulator over TLS), "
            "keeping each Set-Cookie; sizes are of the cookie value, in bytes",
            "signed in: an access token of 24 characters, a refresh token of 32 and an expiry; "
            "in the clear: the same under capture_access_token, capture_refresh_token and "
            "capture_access_token_expires_at, as before sealing",
        ],
        headers=["session cookie", "bytes"],
        rows=[
            ["signed in, tokens in the clear (before sealing)", str(len(plain))],
            ["signed in, tokens sealed: before the first button", str(len(first))],
            ["after the first page", str(sizes[0] if sizes else 0)],
            [f"after {pages} pages ({buttons} buttons)", str(last)],
            ["largest on the way", str(max(sizes, default=0))],
        ],
    )
    report.targets += [
        Target(
            "cookie growth from sealed tokens",
            f"{sealing} B",
            f"< {SEALING_LIMIT} B",
            sealing < SEALING_LIMIT,
        ),
        Target("cookie growth", f"{growth} B", f"< {LIMIT} B", growth < LIMIT),
        Target(
            "cookie growth vs before the state store",
            f"{growth} B",
            f"< {BEFORE_STATE_STORE} B",
            growth < BEFORE_STATE_STORE,
        ),
        Target(
            "buttons rendered",
            str(buttons),
            str(counts.pages * BUTTONS_PER_PAGE),
            buttons == counts.pages * BUTTONS_PER_PAGE,
        ),
    ]
    return report
