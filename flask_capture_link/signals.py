"""Signals the extension sends, for sites that want to react to links (audit logs, emails).

Connect with blinker as with Flask's own signals::

    from flask_capture_link.signals import account_linked

    @account_linked.connect_via(app)
    def audit(app, **extra):  # with: from flask_login import current_user
        app.logger.info("user %s linked an identity", current_user.get_id())

Handlers run inside the request; their return values are ignored, and an exception in a
handler is logged and does not change what the user sees; under ``TESTING`` (or ``DEBUG``,
``PROPAGATE_EXCEPTIONS``) it is raised, so a test sees it.

``account_linked`` and ``account_unlinked`` carry what a notice of a change to a user's sign-in
methods needs: which identity, when, and from where (see :func:`details`), so a site can tell
the user ("Google (ann@example.com) was linked to your account on ... from 203.0.113.9,
Firefox").
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from blinker import NamedSignal, Namespace
from flask import current_app, request

from .client.models import LinkedIdentity

logger = logging.getLogger(__name__)

_signals = Namespace()

#: Sent after Capture linked a new identity to the current user. Sender: the app.
#: Keywords: ``next`` (where the user goes now), and what a notice to the user needs (see
#: :func:`details`): ``identity``, ``provider``, ``label``, ``time``,
#: ``ip``, ``user_agent``. The identity is found by listing the user's identities before and
#: after the link, which is done only when some handler is connected.
account_linked = _signals.signal("account-linked")

#: Sent when a link or unlink did not happen. Sender: the app. Keywords: ``error`` (the
#: :class:`~flask_capture_link.errors.CaptureError`, or ``None`` when the extension refused
#: before calling Capture) and ``outcome`` (the message key, e.g. ``"invalid_state"``).
link_failed = _signals.signal("link-failed")

#: Sent after Capture removed an identity from the current user. Sender: the app. Keywords:
#: ``identifier`` (the identity removed), ``next``, and the notice keywords of
#: ``account_linked``.
account_unlinked = _signals.signal("account-unlinked")

#: Sent after an expired access token was refreshed and the new tokens stored. Sender: the
#: app. Keyword: ``tokens`` (:class:`~flask_capture_link.Tokens`; its repr shows no
#: token).
access_token_refreshed = _signals.signal("access-token-refreshed")


def send(signal: NamedSignal, **data: Any) -> None:
    """Send ``signal`` from the current app; a failing handler is logged, and raised only
    where Flask propagates exceptions (``TESTING``, ``DEBUG``, ``PROPAGATE_EXCEPTIONS``), so
    a site's tests see a broken handler instead of a log line."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        signal.send(app, **data)
    except Exception:
        logger.exception("a %s signal handler failed", signal.name)
        if _propagates(app):
            raise


def _propagates(app: Any) -> bool:
    """Whether ``app`` lets exceptions through, as Flask decides it."""
    setting = app.config.get("PROPAGATE_EXCEPTIONS")
    return bool(setting) if setting is not None else bool(app.testing or app.debug)


def has_receivers(signal: NamedSignal) -> bool:
    """Whether a handler listens to ``signal`` from the current app (only then is it worth
    asking Capture which identity changed)."""
    return bool(signal.has_receivers_for(current_app._get_current_object()))  # type: ignore[attr-defined]


def details(identity: LinkedIdentity | None) -> dict[str, Any]:
    """The signal keywords of a change to ``identity`` (``None`` when Capture could not say
    which identity it was):

    * ``identity``: the :class:`~flask_capture_link.LinkedIdentity`, or ``None``;
    * ``provider``: its profile domain as Capture records it (``"google.com"``), or ``None``;
    * ``label``: its :attr:`~flask_capture_link.LinkedIdentity.label`, or ``None``;
      both without control or format characters (:func:`shown`), so that a display name
      chosen at the provider cannot reorder the notice's text (U+202E) or hide in it;
    * ``time``: when, an aware :class:`~datetime.datetime` in UTC;
    * ``ip``: the client's address, ``request.remote_addr`` (behind a proxy, wrap the app in
      werkzeug's ``ProxyFix`` so that this is the client's and not the proxy's);
    * ``user_agent``: the browser's ``User-Agent``, or ``None``.
    """
    return {
        "identity": identity,
        "provider": shown(identity.domain) if identity is not None else None,
        "label": shown(identity.label) if identity is not None else None,
        "time": datetime.now(timezone.utc),
        "ip": request.remote_addr,
        "user_agent": request.user_agent.string or None,
    }


def shown(text: str | None) -> str | None:
    """``text`` without the characters a notice must not show: controls (newlines included),
    format characters (bidi overrides and isolates, zero-width ones), and unassigned, private
    and surrogate code points; ``None`` when nothing is left."""
    if text is None:
        return None
    kept = "".join(char for char in text if not unicodedata.category(char).startswith("C"))
    return kept.strip() or None


def newly_linked(
    before: Sequence[LinkedIdentity] | None, after: Sequence[LinkedIdentity] | None
) -> LinkedIdentity | None:
    """The one identity in ``after`` that ``before`` lacked; ``None`` when that is not exactly
    one (or a list is unknown)."""
    if before is None or after is None:
        return None
    known = {identity.identifier for identity in before}
    new = [identity for identity in after if identity.identifier not in known]
    return new[0] if len(new) == 1 else None
