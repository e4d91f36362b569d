"""The guess whether more than one worker process will run (for the per-process warning)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flask_capture_link.integrations import likely_many, workers_option

GUNICORN = "/srv/site/.venv/bin/gunicorn"


@pytest.mark.parametrize(
    ("environ", "argv", "says"),
    [
        ({"WEB_CONCURRENCY": "3"}, [], "WEB_CONCURRENCY=3"),
        ({"GUNICORN_CMD_ARGS": "--bind :80 --workers 4"}, [], "--workers 4"),
        ({"GUNICORN_CMD_ARGS": "-w2"}, [], "--workers 2"),
        ({}, [GUNICORN, "-w", "3", "site:app"], "gunicorn command line (--workers 3)"),
        ({}, [GUNICORN, "--workers=5", "site:app"], "--workers 5"),
        ({}, ["/usr/lib/python3/site-packages/gunicorn/__main__.py", "-w", "2"], "--workers 2"),
    ],
)
def test_many_workers_are_seen(
    environ: dict[str, str], argv: list[str], says: str, tmp_path: Path
) -> None:
    found = likely_many(environ, argv, tmp_path)
    assert found is not None and says in found


@pytest.mark.parametrize(
    ("environ", "argv"),
    [
        ({}, []),
        ({"WEB_CONCURRENCY": "1"}, []),
        ({"WEB_CONCURRENCY": "many"}, []),
        ({}, [GUNICORN, "-w", "1", "site:app"]),
        ({}, ["flask", "run", "-w", "3"]),  # not gunicorn: its -w means something else
        ({"GUNICORN_CMD_ARGS": "--workers"}, []),
    ],
)
def test_one_worker_is_not_many(environ: dict[str, str], argv: list[str], tmp_path: Path) -> None:
    assert likely_many(environ, argv, tmp_path) is None


def test_gunicorn_conf_py_in_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "gunicorn.conf.py").write_text("bind = ':80'\nworkers = 4  # two per core\n")
    assert likely_many({}, [], tmp_path) == "gunicorn.conf.py (workers = 4)"
    (tmp_path / "gunicorn.conf.py").write_text("workers = 1\n")
    assert likely_many({}, [], tmp_path) is None


def test_the_last_workers_option_counts() -> None:
    assert workers_option(["-w", "2", "--workers=6"]) == 6
    assert workers_option(["--threads", "4"]) is None
