"""Where link states are spent and refreshes meet: the state store.

Two backends behind one interface (:class:`StateStore`):

* :class:`MemoryStateStore` (the default): this process's memory. Single use holds between
  the threads of one process only.
* :class:`RedisStateStore`: Redis, shared by every process and machine that uses it.

Both also hold the per-account lock of a change of sign-in methods (:meth:`StateStore.locked`).

Which one an app uses is decided by the extension from the app's config when it is used
(:meth:`CaptureLink.state_store <flask_capture_link.CaptureLink.state_store>`).
"""

from .base import CLOCK_SKEW, LockNotTaken, StateStore, StateStoreUnavailable
from .memory import MemoryStateStore
from .redis import RedisStateStore, redis_failures

__all__ = [
    "CLOCK_SKEW",
    "LockNotTaken",
    "MemoryStateStore",
    "RedisStateStore",
    "StateStore",
    "StateStoreUnavailable",
    "redis_failures",
]
