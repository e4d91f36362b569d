"""A TCP relay on 127.0.0.1 that holds every chunk ``delay`` seconds in each direction.

Put between a site and the emulator, it makes Capture ``2 * delay`` away (10 ms each way: a
Capture 20 ms away), so that what costs round trips -- a new connection's TLS handshake, the
request itself -- costs what it would on a real network. Bytes pass unchanged, so TLS runs end
to end: the site connects to ``https://127.0.0.1:<proxy port>`` and verifies the emulator's
certificate, whose names include ``127.0.0.1``.

One asyncio loop in a background thread relays every connection; order is kept per direction.
The benchmarks run it in a process of its own (:class:`ProxyProcess`, ``python -m
benchmarks.latency_proxy``) so that the load generator's threads cannot delay its timers.
The TCP handshake with the proxy itself is not delayed (the kernel completes it), so a new
connection costs one round trip less than on a real network: naive clients come out slightly
better than they would.

Example::

    with ProxyProcess(emulator_port, delay=0.010) as proxy:
        requests.get(f"https://127.0.0.1:{proxy.port}/", verify=ca_bundle)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


class _DelayedWriter:
    """Writes what it is fed to a transport ``delay`` seconds later, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self._loop = loop
        self._delay = delay
        self._queue: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def feed(self, data: bytes | None) -> None:
        """Queue ``data``; ``None`` means the other side closed: close this side then too."""
        self._queue.append((self._loop.time() + self._delay, data))
        if self._timer is None:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)

    def attach(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        if self._queue and self._timer is None:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)

    def abort(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.abort()

    def _flush(self) -> None:
        self._timer = None
        if self.transport is None or self.closed:
            return  # attach() reschedules
        now = self._loop.time()
        while self._queue and self._queue[0][0] <= now:
            _, data = self._queue.popleft()
            if data is None:
                self.closed = True
                self.transport.close()  # after what is buffered
                self._queue.clear()
                return
            self.transport.write(data)
        if self._queue:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)


class _Side(asyncio.Protocol):
    """One end of a relayed connection; what it receives goes to ``outbound``."""

    def __init__(self, outbound: _DelayedWriter, inbound: _DelayedWriter) -> None:
        self.outbound = outbound
        self.inbound = inbound

    def connection_made(self, transport: Any) -> None:
        self.inbound.attach(transport)

    def data_received(self, data: bytes) -> None:
        self.outbound.feed(data)

    def eof_received(self) -> bool:
        self.outbound.feed(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.inbound.closed = True
        if not self.outbound.closed:
            self.outbound.feed(None)


class LatencyProxy:
    """Relays ``127.0.0.1:<port>`` to ``target``, holding each chunk ``delay`` seconds each way.

    ``connections`` counts the connections accepted.
    """

    def __init__(self, target: tuple[str, int], delay: float = 0.010, port: int = 0) -> None:
        if target[0] != LOOPBACK:
            raise ValueError("the latency proxy relays to 127.0.0.1 only")
        self.target = target
        self.delay = delay
        self.port = port
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                self._loop.create_server(self._accepted, LOOPBACK, self.port, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="latency-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the latency proxy did not start")

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return

        def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)
        thread.join(10)
        self._loop.close()

    def __enter__(self) -> LatencyProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accepted(self) -> asyncio.Protocol:
        self.connections += 1
        to_upstream = _DelayedWriter(self._loop, self.delay)
        to_client = _DelayedWriter(self._loop, self.delay)
        client_side = _Side(outbound=to_upstream, inbound=to_client)
        self._loop.create_task(self._open_upstream(to_upstream, to_client))
        return client_side

    async def _open_upstream(self, to_upstream: _DelayedWriter, to_client: _DelayedWriter) -> None:
        try:
            await self._loop.create_connection(
                lambda: _Side(outbound=to_client, inbound=to_upstream), *self.target
            )
        except OSError:
            to_client.abort()


class ProxyProcess:
    """A :class:`LatencyProxy` to ``127.0.0.1:target_port`` in a child process; ``port`` is
    where it listens. It stops when the parent closes its stdin (or exits)."""

    def __init__(self, target_port: int, delay: float = 0.010) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 20.0) -> None:
        command = [sys.executable, "-m", "benchmarks.latency_proxy"]
        command += [f"--target-port={self.target_port}", f"--delay={self.delay}"]
        self._process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], timeout)
        line = self._process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the latency proxy did not start")
        self.port = int(line)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()

    def __enter__(self) -> ProxyProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Relay until stdin closes; print the listening port first."""
    parser = argparse.ArgumentParser(description="Relay 127.0.0.1 TCP with added latency.")
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.010, help="seconds each way")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with LatencyProxy((LOOPBACK, args.target_port), args.delay, args.port) as proxy:
        print(proxy.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
