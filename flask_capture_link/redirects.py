"""Where the extension sends a user: paths on this site, and the site's sign-in page.

Which ``next`` values are safe to redirect to: paths on this site, nothing else.

A ``next`` travels inside the signed link state, but it is still checked twice, when the state
is made and before the redirect, so that a site passing ``request.args["next"]`` along cannot
be turned into an open redirect. The checks follow the lists that Django, Flask-Security and
social-core test with: backslashes, ``//host``, schemes, control characters, encoded
separators and look-alike characters are refused.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import SplitResult, unquote, urlencode, urlsplit, urlunsplit

from flask import current_app

from . import integrations

#: Characters that look like a slash or backslash without folding into one; refused.
LOOKALIKES = frozenset("\u2215\u2044\u2571\u29f8\u29f5\u29f9\u2572\ufe68\uff3c\u3033\u2f03")

#: Longer ``next`` values are refused rather than carried in the state.
MAX_NEXT_LENGTH = 2048


def safe_next(value: object, host: str | None = None) -> str | None:
    """``value`` as a path on this site, or ``None`` when it could lead elsewhere.

    A path (``/account?tab=2``) is kept; a relative path (``account``) is taken from the site's
    root; an absolute ``http(s)`` or scheme-relative URL is kept, as its path, only when its
    host is ``host`` (the site's own ``host[:port]``).

    >>> safe_next("/account?tab=2")
    '/account?tab=2'
    >>> safe_next("//evil.example/") is None
    True
    """
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return None
    if not _plain(value):
        return None
    parts = _split(value)
    if parts is None:
        return None
    if parts.scheme or parts.netloc:
        if parts.scheme.lower() not in ("http", "https", "") or host is None:
            return None
        if parts.netloc.lower() != host.lower() or "@" in parts.netloc:
            return None
        value = parts.path or "/"
        if parts.query:
            value += "?" + parts.query
        if parts.fragment:
            value += "#" + parts.fragment
        return safe_next(value) if value.startswith("/") else None
    if not value.startswith("/"):
        value = "/" + value
    if value.startswith("//"):
        return None
    # What a browser or a proxy may decode or fold must be as harmless as the raw value.
    for variant in (unquote(value), unquote(unquote(value)), unicodedata.normalize("NFKC", value)):
        if not _plain(variant, decoded=True) or variant.startswith("//"):
            return None
        split = _split(variant)
        if split is None or split.netloc:
            return None
    return value


def sign_in_url(next: str | None, *, reauthenticate: bool = False) -> str:
    """The site's sign-in page, coming back to ``next`` (made safe here) after it.

    Where, first found wins: for ``reauthenticate`` (a session that must confirm its
    password), Flask-Login's ``refresh_view``; then ``CAPTURE_LINK_LOGIN_URL``; then
    Flask-Login's ``login_view``; else ``/``. ``next`` is added to each as Flask-Login adds it
    (``?next=...``), except to ``/``.
    """
    back = safe_next(next) if next else None
    manager = integrations.login_manager()
    views = [manager.refresh_view if manager is not None and reauthenticate else None]
    configured = current_app.config["CAPTURE_LINK_LOGIN_URL"]
    if not configured:
        views.append(manager.login_view if manager is not None else None)
    for view in views:
        if view:
            return integrations.flask_login_url(view, back)
    if not configured:
        return "/"
    if back is None:
        return str(configured)
    parts = urlsplit(str(configured))
    query = "&".join(filter(None, (parts.query, urlencode({"next": back}))))
    return urlunsplit(parts._replace(query=query))


def _split(value: str) -> SplitResult | None:
    """``urlsplit(value)``, or ``None`` for what it cannot parse (``http://[::1/`` raises)."""
    try:
        return urlsplit(value)
    except ValueError:
        return None


def _plain(value: str, *, decoded: bool = False) -> bool:
    """No backslash, whitespace (a decoded space is fine), control character, or character
    that folds into a URL separator."""
    for char in value:
        if decoded and char == " ":
            continue
        if (
            char == "\\"
            or char in LOOKALIKES
            or char.isspace()
            or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl")
        ):
            return False
        folded = unicodedata.normalize("NFKC", char)
        if folded != char and any(c in "/\\:@.%?#" for c in folded):
            return False
    return True
