"""The emulator, served in a child process of its own: Capture is another machine.

Served in the benchmark process, the emulator would share one interpreter lock with the clients
it answers, and its work would count against theirs. In its own process it only competes for
the machine's cores. The parent drives it over a pipe: users, Social Login tokens, faults, and
the TCP connections its server accepted.

Example::

    with CaptureProcess(tls=True) as capture:
        emails, access_tokens, refresh_tokens = capture.sign_in_users(4)
        tokens = capture.social_tokens(100)
        requests.post(capture.url + LINK_PATH, data=..., verify=capture.ca_bundle)
        capture.connections_accepted
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

#: Seconds to wait for the child's answer to a command (or for it to start).
ANSWER_TIMEOUT = 60.0

_ROOT = Path(__file__).resolve().parent.parent


class CaptureProcess:
    """A :class:`~flask_capture_link.emulator.CaptureEmulator` behind an ``EmulatorServer`` on
    127.0.0.1 (HTTPS with ``tls``), in a child process (``python -m
    benchmarks.capture_process``) that takes one JSON command a line on stdin."""

    def __init__(self, *, tls: bool = True, keep_calls: int | None = None) -> None:
        self.tls = tls
        self.keep_calls = keep_calls
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._info: dict[str, Any] = {}
        self._made = 0

    def start(self) -> None:
        command = [sys.executable, "-m", "benchmarks.capture_process"]
        if self.keep_calls is not None:
            command.append(f"--keep-calls={self.keep_calls}")
        self._process = subprocess.Popen(
            [*command, "--tls"] if self.tls else command,
            cwd=_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self._info = self._read(self._process.stdout, "start")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):
            process.stdin.close()  # end of commands: the child stops its server and exits
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()

    def __enter__(self) -> CaptureProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return str(self._info["url"])

    @property
    def port(self) -> int:
        return int(self._info["port"])

    @property
    def ca_bundle(self) -> str | None:
        bundle = self._info["ca_bundle"]
        return None if bundle is None else str(bundle)

    def settings(self) -> dict[str, str]:
        """The emulator's ``settings()``: ``CAPTURE_LINK_*`` config for a site."""
        return dict(self._info["settings"])

    @property
    def connections_accepted(self) -> int:
        """TCP connections the emulator's server accepted since it started."""
        return int(self._call("connections"))

    def sign_in_users(self, count: int) -> tuple[list[str], list[str], list[str]]:
        """``count`` new users, signed in: their emails, access tokens and refresh tokens."""
        emails, access_tokens, refresh_tokens = self._call("sign_in_users", count)
        return list(emails), list(access_tokens), list(refresh_tokens)

    def social_tokens(self, count: int, provider: str = "google") -> list[str]:
        """``count`` Social Login tokens, each for a new identity at ``provider``."""
        start, self._made = self._made, self._made + count
        return list(self._call("social_tokens", provider, start, count))

    def add_identity(self, email: str, provider: str, identifier: str) -> str:
        """Link ``provider``'s account ``identifier`` to that user; its identifier URL."""
        return str(self._call("add_identity", email, provider, identifier))

    def social_tokens_of(self, provider: str, identifiers: list[str]) -> list[str]:
        """A Social Login token for each account of ``identifiers`` at ``provider`` (repeats
        allowed: each token is its own)."""
        return list(self._call("social_tokens_of", provider, identifiers))

    def linked(self, emails: list[str]) -> int:
        """How many identities are linked to these users, by Capture's own record."""
        return int(self._call("linked", emails))

    def set_fault(
        self, endpoint: str, kind: str, seconds: float | None = None, times: int | None = None
    ) -> None:
        self._call("set_fault", endpoint, kind, seconds, times)

    def add_user(self, email: str, password: str) -> None:
        """A user who signs in on a site's form (``make soak``)."""
        self._call("add_user", email, password)

    def social_token(self, provider: str, identifier: str) -> str:
        """A Social Login token for account ``identifier`` at ``provider``."""
        return str(self._call("social_token", provider, identifier))

    def identities(self, email: str) -> list[str]:
        """The identifiers of the identities linked to that user, by Capture's own record."""
        return [str(identifier) for identifier in self._call("identities", email)]

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock: tokens expire by it."""
        self._call("advance_clock", seconds)

    def token_counts(self) -> dict[str, int]:
        """How many tokens of each kind the emulator keeps."""
        return {str(k): int(v) for k, v in self._call("token_counts").items()}

    @property
    def pid(self) -> int:
        """The child's process id (its memory is read from /proc)."""
        assert self._process is not None
        return self._process.pid

    def clear_faults(self) -> None:
        self._call("clear_faults")

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            process = self._process
            if process is None or process.stdin is None:
                raise RuntimeError("the emulator process is not running")
            process.stdin.write(json.dumps([name, args]) + "\n")
            process.stdin.flush()
            ok, value = self._read(process.stdout, name)
        if not ok:
            raise RuntimeError(f"the emulator process failed {name}: {value}")
        return value

    @staticmethod
    def _read(stream: IO[str] | None, name: str) -> Any:
        assert stream is not None
        ready, _, _ = select.select([stream], [], [], ANSWER_TIMEOUT)
        line = stream.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the emulator process did not answer {name}")
        return json.loads(line)


def serve(tls: bool, keep_calls: int | None = None) -> None:
    """The child: serve the emulator, answer commands from stdin until it closes."""
    from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

    emulator = CaptureEmulator(keep_calls=keep_calls)
    tag = os.urandom(4).hex()
    users = [0]

    def sign_in_users(count: int) -> tuple[list[str], list[str], list[str]]:
        emails = [f"bench-{tag}-{users[0] + i}@example.com" for i in range(count)]
        users[0] += count
        access_tokens, refresh_tokens = [], []
        for email in emails:
            emulator.add_user(email, "bench-password")
            answer = emulator.sign_in(email)
            access_tokens.append(str(answer["access_token"]))
            # A sign-in without a client secret may carry none: a stand-in of the same size,
            # so the session cookie weighs what a signed-in user's does.
            refresh_tokens.append(str(answer.get("refresh_token") or os.urandom(16).hex()))
        return emails, access_tokens, refresh_tokens

    def social_tokens(provider: str, start: int, count: int) -> list[str]:
        return [
            emulator.issue_social_token(provider, f"bench-{tag}-{n}")
            for n in range(start, start + count)
        ]

    def linked(emails: list[str]) -> int:
        return sum(len(emulator.identities(email)) for email in emails)

    def answer(value: Any) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    with EmulatorServer(emulator, "127.0.0.1", 0, tls=tls) as server:
        commands: dict[str, Any] = {
            "connections": lambda: server.connections_accepted,
            "sign_in_users": sign_in_users,
            "social_tokens": social_tokens,
            "linked": linked,
            "set_fault": lambda e, k, s, n=None: emulator.set_fault(e, k, seconds=s, times=n),
            "clear_faults": emulator.clear_faults,
            "add_user": emulator.add_user,
            "social_token": emulator.issue_social_token,
            "add_identity": emulator.add_identity,
            "social_tokens_of": lambda provider, identifiers: [
                emulator.issue_social_token(provider, i) for i in identifiers
            ],
            "identities": lambda email: [i["identifier"] for i in emulator.identities(email)],
            "advance_clock": emulator.advance_clock,
            "token_counts": emulator.token_counts,
        }
        info = {"url": server.url, "port": server.port, "ca_bundle": server.ca_bundle}
        answer({**info, "settings": server.settings()})
        for line in sys.stdin:
            name, args = json.loads(line)
            try:
                answer([True, commands[name](*args)])
            except Exception as exc:
                answer([False, f"{type(exc).__name__}: {exc}"])
        emulator.clear_faults()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the emulator for the benchmarks.")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--keep-calls", type=int, default=None)
    arguments = parser.parse_args()
    serve(arguments.tls, arguments.keep_calls)
