"""One :class:`CaptureClient` per app, following the app's config as it is when it is used.

A site may change ``CAPTURE_LINK_*`` after ``init_app``: a test that points the app at the
emulator, an app factory that loads settings later, a Flask-Env loader. The client is built from
the settings it needs and reused while they stay the same; each use compares those few values
(a tuple of a dozen dict lookups) and builds a new client only when one changed, after checking
the whole config again (so a wrong value is a :class:`ConfigError` naming the key, as at
``init_app``).
"""

from __future__ import annotations

import operator
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config
from .client import CaptureClient
from .config import ConfigError

#: The settings a :class:`CaptureClient` is built from; a change to any builds a new client.
CLIENT_KEYS = tuple(
    config.PREFIX + name
    for name in (
        "DOMAIN",
        "CLIENT_ID",
        "FLOW",
        "FLOW_VERSION",
        "USE_CLIENT_DEFAULT_FLOW",
        "LOCALE",
        "REDIRECT_URI",
        "LINK_PATH",
        "TIMEOUT",
        "CA_BUNDLE",
        "CLIENT_SECRET",
        "TOKEN_CLIENT_ID",
    )
)

#: Fixed at ``init_app``: the views are registered under it then.
URL_PREFIX_KEY = config.PREFIX + "URL_PREFIX"

Settings = tuple[Any, ...]

_read_settings = operator.itemgetter(*CLIENT_KEYS, URL_PREFIX_KEY)


class AppClients:
    """The client of each app the extension serves (apps are held weakly)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: weakref.WeakKeyDictionary[Flask, tuple[Settings, CaptureClient]] = (
            weakref.WeakKeyDictionary()
        )
        self._prefixes: weakref.WeakKeyDictionary[Flask, Any] = weakref.WeakKeyDictionary()

    def register(self, app: Flask) -> None:
        """Build ``app``'s client from its (already checked) config, at ``init_app``."""
        self._prefixes[app] = app.config[URL_PREFIX_KEY]
        self._replace(app, frozen(settings_of(app.config)))

    def client(self, app: Flask) -> CaptureClient:
        """``app``'s client for its config as it is now.

        :raises ConfigError: when a setting changed since the last use and is now wrong.
        :raises RuntimeError: when ``init_app`` was not called for ``app``.
        """
        found = self._built.get(app)
        if found is None:
            raise RuntimeError("CaptureLink.init_app was not called for this app")
        settings = settings_of(app.config)
        if found[0] == settings:
            return found[1]
        with self._lock:
            found = self._built[app]
            if found[0] == settings:  # another thread built it meanwhile
                return found[1]
            config.apply_defaults(app.config)  # a config.clear() must not make a KeyError
            config.validate(app.config)
            self._check_prefix(app)
            return self._replace(app, frozen(settings_of(app.config)))

    def _replace(self, app: Flask, settings: Settings) -> CaptureClient:
        old = self._built.get(app)
        client = build_client(app.config)
        self._built[app] = (settings, client)
        if old is not None:
            # Safe for a call in flight on the old client: its connection is closed when
            # returned to the closed pool.
            old[1].close()
        return client

    def _check_prefix(self, app: Flask) -> None:
        registered = self._prefixes.get(app)
        if app.config[URL_PREFIX_KEY] != registered:
            raise ConfigError(
                URL_PREFIX_KEY,
                f"changed after init_app, which registered the views under {registered!r}; "
                "set it before calling init_app",
            )


def settings_of(app_config: Mapping[str, Any]) -> Settings:
    """The values the client and the views' registration depend on, as they are now (one
    C-level lookup of each key: this runs on every use of the client)."""
    try:
        found: Settings = _read_settings(app_config)
    except KeyError:  # a key removed after init_app: None, so the check names it
        return tuple(app_config.get(key) for key in (*CLIENT_KEYS, URL_PREFIX_KEY))
    return found


def frozen(settings: Settings) -> Settings:
    """``settings`` with each list copied, so a list changed in place later compares unequal."""
    return tuple(list(value) if isinstance(value, list) else value for value in settings)


def build_client(app_config: Mapping[str, Any]) -> CaptureClient:
    """A :class:`CaptureClient` from ``CAPTURE_LINK_*`` settings."""
    use_default = bool(app_config["CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW"])
    timeout = app_config["CAPTURE_LINK_TIMEOUT"]
    return CaptureClient(
        app_config["CAPTURE_LINK_DOMAIN"],
        app_config["CAPTURE_LINK_CLIENT_ID"],
        flow=None if use_default else app_config["CAPTURE_LINK_FLOW"],
        flow_version=None if use_default else app_config["CAPTURE_LINK_FLOW_VERSION"],
        locale=app_config["CAPTURE_LINK_LOCALE"],
        redirect_uri=app_config["CAPTURE_LINK_REDIRECT_URI"],
        link_path=app_config["CAPTURE_LINK_LINK_PATH"],
        timeout=tuple(timeout) if isinstance(timeout, (list, tuple)) else timeout,
        verify=app_config["CAPTURE_LINK_CA_BUNDLE"] or True,
        client_secret=app_config["CAPTURE_LINK_CLIENT_SECRET"] or None,
        token_client_id=app_config["CAPTURE_LINK_TOKEN_CLIENT_ID"] or None,
    )
