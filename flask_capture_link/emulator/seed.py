"""The emulator's fixed ids, derived from a seed, so that every start prints the same settings.

A site that saved the printed ``CAPTURE_LINK_CLIENT_ID`` and ``CAPTURE_LINK_CLIENT_SECRET`` keeps
working after the emulator restarts. ``--seed`` (or ``CaptureEmulator(seed=...)``) gives another
set, for running two emulators that must not accept each other's clients. The values are public
by design: the emulator is for loopback tests and demos, never for real accounts.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

#: The seed of every emulator that is given none.
DEFAULT_SEED = "flask-capture-link"


def derived(seed: str, purpose: str, length: int = 32) -> str:
    """``length`` lowercase hex characters, the same for the same ``seed`` and ``purpose``
    (Capture's client ids and secrets are 32 lowercase letters and digits)."""
    digest = hashlib.sha256(f"flask-capture-link emulator\0{seed}\0{purpose}".encode())
    return digest.hexdigest()[:length]


def derived_uuid(seed: str, purpose: str) -> str:
    """A version-4-shaped uuid, the same for the same ``seed`` and ``purpose``."""
    return str(uuid.UUID(hex=derived(seed, purpose), version=4))


@dataclass(frozen=True)
class SocialAccount:
    """An account at a Social Login provider that the emulator knows: signing in as it (on the
    provider's page, or with :meth:`CaptureEmulator.issue_social_token`) gives its name and
    email, as the provider would tell Social Login."""

    provider: str
    account_id: str
    display_name: str
    email: str
    email_verified: bool = True


#: The password-less account of the social merge story: it signs in with Facebook only.
SOCIAL_DEMO_EMAIL = "sam@example.com"
SOCIAL_DEMO_DISPLAY_NAME = "Sam Social"

#: Provider accounts for the sign-in stories (the demo user's email is ``demo@example.com``):
#:
#: - ``google/demo-google``: the demo user's email, verified. Unlinked, its sign-in meets 380
#:   with ``existing_provider`` ``capture``: the merge by password.
#: - ``google/demo-unverified``: the same email, not verified: no merge, 310.
#: - ``facebook/newcomer``: an email no account has: 310, the "no account" story.
#: - ``facebook/sam-facebook``: linked to Sam's password-less account (seeded).
#: - ``google/sam-google``: Sam's email, verified: 380 with ``existing_provider`` ``facebook``,
#:   the merge by the existing provider.
SOCIAL_ACCOUNTS = (
    SocialAccount("google", "demo-google", "Demo User", "demo@example.com"),
    SocialAccount("google", "demo-unverified", "Demo User", "demo@example.com", False),
    SocialAccount("facebook", "newcomer", "New Comer", "newcomer@example.com"),
    SocialAccount("facebook", "sam-facebook", SOCIAL_DEMO_DISPLAY_NAME, SOCIAL_DEMO_EMAIL),
    SocialAccount("google", "sam-google", SOCIAL_DEMO_DISPLAY_NAME, SOCIAL_DEMO_EMAIL),
)


def social_account(provider: str, account_id: str) -> SocialAccount | None:
    """The demo provider account of that provider and id, if it is one."""
    for account in SOCIAL_ACCOUNTS:
        if (account.provider, account.account_id) == (provider, account_id):
            return account
    return None
