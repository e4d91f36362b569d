"""The token URL and the unlink endpoint: the ``capture_link`` blueprint.

Both read as the flow in the design. ``token`` first bounces a cookieless cross-site POST;
then each view reads its request once (:class:`Arrival`) and :func:`carries it out
<carry_out>`: spend the state (every request that presents one spends it, whatever the
outcome), check the request, the state and the sign-in's freshness, call Capture with the
user's access token (:func:`link`, :func:`remove`), and show the outcome. Every refusal, the
extension's (:class:`~flask_capture_link.refusals.Refusal`) or Capture's
(:class:`~flask_capture_link.errors.CaptureError`), is raised, and reported in one place
(:func:`report`). Every response is a redirect (or the bounce page); nothing a user sends can
make it a 500.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blinker import NamedSignal
from flask import Blueprint, current_app, flash, make_response, redirect, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from . import already_linked, freshness, notices, signals, state
from .bounce import NO_STORE, bounce_page
from .errors import CaptureError
from .models import LinkedIdentity
from .outcomes import OUTCOMES, Outcome, outcome_for
from .redirects import safe_next
from .refusals import Refusal
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
    if request.method == "HEAD":  # a prefetch or a probe: answer, but spend and link nothing
        return make_response(redirect(default_next(), code=303), {**NO_STORE})
    arrival = Arrival.read(query=True)
    if arrival.needs_bounce():
        return bounce(arrival)
    return carry_out(arrival, state.LINK, check=check_token, act=link)


@blueprint.route("/unlink", methods=["POST"])
@never_fails
def unlink() -> ResponseReturnValue:
    """Remove one linked identity; a POST from :meth:`CaptureLink.unlink_button`'s form."""
    arrival = Arrival.read(query=False)
    return carry_out(arrival, state.UNLINK, arrival.identifier, check=check_identifier, act=remove)


def carry_out(
    arrival: Arrival,
    purpose: str,
    subject: str | None = None,
    *,
    check: Callable[[Arrival], None],
    act: Callable[[Arrival, state.LinkState], str],
) -> Response:
    """The flow of both views: spend the state (every request that presents one does,
    whatever its outcome), ``check`` what else the request brought, check the state and the
    sign-in's freshness, ``act`` (calling Capture with the user's access token), and report.
    Every refusal and every Capture error is raised, and reported here."""
    link_state: state.LinkState | None = None
    try:
        spent = spend_state(arrival.state, purpose, subject)
        if not arrival.readable:
            raise Refusal("invalid_state", reason="unreadable request body")
        check(arrival)
        link_state = usable(spent)
        if not freshness.is_fresh():
            raise Refusal("needs_fresh_sign_in", reason="sign-in not fresh")
        outcome = act(arrival, link_state)
    except (Refusal, CaptureError) as problem:
        return report(problem, link_state)
    return finish(OUTCOMES[outcome], next=link_state.next)


def check_token(arrival: Arrival) -> None:
    """A token URL request carries a Social Login token (none: the user cancelled)."""
    if not arrival.token:
        raise Refusal("missing_token", next=state.peek_next(arrival.state, max_age()))
    if not _TOKEN.match(arrival.token):
        raise Refusal("engage_error", reason="malformed token")


def check_identifier(arrival: Arrival) -> None:
    """An unlink request names the identity to remove."""
    if not arrival.identifier or len(arrival.identifier) > 2048:
        raise Refusal("missing_identifier", next=state.peek_next(arrival.state, max_age()))


def link(arrival: Arrival, link_state: state.LinkState) -> str:
    """Link the identity of the Social Login token, and send ``account_linked``."""
    ext = extension()
    notice = wants_notice(signals.account_linked)
    before = current_identities() if notice else None
    ext._call_with_access_token(
        lambda access_token: ext.client.link_account(
            arrival.token, access_token, locale=ext.locale()
        )
    )
    if notice:  # the notice's details (and the second listing) only for a listener
        after = current_identities() if before is not None else None
        linked_identity = notices.newly_linked(before, after)
        signals.send(
            signals.account_linked, next=link_state.next, **notices.details(linked_identity)
        )
    return "success"


def remove(arrival: Arrival, unlink_state: state.LinkState) -> str:
    """Unlink the identity the request names, if it is linked and may go, and send
    ``account_unlinked``."""
    ext = extension()
    identifier = arrival.identifier
    identities = ext._call_with_access_token(ext.client.linked_identities)
    identity = next((found for found in identities if found.identifier == identifier), None)
    if identity is None:
        raise Refusal("not_linked")
    if not ext.may_unlink(identity, identities):
        raise Refusal("unlink_not_allowed")
    ext._call_with_access_token(
        lambda access_token: ext.client.unlink_account(
            access_token, identifier, locale=ext.locale()
        )
    )
    if wants_notice(signals.account_unlinked):
        signals.send(
            signals.account_unlinked,
            identifier=identifier,
            next=unlink_state.next,
            **notices.details(identity),
        )
    return "unlinked"


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
) -> state.LinkState | Refusal:
    """Spend the state ``value`` (every request that presents one does, whatever its outcome)
    and check it: the state, or the refusal of a state that cannot be used (raised by
    :func:`usable` once the request's other fields are checked). A refusal leads back to the
    page of a well-signed state's button, as a success does."""
    try:
        return state.consume(
            session, value, purpose, extension().user_binding(), max_age(), subject
        )
    except StateStoreUnavailable as exc:
        return Refusal(
            "unavailable", reason=f"state store: {exc}", next=state.peek_next(value, max_age())
        )
    except state.InvalidState as exc:
        return Refusal("invalid_state", reason=exc.reason, next=state.peek_next(value, max_age()))


def usable(spent: state.LinkState | Refusal) -> state.LinkState:
    """The spent state, or its refusal raised."""
    if isinstance(spent, Refusal):
        raise spent
    return spent


@dataclass(frozen=True)
class Arrival:
    """What a request to the views brought, read once (``""``: not sent). ``readable`` is
    false for a body that could not be read; its fields are then only the query's."""

    readable: bool
    token: str
    state: str
    identifier: str
    bounced: bool

    @classmethod
    def read(cls, *, query: bool) -> Arrival:
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


def bounce(arrival: Arrival) -> ResponseReturnValue:
    """A same-origin page that posts token and state again, now with the session cookie."""
    logger.debug("capture-link: token POST arrived without a session; bouncing")
    # This request's URL (in the access log) may hold the state: spend it here, and bounce its
    # successor, which travels only in bodies (one that is not usable is refused after the
    # bounce, with the session, so the user sees why).
    successor = state.pass_on(arrival.state, max_age())
    return bounce_page(arrival.token, successor, BOUNCED_FIELD)


def report(problem: Refusal | CaptureError, link_state: state.LinkState | None) -> Response:
    """End a request that was refused, by the extension or by Capture: log why (with
    Capture's request id), signal ``link_failed``, flash the outcome's message and redirect,
    to the state's ``next`` unless the refusal says where."""
    if isinstance(problem, Refusal):
        outcome = OUTCOMES[problem.outcome]
        logger.log(
            outcome.log_level, "capture-link: %s refused: %s", request.endpoint, problem.reason
        )
        signals.send(signals.link_failed, error=None, outcome=problem.outcome)
        next_path = problem.next
    else:
        outcome = outcome_for(problem)
        logger.log(outcome.log_level, "capture-link: %s failed: %s", request.endpoint, problem)
        signals.send(signals.link_failed, error=problem, outcome=outcome.message_key)
        provider = link_state.provider if link_state is not None else None
        outcome = already_linked.refine(extension(), outcome, provider)
        next_path = None
    if next_path is None and link_state is not None:
        next_path = link_state.next
    return finish(outcome, next=next_path)


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
        ext.forget_tokens()
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
