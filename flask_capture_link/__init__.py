"""Flask-Capture-Link: link social identities to Identity Cloud (Capture) accounts."""

from .client import CaptureClient
from .config import ConfigError
from .errors import CaptureError, CaptureUnavailable
from .extension import CaptureLink
from .models import LinkedIdentity, Tokens

__version__ = "0.1.0"

__all__ = [
    "CaptureClient",
    "CaptureError",
    "CaptureLink",
    "CaptureUnavailable",
    "ConfigError",
    "LinkedIdentity",
    "Tokens",
]
