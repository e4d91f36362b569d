"""The token URL and the unlink endpoint: the ``capture_link`` blueprint.

``token`` reads as the flow in the design: bounce a cookieless cross-site POST, spend the state
(every request that presents one spends it, whatever the outcome), check the token and the
state, find the access token, link, and show the outcome. Every response is a redirect
(or the bounce page); nothing a user sends can make it a 500.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from blinker import NamedSignal
from flask import Blueprint, current_app, flash, make_response, redirect, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from . import already_linked, freshness, notices, signals, state, token_store
from .bounce import NO_STORE, bounce_page
from .errors import CaptureError
from .models import LinkedIdentity
from .outcomes import OUTCOMES, Outcome, outcome_for
from .redirects import safe_next
from .state_store import StateStoreUnavailable

if TYPE_CHECKING:
    from .extension import CaptureLink

logger = logging.getLogger("flask_capture_link")

blueprint = Blueprint("capture_link", __name__, template_folder="templates")

#: Form field the bounce page adds, so that a second cookieless arrival is not bounced again.
BOUNCED_FIELD = "capture_link_bounced"

#: Longest Social Login token accepted (they are 40 characters; some room for other formats).
MAX_TOKEN_LENGTH = 256

#: What a Social Login token looks like.
_TOKEN = re.compile(rf"^[A-Za-z0-9_\-.~]{{8,{MAX_TOKEN_LENGTH}}}$")

#: Larger request bodies are refused unread: a token, a state and an identifier fit many times
#: over, and werkzeug takes seconds of CPU to decode a megabyte of invalid UTF-8 escapes.
MAX_BODY = 64 * 1024


def never_fails(view: Callable[[], ResponseReturnValue]) -> Callable[[], ResponseReturnValue]:
    """Turn anything unexpected into the ``unknown`` outcome, logged, instead of a 500."""

    @functools.wraps(view)
    def wrapper() -> ResponseReturnValue:
        try:
            return view()
        except Exception:
            logger.exception("capture-link: unexpected failure in %s", view.__name__)
            try:
                return finish(OUTCOMES["unknown"], next=None)
            except Exception:
                logger.exception("capture-link: could not even report the failure")
                return make_response(redirect("/", code=303), {**NO_STORE})

    return wrapper


@blueprint.route("/token", methods=["GET", "POST"])
@never_fails
def token() -> ResponseReturnValue:
    """Social Login delivers the token here, by cross-site POST (or GET)."""
    ext = extension()
    if request.method == "HEAD":  # a prefetch or a probe: answer, but spend and link nothing
        return make_response(redirect(default_next(), code=303), {**NO_STORE})
    form = read_form()
    if form is None:
        spend_state(request.args.get("state"), state.LINK)
        return refuse("invalid_state", reason="unreadable request body")
    if needs_bounce(form):
        return bounce(form)

    social_token = form.get("token") or request.args.get("token")
    state_value = form.get("state") or request.args.get("state")
    link_state = spend_state(state_value, state.LINK)
    if not social_token:
        return refuse("missing_token", next=state.peek_next(state_value, max_age()))
    if not _TOKEN.match(social_token):
        return refuse("engage_error", reason="malformed token")
    if not isinstance(link_state, state.LinkState):
        return refuse_state(link_state)
    if not freshness.is_fresh():
        return refuse("needs_fresh_sign_in", reason="sign-in not fresh", next=link_state.next)
    before = current_identities() if wants_notice(signals.account_linked) else None

    def link(access_token: str) -> bool:
        ext.client.link_account(social_token, access_token, locale=ext.locale())
        return True

    try:
        linked = ext.with_access_token(link)
    except CaptureError as error:
        return fail(error, next=link_state.next, provider=link_state.provider)
    if linked is None:
        return refuse("missing_access_token", next=link_state.next)

    linked_identity = notices.newly_linked(
        before, current_identities() if before is not None else None
    )
    signals.send(signals.account_linked, next=link_state.next, **notices.details(linked_identity))
    return finish(OUTCOMES["success"], next=link_state.next)


@blueprint.route("/unlink", methods=["POST"])
@never_fails
def unlink() -> ResponseReturnValue:
    """Remove one linked identity; a POST from :meth:`CaptureLink.unlink_button`'s form."""
    ext = extension()
    form = read_form()
    if form is None:
        return refuse("invalid_state", reason="unreadable request body")
    identifier, state_value = form.get("identifier"), form.get("state")
    unlink_state = spend_state(state_value, state.UNLINK, identifier or "")
    if not identifier or len(identifier) > 2048:
        return refuse("missing_identifier", next=state.peek_next(state_value, max_age()))
    if not isinstance(unlink_state, state.LinkState):
        return refuse_state(unlink_state)
    if not freshness.is_fresh():
        return refuse("needs_fresh_sign_in", reason="sign-in not fresh", next=unlink_state.next)
    try:
        identities = ext.with_access_token(ext.client.linked_identities)
    except CaptureError as error:
        return fail(error, next=unlink_state.next)
    if identities is None:
        return refuse("missing_access_token", next=unlink_state.next)
    identity = next((found for found in identities if found.identifier == identifier), None)
    if identity is None:
        return refuse("not_linked", next=unlink_state.next)
    if not ext.may_unlink(identity, identities):
        return refuse("unlink_not_allowed", next=unlink_state.next)

    def remove(access_token: str) -> bool:
        ext.client.unlink_account(access_token, identifier, locale=ext.locale())
        return True

    try:
        unlinked = ext.with_access_token(remove)
    except CaptureError as error:
        return fail(error, next=unlink_state.next)
    if unlinked is None:
        return refuse("missing_access_token", next=unlink_state.next)

    signals.send(
        signals.account_unlinked,
        identifier=identifier,
        next=unlink_state.next,
        **notices.details(identity),
    )
    return finish(OUTCOMES["unlinked"], next=unlink_state.next)


@blueprint.route("/reauthenticate")
@never_fails
def reauthenticate() -> ResponseReturnValue:
    """Where the buttons of a session that is not fresh lead: to confirm the password at the
    site (Flask-Login's ``refresh_view``, with its ``needs_refresh`` message), then back to
    ``next``, the page of the button. A fresh session goes straight back."""
    next_path = safe_next(request.args.get("next", "")) or default_next()
    if freshness.is_fresh():
        return redirect(next_path, code=303)
    manager = getattr(current_app, "login_manager", None)
    if manager is not None and (manager.refresh_view or manager.needs_refresh_callback):
        # Flask-Login's own way: its message, its callback, ``next`` back here and on to the page.
        response: ResponseReturnValue = manager.needs_refresh()
        return response
    if manager is not None and manager.needs_refresh_message:
        message = manager.needs_refresh_message
        if manager.localize_callback is not None:
            message = manager.localize_callback(message)
        flash(message, manager.needs_refresh_message_category)
    else:
        outcome = OUTCOMES["needs_fresh_sign_in"]
        flash(extension().message(outcome.message_key), outcome.category)
    return redirect(freshness.reauthentication_url(next_path), code=303)


def wants_notice(signal: NamedSignal) -> bool:
    """Whether a handler listens to ``signal`` from this app (only then is it worth asking
    Capture which identity changed)."""
    return bool(signal.has_receivers_for(current_app._get_current_object()))  # type: ignore[attr-defined]


def current_identities() -> list[LinkedIdentity] | None:
    """The user's linked identities as Capture says now, for a notice; ``None`` when it cannot
    say (a notice without the identity is better than no change)."""
    ext = extension()
    try:
        return ext.with_access_token(ext.client.linked_identities)
    except CaptureError as error:
        logger.info("capture-link: could not list identities for a notice: %s", error)
        return None


def extension() -> CaptureLink:
    """The app's :class:`CaptureLink`."""
    ext: CaptureLink = current_app.extensions["capture_link"]
    return ext


def max_age() -> int:
    """``CAPTURE_LINK_STATE_MAX_AGE``: seconds a state stays usable."""
    return int(current_app.config["CAPTURE_LINK_STATE_MAX_AGE"])


def spend_state(
    value: str | None, purpose: str, subject: str | None = None
) -> state.LinkState | Exception:
    """Spend the state ``value`` (every request that presents one does, whatever its outcome)
    and check it: the state, or why it cannot be used."""
    try:
        return state.consume(
            session, value, purpose, extension().user_binding(), max_age(), subject
        )
    except (state.InvalidState, StateStoreUnavailable) as exc:
        return exc


def refuse_state(problem: Exception) -> Response:
    """Refuse a request whose state did not pass (or could not be checked)."""
    if isinstance(problem, StateStoreUnavailable):
        return refuse("unavailable", reason=f"state store: {problem}")
    return refuse("invalid_state", reason=getattr(problem, "reason", str(problem)))


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


def needs_bounce(form: dict[str, str]) -> bool:
    """A POST that came without this site's session cookie (a ``SameSite=Lax`` cookie is not
    sent on a cross-site POST), and was not bounced already. Whatever it carries is checked
    after the bounce, with the session, so the user sees the real outcome."""
    social_token = form.get("token") or request.args.get("token") or ""
    state_value = form.get("state") or request.args.get("state") or ""
    return (
        request.method == "POST"
        and not session_cookie_sent()
        and BOUNCED_FIELD not in form
        and len(social_token) <= MAX_TOKEN_LENGTH
        and len(state_value) <= state.MAX_STATE_LENGTH
    )


def bounce(form: dict[str, str]) -> ResponseReturnValue:
    """A same-origin page that posts token and state again, now with the session cookie."""
    social_token = form.get("token") or request.args.get("token") or ""
    state_value = form.get("state") or request.args.get("state") or ""
    logger.debug("capture-link: token POST arrived without a session; bouncing")
    # This request's URL (in the access log) may hold the state: spend it here, and bounce its
    # successor, which travels only in bodies (one that is not usable is refused after the
    # bounce, with the session, so the user sees why).
    return bounce_page(social_token, state.pass_on(state_value, max_age()), BOUNCED_FIELD)


def refuse(key: str, *, reason: str | None = None, next: str | None = None) -> Response:
    """End without calling Capture: log why, signal ``link_failed``, flash, redirect."""
    outcome = OUTCOMES[key]
    logger.log(outcome.log_level, "capture-link: %s refused: %s", request.endpoint, reason or key)
    signals.send(signals.link_failed, error=None, outcome=key)
    return finish(outcome, next=next)


def fail(error: CaptureError, *, next: str | None, provider: str | None = None) -> Response:
    """End after Capture refused: log with Capture's request id, signal, flash, redirect.
    ``provider``: the link button's, for a message that can name it."""
    outcome = outcome_for(error)
    logger.log(
        outcome.log_level,
        "capture-link: %s failed: %s",
        request.endpoint,
        error,
    )
    signals.send(signals.link_failed, error=error, outcome=outcome.message_key)
    return finish(already_linked.refine(extension(), outcome, provider), next=next)


def finish(outcome: Outcome, *, next: str | None) -> Response:
    """Flash the outcome's message and redirect: to sign in when the session ended, else to
    ``next`` (only ever a path on this site). Without the session cookie nothing is written
    to the session, so a forged cross-site POST cannot replace the user's session."""
    ext = extension()
    if session_cookie_sent():
        categories = current_app.config["CAPTURE_LINK_FLASH_CATEGORIES"]
        text = ext.message(outcome.message_key, provider=outcome.provider)
        flash(text, categories.get(outcome.category, outcome.category))
    else:
        # A cross-site POST without the cookie: writing a flash would start a new session
        # whose cookie replaces the browser's own, signing the user out.
        logger.info("capture-link: no session cookie; %s not flashed", outcome.message_key)
    if outcome.sign_in_again:
        token_store.forget(session)
        target = login_url(next)
    elif outcome.reauthenticate:
        target = freshness.reauthentication_url(safe_next(next) or default_next())
    else:
        target = safe_next(next) or default_next()
    response = make_response(redirect(target, code=303))
    response.headers.update(NO_STORE)
    return response


def default_next() -> str:
    """``CAPTURE_LINK_DEFAULT_NEXT``: where the user lands when no ``next`` was given."""
    return str(current_app.config["CAPTURE_LINK_DEFAULT_NEXT"])


def session_cookie_sent() -> bool:
    """Whether the browser sent this site's session cookie with the request."""
    name = current_app.session_interface.get_cookie_name(current_app)
    return name in request.cookies


def login_url(next: str | None) -> str:
    """``CAPTURE_LINK_LOGIN_URL``, else Flask-Login's ``login_view`` (with ``next``), else
    ``/``."""
    configured = current_app.config["CAPTURE_LINK_LOGIN_URL"]
    if configured:
        return str(configured)
    manager = getattr(current_app, "login_manager", None)
    if manager is not None and manager.login_view:
        from flask_login import login_url as flask_login_url

        return str(flask_login_url(manager.login_view, next_url=safe_next(next) or None))
    return "/"
