"""How every view of the ``capture_link`` blueprint reads its request and ends it.

Each view reads its request once (:class:`LinkRequest`; a cookieless cross-site POST is first
bounced, :func:`bounce`), spends the state it brought (:func:`spend_state`: every request that
presents one spends it, whatever the outcome), and ends in :func:`finish`: the outcome's
message flashed and a redirect. Every refusal, the extension's (:class:`Refusal`) or Capture's
(:class:`~flask_capture_link.errors.CaptureError`), is raised, and reported in one place
(:func:`report`); :func:`never_fails` turns anything else into the ``unknown`` outcome. Every
response is a redirect (or the bounce page); nothing a user sends can make it a 500.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from flask import Response as FlaskResponse
from flask import current_app, flash, make_response, redirect, request, session, url_for
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .. import signals, state
from ..buttons import provider_name
from ..client.errors import CaptureError
from ..outcomes import OUTCOMES, Outcome, outcome_for
from ..redirects import safe_next, sign_in_url
from ..store import StateStoreUnavailable

if TYPE_CHECKING:
    from ..extension import CaptureLink

from .blueprint import blueprint

logger = logging.getLogger(__name__)

#: Form field the bounce page adds, so that a second cookieless arrival is not bounced again.
BOUNCED_FIELD = "capture_link_bounced"

#: Longest Social Login token accepted (they are 40 characters; some room for other formats).
MAX_TOKEN_LENGTH = 256

#: What a Social Login token looks like.
_TOKEN = re.compile(rf"^[A-Za-z0-9_\-.~]{{8,{MAX_TOKEN_LENGTH}}}$")

#: Query parameter of a redirect that carries its outcome (when the session could not be
#: saved): signed, for one user, shown once.
OUTCOME_PARAM = "capture_link_outcome"

#: Larger request bodies are refused unread: a token, a state and an identifier fit many times
#: over, and werkzeug takes seconds of CPU to decode a megabyte of invalid UTF-8 escapes.
MAX_BODY = 64 * 1024

#: Headers of every response of the extension's views: nothing cached, no Referer carrying
#: the query.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}

#: The bounce page's only script; its hash is what the page's CSP allows.
BOUNCE_SCRIPT = 'document.getElementById("capture-link-continue").submit();'

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(BOUNCE_SCRIPT.encode()).digest()).decode()

#: The bounce page's policy: no external resources, nothing but its own script, forms only to
#: this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; "
    "style-src 'unsafe-inline'; "
    "form-action 'self'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'"
)

#: Capture profile domains of providers whose domain is not ``<provider>.<tld>``.
PROFILE_DOMAINS: dict[str, tuple[str, ...]] = {
    "microsoft": ("live.com", "microsoft.com", "microsoftonline.com"),
    "live": ("live.com", "microsoft.com", "microsoftonline.com"),
    "twitter": ("twitter.com", "x.com"),
}


class Refusal(Exception):
    """The request ends with outcome ``outcome`` (a key of
    :data:`~flask_capture_link.outcomes.OUTCOMES`) without calling Capture (or without calling
    it again), as Flask-WTF's ``CSRFError`` carries its reason. ``reason`` is logged (never a
    token); ``next`` is where the user goes, when the request's state cannot say."""

    def __init__(self, outcome: str, *, reason: str | None = None, next: str | None = None):
        super().__init__(reason or outcome)
        self.outcome = outcome
        self.reason = reason or outcome
        self.next = next


def never_fails(view: Callable[[], ResponseReturnValue]) -> Callable[[], ResponseReturnValue]:
    """Turn anything unexpected into the ``unknown`` outcome, logged, instead of a 500; but
    where Flask propagates exceptions (``TESTING``, ``DEBUG``, ``PROPAGATE_EXCEPTIONS``), raise
    it, so that a bug fails the tests and shows in the debugger."""

    @functools.wraps(view)
    def wrapper() -> ResponseReturnValue:
        try:
            return view()
        except Exception:
            if propagates_exceptions():
                raise
            logger.exception("unexpected failure in %s", view.__name__)
            try:
                return finish(OUTCOMES["unknown"], next=None)
            except Exception:
                logger.exception("could not even report the failure")
                return make_response(redirect("/", code=303), {**NO_STORE})

    return wrapper


def propagates_exceptions() -> bool:
    """Whether Flask raises an unhandled exception rather than answering 500, as it decides
    (``PROPAGATE_EXCEPTIONS``, else ``TESTING`` or ``DEBUG``)."""
    found = current_app.config.get("PROPAGATE_EXCEPTIONS")
    return bool(current_app.testing or current_app.debug) if found is None else bool(found)


def check_token(link_request: LinkRequest) -> None:
    """A token URL request carries a Social Login token (none: the user cancelled)."""
    if not link_request.token:
        raise Refusal("missing_token", next=state.peek_next(link_request.state, max_age()))
    if not _TOKEN.match(link_request.token):
        raise Refusal("engage_error", reason="malformed token")


def check_identifier(link_request: LinkRequest) -> None:
    """An unlink request names the identity to remove."""
    if not link_request.identifier or len(link_request.identifier) > 2048:
        raise Refusal("missing_identifier", next=state.peek_next(link_request.state, max_age()))


def extension() -> CaptureLink:
    """The app's :class:`~flask_capture_link.CaptureLink`."""
    ext: CaptureLink = current_app.extensions["capture_link"]
    return ext


def max_age() -> int:
    """``CAPTURE_LINK_STATE_MAX_AGE``: seconds a state stays usable."""
    return int(current_app.config["CAPTURE_LINK_STATE_MAX_AGE"])


def spend_state(
    value: str | None, purpose: str, subject: str | None = None, *, of_user: bool = True
) -> state.VerifiedState | Refusal:
    """Spend the state ``value`` (every request that presents one does, whatever its outcome)
    and check it: the state, or the refusal of a state that cannot be used (raised by
    :func:`usable` once the request's other fields are checked). A refusal leads back to the
    page of a well-signed state's button, as a success does. Without ``of_user`` (a sign-in:
    nobody is signed in yet) the state is bound to the session only."""
    ext = extension()
    user = ext.user_binding() if of_user else None
    try:
        return state.consume(session, value, purpose, user, max_age(), subject, ext.state_store())
    except StateStoreUnavailable as exc:
        return Refusal(
            "unavailable", reason=f"state store: {exc}", next=state.peek_next(value, max_age())
        )
    except state.InvalidState as exc:
        return Refusal("invalid_state", reason=exc.reason, next=state.peek_next(value, max_age()))


def usable(spent: state.VerifiedState | Refusal) -> state.VerifiedState:
    """The spent state, or its refusal raised."""
    if isinstance(spent, Refusal):
        raise spent
    return spent


@dataclass(frozen=True)
class LinkRequest:
    """What a request to the token URL or to unlink brought, read once (``""``: not sent).
    ``readable`` is false for a body that could not be read; its fields are then only the
    query's."""

    readable: bool
    token: str
    state: str
    identifier: str
    bounced: bool

    @classmethod
    def read(cls, *, query: bool) -> LinkRequest:
        """Read the form (and, with ``query``, the query string where the form lacks a
        field: Social Login may deliver the token by GET)."""
        form = read_form()
        args = request.args if query else {}
        fields = form or {}
        return cls(
            readable=form is not None,
            token=fields.get("token") or args.get("token") or "",
            state=fields.get("state") or args.get("state") or "",
            identifier=fields.get("identifier") or "",
            bounced=BOUNCED_FIELD in fields,
        )

    def needs_bounce(self) -> bool:
        """A POST that came without this site's session cookie (a ``SameSite=Lax`` cookie is
        not sent on a cross-site POST), and was not bounced already. Whatever it carries is
        checked after the bounce, with the session, so the user sees the real outcome."""
        return (
            self.readable
            and request.method == "POST"
            and not session_cookie_sent()
            and not self.bounced
            and len(self.token) <= MAX_TOKEN_LENGTH
            and len(self.state) <= state.MAX_STATE_LENGTH
        )


def read_form() -> dict[str, str] | None:
    """The form fields (first value of each), or ``None`` if the body cannot be read (too
    large, chunked or not, or malformed multipart). A body over :data:`MAX_BODY` is refused
    from its ``Content-Length`` unread, or, chunked, after its first :data:`MAX_BODY` bytes."""
    site_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    limit = min(MAX_BODY, site_limit) if site_limit else MAX_BODY
    # werkzeug reads no further than this, from a chunked body too (which has no length to
    # check first): one byte more than allowed shows that there is more.
    request.max_content_length = limit + 1
    if (request.content_length or 0) > limit:
        return None
    if request.content_length is None and len(request.get_data(cache=True)) > limit:
        return None
    try:
        return {key: request.form.get(key, "") for key in request.form}
    except HTTPException:
        return None


def bounce(link_request: LinkRequest) -> Response:
    """How a token POST that arrived without the session cookie gets it: a page of the site
    itself that posts token and state again to the same URL; that POST is same-site, so the
    cookie comes along.

    Browsers do not send a ``SameSite=Lax`` cookie (Flask-Login's and most sites' choice) on
    the cross-site POST by which Social Login delivers the token. The page submits itself with
    a script (allowed by hash in its own Content-Security-Policy), and shows a Continue button
    where scripts do not run. The token stays in the body: never in a URL, never cached, never
    sent on as a Referer.
    """
    logger.debug("token POST arrived without a session; bouncing")
    # This request's URL (in the access log) may hold the state: spend it here, and bounce its
    # successor, which travels only in bodies (one that is not usable is refused after the
    # bounce, with the session, so the user sees why).
    successor = state.pass_on(link_request.state, max_age(), extension().state_store())
    # Rendered without the site's context processors: one that touches the session would
    # give this cookieless response a new session cookie, replacing the browser's own.
    template = current_app.jinja_env.get_template("capture_link/bounce.html")
    html = template.render(
        action=url_for("capture_link.token"),
        token=link_request.token,
        state=successor,
        bounced_field=BOUNCED_FIELD,
        script=BOUNCE_SCRIPT,
    )
    response = make_response(html, 200)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers.update(NO_STORE)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def report(problem: Refusal | CaptureError, verified: state.VerifiedState | None) -> Response:
    """End a request that was refused, by the extension or by Capture: log why (with
    Capture's request id), signal ``link_failed``, flash the outcome's message and redirect,
    to the state's ``next`` unless the refusal says where."""
    if isinstance(problem, Refusal):
        outcome = OUTCOMES[problem.outcome]
        logger.log(outcome.log_level, "%s refused: %s", request.endpoint, problem.reason)
        signals.send(signals.link_failed, error=None, outcome=problem.outcome)
        next_path = problem.next
    else:
        outcome = outcome_for(problem)
        logger.log(outcome.log_level, "%s failed: %s", request.endpoint, problem)
        signals.send(signals.link_failed, error=problem, outcome=outcome.message_key)
        provider = verified.provider if verified is not None else None
        outcome = already_linked(outcome, provider)
        next_path = None
    if next_path is None and verified is not None:
        next_path = verified.next
    return finish(outcome, next=next_path)


def already_linked(outcome: Outcome, provider: str | None) -> Outcome:
    """``outcome``, or for ``unique_violation`` when the user already has an identity of
    ``provider`` linked, the outcome that says it may be the one listed.

    Capture does not say to whom a refused identity belongs: it may be on this very account
    or on another, and the message must be true either way. When the button was for a
    provider of which the user already has an identity linked, the refused one may well be
    that one, listed on the page; the user is told so, by the provider's name. (One extra call
    to Capture, made only on this failure; if it fails, the general message stays.)"""
    if outcome.message_key != "unique_violation" or not provider:
        return outcome
    if not any(is_of_provider(i.domain, provider) for i in extension().linked_identities()):
        return outcome
    listed = OUTCOMES["unique_violation_listed"]
    return replace(listed, provider=provider_name(provider))


def is_of_provider(domain: str, provider: str) -> bool:
    """Whether a linked identity's profile ``domain`` (``"google.com"``) is of ``provider``
    (``"google"``)."""
    domain = domain.lower().removeprefix("www.")
    known = PROFILE_DOMAINS.get(provider)
    if known is not None:
        return domain in known
    return domain.split(".")[0] == provider


def finish(outcome: Outcome, *, next: str | None, to: str | None = None) -> Response:
    """Flash the outcome's message and redirect: to ``to`` when given (a URL the extension
    made), else to sign in when the session ended, else to ``next`` (only ever a path on this
    site). Without the session cookie nothing is written to the session, so a forged
    cross-site POST cannot replace the user's session."""
    ext = extension()
    if session_cookie_sent():
        categories = current_app.config["CAPTURE_LINK_FLASH_CATEGORIES"]
        text = ext.message(outcome.message_key, provider=outcome.provider)
        flash(text, categories.get(outcome.category, outcome.category))
    else:
        # A cross-site POST without the cookie: writing a flash would start a new session
        # whose cookie replaces the browser's own, signing the user out.
        logger.info("no session cookie; %s not flashed", outcome.message_key)
    if to is not None:
        target = to
    elif outcome.sign_in_again:
        ext.forget_tokens()
        target = sign_in_url(next)
    elif outcome.reauthenticate:
        target = sign_in_url(safe_next(next) or default_next(), reauthenticate=True)
    else:
        target = safe_next(next) or default_next()
    response = make_response(redirect(target, code=303))
    response.headers.update(NO_STORE)
    if session_cookie_sent() and not session_saved(response):
        response.headers["Location"] = with_outcome(target, outcome)
        # Not saved again after the view (a 500): this request's copy emptied, unmodified, is
        # nothing to save for every session interface (Flask's, Flask-Session's); the stored
        # session stays as it was.
        request_ctx.session.clear()
        request_ctx.session.modified = False
    return response


def session_saved(response: FlaskResponse) -> bool:
    """Save a server-side session now (a cookie session cannot fail to), so that a session
    store that is down (Redis) does not turn the outcome, perhaps a change Capture made, into a
    500 after the view. When it cannot be saved, the outcome travels with the redirect
    (:func:`with_outcome`)."""
    interface = current_app.session_interface
    current = request_ctx.session
    if isinstance(interface, SecureCookieSessionInterface) or interface.is_null_session(current):
        return True
    try:
        interface.save_session(current_app, current, response)
    except Exception as exc:  # whatever the store raises: redis-py's, a database's
        logger.warning(
            "%s: the session could not be saved (%s: %s); the outcome goes with the redirect",
            request.endpoint,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def with_outcome(target: str, outcome: Outcome) -> str:
    """``target`` carrying ``outcome``, signed and shown once (:func:`show_carried_outcome`)."""
    fields = {"k": outcome.message_key, "c": outcome.category, "p": outcome.provider}
    value = state.carry_outcome(fields, extension().user_binding())
    return f"{target}{'&' if '?' in target else '?'}{OUTCOME_PARAM}={value}"


@blueprint.before_app_request
def show_carried_outcome() -> None:
    """Flash the outcome a redirect carried (:func:`with_outcome`), once, to its user."""
    value = request.args.get(OUTCOME_PARAM)
    if not value:
        return
    ext = extension()
    found = state.open_outcome(value, ext.user_binding(), ext.state_store())
    if found is None or not isinstance(found.get("k"), str) or found["k"] not in OUTCOMES:
        return
    category = str(found.get("c") or "info")
    provider = found.get("p") if isinstance(found.get("p"), str) else None
    categories = current_app.config["CAPTURE_LINK_FLASH_CATEGORIES"]
    flash(ext.message(found["k"], provider=provider), categories.get(category, category))


def default_next() -> str:
    """``CAPTURE_LINK_DEFAULT_NEXT``: where the user lands when no ``next`` was given."""
    return str(current_app.config["CAPTURE_LINK_DEFAULT_NEXT"])


def session_cookie_sent() -> bool:
    """Whether the browser sent this site's session cookie with the request (looked up once
    per request)."""
    sent: bool | None = request.environ.get(_COOKIE_SENT)
    if sent is None:
        name = current_app.session_interface.get_cookie_name(current_app)
        sent = request.environ[_COOKIE_SENT] = name in request.cookies
    return sent


_COOKIE_SENT = "flask_capture_link.session_cookie_sent"
