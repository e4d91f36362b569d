"""No lock-out on unlink: whether an identity may be removed from the user's account.

A user whose account has no password signs in only with their linked identities; removing the
last one would leave them no way in. A site decides with
:meth:`CaptureLink.unlink_allowed <flask_capture_link.CaptureLink.unlink_allowed>`; without
one, :func:`default_unlink_allowed` decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import freshness
from .models import LinkedIdentity

#: ``(identity, identities) -> bool``: whether ``identity`` may be unlinked, ``identities``
#: being all the user's linked identities now (``identity`` among them).
UnlinkAllowed = Callable[[LinkedIdentity, Sequence[LinkedIdentity]], bool]


def default_unlink_allowed(identity: LinkedIdentity, identities: Sequence[LinkedIdentity]) -> bool:
    """Allow unless ``identity`` is the last one and the session did not sign in with a
    password (tokens from :meth:`CaptureClient.sign_in` stored with ``store_tokens``): only then
    is it known that the account has another way in."""
    others = [other for other in identities if other.identifier != identity.identifier]
    return bool(others) or freshness.signed_in_with_password()
