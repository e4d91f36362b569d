"""No secret leaves the server side: the attacks and faults of the other adversarial tests run
with every logger at DEBUG (urllib3's too), and no Social Login token, access token, refresh
token, password or client secret may appear in a log record (message, args, formatted traceback),
an exception's text, a flashed message, a redirect ``Location`` or a response body. The bounce
page is the one exception, and only in its hidden ``token`` and ``state`` fields.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, flash, redirect, render_template_string, request
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request, Response

from flask_capture_link import CaptureLink, signals
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.emulator.faults import KINDS
from flask_capture_link.errors import CaptureError
from flask_capture_link.testing import deliver_token, find_token_url, flashes, sign_in

from ..helpers import (
    LINK,
    REFRESH,
    SIGN_IN,
    UNLINK,
    form_fields,
    make_site,
    session_tokens,
    site_config,
    state_of,
    stored_tokens,
)
from ..processes import free_port

PASSWORD = "correct-horse-battery-staple-42"
#: Every fault the emulator can make but ``latency``, which ``hang`` stands for (both hold the
#: answer past the site's timeout).
FAULT_KINDS = [kind for kind in KINDS if kind != "latency"]
HIDDEN_FIELD = re.compile(r'(<input type="hidden" name="(?:token|state)" value=")[^"]*(")')


@dataclass
class Seen:
    """Everything of the run a person or another system could read, but the session cookie."""

    secrets: set[str] = field(default_factory=set)
    bodies: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    flashes: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    responses: int = 0


class RecordingClient(FlaskClient):
    """A test client that keeps every response's body, Location and flashes in ``seen``."""

    seen: Seen

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        seen = self.seen
        seen.responses += 1
        text = response.get_data(as_text=True)
        if 'id="capture-link-continue"' in text:  # the bounce page: all but its hidden fields
            text = HIDDEN_FIELD.sub(r"\1\2", text)
        seen.bodies.append(text)
        seen.locations.append(response.headers.get("Location", ""))
        seen.flashes.extend(message for _, message in flashes(self))
        return response


def secret_site(server: EmulatorServer, seen: Seen, **overrides: Any) -> Flask:
    """The test site plus a password sign-in form and a connected-accounts page, with the
    client secret set so that expired access tokens are refreshed."""
    emulator = server.emulator
    ext = CaptureLink()
    config = site_config(
        server,
        CAPTURE_LINK_TIMEOUT=(1.0, 0.5),
        CAPTURE_LINK_CLIENT_SECRET=emulator.client_secret,
        **overrides,
    )
    app = make_site(config, ext)

    @app.route("/password", methods=["POST"])
    def password_sign_in() -> Any:
        try:
            ext.store_tokens(ext.client.sign_in(request.form["email"], request.form["password"]))
        except CaptureError as error:
            seen.exceptions.extend([str(error), repr(error), repr(error.fields)])
            logging.getLogger("site").warning("sign-in failed: %s", error, exc_info=True)
            flash(ext.message(error.error or "unknown"), "error")
        return redirect("/accounts", 303)

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(
            "{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}"
            "{% for i in capture_link_identities() %}<li>{{ i.label }}</li>"
            "{{ capture_link_unlink_button(i) }}{% endfor %}"
            '{{ capture_link_button("google") }}'
        )

    def on_failure(sender: Any, error: CaptureError | None = None, **extra: Any) -> None:
        if error is not None:
            seen.exceptions.extend([str(error), repr(error), repr(error.fields)])

    signals.link_failed.connect(on_failure, app, weak=False)
    app.test_client_class = type("SiteClient", (RecordingClient,), {"seen": seen})
    return app


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def every_logger_at_debug(
    all_logs: pytest.LogCaptureFixture,
) -> Iterator[pytest.LogCaptureFixture]:
    for name in (
        "urllib3.connectionpool",
        "flask_capture_link.client.client",
        "site",
        "flask.app",
    ):
        all_logs.set_level(logging.DEBUG, logger=name)
    yield all_logs


def tokens_of(client: FlaskClient, seen: Seen) -> None:
    """Add the tokens the session holds now (after a sign-in or a refresh) to the secrets."""
    stored = stored_tokens(client)
    if stored is not None:
        seen.secrets.add(stored.access_token)
        if stored.refresh_token is not None:
            seen.secrets.add(stored.refresh_token)


def issue(emulator: CaptureEmulator, seen: Seen, provider: str, account: str) -> str:
    token = emulator.issue_social_token(provider, account)
    seen.secrets.add(token)
    return token


def signed_in(client: FlaskClient, emulator: CaptureEmulator, seen: Seen, email: str) -> None:
    answer = sign_in(client, emulator, email)
    seen.secrets.update({str(answer["access_token"]), str(answer["refresh_token"])})


def run_attacks_and_faults(app: Flask, server: EmulatorServer, seen: Seen) -> None:
    """The scenarios of test_link_csrf and test_faults, and sign-in, refresh and unlink."""
    emulator = server.emulator
    emulator.add_user("victim@example.com", PASSWORD)
    emulator.add_user("mallory@example.com", PASSWORD + "-m")
    seen.secrets.update({PASSWORD, PASSWORD + "-m", emulator.client_secret})
    victim, mallory = app.test_client(), app.test_client()

    # Sign in with a password: right, wrong, and while Capture is broken.
    victim.post("/password", data={"email": "victim@example.com", "password": PASSWORD + "x"})
    for kind in ("html_502", "drop", "unknown_code"):
        emulator.set_fault(SIGN_IN, kind, times=1)
        victim.post("/password", data={"email": "victim@example.com", "password": PASSWORD})
    victim.post("/password", data={"email": "victim@example.com", "password": PASSWORD})
    tokens_of(victim, seen)
    signed_in(mallory, emulator, seen, "mallory@example.com")
    mallory.get("/accounts")

    def token_url(browser: FlaskClient) -> str:
        return find_token_url(browser.get("/accounts").get_data(as_text=True))

    # A link, then every attack on the token URL.
    url = token_url(victim)
    deliver_token(victim, url, issue(emulator, seen, "google", "victim"))
    deliver_token(victim, url, issue(emulator, seen, "google", "replayed"))  # replay
    for forged in ("", "x" * 5000, state_of(url)[:-4] + "AAAA"):
        victim.post(f"/capture-link/token?state={forged}", data={"token": "a" * 40})
    deliver_token(mallory, token_url(victim), issue(emulator, seen, "google", "m1"))  # session
    attack_url = token_url(mallory)
    mallory_token = issue(emulator, seen, "google", "mallory")
    deliver_token(victim, attack_url, mallory_token)  # with the victim's cookie
    deliver_token(victim, attack_url, mallory_token, method="GET")
    cross_site = app.test_client()
    bounce = deliver_token(cross_site, attack_url, mallory_token)  # without it
    fields = form_fields(bounce.get_data(as_text=True))
    cross_site.post("/capture-link/token", data=fields)
    victim.post("/capture-link/token", data=fields)

    # Capture's refusals and faults.
    deliver_token(victim, token_url(victim), issue(emulator, seen, "google", "victim"))  # in use
    deliver_token(victim, token_url(victim), "b" * 40)  # engage_error
    for kind in FAULT_KINDS:
        emulator.set_fault(LINK, kind, seconds=5 if kind == "hang" else None, times=1)
        deliver_token(victim, token_url(victim), issue(emulator, seen, "facebook", kind))
        emulator.clear_faults()

    # An expired access token: refreshed (new secrets), then a refresh that fails.
    url = token_url(victim)
    emulator.expire_access_tokens()
    deliver_token(victim, url, issue(emulator, seen, "linkedin", "after-refresh"))
    tokens_of(victim, seen)
    assert "after-refresh" in str(emulator.identities("victim@example.com"))
    url = token_url(victim)
    emulator.expire_access_tokens()
    emulator.set_fault(REFRESH, "html_502", times=1)
    deliver_token(victim, url, issue(emulator, seen, "linkedin", "refresh-broken"))
    victim.post("/password", data={"email": "victim@example.com", "password": PASSWORD})
    tokens_of(victim, seen)
    session_tokens(
        victim, refresh_token="not-a-refresh-token-but-secret", expires_at=time.time() - 1
    )
    seen.secrets.add("not-a-refresh-token-but-secret")
    deliver_token(victim, token_url(victim), issue(emulator, seen, "linkedin", "bad-refresh"))

    # Unlink: fine, then broken, then an identifier that is not linked.
    victim.post("/password", data={"email": "victim@example.com", "password": PASSWORD})
    tokens_of(victim, seen)
    page = victim.get("/accounts").get_data(as_text=True)
    form = form_fields(page)
    emulator.set_fault(UNLINK, "html_502", times=1)
    victim.post("/capture-link/unlink", data=form)
    page = victim.get("/accounts").get_data(as_text=True)
    form = form_fields(page)
    # A second tab's button for the same identity.
    stale = form_fields(victim.get("/accounts").get_data(as_text=True))
    victim.post("/capture-link/unlink", data=form)
    victim.post("/capture-link/unlink", data=stale)  # already unlinked: not_linked


def everything_logged(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in records:
        texts.append(formatter.format(record))  # message, exc_text and stack included
        texts.append(repr(record.msg))
        texts.append(repr(record.args))
    return texts


def assert_nothing_leaked(seen: Seen, logs: list[logging.LogRecord], at_least: int) -> None:
    places = {
        "log": everything_logged(logs),
        "exception": seen.exceptions,
        "flash": seen.flashes,
        "Location": seen.locations,
        "body": seen.bodies,
    }
    assert logs and seen.exceptions and seen.flashes and seen.bodies, "the run saw too little"
    secrets = {secret for secret in seen.secrets if secret}
    assert len(secrets) >= at_least
    for where, texts in places.items():
        for text in texts:
            for secret in secrets:
                assert secret not in text, f"a secret in a {where}: {text[:300]!r}"


@pytest.fixture(autouse=True)
def release_held_requests(capture_emulator: EmulatorServer) -> Iterator[None]:
    yield
    capture_emulator.emulator.clear_faults()


def test_no_secret_in_logs_exceptions_flashes_redirects_or_pages(
    capture_emulator: EmulatorServer,
    every_logger_at_debug: pytest.LogCaptureFixture,
    seen: Seen,
) -> None:
    app = secret_site(capture_emulator, seen)
    run_attacks_and_faults(app, capture_emulator, seen)
    assert seen.responses > 40
    shown = set(seen.flashes)
    for key in ("success", "invalid_state", "unavailable", "unlinked", "not_linked", "unknown"):
        assert ENGLISH[key] in shown, key
    for key in ("engage_error", "missing_access_token", "invalid_credentials"):
        assert ENGLISH[key] in shown, key
    # The victim relinks their own Google identity: told it may be the one listed.
    assert ENGLISH["unique_violation_listed"].replace("{provider}", "Google") in shown
    linked = {
        p["profile"]["preferredUsername"]
        for p in capture_emulator.emulator.identities("victim@example.com")
    }
    assert "victim" in linked and "mallory" not in linked  # the attacks all failed
    assert logging.getLogger("urllib3").isEnabledFor(logging.DEBUG)
    assert any(r.name.startswith("urllib3") for r in every_logger_at_debug.records)
    assert_nothing_leaked(seen, every_logger_at_debug.records, at_least=20)


def test_no_secret_when_capture_is_unreachable(
    capture_emulator: EmulatorServer,
    every_logger_at_debug: pytest.LogCaptureFixture,
    seen: Seen,
) -> None:
    emulator = capture_emulator.emulator
    app = secret_site(
        capture_emulator, seen, CAPTURE_LINK_DOMAIN=f"http://127.0.0.1:{free_port()}"
    )
    client = app.test_client()
    signed_in(client, emulator, seen, emulator.demo_email)
    seen.secrets.update({emulator.client_secret, emulator.demo_password})
    client.post(
        "/password", data={"email": emulator.demo_email, "password": emulator.demo_password}
    )
    url = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, url, issue(emulator, seen, "google", "nowhere"))
    session_tokens(client, expires_at=time.time() - 1)
    url = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, url, issue(emulator, seen, "google", "nowhere-refresh"))
    assert_nothing_leaked(seen, every_logger_at_debug.records, at_least=6)


def test_the_bounce_page_carries_the_token_only_in_its_hidden_field(
    capture_emulator: EmulatorServer, seen: Seen
) -> None:
    emulator = capture_emulator.emulator
    app = secret_site(capture_emulator, seen)
    victim = app.test_client()
    signed_in(victim, emulator, seen, emulator.demo_email)
    url = find_token_url(victim.get("/accounts").get_data(as_text=True))
    token = issue(emulator, seen, "google", "bounced")
    page = deliver_token(app.test_client(), url, token).get_data(as_text=True)
    assert page.count(token) == 1
    assert f'name="token" value="{token}"' in page


def echoing_capture(environ: Any, start_response: Any) -> Any:
    """A Capture that quotes back, in its error answer, every value it was sent."""
    form = Request(environ).form
    sent = " ".join(f"{key}={value}" for key, value in form.items())
    body = {
        "stat": "error",
        "code": 200,
        "error": "invalid_argument",
        "argument_name": "token",
        "error_description": f"cannot use {sent}",
        "request_id": "echo0000000000000",
        "message": [dict(form)],
        "invalid_fields": {"signInForm": [form.get("currentPassword", "")]},
    }
    return Response(json.dumps(body), mimetype="application/json")(environ, start_response)


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, echoing_capture, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_no_secret_when_capture_quotes_it_back(
    capture_emulator: EmulatorServer,
    every_logger_at_debug: pytest.LogCaptureFixture,
    seen: Seen,
    echo_server: str,
) -> None:
    emulator = capture_emulator.emulator
    app = secret_site(capture_emulator, seen, CAPTURE_LINK_DOMAIN=echo_server)
    client = app.test_client()
    signed_in(client, emulator, seen, emulator.demo_email)
    seen.secrets.update({emulator.client_secret, PASSWORD})
    url = find_token_url(client.get("/accounts").get_data(as_text=True))
    deliver_token(client, url, issue(emulator, seen, "google", "echoed"))  # link
    signed_in(client, emulator, seen, emulator.demo_email)
    session_tokens(client, expires_at=time.time() - 1)
    url = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, url, issue(emulator, seen, "google", "echoed-2"))  # refresh
    client.post("/password", data={"email": "someone@example.com", "password": PASSWORD})
    assert any("cannot use" in text for text in seen.exceptions)  # Capture did quote them
    assert_nothing_leaked(seen, every_logger_at_debug.records, at_least=8)
