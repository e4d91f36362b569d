"""``python -m flask_capture_link.emulator``: serve the emulator and print its settings.

The settings come out on stdout as ``KEY=value`` lines, ready for an ``.env`` file or
``export``, the same at every start (``--seed`` gives another set); ``--prefix FLASK_`` makes
them lines for ``app.config.from_prefixed_env()``, and ``--env-file PATH`` writes them to a file
too. The emulator then serves until Ctrl-C (or SIGTERM) and exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from .data import LOCALES
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
    locales = [locale.strip() for locale in args.locales.split(",") if locale.strip()]
    if not locales:
        parser.error("--locales: give at least one locale, such as en-US,es-ES")
    emulator = CaptureEmulator(seed=args.seed, locales=locales, keep_calls=args.keep_calls)
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
            lines = [f"{args.prefix}{key}={value}" for key, value in server.settings().items()]
            if args.env_file is not None:  # before the lines: whoever reads them finds it
                try:
                    write_env_file(args.env_file, lines)
                except OSError as error:
                    print(f"cannot write {args.env_file}: {error.strerror}", file=sys.stderr)
                    return 2
            for line in lines:
                print(line)
            sys.stdout.flush()
            print(
                f"Emulator running, its flow in {', '.join(emulator.locales)}; "
                "press Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except OSError as error:  # the port is taken, or the host is not this machine's
        if error.filename is not None:  # a file, not the socket: the TLS files
            print(
                f"cannot keep the TLS files in {args.tls_dir or 'a temporary folder'}: "
                f"{error.strerror} ({error.filename}); give --tls-dir a folder you may write",
                file=sys.stderr,
            )
        else:
            print(f"cannot serve on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def write_env_file(path: str, lines: list[str]) -> None:
    """Write the settings to ``path``, readable by this user only (the client secret is in
    it)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as env_file:
        env_file.write("".join(f"{line}\n" for line in lines))


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
        "--prefix",
        default="",
        metavar="PREFIX",
        help="put PREFIX before every key printed: --prefix FLASK_ makes lines that "
        "app.config.from_prefixed_env() reads",
    )
    parser.add_argument(
        "--env-file",
        default=None,
        metavar="PATH",
        help="also write the lines to PATH (mode 0600), for `flask --env-file PATH` or "
        "`set -a; . PATH; set +a`",
    )
    parser.add_argument(
        "--locales",
        default=",".join(LOCALES),
        metavar="LOCALE,...",
        help="the locales the flow has, the first its default; a call in another gets "
        f"Capture's 'could not find a flow' error ({','.join(LOCALES)})",
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
