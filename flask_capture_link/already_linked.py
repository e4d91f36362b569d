"""What to tell a user whose identity Capture refused as already linked (361
``unique_violation``).

Capture does not say to whom the identity belongs: it may be on this very account or on
another. The message must be true either way. When the button was for a provider of which
the user already has an identity linked, the refused one may well be that one, listed on the
page; the user is told so, by the provider's name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .buttons import provider_name
from .outcomes import OUTCOMES, Outcome

if TYPE_CHECKING:
    from .extension import CaptureLink

#: Capture profile domains of providers whose domain is not ``<provider>.<tld>``.
PROFILE_DOMAINS: dict[str, tuple[str, ...]] = {
    "microsoft": ("live.com", "microsoft.com", "microsoftonline.com"),
    "live": ("live.com", "microsoft.com", "microsoftonline.com"),
    "twitter": ("twitter.com", "x.com"),
}


def is_of_provider(domain: str, provider: str) -> bool:
    """Whether a linked identity's profile ``domain`` (``"google.com"``) is of ``provider``
    (``"google"``)."""
    domain = domain.lower().removeprefix("www.")
    known = PROFILE_DOMAINS.get(provider)
    if known is not None:
        return domain in known
    return domain.split(".")[0] == provider


def refine(ext: CaptureLink, outcome: Outcome, provider: str | None) -> Outcome:
    """``outcome``, or for ``unique_violation`` when the user already has an identity of
    ``provider`` linked, the outcome that says it may be the one listed (one extra call to
    Capture, made only on this failure; if it fails, the general message stays)."""
    if outcome.message_key != "unique_violation" or not provider:
        return outcome
    if not any(is_of_provider(i.domain, provider) for i in ext.linked_identities()):
        return outcome
    listed = OUTCOMES["unique_violation_listed"]
    return replace(listed, provider=provider_name(provider))
