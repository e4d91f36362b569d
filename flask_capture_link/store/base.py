"""The state store's interface: spend a link state's nonce once, and share refreshes.

Spending is one atomic check-and-set: of all the requests that present one state, exactly one
wins, whichever process or machine serves it. Refresh tokens are single-use, so a store also
makes concurrent refreshes of one refresh token into one call to Capture.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from ..client.models import Tokens

#: Seconds added to a spent state's lifetime: the machines' clocks may disagree a little about
#: when a state was issued, and a nonce must not be forgotten while any of them would still
#: accept its state.
CLOCK_SKEW = 60.0


class StateStoreUnavailable(Exception):
    """The store could not be asked (Redis down): no state can be spent, so none is accepted."""


class StateStore(ABC):
    """Where nonces of used link states are kept until their states expire."""

    @abstractmethod
    def spend(self, nonce: str, ttl: float) -> bool:
        """Mark ``nonce`` spent for ``ttl`` seconds. ``True`` for exactly one caller; every
        other (concurrent or later) caller gets ``False``.

        :raises StateStoreUnavailable: when the store cannot answer.
        """

    @abstractmethod
    def refresh(self, refresh_token: str, call: Callable[[str], Tokens], *, wait: float) -> Tokens:
        """``call(refresh_token)``, unless a concurrent refresh of the same refresh token is
        under way or just finished: then its result (refresh tokens are single-use). Waits at
        most ``wait`` seconds for another request's refresh.

        :raises CaptureUnavailable: when another request held the refresh all that time.
        """
