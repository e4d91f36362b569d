"""``flask capture-link check``: what the extension will do with this app's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import config, integrations
from .client.errors import (
    AccessTokenInvalid,
    CaptureError,
    ClientCredentialsRefused,
    ClientPermissionError,
    RefreshTokenInvalid,
)
from .extension import per_process_warning
from .storage import SessionStorage
from .store import RedisStateStore, redis_failures

#: What to do, by the plain words of a transport failure (see :mod:`.transport`).
_TRANSPORT_HINTS = {
    "name not found": "check the host name in CAPTURE_LINK_DOMAIN",
    "connection refused": "check the port in CAPTURE_LINK_DOMAIN, and that Capture runs there",
    "its certificate is not trusted": "set CAPTURE_LINK_CA_BUNDLE to the CA that signed it",
    "its certificate is for another name": "check the host name in CAPTURE_LINK_DOMAIN",
}


@click.group("capture-link")
def capture_link_cli() -> None:
    """Flask-Capture-Link commands."""


@capture_link_cli.command("check")
@click.option(
    "--ping",
    is_flag=True,
    help="Also call Capture with a dummy access token: an 'invalid access token' answer "
    "proves the domain, client, flow, version and locale are right. With a Redis state "
    "store, also ask Redis, and how it keeps what it holds.",
)
@click.option(
    "--contract",
    is_flag=True,
    help="Also make harmless calls (a link with a made-up Social Login token, an unlink of an "
    "identity the account lacks, /entity, a refresh) and check that each answer has the "
    "shape Capture's documents give (built into the package; docs/conformance.md lists "
    "them with their sources).",
)
@click.option("--email", default=None, help="With --contract: a test account to sign in with.")
@click.option(
    "--password",
    default=None,
    help="With --contract: the test account's password (asked for when --email is given).",
)
@with_appcontext
def check(ping: bool, contract: bool, email: str | None, password: str | None) -> None:
    """Print the effective configuration (secrets masked), the token URL, and what is wrong.
    Exits with status 1 when there is a problem."""
    app = current_app
    for key in sorted(k for k in app.config if k.startswith(config.PREFIX)):
        click.echo(f"{key} = {_shown(key, app.config[key])}")
    with app.test_request_context("/"):
        try:
            token_url = app.extensions["capture_link"].token_url().split("?")[0]
        except Exception as exc:
            click.echo(f"token URL: cannot be built ({type(exc).__name__}: {exc})")
        else:
            if app.config.get("SERVER_NAME"):
                click.echo(f"token URL: {token_url}?state=...")
            else:  # built here for "localhost": the real host is each request's
                path = urlsplit(token_url).path
                click.echo(
                    f"token URL: <scheme and host of each request>{path}?state=... "
                    "(SERVER_NAME is not set; Social Login's domain whitelist must hold the "
                    "host your users reach)"
                )
                click.echo(
                    "warning: the token URL's host comes from each request's Host header (or "
                    "X-Forwarded-Host behind ProxyFix), which the client chooses: a forged "
                    "one makes buttons whose token URL leads to another site, and a cache may "
                    "hand such a page to others. Set SERVER_NAME (and PREFERRED_URL_SCHEME) "
                    "to the public host, or have your proxy overwrite Host and "
                    "X-Forwarded-Host"
                )
    for line in _token_lines(app.config):
        click.echo(line)
    ext = app.extensions["capture_link"]
    storage = ext.token_storage
    for line in describe_freshness(
        app,
        uses_access_token_loader=ext.has_access_token_loader,
        token_storage=None if type(storage) is SessionStorage else type(storage).__name__,
    ):
        click.echo(line)
    problems = [str(problem) for problem in config.problems(app.config)]
    if not app.config.get(config.PREFIX + "SOCIAL_LOGIN_URL"):
        problems.append(
            "CAPTURE_LINK_SOCIAL_LOGIN_URL: not set; capture_link_button needs it "
            "(the JavaScript widget does not)"
        )
    problems.extend(_store_problems())
    if ping and not problems:
        problems.extend(_ping())
        problems.extend(_token_ping())
        problems.extend(_redis_ping())
    if contract and not problems:
        if email and not password:
            password = click.prompt("password of the test account", hide_input=True)
        problems.extend(_contract(email, password))
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("ok: no problem found")


def _shown(key: str, value: object) -> str:
    if value and key.removeprefix(config.PREFIX) in config.SECRET_KEYS:
        return "****** (set)"
    if key == config.PREFIX + "REDIS_URL" and isinstance(value, str):
        return repr(_without_password(value))
    return repr(value)


def _without_password(url: str) -> str:
    """``url`` with its password masked, in the user part or in the query (redis-py reads
    ``?password=`` too)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not a URL)"
    if parts.password is not None:
        netloc = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{parts.username or ''}:******@{netloc[2]}")
    if parts.query:
        fields = parse_qsl(parts.query, keep_blank_values=True)
        masked = [(k, "******" if k.lower() == "password" else v) for k, v in fields]
        parts = parts._replace(query=urlencode(masked, safe="*"))
    return parts.geturl()


def _store_problems() -> list[str]:
    """Where link states are spent, and a problem when that is per process but several worker
    processes are likely (see :func:`flask_capture_link.integrations.likely_many`)."""
    source = current_app.extensions["capture_link"].state_store_source()
    if source is not None:
        click.echo(f"state store: Redis ({source}); single use holds across processes")
        return []
    click.echo("state store: this process's memory; single use holds within one process")
    many = integrations.likely_many()
    return [f"CAPTURE_LINK_REDIS_URL: {per_process_warning(many)}"] if many else []


def _ping() -> list[str]:
    client = current_app.extensions["capture_link"].client
    try:
        client.link_account("0" * 40, "capture-link-check")
    except AccessTokenInvalid:
        click.echo("ping: Capture accepted the client, flow and locale")
        return []
    except ClientPermissionError as error:
        return [
            f"Capture answered: {error}",
            "check CAPTURE_LINK_CLIENT_ID: an API client with the login_client feature",
        ]
    except CaptureError as error:
        if error.error is None and error.code is None:  # no answer from Capture at all
            hints = [hint for words, hint in _TRANSPORT_HINTS.items() if words in str(error)]
            return [error.description, *hints[:1]]
        return [f"Capture answered: {error}"]
    return ["Capture linked with a dummy access token; is CAPTURE_LINK_DOMAIN really Capture?"]


def _token_lines(app_config: Mapping[str, Any]) -> list[str]:
    """How the users' tokens are got and how long a sign-in lasts, for ``app_config``."""
    if not app_config.get(config.PREFIX + "CLIENT_SECRET"):
        return [
            "tokens: sign-ins get an access token only (response_type=token), which Capture "
            "ends after an hour; users then sign in again. For refresh tokens (sign-ins that "
            "last), set CAPTURE_LINK_CLIENT_SECRET to the secret of an API client that may call "
            "/oauth/token (and CAPTURE_LINK_TOKEN_CLIENT_ID to its id, when that is not "
            "CAPTURE_LINK_CLIENT_ID)"
        ]
    token_client = app_config.get(config.PREFIX + "TOKEN_CLIENT_ID") or app_config.get(
        config.PREFIX + "CLIENT_ID"
    )
    return [
        "tokens: sign-ins get an authorization code (response_type=code), exchanged at "
        f"/oauth/token by API client {token_client!r} for an access token (an hour) and a "
        "refresh token; access tokens are refreshed, so a sign-in lasts as long as the refresh "
        "token and the site's session"
    ]


def _token_ping() -> list[str]:
    """With a client secret: a refresh with a made-up refresh token. Capture's refusal of the
    token proves the token client's id and secret; a refusal of the client names the fix."""
    client = current_app.extensions["capture_link"].client
    if not client.client_secret:
        return []
    try:
        client.refresh("capture-link-check-" + "0" * 21)
    except ClientCredentialsRefused as error:
        return [
            f"Capture refused the token client's credentials: {error}",
            "check CAPTURE_LINK_CLIENT_SECRET (and CAPTURE_LINK_TOKEN_CLIENT_ID): the id and "
            "secret of an API client that may call /oauth/token",
        ]
    except RefreshTokenInvalid:
        click.echo("ping: Capture accepted the token client's credentials at /oauth/token")
        return []
    except CaptureError as error:
        return [f"Capture answered /oauth/token: {error}"]
    return ["Capture refreshed a made-up refresh token; is CAPTURE_LINK_DOMAIN really Capture?"]


def _redis_ping() -> list[str]:
    """With a Redis state store: a problem when Redis cannot be reached, and a note for each
    way it may forget spent states (no persistence, eviction under a memory limit)."""
    store = current_app.extensions["capture_link"].state_store()
    if not isinstance(store, RedisStateStore):
        return []
    client = store.client
    from redis.exceptions import ResponseError  # installed: a client exists

    try:
        client.ping()
    except ResponseError as exc:  # it answered: refused PING (an ACL user without it)
        click.echo(f"ping: the state store's Redis answers ({type(exc).__name__} to PING)")
    except redis_failures() as exc:
        return [
            f"state store: Redis cannot be reached ({type(exc).__name__}: {exc}); no link or "
            "unlink can go through until it can"
        ]
    else:
        click.echo("ping: the state store's Redis answers")
    try:
        settings: dict[str, str] = {}
        for name in ("appendonly", "maxmemory", "maxmemory-policy"):
            settings.update(client.config_get(name))
    except redis_failures() as exc:
        click.echo(
            f"note: Redis does not show its config ({type(exc).__name__}); make sure it keeps "
            "its data across a restart (appendonly yes) and evicts no keys (maxmemory-policy "
            "noeviction): a spent state it forgets can be used once more"
        )
        return []
    forgets = "a state spent in the last CAPTURE_LINK_STATE_MAX_AGE seconds can be used once more"
    if _text(settings.get("appendonly")) != "yes":
        click.echo(
            "note: Redis keeps spent states only in memory (appendonly no); after a restart "
            f"that loses them, {forgets}: set appendonly yes"
        )
    return _memory_problems(settings, shares_sessions=_shares_sessions_redis(client))


#: The fix of a state store whose Redis session traffic can fill or make evict.
_OWN_REDIS = (
    "give link states a Redis of their own (CAPTURE_LINK_REDIS_URL, another redis-server: "
    "another database number of the same server shares its memory) with maxmemory-policy "
    "noeviction"
)


def _memory_problems(settings: Mapping[str, object], *, shares_sessions: bool) -> list[str]:
    """What a Redis memory limit (``maxmemory``, ``maxmemory-policy``) does to spent states:
    an evicting policy forgets them (a state read from an access log links again), and a full
    Redis shared with sessions, which every anonymous page view adds, refuses to spend any."""
    if _text(settings.get("maxmemory")) in ("0", ""):
        return []
    policy = _text(settings.get("maxmemory-policy"))
    if policy != "noeviction":
        return [
            f"state store: Redis evicts keys when full (maxmemory-policy {policy}); a spent "
            "state it evicts can be used once more, and a flood of sessions or other keys "
            f"makes it evict: {_OWN_REDIS}"
            + ("" if shares_sessions else " (or set this one's policy to noeviction)")
        ]
    if shares_sessions:
        return [
            "state store: it shares Flask-Session's Redis, which has a memory limit "
            "(maxmemory, noeviction): sessions, one per anonymous page view, can fill it, and "
            f"then no state can be spent (no link or unlink) and every page fails; {_OWN_REDIS}"
        ]
    return []


def _shares_sessions_redis(client: Any) -> bool:
    """Whether ``client`` talks to the Redis server that holds Flask-Session's sessions."""
    sessions = integrations.flask_session_redis(current_app)
    if sessions is None:
        return False
    if sessions is client:
        return True
    return _server_of(sessions) == _server_of(client) != (None, None, None)


def _server_of(client: Any) -> tuple[object, object, object]:
    """Host, port and socket path of a redis-py client's connections, as far as it says."""
    found = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(found, dict):
        return (None, None, None)
    return (found.get("host"), found.get("port"), found.get("path"))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _contract(email: str | None, password: str | None) -> list[str]:
    from .client.conformance import Check

    client = current_app.extensions["capture_link"].client
    secret = current_app.config.get(config.PREFIX + "CLIENT_SECRET")
    results = Check(client, str(secret) if secret else None).run(email, password)
    for result in results:
        click.echo(result.line())
    differing = [result.call for result in results if not result.ok]
    if not differing:
        return []
    return [f"Capture's answers differ from its documents: {', '.join(differing)}"]


def describe_freshness(
    app: Flask, *, uses_access_token_loader: bool, token_storage: str | None = None
) -> list[str]:
    """What ``flask capture-link check`` says about freshness for ``app``: whether it is
    enforced, and how to enforce it where it is not. ``token_storage`` names the site's own
    :class:`~flask_capture_link.storage.TokenStorage` (``None``: the session's)."""
    fresh_for = app.config["CAPTURE_LINK_FRESH_FOR"]
    if not app.config["CAPTURE_LINK_REQUIRE_FRESH"]:
        return [
            "freshness: NOT enforced (CAPTURE_LINK_REQUIRE_FRESH = False): a stolen or "
            "remembered session can link and unlink; set it to True to ask for a fresh sign-in"
        ]
    manager = integrations.login_manager(app)
    if manager is not None:
        lines = [
            "freshness: Flask-Login's login_fresh() for its users (a session restored from a "
            "remember-me cookie confirms its password before link and unlink)"
        ]
        if not manager.refresh_view and not manager.needs_refresh_callback:
            lines.append(
                "freshness: login_manager.refresh_view is not set; users confirm their "
                "password at the login_view meanwhile"
            )
    else:
        lines = []
    # Without a Flask-Login user (none signed in, or no Flask-Login), store_tokens decides.
    others = "without a Flask-Login user, " if manager is not None else ""
    how = (
        "to enforce it, "
        + ("" if manager is not None else "sign users in with Flask-Login, or ")
        + "keep their tokens with "
        "capture_link.store_tokens(capture_link.client.sign_in(email, password))"
    )
    if uses_access_token_loader:
        lines.append(
            "freshness: NOT enforced where the access token comes from access_token_loader "
            f"without a Flask-Login user (the extension cannot tell when they signed in); {how}"
        )
    else:
        if token_storage is None:
            elsewhere = (
                "tokens the site puts in "
                f"session[{app.config['CAPTURE_LINK_SESSION_KEY']!r}] itself"
            )
        else:
            elsewhere = f"tokens that reach the site's {token_storage} other than by store_tokens"
        lines.append(
            f"freshness: {others}link and unlink need a sign-in stored with store_tokens less "
            f"than {fresh_for} s ago; {elsewhere} carry no sign-in time and are not checked "
            f"(if your site has such tokens: {how})"
        )
    return lines
