"""Fit with Flask-WTF's ``CSRFProtect``: the extension's views are exempt, nothing else.

Social Login's token POST cannot carry the site's CSRF token, so ``CSRFProtect`` would refuse
it. The link state is the CSRF defence of these views instead (see :mod:`.state`). The exemption
is made whether ``CSRFProtect`` was set up before or after the extension.
"""

from __future__ import annotations

from flask import Flask, current_app

_BLUEPRINT = "capture_link"


def exempt_from_csrf(app: Flask) -> None:
    """Exempt the ``capture_link`` blueprint from ``CSRFProtect`` now, or at the first request
    if ``CSRFProtect`` is set up later (our hook then runs before its check)."""
    if _exempt(app):
        return

    def exempt_when_ready() -> None:
        _exempt(current_app)

    app.before_request(exempt_when_ready)


def _exempt(app: Flask) -> bool:
    csrf = app.extensions.get("csrf")
    if csrf is None or not hasattr(csrf, "exempt"):
        return False
    blueprint = app.blueprints.get(_BLUEPRINT)
    if blueprint is not None:
        csrf.exempt(blueprint)
    else:
        csrf.exempt(_BLUEPRINT)  # pragma: no cover - blueprint registered right after
    return True
