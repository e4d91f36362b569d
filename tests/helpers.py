"""What the tests share besides fixtures: a small site using the extension, Capture's endpoint
paths, and the checks many tests make (fixtures live in the ``conftest.py`` files).

The endpoint paths are the emulator's own (``emulator.calls_to(LINK)`` filters by them); the
contract tests pin them to the vendor's documents (``tests/contract/*.json``).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, render_template_string, request
from flask.ctx import RequestContext
from flask.testing import EnvironBuilder, FlaskClient

from flask_capture_link import CaptureLink
from flask_capture_link.client.models import Tokens
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.emulator.capture import (
    ENTITY,
    LINK_ACCOUNT,
    REFRESH,
    SIGN_IN,
    UNLINK_ACCOUNT,
)
from flask_capture_link.testing import flashes

__all__ = [
    "ENTITY",
    "LINK",
    "REFRESH",
    "SIGN_IN",
    "UNLINK",
    "form_fields",
    "last_flash",
    "link_calls",
    "make_site",
    "session_tokens",
    "site_config",
    "site_with",
    "state_of",
    "stored_tokens",
    "unlink_forms",
]

#: Capture's ``link_account_native``, as the emulator records it.
LINK = LINK_ACCOUNT
#: Capture's ``unlink_account_native``, as the emulator records it.
UNLINK = UNLINK_ACCOUNT

_FIELD = re.compile(r'name="(\w+)" value="([^"]*)"')
_UNLINK_FORM = re.compile(r'<form class="capture-link-unlink" method="post".*?</form>', re.S)

PAGE = """
{% for category, message in get_flashed_messages(with_categories=true) %}
<p class="flash {{ category }}">{{ message }}</p>
{% endfor %}
{{ capture_link_button("google", next=request.args.get("next")) }}
{{ capture_link_button("facebook", label="Facebook") }}
"""


def site_config(server: EmulatorServer, **overrides: Any) -> dict[str, Any]:
    """Flask config for a site that uses ``server`` as Capture and Social Login."""
    settings = {
        key: value for key, value in server.settings().items() if key.startswith("CAPTURE_LINK_")
    }
    settings.pop("CAPTURE_LINK_CLIENT_SECRET", None)
    return {"SECRET_KEY": "test secret key", "TESTING": True, **settings, **overrides}


def make_site(
    config: dict[str, Any],
    ext: CaptureLink | None = None,
    *,
    before: Callable[[Flask], object] | None = None,
) -> Flask:
    """A minimal site: ``/`` and ``/account`` render link buttons. ``before(app)`` runs
    before ``init_app`` (to set up other extensions first)."""
    app = Flask(__name__)
    app.config.update(config)
    if before is not None:
        before(app)
    (ext or CaptureLink()).init_app(app)

    @app.route("/")
    def index() -> str:
        return render_template_string(PAGE)

    @app.route("/account")
    def account() -> str:
        return render_template_string(PAGE + "<p>{{ request.path }}</p>")

    @app.route("/sign-in")
    def sign_in_page() -> str:
        return "sign in " + request.args.get("next", "")

    return app


def site_with(server: EmulatorServer, **overrides: Any) -> Flask:
    """:func:`make_site` on ``server`` with config ``overrides``."""
    return make_site(site_config(server, **overrides))


def link_calls(emulator: CaptureEmulator) -> int:
    """How many link calls Capture received."""
    return len(emulator.calls_to(LINK))


def last_flash(client: FlaskClient) -> tuple[str, str]:
    """The last ``(category, message)`` flashed to this browser."""
    found = flashes(client)
    assert found, "nothing was flashed"
    return found[-1]


def state_of(token_url: str) -> str:
    """The ``state`` query value of a token URL."""
    return parse_qs(urlsplit(token_url).query)["state"][0]


def session_tokens(client: FlaskClient, **values: object) -> None:
    """Change the tokens kept in the test client's session (``access_token``,
    ``refresh_token``, ``expires_at``; the others stay), through the app's
    :class:`~flask_capture_link.storage.SessionStorage`: they are sealed, as the extension keeps
    them."""
    with in_session(client):
        ext = client.application.extensions["capture_link"]
        owner = ext.token_owner() or ""
        kept = ext.token_storage.load(owner) or Tokens(access_token="")
        ext.token_storage.save(owner, dataclasses.replace(kept, **values))


def stored_tokens(client: FlaskClient) -> Tokens | None:
    """The tokens the app's storage keeps for the test client's session (by default sealed in
    it, opened with the app's secret key)."""
    with in_session(client):
        ext = client.application.extensions["capture_link"]
        owner = ext.token_owner()
        if owner is None and not ext.token_storage.in_session:
            return None
        found: Tokens | None = ext.token_storage.load(owner or "")
        return found


@contextmanager
def in_session(client: FlaskClient) -> Iterator[None]:
    """A request context of the test client's own session (changes are kept)."""
    app = client.application
    with client.session_transaction() as session:
        builder = EnvironBuilder(app)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        with app.app_context(), RequestContext(app, environ, session=session):
            yield


def form_fields(page: str) -> dict[str, str]:
    """The ``name="…" value="…"`` pairs of ``page`` (a form's hidden fields, say), as written:
    escaped values stay escaped."""
    return dict(_FIELD.findall(page))


def unlink_forms(page: str) -> list[dict[str, str]]:
    """The fields of each unlink button on ``page`` that can be pressed (a disabled one is no
    form), in page order."""
    return [form_fields(form) for form in _UNLINK_FORM.findall(page)]


def race(count: int, work: Callable[[int], Any], *, timeout: float = 60) -> list[Any]:
    """``work(i)`` on ``count`` threads released together; each result (or the exception it
    raised, for the caller's assertions), all within ``timeout`` seconds."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait(10)
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads)
    return results


def change_tokens(client: Any, **changes: object) -> None:
    """Replace fields (``access_token``, ``refresh_token``, ``expires_at``) of the tokens the
    app's token storage keeps for the test client's session, through that storage."""
    app = client.application
    with (
        client.session_transaction() as session,
        app.app_context(),
        RequestContext(app, _environ_of(client), session=session),
    ):
        ext = app.extensions["capture_link"]
        owner = ext.token_owner() or ""
        stored = ext.token_storage.load(owner)
        assert stored is not None, "no tokens are stored for this session"
        ext.token_storage.save(owner, dataclasses.replace(stored, **changes))  # type: ignore[arg-type]


def _environ_of(client: Any) -> dict[str, Any]:
    builder = EnvironBuilder(client.application)
    try:
        return builder.get_environ()
    finally:
        builder.close()
