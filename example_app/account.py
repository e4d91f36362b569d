"""The pages of a signed-in user: the connected-accounts page, where identities are linked and
unlinked with the extension's buttons."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from flask_capture_link import CaptureError

from .extensions import capture_link

blueprint = Blueprint("account", __name__)

SIGN_IN_AGAIN = "Please sign in again to see your connected accounts."


@blueprint.route("/")
def index() -> ResponseReturnValue:
    """Home is the connected-accounts page (which asks anonymous visitors to sign in)."""
    return redirect(url_for("account.connected_accounts"))


@blueprint.route("/account")
@login_required  # type: ignore[untyped-decorator]
def connected_accounts() -> ResponseReturnValue:
    """The identities linked to the user's account, with buttons to unlink them and to link
    more."""
    identities = capture_link.linked_identities()
    if not has_access_token():
        # Never had one, or Capture ended it while listing: fresh tokens need a sign-in.
        flash(SIGN_IN_AGAIN, "info")
        return redirect(url_for("auth.login", next=request.path))
    return render_template(
        "account.html",
        identities=identities,
        providers=current_app.config["EXAMPLE_PROVIDERS"],
    )


def has_access_token() -> bool:
    """Whether the user holds a usable access token (refreshed if it was due)."""
    try:
        return capture_link.access_token() is not None
    except CaptureError:
        return False
