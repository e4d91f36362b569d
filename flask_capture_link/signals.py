"""Signals the extension sends, for sites that want to react to links (audit logs, emails).

Connect with blinker as with Flask's own signals::

    from flask_capture_link.signals import account_linked

    @account_linked.connect_via(app)
    def audit(app, **extra):
        app.logger.info("user %s linked an identity", current_user.get_id())

Handlers run inside the request; their return values are ignored, and an exception in a
handler is logged and does not change what the user sees.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import NamedSignal, Namespace
from flask import current_app

_signals = Namespace()

#: Sent after Capture linked a new identity to the current user. Sender: the app.
#: Keywords: ``next`` (where the user goes now), and what a notice to the user needs (see
#: :func:`flask_capture_link.notices.details`): ``identity``, ``provider``, ``label``, ``time``,
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
#: app. Keyword: ``tokens`` (:class:`~flask_capture_link.models.Tokens`; its repr shows no
#: token).
access_token_refreshed = _signals.signal("access-token-refreshed")


def send(signal: NamedSignal, **data: Any) -> None:
    """Send ``signal`` from the current app; a failing handler is logged, never raised."""
    try:
        signal.send(current_app._get_current_object(), **data)  # type: ignore[attr-defined]
    except Exception:
        logging.getLogger("flask_capture_link").exception(
            "capture-link: a %s signal handler failed", signal.name
        )
