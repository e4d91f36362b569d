"""Every lookup of another extension or of the server the site runs in, in one place.

The extension works with or without Flask-Login, Flask-WTF, Flask-Session and Flask-Babel; each
is asked for here and nowhere else:

* **Flask-Login**: who the signed-in user is, whether their sign-in is fresh, where its
  ``login_view`` / ``refresh_view`` are, and when it signs a user in (its signals).
* **Flask-WTF**: ``CSRFProtect`` would refuse Social Login's token POST, which cannot carry the
  site's CSRF token; the ``capture_link`` blueprint is exempt (the link state is its CSRF
  defence), whether ``CSRFProtect`` was set up before or after the extension.
* **Flask-Session**: its Redis client, when the site keeps its sessions there, and a new session
  id (its session interface's ``regenerate``).
* **Flask-Babel**: ``gettext`` for a site's own message texts.
* **The server**: whether the site probably runs in more than one worker process (a
  heuristic, for the start-up warning and ``flask capture-link check``): ``WEB_CONCURRENCY``;
  ``--workers N`` / ``-w N`` in ``GUNICORN_CMD_ARGS`` or in a gunicorn worker's command line;
  ``workers = N`` in ``./gunicorn.conf.py``; uWSGI's ``uwsgi.numproc``. A server configured
  otherwise is not seen; at the first request the WSGI environ's ``wsgi.multiprocess`` (set by
  gunicorn with more than one worker, uWSGI and mod_wsgi) is checked as well.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import Flask, current_app, session

#: The blueprint Flask-WTF's ``CSRFProtect`` exempts.
BLUEPRINT = "capture_link"


# Flask-Login


def login_manager(app: Flask | None = None) -> Any:
    """The app's Flask-Login ``LoginManager``, or ``None``."""
    return getattr(app or current_app, "login_manager", None)


def flask_login_user_id() -> str | None:
    """The id of the user signed in through Flask-Login, or ``None`` (no Flask-Login, or
    nobody signed in)."""
    if login_manager() is None:
        return None
    from flask_login import current_user

    if not current_user.is_authenticated:
        return None
    return str(current_user.get_id())


def flask_login_fresh() -> bool:
    """Flask-Login's ``login_fresh()``: false for a session restored from a remember-me
    cookie."""
    from flask_login import login_fresh

    return bool(login_fresh())


def on_flask_login_sign_in(
    app: Flask, signed_in: Callable[..., None], restored: Callable[..., None]
) -> None:
    """Have Flask-Login call ``signed_in(app, user=...)`` when it signs a user in on ``app``
    (``login_user``: its ``user_logged_in`` signal), and ``restored(app, user=...)`` when it
    restores one from the remember cookie (``user_loaded_from_cookie``). Nothing without
    Flask-Login."""
    try:
        from flask_login import user_loaded_from_cookie, user_logged_in
    except ImportError:
        return
    user_logged_in.connect(signed_in, sender=app, weak=False)
    user_loaded_from_cookie.connect(restored, sender=app, weak=False)


def flask_login_default_refresh_message(manager: Any) -> bool:
    """Whether ``manager``'s ``needs_refresh_message`` is Flask-Login's default (or none)."""
    from flask_login.config import REFRESH_MESSAGE

    return not manager.needs_refresh_message or manager.needs_refresh_message == REFRESH_MESSAGE


def replace_last_flash(message: str, replacement: str, category: str) -> None:
    """Replace the last flashed ``message`` (as Flask-Login flashed it, localized) with
    ``replacement`` in ``category``."""
    manager = login_manager()
    if manager is not None and manager.localize_callback is not None:
        message = manager.localize_callback(message)
    flashes = session.get("_flashes")
    if flashes and flashes[-1][1] == message:
        flashes[-1] = (category, replacement)
        session["_flashes"] = flashes


def flask_login_url(view: str, next: str | None) -> str:
    """Flask-Login's ``login_url`` of ``view``, with ``next`` when given."""
    from flask_login import login_url

    return str(login_url(view, next_url=next))


# Flask-WTF


def exempt_from_csrf(app: Flask) -> None:
    """Exempt the ``capture_link`` blueprint from ``CSRFProtect`` now, or at the first request
    if ``CSRFProtect`` is set up later (our hook then runs before its check)."""
    if _exempt(app):
        return

    def exempt_when_ready() -> None:
        _exempt(current_app)

    app.before_request(exempt_when_ready)


def _exempt(app: Flask) -> bool:
    csrf = app.extensions.get("csrf")
    blueprint = app.blueprints.get(BLUEPRINT)
    if csrf is None or not hasattr(csrf, "exempt") or blueprint is None:
        return False
    csrf.exempt(blueprint)
    return True


# Flask-Session


def flask_session_redis(app: Flask) -> Any:
    """Flask-Session's Redis client, when the app keeps its sessions in Redis with it."""
    if app.config.get("SESSION_TYPE") != "redis":
        return None
    return getattr(app.session_interface, "client", None) or app.config.get("SESSION_REDIS")


def regenerate_session_id() -> bool:
    """Give the session a new id, where the session interface can (Flask-Session's
    ``regenerate``: the old id's record is deleted from the store); whether it could. A
    signed cookie session has no id to fix."""
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if regenerate is None or not hasattr(session, "sid"):
        return False
    regenerate(session)
    return True


# Flask-Babel


def gettext(text: str) -> str:
    """``text`` through Flask-Babel's ``gettext`` when the app uses Flask-Babel."""
    if "babel" not in current_app.extensions:
        return text
    try:
        from flask_babel import gettext as babel_gettext
    except ImportError:  # pragma: no cover - "babel" registered by something else
        return text
    return str(babel_gettext(text))


# The server

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
