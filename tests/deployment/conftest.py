"""Real processes for deployment tests: the example site under gunicorn (``helpers.py``),
against one redis-server (the ``redis_url`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flask_capture_link.emulator import EmulatorServer

from .helpers import GunicornSite, serve_example


@pytest.fixture(scope="module")
def gunicorn_site(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """``example_app`` under gunicorn with 3 workers, sessions in Redis (Flask-Session), link
    states spent there too (nothing else set)."""
    folder = tmp_path_factory.mktemp("gunicorn")
    with serve_example(folder, capture_emulator_server, 3, EXAMPLE_REDIS_URL=redis_url) as site:
        yield site


@pytest.fixture(scope="module")
def second_machine(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """Another gunicorn master (another "machine") serving the same site with the same Redis."""
    folder = tmp_path_factory.mktemp("gunicorn-b")
    with serve_example(folder, capture_emulator_server, 2, EXAMPLE_REDIS_URL=redis_url) as site:
        yield site


@pytest.fixture(scope="module")
def cookie_site(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GunicornSite]:
    """``example_app`` under gunicorn with 3 workers, Flask's cookie sessions, and
    ``CAPTURE_LINK_REDIS_URL`` for link states and refreshes."""
    folder = tmp_path_factory.mktemp("gunicorn-cookie")
    with serve_example(
        folder, capture_emulator_server, 3, CAPTURE_LINK_REDIS_URL=redis_url
    ) as site:
        yield site
