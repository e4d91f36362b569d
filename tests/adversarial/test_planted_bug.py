"""A bug stays visible: a ``1 / 0`` planted in each view fails the suite that exercises it.

The review planted one in the token view, and ``test_token_url_never_fails`` stayed green:
``never_fails`` turned it into the ``unknown`` outcome. Now ``never_fails`` raises where Flask
propagates exceptions (``TESTING``, ``DEBUG``, ``PROPAGATE_EXCEPTIONS``), and the adversarial
suites (whose sites run with ``TESTING`` off) fail on its "unexpected failure" record.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("view", "suite"),
    [
        ("token", "tests/adversarial/test_fuzz.py::test_token_url_never_fails"),
        ("unlink", "tests/adversarial/test_fuzz.py::test_unlink_url_never_fails"),
        ("token", "tests/views/test_link.py"),
        ("unlink", "tests/views/test_link_unlink.py"),
        ("reauthenticate", "tests/test_freshness.py"),
    ],
)
def test_a_bug_planted_in_a_view_fails_its_suite(view: str, suite: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
         "-p", "tests.adversarial.planted", suite],
        cwd=ROOT,
        env={**os.environ, "PLANTED_IN": view},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:]
    assert "ZeroDivisionError" in run.stdout, run.stdout[-3000:]
