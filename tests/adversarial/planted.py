"""A pytest plugin that plants a bug (``1 / 0``) in one of the extension's views, named by
``PLANTED_IN`` (``token``, ``unlink`` or ``reauthenticate``): the view's own function, inside
``never_fails``, is replaced by one that fails. ``test_planted_bug.py`` runs suites with it,
which must fail."""

from __future__ import annotations

import os

import pytest
from flask.typing import ResponseReturnValue

from flask_capture_link.views import link as views


def pytest_configure(config: pytest.Config) -> None:
    """Plant the bug before any app is made (every app registers the same view functions)."""
    wrapper = getattr(views, os.environ["PLANTED_IN"])
    assert wrapper.__closure__ is not None
    cell = wrapper.__closure__[wrapper.__code__.co_freevars.index("view")]

    def planted() -> ResponseReturnValue:
        return str(1 / 0)

    cell.cell_contents = planted
