"""The example site, with a worker that dies (SIGKILL) right after a refresh, before the session
is saved, when the file named by ``DIE_AFTER_REFRESH`` exists (the file is removed: one death)."""

from __future__ import annotations

import os
import signal
from typing import Any

from flask import Flask

from example_app import create_app as create_example
from flask_capture_link.signals import access_token_refreshed


def create_app() -> Flask:
    app = create_example()
    access_token_refreshed.connect(die_once, sender=app, weak=False)
    return app


def die_once(app: Flask, **details: Any) -> None:
    try:
        os.remove(os.environ["DIE_AFTER_REFRESH"])
    except (KeyError, FileNotFoundError):
        return
    os.kill(os.getpid(), signal.SIGKILL)
