"""``python -m example_app.demo``: the example site on the offline Capture emulator.

Starts the emulator (Capture and Social Login) and the site, both on 127.0.0.1, and prints the
URL to open and the demo account. Social Login's pages are served under ``localhost``, another
site for the browser, so the token POST is cross-site exactly as in production. Ctrl-C (or
SIGTERM) stops both. ``--port 0`` picks free ports; the line ``Site: http://127.0.0.1:PORT/``
tells which.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from werkzeug.serving import make_server

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from . import create_app

HOST = "127.0.0.1"

#: What to type at the emulator's Social Login page for each sign-in story.
SOCIAL_STORIES = """\
Social Login accounts to type at the emulator's page:
  google / alice         link it on Connected accounts, sign out, then "Sign in with Google"
  google / demo-google   the demo user's email: sign-in asks for the demo password (merge)
  facebook / sam-facebook  Sam (sam@example.com), who has no password
  google / sam-google    Sam's email: sign-in asks to sign in with Facebook (merge)
  facebook / newcomer    no account: told to sign in another way"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line: ``[--port 5000] [--emulator-port 8765]``."""
    parser = argparse.ArgumentParser(
        prog="python -m example_app.demo",
        description="Run the example site against the offline Capture emulator.",
    )
    parser.add_argument("--port", type=int, default=5000, help="the site's port (0: any free)")
    parser.add_argument(
        "--emulator-port", type=int, default=8765, help="the emulator's port (0: any free)"
    )
    return parser.parse_args(argv)


def demo_config(emulator_settings: Mapping[str, str]) -> dict[str, Any]:
    """The site's settings for the emulator: its ``CAPTURE_LINK_*`` keys, the demo account
    shown on the sign-in page, and a secret key of this run."""
    config: dict[str, Any] = {
        key: value for key, value in emulator_settings.items() if key.startswith("CAPTURE_LINK_")
    }
    config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        EXAMPLE_SHOW_DEMO_CREDENTIALS=True,
        EXAMPLE_DEMO_EMAIL=emulator_settings["DEMO_EMAIL"],
        EXAMPLE_DEMO_PASSWORD=emulator_settings["DEMO_PASSWORD"],
    )
    return config


def show_notices() -> None:
    """Print the notices the site sends its users (to its log) here, as a mail would go out."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("example_app.notices")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)


def stop_on_signals() -> None:
    """Make Ctrl-C and SIGTERM stop the servers, even when started with SIGINT ignored (as a
    background job of a non-interactive shell is)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the emulator and the site until interrupted; 1 when a port is taken."""
    args = parse_args(argv)
    stop_on_signals()
    show_notices()
    emulator_server = EmulatorServer(CaptureEmulator(), host=HOST, port=args.emulator_port)
    try:
        emulator_server.start()
    except OSError as error:
        print(
            f"Cannot serve the emulator on {HOST}:{args.emulator_port}: {error.strerror}. "
            "Try --emulator-port 0.",
            file=sys.stderr,
        )
        return 1
    try:
        settings = emulator_server.settings()
        # On a taken port, werkzeug says so and exits with status 1.
        site = make_server(HOST, args.port, create_app(demo_config(settings)), threaded=True)
        try:
            print(f"Site: http://{HOST}:{site.server_port}/")
            print(
                f"Emulator: {emulator_server.url} "
                f"(Social Login pages at {emulator_server.social_login_url})"
            )
            print(f"Demo account: {settings['DEMO_EMAIL']} / {settings['DEMO_PASSWORD']}")
            print(SOCIAL_STORIES)
            print("Press Ctrl-C to stop.", flush=True)
            site.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            site.server_close()
    finally:
        emulator_server.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
