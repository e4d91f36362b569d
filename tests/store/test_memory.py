"""The in-process state store: one spend per nonce among threads, nonces forgotten when their
states expire, refreshes single-flight among threads, and a lock per account."""

from __future__ import annotations

import threading
import time

import pytest

from flask_capture_link.client.models import Tokens
from flask_capture_link.store import LockNotTaken, memory
from flask_capture_link.store.memory import MemoryStateStore, RefreshCoordinator

from ..helpers import race

THREADS = 12


def test_spends_once_among_threads() -> None:
    store = MemoryStateStore()
    assert race(THREADS, lambda i: store.spend("nonce", 600)).count(True) == 1
    assert store.spend("nonce", 600) is False
    assert store.spend("another", 600) is True


def test_forgets_a_nonce_when_its_state_has_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStateStore()
    now = [1000.0]
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    assert store.spend("nonce", 5)
    now[0] += 4
    assert not store.spend("nonce", 5)
    now[0] += memory.PRUNE_EVERY  # expired, and pruned
    assert store.spend("nonce", 5)


def test_concurrent_refreshes_of_one_token_make_one_call() -> None:
    calls: list[str] = []
    gate = threading.Event()

    def refresh(token: str) -> Tokens:
        calls.append(token)
        gate.wait(5)
        return Tokens(access_token="new", refresh_token="next")

    coordinator = RefreshCoordinator()
    threading.Timer(0.2, gate.set).start()
    results = race(6, lambda i: coordinator.refresh("old", refresh))
    assert calls == ["old"]
    assert {r.access_token for r in results} == {"new"}


def test_a_failed_refresh_is_not_shared() -> None:
    attempts: list[str] = []

    def refused(token: str) -> Tokens:
        attempts.append(token)
        raise RuntimeError("refused")

    store = MemoryStateStore()
    for _ in range(2):
        with pytest.raises(RuntimeError):
            store.refresh("spent", refused)
    assert attempts == ["spent", "spent"]


def test_a_shared_result_is_given_while_its_access_token_lives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [time.monotonic()]
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    coordinator = RefreshCoordinator()
    issued = iter(["first", "second"])
    lifetime = 3600.0
    refresh = lambda token: Tokens(  # noqa: E731
        access_token=next(issued), expires_at=time.time() + lifetime
    )
    assert coordinator.refresh("old", refresh).access_token == "first"
    # Long after the concurrent requests: a session that was never saved still holds "old".
    now[0] += lifetime - 60
    assert coordinator.refresh("old", refresh).access_token == "first"
    now[0] += 120
    assert coordinator.refresh("old", refresh).access_token == "second"


# The per-account lock -------------------------------------------------------------------------


def one_at_a_time(store: MemoryStateStore, name: str) -> tuple[int, int]:
    """``THREADS`` threads each read a counter, let the others run, and write it plus one,
    under the lock ``name``: the final count, and the most threads ever inside at once."""
    count, inside, most = [0], [0], [0]
    guard = threading.Lock()

    def change(i: int) -> None:
        with store.locked(name, ttl=30, wait=30):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            seen = count[0]
            time.sleep(0.001)  # let another thread in, if the lock would let it
            count[0] = seen + 1
            with guard:
                inside[0] -= 1

    race(THREADS, change)
    return count[0], most[0]


def test_a_lock_lets_one_thread_in_at_a_time() -> None:
    store = MemoryStateStore()
    assert one_at_a_time(store, "account:a") == (THREADS, 1)
    assert store._locks._named == {}  # nothing kept for an account nobody is changing


def test_locks_of_two_accounts_do_not_wait_for_each_other() -> None:
    store = MemoryStateStore()
    with store.locked("account:a", ttl=30, wait=0):
        token = store.acquire("account:b", ttl=30, wait=0)
        assert token is not None
        store.release("account:b", token)


def test_a_lock_held_all_the_wait_is_not_taken() -> None:
    store = MemoryStateStore()
    with store.locked("account:a", ttl=30, wait=0):
        assert race(1, lambda i: store.acquire("account:a", ttl=30, wait=0.05)) == [None]
        with pytest.raises(LockNotTaken), store.locked("account:a", ttl=30, wait=0):
            pass  # pragma: no cover - never entered
    assert store.acquire("account:a", ttl=30, wait=0) is not None


def test_only_the_holder_lets_go() -> None:
    store = MemoryStateStore()
    token = store.acquire("account:a", ttl=30, wait=0)
    assert token is not None
    store.release("account:a", "not the holder's token")
    assert store.acquire("account:a", ttl=30, wait=0) is None
    store.release("account:a", token)
    assert store.acquire("account:a", ttl=30, wait=0) is not None
