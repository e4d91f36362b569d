"""The site's own defences: a CSRF token on its forms, and security headers on its pages.

The extension's views are exempt from this CSRF check: Social Login's token POST cannot carry
the site's token, and the extension guards its views with its own signed link state.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, flash, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

#: Form field and session key of the CSRF token.
CSRF_FIELD = "csrf_token"
_SESSION_KEY = "_csrf_token"

#: Blueprints whose POSTs are not checked here (they check their own state).
CSRF_EXEMPT = frozenset({"capture_link"})

#: Pages load nothing from other origins, and forms post only to this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

STALE_FORM = "That form had expired. Please try again."


def csrf_token() -> str:
    """This session's CSRF token (template global ``csrf_token``)."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def check_csrf() -> Response | None:
    """Refuse a POST to the site's own views that lacks this session's token: flash, and send
    the user back to the page (or home when the view has no page)."""
    if request.method != "POST" or request.blueprint in CSRF_EXEMPT:
        return None
    expected = session.get(_SESSION_KEY)
    try:
        sent = request.form.get(CSRF_FIELD, "")
    except HTTPException:
        sent = ""
    if isinstance(expected, str) and sent and hmac.compare_digest(expected, sent):
        return None
    flash(STALE_FORM, "error")
    rule = request.url_rule
    has_page = rule is not None and rule.methods is not None and "GET" in rule.methods
    return redirect(request.full_path if has_page else url_for("account.index"), 303)


def add_headers(response: Response) -> Response:
    """Security headers for every response; a view's own (the bounce page's CSP) win."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    """Check CSRF tokens before requests and add the headers after them."""
    app.add_template_global(csrf_token, "csrf_token")
    app.before_request(check_csrf)
    app.after_request(add_headers)
