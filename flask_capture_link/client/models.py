"""Small value types that :class:`~flask_capture_link.client.CaptureClient` returns."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

#: ``Tokens.obtained_by`` of tokens from a sign-in with email and password.
PASSWORD = "password"  # noqa: S105 - a kind of sign-in, not a password

#: ``Tokens.obtained_by`` of tokens from a refresh.
REFRESH = "refresh"

#: ``Tokens.obtained_by`` of tokens from a sign-in with a social identity (``/oauth/auth_native``),
#: a merge included.
SOCIAL = "social"


@dataclass(frozen=True)
class Tokens:
    """What a sign-in or a refresh gives: the user's Registration tokens.

    ``repr`` shows neither token, so a ``Tokens`` can be logged or printed safely.
    ``expires_at`` is a Unix timestamp. ``obtained_by`` says how: :data:`PASSWORD` for
    :meth:`CaptureClient.sign_in`, :data:`SOCIAL` for ``sign_in_with_token``, :data:`REFRESH`
    for ``refresh``, ``None`` when unknown (tokens a site made itself). Only a sign-in makes a
    session fresh (see ``store_tokens``).

    ``capture_user`` is the user record a sign-in answer carries (Capture's ``capture_user``:
    the SDKs read it from both sign-in calls), for the site to find or create its own user; it
    is not stored with the tokens, and ``repr`` leaves it out (it holds personal data).
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False, default=None)
    expires_at: float | None = None
    obtained_by: str | None = None
    capture_user: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def with_user(self, answer: dict[str, Any]) -> Tokens:
        """These tokens with the ``capture_user`` of a sign-in ``answer``, when it has one."""
        user = answer.get("capture_user")
        return replace(self, capture_user=user) if isinstance(user, dict) else self

    @classmethod
    def from_answer(
        cls, answer: dict[str, Any], *, now: float | None = None, obtained_by: str | None = None
    ) -> Tokens:
        """Read an ``/oauth/*`` answer; ``expires_in`` is counted from ``now``.

        ``expires_in`` counts only as a positive number of seconds (every vendor example shows
        the number ``3600``; RFC 6749 a JSON number): anything else (a string, zero, ``true``)
        leaves the expiry unknown, and ``check --contract`` reports such an answer.
        """
        start = time.time() if now is None else now
        seconds = expires_in_seconds(answer.get("expires_in"))
        refresh_token = answer.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            refresh_token = None
        return cls(
            obtained_by=obtained_by,
            access_token=str(answer["access_token"]),
            refresh_token=refresh_token,
            expires_at=None if seconds is None else start + seconds,
        )

    def expired(self, *, leeway: float = 0.0, now: float | None = None) -> bool:
        """Whether the access token is past (or within ``leeway`` seconds of) its expiry."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + leeway >= self.expires_at


def expires_in_seconds(value: object) -> float | None:
    """``expires_in`` of a token answer as seconds, or ``None`` when it is not a positive,
    finite number (a string such as ``"3600"`` included: no source shows one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else None


@dataclass(frozen=True)
class LinkedIdentity:
    """One social identity linked to a Capture account (an element of ``profiles``).

    ``identifier`` is what :meth:`CaptureClient.unlink_account` takes. The display fields are
    set when Capture gives them; in the default schema they live in the element's nested
    ``profile`` (``profiles.profile.displayName``, ...), and the provider's verified address in
    ``verifiedEmail``.
    """

    domain: str
    identifier: str
    display_name: str | None = None
    preferred_username: str | None = None
    email: str | None = None
    #: The person's full name (``profile.name.formatted``).
    name: str | None = None

    @classmethod
    def from_profile(cls, element: dict[str, Any]) -> LinkedIdentity:
        """Read one element of ``/entity``'s ``result.profiles``::

            LinkedIdentity.from_profile(
                {"domain": "google.com", "identifier": "https://www.google.com/profiles/1",
                 "profile": {"displayName": "Alice", "emails": [{"value": "a@example.com"}]}}
            )

        The display fields sit under the nested ``profile``, as in Capture's default schema.
        """
        profile = element.get("profile")
        profile = profile if isinstance(profile, dict) else {}
        name = profile.get("name")
        return cls(
            domain=str(element.get("domain") or ""),
            identifier=str(element.get("identifier") or ""),
            display_name=_text(profile.get("displayName")),
            preferred_username=_text(profile.get("preferredUsername")),
            email=_text(element.get("verifiedEmail")) or _first_email(profile.get("emails")),
            name=_text(name.get("formatted")) if isinstance(name, dict) else None,
        )

    @property
    def label(self) -> str:
        """A short text for a person: their name or address where Capture has one (display
        name, full name, email), else the user name, else the provider's domain."""
        return (
            self.display_name
            or self.name
            or self.email
            or self.preferred_username
            or self.domain
            or self.identifier
        )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _first_email(emails: object) -> str | None:
    """The primary address of a ``profile.emails`` plural, else its first."""
    if not isinstance(emails, list):
        return None
    found = [e for e in emails if isinstance(e, dict) and _text(e.get("value"))]
    found.sort(key=lambda e: e.get("primary") is not True)
    return _text(found[0].get("value")) if found else None
