"""A small site that uses Flask-Capture-Link as a real one would.

Users sign in with their Identity Cloud email and password, then link and unlink social
identities on their "Connected accounts" page. Run it offline against the emulator with
``python -m example_app.demo``, or against a real application with the environment variables
of :mod:`example_app.settings`::

    from example_app import create_app

    app = create_app({"SECRET_KEY": "...", "CAPTURE_LINK_DOMAIN": "https://..."})
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.exceptions import InternalServerError

from flask_capture_link.storage import RedisTokenStorage, TokenStorage

from . import account, auth, notices, security, settings
from .extensions import capture_link, login_manager
from .tokens import TableTokenStorage

__all__ = ["capture_link", "create_app", "login_manager"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The site, configured from the environment and then from ``config``.

    :raises flask_capture_link.ConfigError: naming a ``CAPTURE_LINK_*`` setting (or
        ``SECRET_KEY``) that is missing or wrong.
    """
    app = Flask(__name__)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config.update(settings.load(os.environ, config))
    use_server_side_sessions(app)
    login_manager.init_app(app)
    capture_link.init_app(app, token_storage=token_storage(app))
    security.init_app(app)
    notices.init_app(app)
    app.register_blueprint(auth.blueprint)
    auth.init_app(app)
    app.register_blueprint(account.blueprint)
    return app


def use_server_side_sessions(app: Flask) -> None:
    """Keep sessions (and so the user's tokens) in Redis when ``EXAMPLE_REDIS_URL`` is set."""
    url = app.config["EXAMPLE_REDIS_URL"]
    if not url:
        return
    import redis
    from flask_session import Session

    app.config.setdefault("SESSION_TYPE", "redis")
    app.config.setdefault("SESSION_REDIS", redis.Redis.from_url(url))
    # Write a session back only when a request changed it: else a page loading in one tab
    # writes its older copy over the other tab's, and the outcome message of a link is lost.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    Session(app)

    @app.errorhandler(InternalServerError)
    def session_store_down(error: InternalServerError) -> Any:
        # Redis restarting or unreachable: no page can load its session. Say so, briefly,
        # rather than an error page (a link Capture made is still reported: the extension
        # carries its outcome in the redirect when the session cannot be saved).
        if isinstance(error.original_exception, (redis.ConnectionError, redis.TimeoutError)):
            message = "The site is briefly unavailable; please try again in a moment."
            return message, 503, {"Retry-After": "5", "Content-Type": "text/plain"}
        return error


def token_storage(app: Flask) -> TokenStorage:
    """Where users' tokens are kept, by user, so that remember-me finds them: the Redis of
    ``EXAMPLE_REDIS_URL``, else the SQLite table of :mod:`example_app.tokens`."""
    url = app.config["EXAMPLE_REDIS_URL"]
    if url:
        import redis

        return RedisTokenStorage(redis.Redis.from_url(url))
    path = app.config["EXAMPLE_TOKENS_DB"]
    if not path:  # one file for every worker process of this machine
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "capture-tokens.sqlite3")
    return TableTokenStorage(path)  # type: ignore[no-untyped-call]
