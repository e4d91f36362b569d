"""The example site's settings: its defaults, then the environment, then the caller's dict.

A deployment against a real Identity Cloud application sets, for example::

    SECRET_KEY=...                      # long and random; signs the session and link states
    CAPTURE_LINK_DOMAIN=https://example.us.janraincapture.com
    CAPTURE_LINK_CLIENT_ID=...          # an API client with the login_client feature
    CAPTURE_LINK_CLIENT_SECRET=...      # optional: refresh expired access tokens
    CAPTURE_LINK_FLOW_VERSION=20190618143040022299
    CAPTURE_LINK_SOCIAL_LOGIN_URL=https://example.rpxnow.com
    CAPTURE_LINK_REDIRECT_URI=https://www.example.com/
    CAPTURE_LINK_REDIS_URL=redis://...  # with more than one worker process and cookie sessions
    EXAMPLE_REDIS_URL=redis://...       # or: sessions in Redis (link states are spent there too)
    EXAMPLE_TOKENS_DB=/var/lib/site/tokens.sqlite3  # users' tokens, when not in EXAMPLE_REDIS_URL
    SESSION_COOKIE_SECURE=1             # whenever the site is served over https
    REMEMBER_COOKIE_SECURE=1            # likewise for the remember-me cookie
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: What the site uses unless the environment or the caller says otherwise.
DEFAULTS: dict[str, Any] = {
    # Lax keeps the session cookie off cross-site POSTs, so the token POST from Social Login
    # arrives without it; the extension's bounce page is what makes linking work anyway.
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    #: Show the demo account on the sign-in page (only when the emulator is the backend).
    "EXAMPLE_SHOW_DEMO_CREDENTIALS": False,
    "EXAMPLE_DEMO_EMAIL": None,
    "EXAMPLE_DEMO_PASSWORD": None,
    #: Providers offered on the connected-accounts page, as Social Login names them.
    "EXAMPLE_PROVIDERS": ("google", "facebook", "linkedin"),
    #: A Redis URL for server-side sessions (Flask-Session); unset keeps Flask's signed
    #: cookie, which the user's browser can read (tokens included, but not change).
    "EXAMPLE_REDIS_URL": None,
    #: The SQLite file of the users' Capture tokens (example_app.tokens), so that a user
    #: restored from remember-me finds them; unset: capture-tokens.sqlite3 in the instance
    #: folder, which every worker of one machine shares. With EXAMPLE_REDIS_URL, in Redis.
    "EXAMPLE_TOKENS_DB": None,
}

_TEXT = (
    "SECRET_KEY",
    "CAPTURE_LINK_DOMAIN",
    "CAPTURE_LINK_CLIENT_ID",
    "CAPTURE_LINK_CLIENT_SECRET",
    "CAPTURE_LINK_FLOW",
    "CAPTURE_LINK_FLOW_VERSION",
    "CAPTURE_LINK_LOCALE",
    "CAPTURE_LINK_REDIRECT_URI",
    "CAPTURE_LINK_SOCIAL_LOGIN_URL",
    "CAPTURE_LINK_CA_BUNDLE",
    "CAPTURE_LINK_LOGIN_URL",
    "EXAMPLE_DEMO_EMAIL",
    "EXAMPLE_DEMO_PASSWORD",
    "EXAMPLE_REDIS_URL",
    "EXAMPLE_TOKENS_DB",
    "CAPTURE_LINK_REDIS_URL",
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _flag(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ValueError(f"expected one of {', '.join(_TRUE + _FALSE[:-1])}")


_PARSED: dict[str, Callable[[str], Any]] = {
    "CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW": _flag,
    "CAPTURE_LINK_TIMEOUT": float,
    "CAPTURE_LINK_STATE_MAX_AGE": int,
    "CAPTURE_LINK_REQUIRE_FRESH": _flag,
    "CAPTURE_LINK_FRESH_FOR": int,
    "SESSION_COOKIE_SECURE": _flag,
    "REMEMBER_COOKIE_SECURE": _flag,
    "EXAMPLE_SHOW_DEMO_CREDENTIALS": _flag,
}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings that ``environ`` sets; an empty text value counts as unset.

    :raises ValueError: naming the variable whose value cannot be read.
    """
    found: dict[str, Any] = {name: environ[name] for name in _TEXT if environ.get(name)}
    for name, parse in _PARSED.items():
        if name in environ:
            try:
                found[name] = parse(environ[name])
            except ValueError as exc:
                raise ValueError(f"{name}: cannot read {environ[name]!r}: {exc}") from None
    return found


def load(environ: Mapping[str, str], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults, then ``environ``, then ``overrides``."""
    return {**DEFAULTS, **from_environment(environ), **(overrides or {})}
