"""G. The state store: the token URL with link states spent in Redis, against the bare view
(the same harness as ``overhead``), and the store's own cost: spends per second of the
in-process and the Redis backend.

Redis is a real ``redis-server`` on a loopback port, started here; the site reaches it with
``CAPTURE_LINK_REDIS_URL``, so every token URL request spends its state with one ``SET NX``.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis

from flask_capture_link.store import MemoryStateStore, RedisStateStore, StateStore

from . import overhead
from .capture_process import CaptureProcess
from .common import LOOPBACK, LinkFactory, Report, SiteServer, Target, site_config

TITLE = "state store: token URL spending in Redis vs the bare view; spends per second"

#: Target: the token URL with the Redis store (redis-py's public client.set, one round trip to
#: Redis per request) as a share of the bare view's throughput.
SHARE = 0.85


@dataclass(frozen=True)
class Counts:
    spends: int = 40_000  # per backend, at most
    seconds: float = 3.0  # per backend, at most
    threads: int = 4


FULL = Counts()
QUICK = Counts(spends=400, seconds=1.0)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (nothing saved): its URL."""
    program = shutil.which("redis-server")
    if program is None:
        raise RuntimeError("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [program, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly",
             "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"redis://{LOOPBACK}:{port}/0"
            client = redis.Redis.from_url(url)
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            process.terminate()
            process.wait(10)


def spends_per_second(
    make_store: Callable[[], StateStore], counts: Counts
) -> tuple[float, int, int]:
    """Spend fresh nonces from ``counts.threads`` threads (each with ``make_store()``), each
    nonce twice: spends per second, spends done, and second spends that won (must be 0)."""
    stores = [make_store() for _ in range(counts.threads)]
    done = [0] * counts.threads
    double = [0] * counts.threads
    barrier = threading.Barrier(counts.threads + 1)
    per_thread = counts.spends // counts.threads
    deadline = [0.0]

    def work(k: int) -> None:
        store = stores[k]
        barrier.wait(30)
        for i in range(per_thread):
            if time.perf_counter() > deadline[0]:
                break
            nonce = f"{k}-{i}-{secrets.token_hex(4)}"
            store.spend(nonce, 600)
            if store.spend(nonce, 600):
                double[k] += 1
            done[k] += 2

    threads = [
        threading.Thread(target=work, args=(k,), daemon=True) for k in range(counts.threads)
    ]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + counts.seconds
    barrier.wait(30)
    for thread in threads:
        thread.join(counts.seconds + 60)
    elapsed = time.perf_counter() - began
    return sum(done) / elapsed, sum(done), sum(double)


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    site_counts = overhead.QUICK if quick else overhead.FULL
    with redis_server() as url, CaptureProcess(tls=True) as capture:
        config = site_config(capture, CAPTURE_LINK_REDIS_URL=url)
        factory = LinkFactory(capture, config)
        with SiteServer(config, site_counts.server_threads) as site:
            runs, linked = overhead.measure(site, factory, site_counts)
        shared = MemoryStateStore()
        memory = spends_per_second(lambda: shared, counts)  # one store, as in one process
        clients: list[redis.Redis] = []

        def redis_store() -> RedisStateStore:
            clients.append(redis.Redis.from_url(url))
            return RedisStateStore(clients[-1], f"bench-{secrets.token_hex(4)}:")

        try:
            in_redis = spends_per_second(redis_store, counts)
        finally:
            for client in clients:
                client.close()
    result = overhead.report(site_counts, runs, linked, share_goal=SHARE)
    result.key, result.title = "store", TITLE
    result.notes.insert(0, "site: CAPTURE_LINK_REDIS_URL set: each state spent by SET NX PX")
    result.rows[0][0] = "extension token URL, Redis store"
    share_target = result.targets[0]
    share_target.name = "Redis store / bare view throughput"
    result.findings += [
        f"spends per second, {counts.threads} threads, each nonce spent twice "
        "(the second must lose):",
        f"   in process: {memory[0]:,.0f}/s ({memory[1]:,} spends)",
        f"   Redis (one client per thread, loopback): {in_redis[0]:,.0f}/s "
        f"({in_redis[1]:,} spends)",
    ]
    result.targets.append(
        Target(
            "second spends that won",
            str(memory[2] + in_redis[2]),
            "0",
            memory[2] + in_redis[2] == 0,
        )
    )
    return result
