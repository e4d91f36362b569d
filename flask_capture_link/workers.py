"""Whether this site probably runs in more than one worker process (a heuristic).

Used for the warning at start-up and by ``flask capture-link check``: without Redis, single
use of link states holds per process only. What is looked at, in order:

* ``WEB_CONCURRENCY`` (gunicorn's default worker count; set by Heroku and others);
* ``--workers N`` / ``-w N`` in ``GUNICORN_CMD_ARGS`` or in this process's command line (a
  gunicorn worker);
* ``workers = N`` in ``./gunicorn.conf.py`` (gunicorn's default config file);
* uWSGI's ``uwsgi.numproc``.

A server configured otherwise (another config file, a process manager starting several
servers) is not seen; at the first request, the WSGI environ's ``wsgi.multiprocess`` (set by
gunicorn with more than one worker, uWSGI and mod_wsgi) is checked as well.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_WORKERS_OPTION = re.compile(r"^(?:-w|--workers)(?:=(\d+))?$|^-w(\d+)$")
_CONF_LINE = re.compile(r"^\s*workers\s*=\s*(\d+)\s*(?:#.*)?$", re.MULTILINE)


def likely_many(
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    cwd: Path | None = None,
) -> str | None:
    """What says more than one worker process will run (e.g. ``"WEB_CONCURRENCY=4"``), or
    ``None`` when nothing does."""
    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    concurrency = environ.get("WEB_CONCURRENCY", "").strip()
    if concurrency.isdigit() and int(concurrency) > 1:
        return f"WEB_CONCURRENCY={concurrency}"
    for source, words in (
        ("GUNICORN_CMD_ARGS", _split(environ.get("GUNICORN_CMD_ARGS", ""))),
        ("the gunicorn command line", list(argv) if _is_gunicorn(argv) else []),
    ):
        count = workers_option(words)
        if count is not None and count > 1:
            return f"{source} (--workers {count})"
    conf = (cwd or Path.cwd()) / "gunicorn.conf.py"
    try:
        found = _CONF_LINE.search(conf.read_text(errors="replace"))
    except OSError:
        found = None
    if found and int(found.group(1)) > 1:
        return f"gunicorn.conf.py (workers = {found.group(1)})"
    uwsgi = sys.modules.get("uwsgi")
    processes = getattr(uwsgi, "numproc", 0) if uwsgi is not None else 0
    if isinstance(processes, int) and processes > 1:
        return f"uWSGI ({processes} processes)"
    return None


def workers_option(words: Sequence[str]) -> int | None:
    """The value of the last ``--workers``/``-w`` option in ``words``."""
    found: int | None = None
    for index, word in enumerate(words):
        match = _WORKERS_OPTION.match(word)
        if not match:
            continue
        value = match.group(1) or match.group(2)
        if value is None and index + 1 < len(words):
            value = words[index + 1]
        if value is not None and value.isdigit():
            found = int(value)
    return found


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _is_gunicorn(argv: Sequence[str]) -> bool:
    # ``gunicorn ...`` runs .../bin/gunicorn; ``python -m gunicorn`` runs .../gunicorn/__main__.py
    return bool(argv) and any("gunicorn" in part for part in Path(argv[0]).parts[-2:])
