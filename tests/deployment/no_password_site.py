"""The example site for accounts that may have no password (their users sign in with a linked
identity): the last identity never goes. Served by gunicorn in ``test_lock_out.py``."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask

from example_app import capture_link
from example_app import create_app as create_example
from flask_capture_link import LinkedIdentity


def create_app() -> Flask:
    """The example site, with :func:`keep_a_way_in` as its unlink policy."""
    capture_link.unlink_allowed(keep_a_way_in)
    return create_example()


def keep_a_way_in(identity: LinkedIdentity, identities: Sequence[LinkedIdentity]) -> bool:
    """Never the last identity, whatever the session signed in with."""
    return len(identities) > 1
