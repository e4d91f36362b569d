"""The notice a user gets when a sign-in method is added to or removed from their account.

A real site mails it (see "Sensitive actions" in docs/security.md for the few lines that takes);
the example site writes it to its log, where the demo shows it, as a mail would be sent.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_login import current_user

from flask_capture_link.signals import account_linked, account_unlinked

logger = logging.getLogger("example_app.notices")


def text(change: str, details: dict[str, Any]) -> str:
    """The notice of ``change``: which identity, when, and from where (the signal's
    keywords ``label``, ``provider``, ``time``, ``ip`` and ``user_agent``)."""
    label, provider = details.get("label"), details.get("provider")
    what = f"{label} ({provider})" if label and provider else label or provider or "An account"
    return (
        f"To {current_user.email}: {what} was {change} on {details['time']:%Y-%m-%d %H:%M} UTC "
        f"from {details.get('ip') or 'an unknown address'} "
        f"({details.get('user_agent') or 'unknown browser'}). "
        "If this was not you, change your password now."
    )


def on_linked(app: Flask, **details: Any) -> None:
    """Tell the user an identity was linked to their account."""
    logger.info("Notice %s", text("linked to your account", details))


def on_unlinked(app: Flask, **details: Any) -> None:
    """Tell the user an identity was removed from their account."""
    logger.info("Notice %s", text("removed from your account", details))


def init_app(app: Flask) -> None:
    """Send a notice for each change made on ``app``."""
    account_linked.connect(on_linked, sender=app, weak=False)
    account_unlinked.connect(on_unlinked, sender=app, weak=False)
