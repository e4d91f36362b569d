"""Sign in with a linked identity, and merge on sign-in (views of the ``capture_link``
blueprint).

A sign-in button (:meth:`CaptureLink.sign_in_button`) sends the user to Social Login; the
token comes back to the token URL with a state of purpose :data:`state.SIGN_IN`, and
:func:`token_sign_in` exchanges it at Capture (``/oauth/auth_native``), calls the site's
``signed_in`` function (which signs the site's user in), then stores the tokens. The states are
bound to the session only: nobody is signed in yet.

When the identity's verified email belongs to an existing account (380), the new identity's
token, the *merge token*, is kept server side: sealed (:mod:`~flask_capture_link.sealing`) in
the state store under a random id that only this session's record holds, for
:data:`MERGE_MAX_AGE` seconds, taken once. The user is sent to :func:`merge`, which asks them to
prove the existing account: its password (a form of this blueprint), or a sign-in with its
social provider (a button whose state has purpose :data:`state.MERGE`, back at the token URL).
Either way the merge token goes to Capture with the proof, and the accounts are linked.
Cancelling drops the kept token. The merge token is never in a URL, a page, a log or a flash.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from flask import current_app, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from .. import integrations, sealing, signals, state
from ..buttons import PROVIDER, provider_name
from ..client.errors import CaptureError, InvalidCredentials, MergeRequired, NoAccountForIdentity
from ..client.models import Tokens
from ..outcomes import OUTCOMES, outcome_for
from ..redirects import sign_in_url
from ..storage import _secret_keys
from ..store import StateStoreUnavailable
from .blueprint import blueprint
from .flow import (
    NO_STORE,
    LinkRequest,
    Refusal,
    check_token,
    extension,
    finish,
    is_of_provider,
    never_fails,
    read_form,
    spend_state,
    usable,
)

logger = logging.getLogger(__name__)

#: Seconds a kept merge token waits for the user to prove the existing account.
MERGE_MAX_AGE = 300

#: Key of the merge in the extension's session record: ``{"id", "ep" (the existing provider),
#: "np" (the new identity's provider), "x" (next)}``; never the merge token.
MERGE_RECORD = "mg"

#: Longest email address and password the merge form accepts.
MAX_FIELD = 1024


def token_sign_in(link_request: LinkRequest, purpose: str) -> Response:
    """The token URL for a state of ``purpose`` :data:`state.SIGN_IN` or :data:`state.MERGE`
    (as the token URL read it, unspent): spend the state, sign in with the token at Capture
    (with the kept merge token for a merge), let the site sign its user in, store the tokens;
    a 380 starts a merge."""
    record = merge_record()
    subject = record["id"] if purpose == state.MERGE and record is not None else None
    verified: state.VerifiedState | None = None
    try:
        spent = spend_state(link_request.state, purpose, subject, of_user=False)
        if not link_request.readable:
            raise Refusal("invalid_state", reason="unreadable request body")
        try:
            check_token(link_request)
        except Refusal as refusal:
            if refusal.outcome == "missing_token":
                raise Refusal("sign_in_cancelled") from None
            raise
        verified = usable(spent)
        hook = signed_in_function()
        ext = extension()
        if purpose == state.MERGE:
            merge_token, taken = take_merge()
            tokens = ext.client.sign_in_with_token(
                link_request.token, merge_token=merge_token, locale=ext.flow_locale()
            )
            sign_in_as(tokens, hook)
            send_linked(taken.get("np"), taken.get("x"))
            return finish(OUTCOMES["merged"], next=taken.get("x"))
        tokens = ext.client.sign_in_with_token(link_request.token, locale=ext.flow_locale())
        sign_in_as(tokens, hook)
    except MergeRequired as required:
        if purpose != state.SIGN_IN or verified is None:
            return report(required, purpose, verified)
        return start_merge(required, verified)
    except (Refusal, CaptureError) as problem:
        return report(problem, purpose, verified)
    return finish(OUTCOMES["signed_in"], next=verified.next)


@blueprint.route("/merge", methods=["GET", "POST"])
@never_fails
def merge() -> ResponseReturnValue:
    """The merge page: GET shows how to prove the existing account (its password, or its
    social provider's button) and a cancel button; POST takes the password form."""
    record = merge_record()
    if record is None:
        return finish(OUTCOMES["merge_expired"], next=None, to=sign_in_url(None))
    if request.method != "POST":  # GET, and the HEAD Flask adds: safe, they only show
        return merge_page(record)
    form = read_form()
    fields = form or {}
    verified: state.VerifiedState | None = None
    try:
        spent = spend_state(fields.get("state"), state.MERGE_PASSWORD, record["id"], of_user=False)
        if form is None:
            raise Refusal("invalid_state", reason="unreadable request body")
        verified = usable(spent)
        email = fields.get("email", "").strip()
        password = fields.get("password", "")
        if not email or not password or len(email) > MAX_FIELD or len(password) > MAX_FIELD:
            raise Refusal("invalid_credentials", reason="email or password missing or too long")
        hook = signed_in_function()
        merge_token, taken = take_merge()
        ext = extension()
        try:
            tokens = ext.client.sign_in(
                email, password, merge_token=merge_token, locale=ext.flow_locale()
            )
        except InvalidCredentials:
            # Capture refused the password before looking at the merge token: it stays
            # usable, so the user may type the password again.
            keep_merge(merge_token, taken)
            raise
        sign_in_as(tokens, hook)
        send_linked(taken.get("np"), taken.get("x"))
    except (Refusal, CaptureError) as problem:
        return report(problem, state.MERGE_PASSWORD, verified)
    return finish(OUTCOMES["merged"], next=taken.get("x"))


@blueprint.route("/merge/cancel", methods=["POST"])
@never_fails
def merge_cancel() -> ResponseReturnValue:
    """Cancel the merge: the kept merge token is dropped, and nothing is linked."""
    record = merge_record()
    if record is None:
        return finish(OUTCOMES["merge_expired"], next=None, to=sign_in_url(None))
    form = read_form() or {}
    try:
        usable(spend_state(form.get("state"), state.MERGE_CANCEL, record["id"], of_user=False))
        drop_merge(record)
    except Refusal as problem:
        return report(problem, state.MERGE_CANCEL, None)
    logger.info("merge cancelled; the kept merge token was dropped")
    return finish(OUTCOMES["merge_cancelled"], next=None, to=sign_in_url(record.get("x")))


def merge_page(record: dict[str, Any]) -> Response:
    """Render ``capture_link/merge.html`` (a site overrides it with its own template of that
    name) for the merge of ``record``."""
    ext = extension()
    existing = str(record["ep"])
    new = provider_name(record["np"]) if record.get("np") else None
    by_password = existing == "capture"
    page: dict[str, Any] = {
        "title": ext.message("merge_title"),
        "by_password": by_password,
        "existing_provider": existing,
        "cancel_action": url_for("capture_link.merge_cancel"),
        "cancel_state": issue(state.MERGE_CANCEL, record),
        "cancel_label": ext.message("merge_cancel_button"),
    }
    if by_password:
        page.update(
            intro=ext.message("merge_password_intro", provider=new or "Social Login"),
            action=url_for("capture_link.merge"),
            state=issue(state.MERGE_PASSWORD, record),
            email_label=ext.message("merge_email_label"),
            password_label=ext.message("merge_password_label"),
            confirm_label=ext.message("merge_confirm_button"),
            button=None,
        )
    else:
        name = provider_name(existing)
        url = ext.sign_in_token_url(state.MERGE, record.get("x"), existing, record["id"])
        from ..buttons import sign_in_button

        page.update(
            intro=ext.message("merge_social_intro", provider=name),
            button=sign_in_button(existing, url, ext.message("sign_in_button", provider=name)),
        )
    response = current_app.make_response(render_template("capture_link/merge.html", **page))
    response.headers.update(NO_STORE)
    return response


def issue(purpose: str, record: dict[str, Any]) -> str:
    """A state of ``purpose`` for the merge of ``record``, bound to this session."""
    return state.issue(session, purpose, None, record.get("x"), subject=record["id"])


def signed_in_function() -> Any:
    """The site's ``signed_in`` function.

    :raises Refusal: ``sign_in_not_set_up`` (logged at ERROR) when the site has none.
    """
    hook = extension().signed_in_hook
    if hook is None:
        raise Refusal(
            "sign_in_not_set_up",
            reason="no @capture_link.signed_in function: decorate the function that signs "
            "your user in (docs/sign-in.md)",
        )
    return hook


def sign_in_as(tokens: Tokens, hook: Any) -> None:
    """The site signs its user in (its ``signed_in`` function), then the tokens are stored
    (after ``login_user``, so they are kept for that user)."""
    hook(tokens, tokens.capture_user)
    if integrations.login_manager() is not None and integrations.flask_login_user_id() is None:
        raise Refusal(
            "sign_in_not_set_up",
            reason="the signed_in function signed nobody in (call login_user in it)",
        )
    extension().store_tokens(tokens)


def send_linked(provider: object, next_path: object) -> None:
    """``account_linked`` for a merge: the identity of ``provider`` now on the account."""
    if not signals.has_receivers(signals.account_linked):
        return
    found = extension().linked_identities()
    of_provider = [
        i for i in found if isinstance(provider, str) and is_of_provider(i.domain, provider)
    ]
    identity = of_provider[0] if len(of_provider) == 1 else None
    signals.send(
        signals.account_linked,
        next=next_path if isinstance(next_path, str) else None,
        **signals.details(identity),
    )


def start_merge(required: MergeRequired, verified: state.VerifiedState) -> Response:
    """Keep the merge token, note the merge in the session, and send the user to prove the
    existing account."""
    existing = required.existing_provider
    merge_token = required.merge_token
    if not merge_token or not existing or (existing != "capture" and not PROVIDER.match(existing)):
        logger.warning("a 380 without a usable merge token or existing provider")
        return report(required, state.SIGN_IN, verified)
    previous = merge_record()
    if previous is not None:
        drop_merge(previous)
    record = {"id": secrets.token_urlsafe(16), "ep": existing, "np": verified.provider}
    record["x"] = verified.next
    try:
        keep_merge(merge_token, record)
    except Refusal as refusal:
        return report(refusal, state.SIGN_IN, verified)
    logger.info("sign-in met an existing account (it signs in with %s): merge kept", existing)
    return finish(OUTCOMES["email_address_in_use"], next=None, to=url_for("capture_link.merge"))


def keep_merge(merge_token: str, record: dict[str, Any]) -> None:
    """Keep ``merge_token`` sealed in the state store under the merge's id, and the merge in
    the session.

    :raises Refusal: ``unavailable`` when the store cannot be asked.
    """
    sealed = sealing.seal(
        json.dumps({"t": merge_token}).encode(), _secret_keys(), purpose=_purpose(record["id"])
    )
    try:
        extension().state_store().keep(_name(record["id"]), sealed, MERGE_MAX_AGE)
    except StateStoreUnavailable as exc:
        raise Refusal("unavailable", reason=f"state store: {exc}") from None
    state.update_record(session, mg=record)  # MERGE_RECORD


def take_merge() -> tuple[str, dict[str, Any]]:
    """The kept merge token, taken (once) from the store, and its merge, dropped from the
    session.

    :raises Refusal: ``merge_expired`` when there is none (expired, taken, or never kept);
        ``unavailable`` when the store cannot be asked.
    """
    record = merge_record()
    if record is None:
        raise Refusal("merge_expired", reason="no merge in this session")
    state.update_record(session, remove=(MERGE_RECORD,))
    try:
        sealed = extension().state_store().take(_name(record["id"]))
    except StateStoreUnavailable as exc:
        raise Refusal("unavailable", reason=f"state store: {exc}") from None
    if sealed is None:
        raise Refusal("merge_expired", reason="the merge token expired or was taken")
    try:
        data, _ = sealing.unseal(sealed, _secret_keys(), purpose=_purpose(record["id"]))
        merge_token = json.loads(data)["t"]
    except (sealing.SealError, ValueError, KeyError, TypeError):
        raise Refusal("merge_expired", reason="the kept merge token does not open") from None
    if not isinstance(merge_token, str):
        raise Refusal("merge_expired", reason="the kept merge token does not open")
    return merge_token, record


def drop_merge(record: dict[str, Any]) -> None:
    """Forget the merge of ``record``: the session's note and the kept token."""
    state.update_record(session, remove=(MERGE_RECORD,))
    try:
        extension().state_store().take(_name(record["id"]))
    except StateStoreUnavailable as exc:  # it expires by itself
        logger.warning("could not drop a kept merge token: %s", exc)


def merge_record() -> dict[str, Any] | None:
    """This session's merge, or ``None``."""
    found = state.session_record(session).get(MERGE_RECORD)
    if not isinstance(found, dict) or not isinstance(found.get("id"), str):
        return None
    if not isinstance(found.get("ep"), str):
        return None
    return found


def report(
    problem: Refusal | CaptureError, purpose: str, verified: state.VerifiedState | None
) -> Response:
    """End a refused sign-in or merge: log why, flash the outcome, and go back to the merge
    page while the merge is still kept, else to the sign-in page (or, for an identity no
    account has, the site's registration page when it has one)."""
    if isinstance(problem, Refusal):
        outcome = OUTCOMES[problem.outcome]
        logger.log(outcome.log_level, "%s refused: %s", request.endpoint, problem.reason)
        error = None
    else:
        outcome = outcome_for(problem)
        logger.log(outcome.log_level, "%s failed: %s", request.endpoint, problem)
        error = problem
    if purpose != state.SIGN_IN:  # a merge is a link: its failure is a link's
        signals.send(signals.link_failed, error=error, outcome=outcome.message_key)
    next_path = verified.next if verified is not None else None
    register = current_app.config.get("CAPTURE_LINK_REGISTER_URL")
    if isinstance(problem, NoAccountForIdentity) and register:
        return finish(OUTCOMES["no_account_register"], next=None, to=str(register))
    if merge_record() is not None:
        return finish(outcome, next=None, to=url_for("capture_link.merge"))
    return finish(outcome, next=None, to=sign_in_url(next_path))


def current_max_age() -> int:
    """``CAPTURE_LINK_STATE_MAX_AGE``."""
    return int(current_app.config["CAPTURE_LINK_STATE_MAX_AGE"])


def _name(merge_id: str) -> str:
    return "merge:" + merge_id


def _purpose(merge_id: str) -> bytes:
    return b"merge-token:" + merge_id.encode()
