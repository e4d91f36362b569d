"""``python -m flask_capture_link.emulator``: serve the emulator and print its settings.

The settings come out on stdout as ``KEY=value`` lines, ready for an ``.env`` file or
``export``, the same at every start (``--seed`` gives another set); the emulator then serves
until Ctrl-C (or SIGTERM) and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from .emulator import CaptureEmulator
from .faults import KINDS
from .seed import DEFAULT_SEED
from .server import EmulatorServer


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.tls_dir is not None and not args.tls_dir.strip():
        parser.error("--tls-dir: give a directory")
    emulator = CaptureEmulator(seed=args.seed, keep_calls=args.keep_calls)
    for spec in args.fault:
        try:
            endpoint, kind, seconds = parse_fault(spec)
            emulator.set_fault(endpoint, kind, seconds=seconds)
        except ValueError as error:
            parser.error(f"--fault {spec}: {error}")
    # Explicitly: a shell starts background jobs with SIGINT ignored, and Ctrl-C must still stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with EmulatorServer(
            emulator, args.host, args.port, tls=args.tls, tls_dir=args.tls_dir
        ) as server:
            for key, value in server.settings().items():
                print(f"{key}={value}")
            sys.stdout.flush()
            print("Emulator running; press Ctrl-C to stop", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except OSError as error:  # the port is taken, or the host is not this machine's
        print(f"cannot serve on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def parse_fault(spec: str) -> tuple[str, str, float | None]:
    """Split ``ENDPOINT=KIND[:SECONDS]``, e.g. ``/oauth/link_account_native=latency:2``."""
    endpoint, equals, rest = spec.partition("=")
    kind, colon, seconds = rest.partition(":")
    if not equals or not endpoint or not kind:
        raise ValueError("expected ENDPOINT=KIND[:SECONDS]")
    try:
        return endpoint, kind, float(seconds) if colon else None
    except ValueError:
        raise ValueError(f"seconds must be a number, not {seconds!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flask_capture_link.emulator",
        description="Serve the offline Capture and Social Login emulator.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (8765)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a fresh CA")
    parser.add_argument(
        "--tls-dir",
        default=None,
        metavar="DIR",
        help="serve HTTPS with the CA kept in DIR (made there the first time), so "
        "CAPTURE_LINK_CA_BUNDLE stays the same across restarts",
    )
    parser.add_argument(
        "--seed",
        default=DEFAULT_SEED,
        help="what the client id, client secret and demo user are derived from: the same "
        f"seed prints the same settings at every start ({DEFAULT_SEED!r})",
    )
    parser.add_argument(
        "--keep-calls",
        type=int,
        default=10_000,
        metavar="N",
        help="remember only the last N Capture calls, so a long run's memory stays bounded "
        "(10000)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ENDPOINT=KIND[:SECONDS]",
        help=f"switch a fault on (repeatable); ENDPOINT a path or '*'; KIND one of {KINDS}",
    )
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
