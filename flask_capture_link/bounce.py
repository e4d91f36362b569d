"""The bounce page: how a token POST that arrived without the session cookie gets it.

Browsers do not send a ``SameSite=Lax`` cookie (Flask-Login's and most sites' choice) on the
cross-site POST by which Social Login delivers the token. This page, served from the site
itself, posts the same fields to the same URL; that POST is same-site, so the cookie comes
along. It submits itself with a script (allowed by hash in its own Content-Security-Policy),
and shows a Continue button where scripts do not run. The token stays in the body: never in
a URL, never cached, never sent on as a Referer.
"""

from __future__ import annotations

import base64
import hashlib

from flask import current_app, make_response, url_for
from werkzeug.wrappers import Response

#: Headers of every response of the extension's views: nothing cached, no Referer carrying
#: the query.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}

#: The page's only script; its hash is what the page's CSP allows.
SCRIPT = 'document.getElementById("capture-link-continue").submit();'

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()

#: No external resources, nothing but this page's own script, forms only to this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; "
    "style-src 'unsafe-inline'; "
    "form-action 'self'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'"
)


def bounce_page(token: str, state: str, bounced_field: str) -> Response:
    """The page that re-posts ``token`` and ``state`` to the token URL."""
    # Rendered without the site's context processors: one that touches the session would
    # give this cookieless response a new session cookie, replacing the browser's own.
    template = current_app.jinja_env.get_template("capture_link/bounce.html")
    html = template.render(
        action=url_for("capture_link.token"),
        token=token,
        state=state,
        bounced_field=bounced_field,
        script=SCRIPT,
    )
    response = make_response(html, 200)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers.update(NO_STORE)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response
