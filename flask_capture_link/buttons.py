"""The markup of the link and unlink buttons, from ``capture_link/macros.html``.

The extension decides what goes in a button (the token URL with a fresh state, the label in
the user's language); this module only turns that into HTML, so a site that wants other
markup can import the same macros.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import current_app, get_template_attribute
from jinja2 import Undefined
from markupsafe import Markup

from .config import ConfigError

#: A Social Login provider name as it appears in ``/{provider}/start``.
PROVIDER = re.compile(r"^[a-z0-9_]{1,40}$")

#: How providers are named on buttons; others are capitalised.
PROVIDER_NAMES = {
    "google": "Google",
    "facebook": "Facebook",
    "twitter": "X (Twitter)",
    "linkedin": "LinkedIn",
    "apple": "Apple",
    "microsoft": "Microsoft",
    "live": "Microsoft",
    "yahoo": "Yahoo",
    "amazon": "Amazon",
    "paypal": "PayPal",
    "github": "GitHub",
    "instagram": "Instagram",
}


def provider_name(provider: str) -> str:
    """``"linkedin"`` -> ``"LinkedIn"``.

    :raises ValueError: for a name Social Login would not have (it goes into a URL path).
    """
    if not isinstance(provider, str) or not PROVIDER.match(provider):
        raise ValueError(f"provider must be a Social Login provider name, not {provider!r}")
    return PROVIDER_NAMES.get(provider, provider.capitalize())


def require(macro: str, **arguments: Any) -> str:
    """Template global ``capture_link_require``: what each macro of ``macros.html`` calls first,
    so that a call leaving a parameter out raises instead of rendering a broken button.

    :raises TypeError: naming the macro, its parameters and the ones missing.
    """
    missing = [
        name
        for name, value in arguments.items()
        if isinstance(value, Undefined) or value is None or value == ""
    ]
    if missing:
        raise TypeError(
            f"capture_link/macros.html: {macro}({', '.join(arguments)}) was called without "
            f"{', '.join(missing)} (see 'The macros' in docs/templates.md)"
        )
    return ""


def check_label(helper: str, label: object) -> None:
    """A label given to a template global is text, not a path meant for ``next``.

    :raises TypeError: for anything else, saying which parameter to use.
    """
    if label is None:
        return
    if not isinstance(label, str) or isinstance(label, Undefined):
        raise TypeError(f"{helper}: label must be text, not {type(label).__name__}")
    if label.startswith("/"):
        raise TypeError(
            f"{helper}: the label {label!r} looks like a path: give it as next={label!r} "
            "(the second parameter is the label)"
        )


def start_url(provider: str) -> str:
    """Social Login's start page for ``provider``.

    :raises ConfigError: when ``CAPTURE_LINK_SOCIAL_LOGIN_URL`` is not set.
    """
    base = current_app.config["CAPTURE_LINK_SOCIAL_LOGIN_URL"]
    if not base:
        raise ConfigError("CAPTURE_LINK_SOCIAL_LOGIN_URL", "is required for capture_link_button")
    return f"{str(base).rstrip('/')}/{provider}/start"


def link_button(provider: str, token_url: str, label: str) -> Markup:
    """An ``<a>`` to Social Login's start page that comes back to ``token_url``."""
    macro = get_template_attribute("capture_link/macros.html", "link_button")
    rendered: Markup = macro(
        start_url=start_url(provider), token_url=token_url, provider=provider, label=label
    )
    return rendered


def sign_in_button(provider: str, token_url: str, label: str) -> Markup:
    """An ``<a>`` to Social Login's start page whose token signs the user in at ``token_url``."""
    macro = get_template_attribute("capture_link/macros.html", "sign_in_button")
    rendered: Markup = macro(
        start_url=start_url(provider), token_url=token_url, provider=provider, label=label
    )
    return rendered


def unlink_button(action: str, state: str, identifier: str, label: str) -> Markup:
    """A small POST form to ``action`` carrying ``state`` and ``identifier``."""
    macro = get_template_attribute("capture_link/macros.html", "unlink_button")
    rendered: Markup = macro(action=action, state=state, identifier=identifier, label=label)
    return rendered


def reauthenticate_link_button(provider: str, url: str, label: str) -> Markup:
    """A link button of a session that is not fresh: an ``<a>`` to ``url``, where the user
    confirms their password first."""
    macro = get_template_attribute("capture_link/macros.html", "reauthenticate_link_button")
    rendered: Markup = macro(url=url, provider=provider, label=label)
    return rendered


def reauthenticate_unlink_button(action: str, next: str, label: str) -> Markup:
    """An unlink button of a session that is not fresh: a GET form to ``action`` (the
    re-authentication endpoint) that comes back to ``next``."""
    macro = get_template_attribute("capture_link/macros.html", "reauthenticate_unlink_button")
    rendered: Markup = macro(action=action, next=next, label=label)
    return rendered


def disabled_unlink_button(identifier: str, label: str, reason: str) -> Markup:
    """The unlink button of an identity that may not be unlinked: disabled, saying why."""
    reason_id = "capture-link-why-" + hashlib.sha256(identifier.encode()).hexdigest()[:12]
    macro = get_template_attribute("capture_link/macros.html", "disabled_unlink_button")
    rendered: Markup = macro(reason_id=reason_id, label=label, reason=reason)
    return rendered
