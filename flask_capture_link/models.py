"""Small value types that :class:`~flask_capture_link.client.CaptureClient` returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: ``Tokens.obtained_by`` of tokens from a sign-in with email and password.
PASSWORD = "password"  # noqa: S105 - a kind of sign-in, not a password

#: ``Tokens.obtained_by`` of tokens from a refresh.
REFRESH = "refresh"


@dataclass(frozen=True)
class Tokens:
    """What a sign-in or a refresh gives: the user's Registration tokens.

    ``repr`` shows neither token, so a ``Tokens`` can be logged or printed safely.
    ``expires_at`` is a Unix timestamp. ``obtained_by`` says how: :data:`PASSWORD` for
    :meth:`CaptureClient.sign_in`, :data:`REFRESH` for ``refresh``, ``None`` when unknown
    (tokens a site made itself). Only a sign-in makes a session fresh (see ``store_tokens``).
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False, default=None)
    expires_at: float | None = None
    obtained_by: str | None = None

    @classmethod
    def from_answer(
        cls, answer: dict[str, Any], *, now: float | None = None, obtained_by: str | None = None
    ) -> Tokens:
        """Read an ``/oauth/*`` answer; ``expires_in`` is counted from ``now``."""
        expires_in = answer.get("expires_in")
        start = time.time() if now is None else now
        return cls(
            obtained_by=obtained_by,
            access_token=str(answer["access_token"]),
            refresh_token=str(answer["refresh_token"]) if answer.get("refresh_token") else None,
            expires_at=start + float(expires_in)
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
            else None,
        )

    def expired(self, *, leeway: float = 0.0, now: float | None = None) -> bool:
        """Whether the access token is past (or within ``leeway`` seconds of) its expiry."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + leeway >= self.expires_at


@dataclass(frozen=True)
class LinkedIdentity:
    """One social identity linked to a Capture account (an entry of ``profiles``).

    ``identifier`` is what :meth:`CaptureClient.unlink_account` takes; the display fields are
    set when Capture gives them.
    """

    domain: str
    identifier: str
    display_name: str | None = None
    preferred_username: str | None = None
    email: str | None = None

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> LinkedIdentity:
        """Read one entry of ``/entity`` ``result.profiles``."""

        def text(key: str) -> str | None:
            value = profile.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            domain=str(profile.get("domain", "")),
            identifier=str(profile.get("identifier", "")),
            display_name=text("displayName"),
            preferred_username=text("preferredUsername"),
            email=text("email") or text("verifiedEmail"),
        )

    @property
    def label(self) -> str:
        """A short text for a person: the display name, user name or email, else the domain."""
        return self.display_name or self.preferred_username or self.email or self.domain
