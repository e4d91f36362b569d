"""What a notice of a change to a user's sign-in methods needs: which identity, when, and from
where. :data:`~flask_capture_link.signals.account_linked` and
:data:`~flask_capture_link.signals.account_unlinked` carry it, so a site can tell the user
("Google (ann@example.com) was linked to your account on ... from 203.0.113.9, Firefox").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from flask import request

from .models import LinkedIdentity


def details(identity: LinkedIdentity | None) -> dict[str, Any]:
    """The signal keywords of a change to ``identity`` (``None`` when Capture could not say
    which identity it was):

    * ``identity``: the :class:`~flask_capture_link.models.LinkedIdentity`, or ``None``;
    * ``provider``: its profile domain as Capture records it (``"google.com"``), or ``None``;
    * ``label``: its :attr:`~flask_capture_link.models.LinkedIdentity.label`, or ``None``;
    * ``time``: when, an aware :class:`~datetime.datetime` in UTC;
    * ``ip``: the client's address, ``request.remote_addr`` (behind a proxy, wrap the app in
      werkzeug's ``ProxyFix`` so that this is the client's and not the proxy's);
    * ``user_agent``: the browser's ``User-Agent``, or ``None``.
    """
    return {
        "identity": identity,
        "provider": identity.domain or None if identity is not None else None,
        "label": identity.label if identity is not None else None,
        "time": datetime.now(timezone.utc),
        "ip": request.remote_addr,
        "user_agent": request.user_agent.string or None,
    }


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
