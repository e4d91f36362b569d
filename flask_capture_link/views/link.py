"""Link and unlink: the token URL, the unlink endpoint, and re-authentication.

They read as the flow in the design. ``token`` first bounces a cookieless cross-site POST; a
sign-in state goes on to :mod:`.social`; then :func:`handle`: spend the state, check the
request, the state and the sign-in's freshness, call Capture with the user's access token
(:func:`link_identity`, :func:`unlink_identity`), under the account's lock where a listing
decides (:func:`one_change_at_a_time`), and show the outcome (:mod:`.flow`).

The views use only the public API of :class:`~flask_capture_link.CaptureLink`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from flask import current_app, flash, make_response, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from .. import integrations, signals, state
from ..client.errors import CaptureAnswerLost, CaptureError, CaptureUnavailable
from ..client.models import LinkedIdentity
from ..outcomes import OUTCOMES
from ..redirects import safe_next, sign_in_url
from ..store import StateStoreUnavailable

if TYPE_CHECKING:
    pass

from . import social
from .blueprint import blueprint
from .flow import (
    NO_STORE,
    LinkRequest,
    Refusal,
    bounce,
    check_identifier,
    check_token,
    default_next,
    extension,
    finish,
    is_of_provider,
    max_age,
    never_fails,
    report,
    spend_state,
    usable,
)

logger = logging.getLogger(__name__)


@blueprint.route("/token", methods=["GET", "POST"])
@never_fails
def token() -> ResponseReturnValue:
    """Social Login delivers the token here, by cross-site POST (or GET)."""
    if request.method == "HEAD":  # a prefetch or a probe: answer, but spend and link nothing
        return make_response(redirect(default_next(), code=303), {**NO_STORE})
    link_request = LinkRequest.read(query=True)
    if link_request.needs_bounce():
        return bounce(link_request)
    purpose = state.peek_purpose(link_request.state, max_age())
    if purpose in (state.SIGN_IN, state.MERGE):
        return social.token_sign_in(link_request, purpose)
    return handle(link_request, state.LINK, check=check_token, act=link_identity)


@blueprint.route("/unlink", methods=["POST"])
@never_fails
def unlink() -> ResponseReturnValue:
    """Remove one linked identity; a POST from :meth:`CaptureLink.unlink_button`'s form."""
    unlink_request = LinkRequest.read(query=False)
    return handle(
        unlink_request,
        state.UNLINK,
        unlink_request.identifier,
        check=check_identifier,
        act=unlink_identity,
    )


@blueprint.route("/reauthenticate")
@never_fails
def reauthenticate() -> ResponseReturnValue:
    """Where the buttons of a session that is not fresh lead: to confirm the password at the
    site (Flask-Login's ``refresh_view``, with its ``needs_refresh`` message), then back to
    ``next``, the page of the button. A fresh session goes straight back."""
    next_path = safe_next(request.args.get("next", "")) or default_next()
    if extension().is_fresh():
        return redirect(next_path, code=303)
    manager = integrations.login_manager()
    # Flask-Login's default ("Please reauthenticate to access this page.") does not say why:
    # ours does, unless the site set a message of its own.
    says_why = manager is None or integrations.flask_login_default_refresh_message(manager)
    if manager is not None and (manager.refresh_view or manager.needs_refresh_callback):
        # Flask-Login's own way: its callback, ``next`` back here and on to the page.
        response: ResponseReturnValue = manager.needs_refresh()
        if says_why and not manager.needs_refresh_callback:
            outcome = OUTCOMES["needs_fresh_sign_in"]
            integrations.replace_last_flash(
                manager.needs_refresh_message,
                extension().message(outcome.message_key),
                outcome.category,
            )
        return response
    if manager is not None and manager.needs_refresh_message and not says_why:
        message = manager.needs_refresh_message
        if manager.localize_callback is not None:
            message = manager.localize_callback(message)
        flash(message, manager.needs_refresh_message_category)
    else:
        outcome = OUTCOMES["needs_fresh_sign_in"]
        flash(extension().message(outcome.message_key), outcome.category)
    return redirect(sign_in_url(next_path, reauthenticate=True), code=303)


def handle(
    link_request: LinkRequest,
    purpose: str,
    subject: str | None = None,
    *,
    check: Callable[[LinkRequest], None],
    act: Callable[[LinkRequest, state.VerifiedState], str],
) -> Response:
    """The flow of the token URL and unlink: spend the state (every request that presents one
    does, whatever its outcome), ``check`` what else the request brought, check the state and
    the sign-in's freshness, ``act`` (calling Capture with the user's access token), and
    report. Every refusal and every Capture error is raised, and reported here."""
    verified: state.VerifiedState | None = None
    try:
        spent = spend_state(link_request.state, purpose, subject)
        if not link_request.readable:
            raise Refusal("invalid_state", reason="unreadable request body")
        check(link_request)
        verified = usable(spent)
        if not extension().is_fresh():
            raise Refusal("needs_fresh_sign_in", reason="sign-in not fresh")
        with one_change_at_a_time() if lists_to_decide(purpose) else contextlib.nullcontext():
            outcome = act(link_request, verified)
    except (Refusal, CaptureError) as problem:
        return report(problem, verified)
    return finish(OUTCOMES[outcome], next=verified.next)


def lists_to_decide(purpose: str) -> bool:
    """Whether the change of ``purpose`` decides from a listing of the account's identities,
    and so needs :func:`one_change_at_a_time`: an unlink always (the no-lock-out rule), a link
    when an ``account_linked`` notice compares the lists before and after it. A link alone
    decides nothing from a listing and only adds a way in."""
    return purpose == state.UNLINK or signals.has_receivers(signals.account_linked)


@contextlib.contextmanager
def one_change_at_a_time() -> Iterator[None]:
    """Hold the user's account lock in the state store while the block lists the account's
    identities and changes them (an unlink; a link whose notice compares listings): of two
    concurrent unlinks of an account's last two identities, the second lists them after the
    first changed them, and the no-lock-out rule sees the truth, across threads, processes and
    machines (those that share the store).

    The lock is the account's as the extension knows it, :meth:`CaptureLink.user_binding`
    (Flask-Login's user id; else the sign-in of this session; else the access token), under a
    keyed hash. A request waits for it at most as long as one call to Capture may take, and
    is refused (``unavailable``, nothing changed) after that; the lock lets go by itself after
    as long as the changes may take (a worker that died holding it)."""
    ext = extension()
    binding = ext.user_binding()
    if binding is None:  # nobody signed in: nothing can be changed (no access token)
        yield
        return
    name = account_lock_name(binding)
    capture = capture_seconds()
    store = ext.state_store()
    try:
        # Listing, a refresh, the change and the notice's listing: four calls at most.
        token = store.acquire(name, ttl=4 * capture + 2, wait=capture + 2)
    except StateStoreUnavailable as exc:
        raise Refusal("unavailable", reason=f"state store: {exc}") from None
    if token is None:
        raise Refusal("unavailable", reason="another change of this account took too long")
    try:
        yield
    finally:
        store.release(name, token)


def account_lock_name(binding: str) -> str:
    """The name of the lock of the account the extension binds as ``binding`` (a keyed hash:
    the store never sees the user id or the access token)."""
    key = str(current_app.secret_key or "").encode()
    return "account:" + hmac.new(key, binding.encode(), hashlib.sha256).hexdigest()[:32]


def capture_seconds() -> float:
    """The longest one call to Capture may take: ``CAPTURE_LINK_TIMEOUT`` (connect + read)."""
    timeout = current_app.config["CAPTURE_LINK_TIMEOUT"]
    return float(sum(timeout) if isinstance(timeout, (list, tuple)) else timeout)


def link_identity(link_request: LinkRequest, verified: state.VerifiedState) -> str:
    """Link the identity of the Social Login token, and send ``account_linked``."""
    ext = extension()
    notice = signals.has_receivers(signals.account_linked)
    before = current_identities() if notice else None
    after: list[LinkedIdentity] | None = None
    try:
        ext.with_access_token(
            lambda access_token: answer_read(
                lambda: ext.client.link_account(
                    link_request.token, access_token, locale=ext.flow_locale()
                )
            )
        )
    except CaptureAnswerLost as lost:
        if not rechecks():
            raise
        after = recheck(lost, linked_now(before, verified.provider))
    if notice:  # the notice's details (and the second listing) only for a listener
        if after is None and before is not None:
            after = current_identities()
        linked = signals.newly_linked(before, after)
        signals.send(signals.account_linked, next=verified.next, **signals.details(linked))
    return "success"


def unlink_identity(unlink_request: LinkRequest, verified: state.VerifiedState) -> str:
    """Unlink the identity the request names, if it is linked and may go, and send
    ``account_unlinked``."""
    ext = extension()
    identifier = unlink_request.identifier
    identities = ext.with_access_token(ext.client.linked_identities)
    identity = next((found for found in identities if found.identifier == identifier), None)
    if identity is None:
        raise Refusal("not_linked")
    if not ext.may_unlink(identity, identities):
        raise Refusal("unlink_not_allowed")
    try:
        ext.with_access_token(
            lambda access_token: answer_read(
                lambda: ext.client.unlink_account(
                    access_token, identifier, locale=ext.flow_locale()
                )
            )
        )
    except CaptureAnswerLost as lost:
        if not rechecks():
            raise
        recheck(lost, lambda now: all(found.identifier != identifier for found in now))
    if signals.has_receivers(signals.account_unlinked):
        signals.send(
            signals.account_unlinked,
            identifier=identifier,
            next=verified.next,
            **signals.details(identity),
        )
    return "unlinked"


def linked_now(
    before: list[LinkedIdentity] | None, provider: str | None
) -> Callable[[list[LinkedIdentity]], bool | None]:
    """Whether identities listed after a link show it made: with the list before, one new
    identity says yes, none says no; without it, no identity of ``provider`` listed says no,
    and one listed says nothing (it may have been there before)."""

    def decide(now: list[LinkedIdentity]) -> bool | None:
        if before is not None:
            new = {i.identifier for i in now} - {i.identifier for i in before}
            return True if len(new) == 1 else False if not new else None
        if provider and not any(is_of_provider(i.domain, provider) for i in now):
            return False
        return None

    return decide


class AnswerUnreadable(CaptureAnswerLost):
    """Capture's answer to a change came back but could not be read (an HTML 5xx from a
    gateway, JSON that does not parse, no ``stat``): Capture may have acted before it was
    garbled, so it counts as lost; ``unreadable`` is what the client raised."""

    def __init__(self, unreadable: CaptureUnavailable) -> None:
        super().__init__(unreadable.description)
        self.unreadable = unreadable


def answer_read(change: Callable[[], None]) -> None:
    """Make the change; an answer that came back unreadable raises :class:`AnswerUnreadable`
    (a Capture refusal, a failure to connect or a lost answer is raised as it is)."""
    try:
        change()
    except CaptureUnavailable as failed:
        if isinstance(failed, CaptureAnswerLost) or failed.code is not None:
            raise
        if failed.http_status is None:  # no answer was read: nothing reached Capture
            raise
        raise AnswerUnreadable(failed) from failed


def rechecks() -> bool:
    """Whether a lost answer of Capture is checked (``CAPTURE_LINK_RECHECK_DELAY`` is set)."""
    return current_app.config["CAPTURE_LINK_RECHECK_DELAY"] is not None


def recheck(
    lost: CaptureAnswerLost, changed: Callable[[list[LinkedIdentity]], bool | None]
) -> list[LinkedIdentity]:
    """After Capture's answer to a change was lost (it may have acted, perhaps late), wait
    ``CAPTURE_LINK_RECHECK_DELAY`` seconds and list the identities once: the list, when
    ``changed`` finds the change made in it. The call is never sent again.

    :raises Refusal: ``unconfirmed_unchanged`` when ``changed`` finds it not made (for an
        :class:`AnswerUnreadable`, the client's own error: unavailable, nothing changed).
    :raises CaptureAnswerLost: ``lost`` itself when it is still unknown (the list could not be
        had, or does not tell).
    """
    time.sleep(float(current_app.config["CAPTURE_LINK_RECHECK_DELAY"]))
    now = current_identities()
    verdict = None if now is None else changed(now)
    if now is not None and verdict:
        logger.warning(
            "%s: Capture's answer was lost (%s); the identities listed after show the change made",
            request.endpoint,
            lost,
        )
        return now
    if verdict is False and isinstance(lost, AnswerUnreadable):
        raise lost.unreadable  # "nothing was changed", and now it is checked
    if verdict is False:
        raise Refusal(
            "unconfirmed_unchanged",
            reason=f"Capture's answer was lost ({lost}); the identities listed after show no "
            "change",
        )
    raise lost


def current_identities() -> list[LinkedIdentity] | None:
    """The user's linked identities as Capture says now, for a notice; ``None`` when it cannot
    say (a notice without the identity is better than no change)."""
    ext = extension()
    try:
        return ext.with_access_token(ext.client.linked_identities)
    except CaptureError as error:
        logger.info("could not list identities for a notice: %s", error)
        return None
