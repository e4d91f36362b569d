"""Configuration keys, their defaults, and the checks made at ``init_app``.

Every key is read from ``app.config`` with the ``CAPTURE_LINK_`` prefix, e.g.
``CAPTURE_LINK_DOMAIN``. The defaults below apply to keys a site leaves out.
"""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
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

#: The locale of messages, and the default sent to Capture, unless a ``locale_selector``
#: picks one per request.
LOCALE = "en-US"

#: The locales your Capture flow has (a list, or ``"en-US,es-ES"``). The user's language
#: picks the messages; what is sent to Capture is the nearest of these (the same locale, else
#: the same language, else the first), so a language the site offers that the flow lacks
#: never fails a call. ``None``: ``[LOCALE]``.
FLOW_LOCALES: Sequence[str] | str | None = None

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

#: Where a social sign-in with an identity no account has (Capture's 310) sends the user: the
#: site's registration page, with ``next``. ``None``: back to the sign-in page, told to sign
#: in another way and link the identity from their account page.
REGISTER_URL: str | None = None

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

#: The secret of the API client that calls ``/oauth/token`` (``TOKEN_CLIENT_ID``), server side
#: only. With it, a sign-in asks Capture for an authorization code and exchanges it for an
#: access token *and a refresh token*, and expired access tokens are refreshed. ``None``: a
#: sign-in gets an access token only, which lives an hour; the user then signs in again.
CLIENT_SECRET: str | None = None

#: The API client whose id and secret (``CLIENT_SECRET``) go to ``/oauth/token``, as HTTP
#: Basic. ``None``: ``CLIENT_ID``, as Janrain's own guides exchange codes with the login
#: client. Set it when your tenant lets only another client (one with ``access_issuer`` or
#: ``owner``, as the vendor's permission table lists) call ``/oauth/token``.
TOKEN_CLIENT_ID: str | None = None

#: Refresh an access token this many seconds before it expires.
REFRESH_LEEWAY = 60

#: After Capture's answer to a link or unlink was lost (a read timeout: Capture may have acted),
#: wait this many seconds, then list the user's identities once and report what they show:
#: linked (or unlinked), not changed, or still unknown. ``None``: do not check (the user is told
#: the outcome is unknown). The wait holds the request; keep it short.
RECHECK_DELAY: float | None = 1.0

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

#: Seconds after a sign-in during which the session counts as fresh: a fresh ``login_user``
#: with Flask-Login (as well as ``login_fresh()``), else tokens stored with ``store_tokens``. A
#: refresh of the access token does not renew it.
FRESH_FOR = 900

#: Keys whose values are secrets: ``flask capture-link check`` masks them.
SECRET_KEYS = frozenset({"CLIENT_SECRET"})

DEFAULTS: dict[str, Any] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and name not in {"PREFIX", "SECRET_KEYS", "DEFAULTS", "FLASH_CATEGORY_NAMES"}
}


class ConfigError(ValueError):
    """A ``CAPTURE_LINK_*`` setting is missing or wrong; the message names the key.

    Raised for all the problems at once: :attr:`problems` holds one error per setting (the
    message has a line for each, the first setting's first), and :attr:`key` and
    :attr:`problem` are the first one's.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem
        #: Every setting to fix, in the order of :func:`problems` (just this one, alone).
        self.problems: list[ConfigError] = [self]

    @classmethod
    def of(cls, found: list[ConfigError]) -> ConfigError:
        """One error for all of ``found`` (at least one)."""
        if len(found) == 1:
            return found[0]
        error = cls(found[0].key, found[0].problem)
        lines = [str(problem) for problem in found]
        if any(problem.problem.startswith("is required") for problem in found):
            lines.append(
                "(in a test config, set TESTING = True: the error then waits for the first use "
                "of Capture; the pytest plugin's capture_emulator.settings() gives every "
                "setting)"
            )
        error.args = ("\n".join(lines),)
        error.problems = list(found)
        return error

    def __str__(self) -> str:
        return str(self.args[0])


def _wrong(name: str, problem: str, value: Any) -> ConfigError:
    """The error of a number or flag setting; it says so when the value came as a string (as
    every value read from ``os.environ`` does)."""
    if isinstance(value, str):
        problem += (
            f", not the string {value!r} (values read from os.environ are strings: convert "
            f"it, or name the variable FLASK_{PREFIX}{name} and load it with "
            "app.config.from_prefixed_env(), which reads JSON: 600, true, [3.05, 10])"
        )
    elif value in (0, 1) and not isinstance(value, bool) and "True or False" in problem:
        problem += (
            f", not the number {value!r} (from the environment, write true or false: "
            "from_prefixed_env() reads JSON, where 0 and 1 are numbers)"
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
    """Everything wrong with the settings, in the order a site would fix it: the required
    ones, what only Capture's needs decide (:func:`_capture_problems`), then each setting of
    :data:`VALUE_CHECKS` and the Redis ones."""
    found: list[ConfigError] = []
    if not config.get("SECRET_KEY"):
        found.append(
            ConfigError(
                "SECRET_KEY",
                "is required: link states are signed, and the session's tokens sealed, with it",
            )
        )
    for name, why in _required(config):
        value = config.get(PREFIX + name)
        if value is None or value == "":
            found.append(ConfigError(PREFIX + name, f"is required: {why}"))
        elif not isinstance(value, str):
            found.append(ConfigError(PREFIX + name, "must be a string"))
    found.extend(_capture_problems(config))
    for name, test, problem, number in VALUE_CHECKS:
        value = config.get(PREFIX + name)
        if not test(value):
            found.append(
                _wrong(name, problem, value) if number else ConfigError(PREFIX + name, problem)
            )
    found.extend(_redis_problems(config))
    return found


def _required(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The settings that must be set, with what each is."""
    required = [
        ("DOMAIN", "the Capture domain, e.g. https://example.us.janraincapture.com"),
        ("CLIENT_ID", "the id of an API client with the login_client feature"),
    ]
    if not config.get(PREFIX + "USE_CLIENT_DEFAULT_FLOW"):
        required += [
            (
                "FLOW_VERSION",
                "a concrete flow version, or set CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW = True",
            ),
            ("FLOW", "the flow name, usually 'standard'"),
        ]
    required.append(("REDIRECT_URI", "Capture requires it; your site's URL will do"))
    return required


def _capture_problems(config: Mapping[str, Any]) -> list[ConfigError]:
    """What Capture (and Social Login) would refuse of settings that are set."""
    found: list[ConfigError] = []
    for name, domain_only in (("DOMAIN", True), ("SOCIAL_LOGIN_URL", False)):
        url = config.get(PREFIX + name)
        problem = _url_problem(url, domain_only=domain_only) if isinstance(url, str) else None
        if url and problem:
            found.append(ConfigError(PREFIX + name, problem))
    version = config.get(PREFIX + "FLOW_VERSION")
    use_default = config.get(PREFIX + "USE_CLIENT_DEFAULT_FLOW")
    if not use_default and isinstance(version, str) and version.strip().upper() == "HEAD":
        found.append(
            ConfigError(
                PREFIX + "FLOW_VERSION", "Capture refuses HEAD; give the concrete version number"
            )
        )
    redirect_uri = config.get(PREFIX + "REDIRECT_URI")
    if isinstance(redirect_uri, str) and redirect_uri and not _is_web_url(redirect_uri):
        found.append(ConfigError(PREFIX + "REDIRECT_URI", "must start with http: or https:"))
    ca_bundle = config.get(PREFIX + "CA_BUNDLE")
    if ca_bundle is not None and not (isinstance(ca_bundle, str) and os.path.exists(ca_bundle)):
        found.append(ConfigError(PREFIX + "CA_BUNDLE", f"no CA file or folder at {ca_bundle!r}"))
    return found


def _is_web_url(value: str) -> bool:
    return value.startswith(("http:", "https:"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_optional_string(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/")


def _is_flash_categories(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        key in FLASH_CATEGORY_NAMES and isinstance(name, str) and name
        for key, name in value.items()
    )


#: The settings checked by their value alone: the test, what to say when it fails, and
#: whether it is a number or flag (the message then says so when the value came as a string).
VALUE_CHECKS: tuple[tuple[str, Callable[[Any], bool], str, bool], ...] = (
    (
        "LINK_PATH",
        lambda value: _is_path(value) and "//" not in value,
        "must be a path starting with /",
        False,
    ),
    ("CLIENT_SECRET", _is_optional_string, "must be a string or None", False),
    ("TOKEN_CLIENT_ID", _is_optional_string, "must be a string or None", False),
    ("LOGIN_URL", _is_optional_string, "must be a string or None", False),
    ("REGISTER_URL", _is_optional_string, "must be a string or None", False),
    (
        "DEFAULT_NEXT",
        lambda value: isinstance(value, str) and safe_next(value) == value,
        "must be a path on this site",
        False,
    ),
    (
        "REFRESH_LEEWAY",
        lambda value: _is_number(value) and value >= 0,
        "must be seconds >= 0",
        True,
    ),
    (
        "RECHECK_DELAY",
        lambda value: value is None or (_is_number(value) and 0 <= value <= 30),
        "must be seconds from 0 to 30, or None",
        True,
    ),
    ("REQUIRE_FRESH", lambda value: isinstance(value, bool), "must be True or False", True),
    ("FRESH_FOR", lambda value: _is_number(value) and value > 0, "must be seconds > 0", True),
    ("URL_PREFIX", _is_path, "must be a path starting with /", False),
    (
        "TIMEOUT",
        lambda value: _is_timeout(value),
        "must be seconds > 0, or (connect, read) seconds",
        True,
    ),
    (
        "STATE_MAX_AGE",
        lambda value: isinstance(value, int) and not isinstance(value, bool) and value > 0,
        "must be a whole number of seconds",
        True,
    ),
    (
        "FLOW_LOCALES",
        lambda value: value is None or bool(flow_locales(value)),
        "must be the flow's locales: a list such as ['en-US', 'es-ES'], or 'en-US,es-ES'",
        False,
    ),
    (
        "MESSAGES",
        lambda value: isinstance(value, Mapping),
        "must be a dict of message key to text",
        False,
    ),
    (
        "FLASH_CATEGORIES",
        _is_flash_categories,
        "must be a dict from success, error or info to the category your templates use",
        False,
    ),
)


def flow_locales(value: Any) -> list[str]:
    """The locales of a ``FLOW_LOCALES`` value (empty when it is not one)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        return []
    found = [item.strip().replace("_", "-") for item in items]
    return found if found and all(found) else []


def nearest_locale(wanted: str, available: Sequence[str]) -> str:
    """The locale of ``available`` nearest ``wanted``: the same (in any case), else the first
    of the same language, else the first."""
    lowered = wanted.lower()
    for locale in available:
        if locale.lower() == lowered:
            return locale
    language = lowered.split("-")[0]
    for locale in available:
        if locale.lower().split("-")[0] == language:
            return locale
    return available[0]


def validate(config: Mapping[str, Any]) -> None:
    """Raise one :class:`ConfigError` for all of :func:`problems`, if any."""
    found = problems(config)
    if found:
        raise ConfigError.of(found)


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
