"""The Capture client: Flask-free.

:class:`CaptureClient` makes the calls to Capture (link, unlink, the user's linked identities,
sign-in, code exchange, refresh) over one pooled HTTPS session; what they return are the small
value types of :mod:`.models`, and what they raise the exceptions of :mod:`.errors`. Nothing
in this package imports Flask: a script or another framework can use it as it is::

    from flask_capture_link.client import CaptureClient, AccountAlreadyLinked
"""

from .client import DEFAULT_TIMEOUT, CaptureClient, new_session
from .errors import *  # noqa: F403 - every exception class, as listed there
from .errors import __all__ as _errors
from .models import LinkedIdentity, Tokens

__all__ = [
    "DEFAULT_TIMEOUT",
    "CaptureClient",
    "LinkedIdentity",
    "Tokens",
    "new_session",
    *_errors,
]
