"""Configuration keys, their defaults, and the checks made at ``init_app``.

Every key is read from ``app.config`` with the ``CAPTURE_LINK_`` prefix, e.g.
``CAPTURE_LINK_DOMAIN``. The defaults below apply to keys a site leaves out.
"""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .redirects import safe_next

PREFIX = "CAPTURE_LINK_"

#: The Capture (Registration) domain, e.g. ``https://example.us.janraincapture.com``.
#: Required. The domain alone: no path, query or fragment (each call adds its path). Must be
#: https, except on a loopback host (the emulator, tests): ``localhost``, ``127.0.0.0/8`` and
#: ``::1`` literally, not ``*.localhost``, which may go to DNS.
DOMAIN: str | None = None

#: The API client id; the client needs the ``login_client`` feature. Required.
CLIENT_ID: str | None = None

#: The flow name. ``standard`` is what new Registration applications have.
FLOW = "standard"

#: A concrete flow version, such as ``20190618143040022299``. Required unless
#: ``USE_CLIENT_DEFAULT_FLOW``; Capture refuses ``HEAD``.
FLOW_VERSION: str | None = None

#: Set to ``True`` when the API client has ``default_flow_name`` and ``default_flow_version``
#: settings: flow and flow version are then left out of every call, and ``FLOW_VERSION`` is
#: not required.
USE_CLIENT_DEFAULT_FLOW = False

#: The locale sent to Capture and the language of messages, unless a ``locale_selector``
#: picks one per request.
LOCALE = "en-US"

#: Sent because Capture requires it (it has no effect). Must start with http: or https:;
#: the site's own URL is a good value. Required.
REDIRECT_URI: str | None = None

#: Path of Capture's link call, appended to ``DOMAIN``.
LINK_PATH = "/oauth/link_account_native"

#: Seconds to wait for Capture on every call: one number, or ``(connect, read)``. A user's
#: request waits this long at most on a hung Capture.
TIMEOUT: float | tuple[float, float] = (3.05, 10.0)

#: Path of a CA file (or folder) for Capture's certificate; it wins over
#: ``REQUESTS_CA_BUNDLE``. ``None``: ``REQUESTS_CA_BUNDLE`` when set, else the system's CA
#: store, else certifi's.
CA_BUNDLE: str | None = None

#: Session key where a site may put a user's Registration access token itself; the default
#: storage reads it when it holds no tokens of its own. Such a token is as readable as the
#: session cookie and has no refresh: prefer ``store_tokens``, which keeps the tokens encrypted
#: under a key of their own (see docs/token-storage.md).
SESSION_KEY = "capture_access_token"

#: Where the extension's views live: the token URL is ``{URL_PREFIX}/token``, unlink is
#: ``{URL_PREFIX}/unlink``. Fixed at ``init_app``: set it before.
URL_PREFIX = "/capture-link"

#: The Social Login application's base URL, e.g. ``https://example.rpxnow.com``; the link
#: button sends the user to ``{SOCIAL_LOGIN_URL}/{provider}/start``. Needed by
#: ``capture_link_button``.
SOCIAL_LOGIN_URL: str | None = None

#: Messages overriding the defaults: ``{"unique_violation": "..."}`` for every language, or
#: ``{"fr": {"unique_violation": "..."}}`` per language.
MESSAGES: Mapping[str, Any] = {}

#: Flash categories by the extension's own: ``{"error": "danger"}`` flashes what would be
#: ``error`` as ``danger`` (Bootstrap's name). The extension's are ``success``, ``error`` and
#: ``info`` (a cancel).
FLASH_CATEGORIES: Mapping[str, str] = {}

#: Seconds a link button stays usable. The user signs in at the provider in that time.
STATE_MAX_AGE = 600

#: Where a user without an access token is sent; ``None``: Flask-Login's ``login_view``
#: (with ``next``), else ``/``.
LOGIN_URL: str | None = None

#: Where the user lands after the outcome when the button named no ``next``.
DEFAULT_NEXT = "/"

#: The login client's secret, for refreshing expired access tokens (server side only).
#: ``None``: no refresh; a user whose token expired signs in again.
CLIENT_SECRET: str | None = None

#: Refresh an access token this many seconds before it expires.
REFRESH_LEEWAY = 60

#: A Redis URL (``redis://host:6379/0``, ``rediss://``, ``unix://``) for the state store:
#: spent link states and refreshes shared by every process and machine using it. Set it when
#: the site runs more than one worker process. One client (and connection pool) per URL, read
#: at request time. ``None``: ``REDIS``, else Flask-Session's Redis client when sessions are in
#: Redis (``SESSION_TYPE="redis"``), else each process's memory (single use per process).
REDIS_URL: str | None = None

#: A ``redis.Redis`` client for the state store, winning over ``REDIS_URL``;
#: ``CaptureLink(app, redis=client)`` and ``init_app(app, redis=client)`` set it.
REDIS: Any = None

#: Prefix of the state store's Redis keys (``{prefix}state:{nonce}``,
#: ``{prefix}refresh:{sha256}``); change it when several sites share one Redis database with
#: different ``SECRET_KEY`` values.
REDIS_PREFIX = "capture_link:"

#: The flash categories the extension uses, which ``FLASH_CATEGORIES`` may rename.
FLASH_CATEGORY_NAMES = ("success", "error", "info")

#: Ask for a fresh sign-in before linking or unlinking an identity, the way into an account
#: (see "Sensitive actions" in docs/security.md). With Flask-Login, fresh is ``login_fresh()``: a
#: session restored from a remember-me cookie must confirm its password first. Set ``False``
#: only when the site asks for a recent sign-in itself before showing the buttons.
REQUIRE_FRESH = True

#: Without Flask-Login: seconds after a sign-in (tokens stored with ``store_tokens``) during
#: which the session counts as fresh. A refresh of the access token does not renew it.
FRESH_FOR = 900

#: Keys whose values are secrets: ``flask capture-link check`` masks them.
SECRET_KEYS = frozenset({"CLIENT_SECRET"})

DEFAULTS: dict[str, Any] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and name not in {"PREFIX", "SECRET_KEYS", "DEFAULTS", "FLASH_CATEGORY_NAMES"}
}


class ConfigError(ValueError):
    """A ``CAPTURE_LINK_*`` setting is missing or wrong; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _wrong(name: str, problem: str, value: Any) -> ConfigError:
    """The error of a number or flag setting; it says so when the value came as a string (as
    every value read from ``os.environ`` does)."""
    if isinstance(value, str):
        problem += (
            f", not the string {value!r} (values read from os.environ are strings: convert "
            f"it, or name the variable FLASK_{PREFIX}{name} and load it with "
            "app.config.from_prefixed_env(), which reads JSON: 600, true, [3.05, 10])"
        )
    return ConfigError(PREFIX + name, problem)


#: Identifiers that may be digits only (a flow version always is): ``from_prefixed_env()``,
#: which reads values as JSON, makes those a number; they are taken as their digits.
_IDENTIFIERS = ("FLOW_VERSION", "CLIENT_ID")


def apply_defaults(config: dict[str, Any]) -> None:
    """Fill in every key the site left out (and take an identifier given as a number as its
    digits)."""
    for name, value in DEFAULTS.items():
        # A copy: a site that changes its MESSAGES dict must not change another app's.
        config.setdefault(PREFIX + name, copy.deepcopy(value))
    for name in _IDENTIFIERS:
        value = config.get(PREFIX + name)
        if isinstance(value, int) and not isinstance(value, bool):
            config[PREFIX + name] = str(value)


def problems(config: Mapping[str, Any]) -> list[ConfigError]:
    """Everything wrong with the settings, in the order a site would fix it."""
    found: list[ConfigError] = []

    def need(name: str, why: str) -> str | None:
        value = config.get(PREFIX + name)
        if value is None or value == "":
            found.append(ConfigError(PREFIX + name, f"is required: {why}"))
            return None
        if not isinstance(value, str):
            found.append(ConfigError(PREFIX + name, "must be a string"))
            return None
        return value

    if not config.get("SECRET_KEY"):
        found.append(
            ConfigError(
                "SECRET_KEY",
                "is required: link states are signed, and the session's tokens sealed, with it",
            )
        )
    domain = need("DOMAIN", "the Capture domain, e.g. https://example.us.janraincapture.com")
    if domain is not None:
        problem = _url_problem(domain, domain_only=True)
        if problem:
            found.append(ConfigError(PREFIX + "DOMAIN", problem))
    need("CLIENT_ID", "the id of an API client with the login_client feature")
    if not config.get(PREFIX + "USE_CLIENT_DEFAULT_FLOW"):
        version = need(
            "FLOW_VERSION",
            "a concrete flow version, or set CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW = True",
        )
        if version is not None and version.strip().upper() == "HEAD":
            found.append(
                ConfigError(
                    PREFIX + "FLOW_VERSION",
                    "Capture refuses HEAD; give the concrete version number",
                )
            )
        need("FLOW", "the flow name, usually 'standard'")
    redirect_uri = need("REDIRECT_URI", "Capture requires it; your site's URL will do")
    if redirect_uri is not None and not redirect_uri.startswith(("http:", "https:")):
        found.append(ConfigError(PREFIX + "REDIRECT_URI", "must start with http: or https:"))
    social = config.get(PREFIX + "SOCIAL_LOGIN_URL")
    if social:
        problem = _url_problem(str(social))
        if problem:
            found.append(ConfigError(PREFIX + "SOCIAL_LOGIN_URL", problem))
    link_path = config.get(PREFIX + "LINK_PATH")
    if not isinstance(link_path, str) or not link_path.startswith("/") or "//" in link_path:
        found.append(ConfigError(PREFIX + "LINK_PATH", "must be a path starting with /"))
    ca_bundle = config.get(PREFIX + "CA_BUNDLE")
    if ca_bundle is not None and not (isinstance(ca_bundle, str) and os.path.exists(ca_bundle)):
        found.append(ConfigError(PREFIX + "CA_BUNDLE", f"no CA file or folder at {ca_bundle!r}"))
    for name in ("CLIENT_SECRET", "LOGIN_URL"):
        if config.get(PREFIX + name) is not None and not isinstance(config[PREFIX + name], str):
            found.append(ConfigError(PREFIX + name, "must be a string or None"))
    default_next = config.get(PREFIX + "DEFAULT_NEXT")
    if not isinstance(default_next, str) or safe_next(default_next) != default_next:
        found.append(ConfigError(PREFIX + "DEFAULT_NEXT", "must be a path on this site"))
    leeway = config.get(PREFIX + "REFRESH_LEEWAY")
    if not isinstance(leeway, (int, float)) or isinstance(leeway, bool) or leeway < 0:
        found.append(_wrong("REFRESH_LEEWAY", "must be seconds >= 0", leeway))
    require_fresh = config.get(PREFIX + "REQUIRE_FRESH")
    if not isinstance(require_fresh, bool):
        found.append(_wrong("REQUIRE_FRESH", "must be True or False", require_fresh))
    fresh_for = config.get(PREFIX + "FRESH_FOR")
    if not isinstance(fresh_for, (int, float)) or isinstance(fresh_for, bool) or fresh_for <= 0:
        found.append(_wrong("FRESH_FOR", "must be seconds > 0", fresh_for))
    prefix = config.get(PREFIX + "URL_PREFIX")
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        found.append(ConfigError(PREFIX + "URL_PREFIX", "must be a path starting with /"))
    timeout = config.get(PREFIX + "TIMEOUT")
    if not _is_timeout(timeout):
        found.append(_wrong("TIMEOUT", "must be seconds > 0, or (connect, read) seconds", timeout))
    max_age = config.get(PREFIX + "STATE_MAX_AGE")
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age <= 0:
        found.append(_wrong("STATE_MAX_AGE", "must be a whole number of seconds", max_age))
    found.extend(_redis_problems(config))
    if not isinstance(config.get(PREFIX + "MESSAGES"), Mapping):
        found.append(ConfigError(PREFIX + "MESSAGES", "must be a dict of message key to text"))
    categories = config.get(PREFIX + "FLASH_CATEGORIES")
    if not isinstance(categories, Mapping) or not all(
        key in FLASH_CATEGORY_NAMES and isinstance(value, str) and value
        for key, value in categories.items()
    ):
        found.append(
            ConfigError(
                PREFIX + "FLASH_CATEGORIES",
                "must be a dict from success, error or info to the category your templates use",
            )
        )
    return found


def validate(config: Mapping[str, Any]) -> None:
    """Raise the first :class:`ConfigError` of :func:`problems`, if any."""
    found = problems(config)
    if found:
        raise found[0]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is, literally, this machine: ``localhost``, an address in
    ``127.0.0.0/8`` or ``::1`` (where plain http is acceptable). Other names, even
    ``*.localhost``, may go to DNS."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redis_problems(config: Mapping[str, Any]) -> list[ConfigError]:
    found: list[ConfigError] = []
    url = config.get(PREFIX + "REDIS_URL")
    if url and (
        not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://"))
    ):
        found.append(
            ConfigError(PREFIX + "REDIS_URL", "must be a redis://, rediss:// or unix:// URL")
        )
    client = config.get(PREFIX + "REDIS")
    if client is not None and not callable(getattr(client, "set", None)):
        found.append(ConfigError(PREFIX + "REDIS", "must be a redis.Redis client"))
    if (url or client is not None) and importlib.util.find_spec("redis") is None:
        found.append(
            ConfigError(
                PREFIX + "REDIS_URL" if url else PREFIX + "REDIS",
                'needs the redis package: pip install "Flask-Capture-Link[redis]"',
            )
        )
    prefix = config.get(PREFIX + "REDIS_PREFIX")
    if not isinstance(prefix, str) or not prefix:
        found.append(ConfigError(PREFIX + "REDIS_PREFIX", "must be a non-empty string"))
    return found


def _url_problem(url: str, *, domain_only: bool = False) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return f"must be a URL such as https://host, not {url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be a URL such as https://host, not {url!r}"
    if domain_only and (extra := _beyond_domain(url)):
        host_and_port = parts.netloc.rpartition("@")[2]
        return (
            f"must be the Capture domain alone, such as {parts.scheme}://{host_and_port}; "
            f"remove {extra} (the extension adds each call's path)"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        return "must be a base URL: no user, query or fragment"
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        return "must use https (plain http is allowed only on a loopback host)"
    return None


def _beyond_domain(url: str) -> str:
    """What ``url`` has after its host and port (path, query, fragment), in words."""
    parts = urlsplit(url)
    found = [
        f"the path {parts.path!r}" if parts.path not in ("", "/") else "",
        f"the query {'?' + parts.query!r}" if parts.query else "",
        f"the fragment {'#' + parts.fragment!r}" if parts.fragment else "",
    ]
    return " and ".join(part for part in found if part)


def _is_timeout(value: Any) -> bool:
    def seconds(item: Any) -> bool:
        return isinstance(item, (int, float)) and not isinstance(item, bool) and item > 0

    if isinstance(value, (tuple, list)):
        return len(value) == 2 and all(seconds(item) for item in value)
    return seconds(value)
