"""The state store's interface: spend a link state's nonce once, share refreshes, and hold
one change of an account's sign-in methods at a time.

Spending is one atomic check-and-set: of all the requests that present one state, exactly one
wins, whichever process or machine serves it. Refresh tokens are single-use, so a store also
makes concurrent refreshes of one refresh token into one call to Capture. And a change of an
account's linked identities must see the identities as they are: a store holds a short lock
per account (:meth:`StateStore.locked`) around listing them and changing them.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

from ..client.models import Tokens

#: Seconds added to a spent state's lifetime: the machines' clocks may disagree a little about
#: when a state was issued, and a nonce must not be forgotten while any of them would still
#: accept its state.
CLOCK_SKEW = 60.0


#: Seconds a refresh's result is kept at least, even for an access token about to expire.
KEEP_AT_LEAST = 10.0

#: Seconds a refresh's result is kept when Capture did not say when its access token expires
#: (an assumption: Capture's access tokens live an hour, ``expires_in`` 3600 in every example).
KEEP_WHEN_UNKNOWN = 3600.0


def keep_for(tokens: Tokens, now: float | None = None) -> float:
    """Seconds the result of a refresh is kept for whoever still holds the spent refresh token:
    as long as its new access token lives. A request that read the session before the refresh
    was saved (another tab, or a worker killed between refresh and save) then takes the new
    tokens instead of sending the spent refresh token, which Capture refuses."""
    if tokens.expires_at is None:
        return KEEP_WHEN_UNKNOWN
    left = tokens.expires_at - (time.time() if now is None else now)
    return max(KEEP_AT_LEAST, left)


class StateStoreUnavailable(Exception):
    """The store could not be asked (Redis down): no state can be spent, so none is accepted."""


class LockNotTaken(Exception):
    """Another request held the lock for longer than this one could wait."""


class StateStore(ABC):
    """Where nonces of used link states are kept until their states expire."""

    @abstractmethod
    def spend(self, nonce: str, ttl: float) -> bool:
        """Mark ``nonce`` spent for ``ttl`` seconds. ``True`` for exactly one caller; every
        other (concurrent or later) caller gets ``False``.

        :raises StateStoreUnavailable: when the store cannot answer.
        """

    @abstractmethod
    def refresh(
        self,
        refresh_token: str,
        call: Callable[[str], Tokens],
        *,
        wait: float,
        secret_keys: Sequence[str | bytes] = (),
    ) -> Tokens:
        """``call(refresh_token)``, unless a refresh of the same refresh token is under way or
        was made while its new access token lives (:func:`keep_for`): then its result (refresh
        tokens are single-use). Waits at most ``wait`` seconds for another request's refresh.
        A store that keeps the result outside this process seals it with ``secret_keys`` (the
        first seals, any opens); without them it keeps it only :data:`KEEP_AT_LEAST` seconds.

        :raises CaptureUnavailable: when another request held the refresh all that time.
        """

    @abstractmethod
    def acquire(self, name: str, *, ttl: float, wait: float) -> str | None:
        """Take the lock ``name``, waiting at most ``wait`` seconds while another holder has
        it; the lock lets go by itself after ``ttl`` seconds (a holder that died). Returns
        this holder's token for :meth:`release`, or ``None`` when the wait ran out.

        :raises StateStoreUnavailable: when the store cannot answer.
        """

    @abstractmethod
    def release(self, name: str, token: str) -> None:
        """Let go of the lock ``name`` if ``token``'s holder still holds it (after ``ttl`` it
        may be another's). A store that cannot answer lets the lock expire instead."""

    def keep(self, name: str, value: str, ttl: float) -> None:
        """Keep ``value`` (already sealed: the store may be read by others) under ``name`` for
        ``ttl`` seconds, for one :meth:`take` (a merge token waiting for its merge).

        :raises StateStoreUnavailable: when the store cannot answer.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot keep values")

    def take(self, name: str) -> str | None:
        """The value kept under ``name``, removed: for exactly one caller; ``None`` when there
        is none (never kept, expired, or taken).

        :raises StateStoreUnavailable: when the store cannot answer.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot keep values")

    @contextlib.contextmanager
    def locked(self, name: str, *, ttl: float, wait: float) -> Iterator[None]:
        """Hold the lock ``name`` for the ``with`` block (see :meth:`acquire`)::

            with store.locked("account:...", ttl=30, wait=10):
                ...  # list the identities, then change them

        :raises LockNotTaken: when another holder kept it for all of ``wait``.
        :raises StateStoreUnavailable: when the store cannot answer.
        """
        token = self.acquire(name, ttl=ttl, wait=wait)
        if token is None:
            raise LockNotTaken(name)
        try:
            yield
        finally:
            self.release(name, token)
