"""The Social Login stand-in: a provider sign-in page that delivers a token like Social Login.

``GET /{provider}/start?token_url=URL`` shows a sign-in form. Signing in issues a one-time token
and answers a page whose script submits it as a top-level ``POST`` of the single field
``token`` to the token URL, from the emulator's own origin: the cross-site POST a real site gets.
Cancelling sends the browser to the token URL with a ``GET`` and no token.
"""

from __future__ import annotations

from typing import Protocol

from jinja2 import Environment, PackageLoader
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .providers import PROVIDER_NAME, Provider, provider

_PAGES = Environment(
    loader=PackageLoader("flask_capture_link.emulator", "templates"), autoescape=True
)

_MAX_IDENTIFIER = 200


class TokenIssuer(Protocol):
    """Issues a Social Login token; :meth:`CaptureEmulator.issue_social_token` is one."""

    def __call__(
        self,
        provider: str,
        identifier: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
    ) -> str:
        """A one-time token for the identity ``identifier`` at ``provider``."""
        ...


def route(request: Request, issue: TokenIssuer) -> Response | None:
    """The answer of a Social Login page, or ``None`` when the path is not one."""
    name, _, action = request.path.strip("/").partition("/")
    if not PROVIDER_NAME.fullmatch(name) or action not in ("start", "signin", "cancel"):
        return None
    allowed = ("POST",) if action == "signin" else ("GET", "HEAD")
    if request.method not in allowed:
        response = _page("error.html", 405, message=f"Use {allowed[0]} for this page.")
        response.allow.update(allowed)
        return response
    values = request.form if action == "signin" else request.args
    token_url = values.get("token_url", "")
    if not token_url.lower().startswith(("http://", "https://")):
        return _page("error.html", 400, message="token_url must start with http:// or https://.")
    if action == "cancel":
        return redirect(token_url, 302)
    if action == "start":
        return _page(
            "start.html", provider=provider(name), token_url=token_url, root=request.script_root
        )
    return _sign_in(request, provider(name), token_url, issue)


def _sign_in(request: Request, social: Provider, token_url: str, issue: TokenIssuer) -> Response:
    identifier = request.form.get("identifier", "").strip()
    if not identifier or len(identifier) > _MAX_IDENTIFIER:
        return _page("error.html", 400, message="Enter an account name of 1 to 200 characters.")
    token = issue(
        social.name,
        identifier,
        display_name=request.form.get("display_name", "").strip() or None,
        email=request.form.get("email", "").strip() or None,
    )
    return _page("deliver.html", provider=social, token_url=token_url, token=token)


def _page(template: str, status: int = 200, **context: object) -> Response:
    html = _PAGES.get_template(template).render(**context)
    response = Response(html, status, mimetype="text/html")
    # The delivery page holds a token: it must not be kept in any cache.
    response.headers["Cache-Control"] = "no-store"
    return response
