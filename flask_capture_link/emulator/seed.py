"""The emulator's fixed ids, derived from a seed, so that every start prints the same settings.

A site that saved the printed ``CAPTURE_LINK_CLIENT_ID`` and ``CAPTURE_LINK_CLIENT_SECRET`` keeps
working after the emulator restarts. ``--seed`` (or ``CaptureEmulator(seed=...)``) gives another
set, for running two emulators that must not accept each other's clients. The values are public
by design: the emulator is for loopback tests and demos, never for real accounts.
"""

from __future__ import annotations

import hashlib
import uuid

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
