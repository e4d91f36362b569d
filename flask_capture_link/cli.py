"""``flask capture-link check``: what the extension will do with this app's settings."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from . import config, freshness
from .errors import AccessTokenInvalid, CaptureError


@click.group("capture-link")
def capture_link_cli() -> None:
    """Flask-Capture-Link commands."""


@capture_link_cli.command("check")
@click.option(
    "--ping",
    is_flag=True,
    help="Also call Capture with a dummy access token: an 'invalid access token' answer "
    "proves the domain, client, flow, version and locale are right.",
)
@with_appcontext
def check(ping: bool) -> None:
    """Print the effective configuration (secrets masked), the token URL, and what is wrong.
    Exits with status 1 when there is a problem."""
    app = current_app
    for key in sorted(k for k in app.config if k.startswith(config.PREFIX)):
        click.echo(f"{key} = {_shown(key, app.config[key])}")
    with app.test_request_context("/"):
        try:
            token_url = app.extensions["capture_link"].token_url().split("?")[0]
            click.echo(f"token URL: {token_url}?state=...")
        except Exception as exc:
            click.echo(f"token URL: cannot be built ({type(exc).__name__}: {exc})")
    ext = app.extensions["capture_link"]
    for line in freshness.describe(
        app, uses_access_token_loader=ext._access_token_loader is not None
    ):
        click.echo(line)
    problems = [str(problem) for problem in config.problems(app.config)]
    if not app.config.get(config.PREFIX + "SOCIAL_LOGIN_URL"):
        problems.append(
            "CAPTURE_LINK_SOCIAL_LOGIN_URL: not set; capture_link_button needs it "
            "(the JavaScript widget does not)"
        )
    if ping and not problems:
        problems.extend(_ping())
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("ok: no problem found")


def _shown(key: str, value: object) -> str:
    if value and key.removeprefix(config.PREFIX) in config.SECRET_KEYS:
        return "****** (set)"
    return repr(value)


def _ping() -> list[str]:
    client = current_app.extensions["capture_link"].client
    try:
        client.link_account("0" * 40, "capture-link-check")
    except AccessTokenInvalid:
        click.echo("ping: Capture accepted the client, flow and locale")
        return []
    except CaptureError as error:
        return [f"Capture answered: {error}"]
    return ["Capture linked with a dummy access token; is CAPTURE_LINK_DOMAIN really Capture?"]
