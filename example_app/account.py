"""The pages of a signed-in user: the connected-accounts page, where identities are linked and
unlinked with the extension's buttons."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from flask_capture_link import CaptureError
from flask_capture_link.errors import AccessTokenInvalid, RefreshTokenInvalid

from .extensions import capture_link

blueprint = Blueprint("account", __name__)

SIGN_IN_AGAIN = "Please sign in again to see your connected accounts."
LIST_UNAVAILABLE = "Your linked accounts cannot be listed right now. Please try again later."


@blueprint.route("/")
def index() -> ResponseReturnValue:
    """Home is the connected-accounts page (which asks anonymous visitors to sign in)."""
    return redirect(url_for("account.connected_accounts"))


@blueprint.route("/account")
@login_required  # type: ignore[untyped-decorator]
def connected_accounts() -> ResponseReturnValue:
    """The identities linked to the user's account, with buttons to unlink them and to link
    more."""
    try:
        identities = capture_link.linked_identities(raise_errors=True)
        # May refresh too (the list may have come from this request's cache): inside the try.
        has_tokens = capture_link.access_token() is not None
    except (AccessTokenInvalid, RefreshTokenInvalid):
        return sign_in_again()  # Capture ended the session; the extension dropped the tokens
    except CaptureError:
        # Capture could not say; the page still works (links can be made), without the list.
        identities, has_tokens = [], True
        flash(LIST_UNAVAILABLE, "error")
    if not has_tokens:  # never had tokens
        return sign_in_again()
    return render_template(
        "account.html",
        identities=identities,
        providers=current_app.config["EXAMPLE_PROVIDERS"],
    )


def sign_in_again() -> ResponseReturnValue:
    """Fresh tokens need a sign-in; come back here after."""
    flash(SIGN_IN_AGAIN, "info")
    return redirect(url_for("auth.login", next=request.path))
