"""Flask-Capture-Link: link social identities to Identity Cloud (Capture) accounts."""

from .client import CaptureClient, LinkedIdentity, Tokens
from .client.errors import CaptureError, CaptureUnavailable, NoAccessToken, SessionExpired
from .config import ConfigError
from .extension import CaptureLink
from .storage import SessionStorage, TokenStorage

__version__ = "0.1.0"

__all__ = [
    "CaptureClient",
    "CaptureError",
    "CaptureLink",
    "CaptureUnavailable",
    "ConfigError",
    "LinkedIdentity",
    "NoAccessToken",
    "SessionExpired",
    "SessionStorage",
    "TokenStorage",
    "Tokens",
]
