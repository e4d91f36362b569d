"""A notice on every change (signals.py): what ``account_linked`` and ``account_unlinked``
carry, the example site's notice in its log, and the docs' mail handler, run for real
against a small SMTP server."""

from __future__ import annotations

import email
import logging
import re
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix

import example_app
from flask_capture_link import signals
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url

from .helpers import ENTITY, form_fields, last_flash, unlink_forms

ROOT = Path(__file__).resolve().parents[1]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

ACCOUNTS = """
{% for identity in capture_link_identities() %}
{{ capture_link_unlink_button(identity, next="/accounts") }}
{% endfor %}
"""


@pytest.fixture
def app(app: Flask) -> Flask:
    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)

    return app


def recorded(signal: Any, app: Flask) -> Any:
    seen: list[dict[str, Any]] = []
    return seen, signal.connected_to(lambda sender, **kw: seen.append(kw), app)


def assert_just_now(moment: datetime) -> None:
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - moment) < timedelta(seconds=30)


def test_account_linked_carries_a_notice(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    emulator.add_identity(emulator.demo_email, "facebook", "old")
    token = emulator.issue_social_token("google", "ann", display_name="Ann Example")
    seen, connected = recorded(signals.account_linked, app)
    with connected:
        client.environ_base["HTTP_USER_AGENT"] = BROWSER
        deliver_token(client, token_url, token)
    assert last_flash(client)[0] == "success"
    [notice] = seen
    assert notice["identity"].domain == "google.com"
    assert (notice["provider"], notice["label"]) == ("google.com", "Ann Example")
    assert (notice["ip"], notice["user_agent"]) == ("127.0.0.1", BROWSER)
    assert notice["next"] is None  # the keyword sites already used
    assert_just_now(notice["time"])


def test_a_notice_label_shows_no_bidi_or_control_characters(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    """The review: a display name with U+202E reached the "was linked" notice as is, where it
    reverses the text after it ("...moc.elgoog" reads as another provider)."""
    name = "Ann\u202e moc.elgoog\u2066\u200b\r\nBcc: x@evil.example\x00"
    token = emulator.issue_social_token("google", "ann", display_name=name)
    seen, connected = recorded(signals.account_linked, app)
    with connected:
        deliver_token(client, token_url, token)
    [notice] = seen
    assert notice["label"] == "Ann moc.elgoogBcc: x@evil.example"
    assert notice["identity"].label == name  # the identity itself as Capture has it


def test_a_label_of_nothing_but_controls_is_none() -> None:
    assert signals.shown("\u202e\u200f\n") is None
    assert signals.shown(None) is None
    assert signals.shown("Zoë 😀") == "Zoë 😀"


def test_account_unlinked_carries_a_notice(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    identifier = emulator.add_identity(emulator.demo_email, "google", "ann")
    page = client.get("/accounts").get_data(as_text=True)
    form = form_fields(page)
    seen, connected = recorded(signals.account_unlinked, app)
    with connected:
        client.post("/capture-link/unlink", data=form, headers={"User-Agent": BROWSER})
    [notice] = seen
    assert notice["identifier"] == identifier  # the keyword sites already used
    assert notice["identity"].identifier == identifier
    assert (notice["provider"], notice["label"]) == ("google.com", "ann")
    assert (notice["ip"], notice["user_agent"], notice["next"]) == (
        "127.0.0.1",
        BROWSER,
        "/accounts",
    )
    assert_just_now(notice["time"])


def test_behind_a_proxy_the_ip_is_the_client_s(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    seen, connected = recorded(signals.account_linked, app)
    with connected:
        path = token_url.split("localhost", 1)[-1]
        client.post(
            path,
            data={"token": emulator.issue_social_token("google", "ann")},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    assert seen[0]["ip"] == "203.0.113.9"


def test_a_handler_for_any_sender_gets_the_notices(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    seen: list[tuple[str, Any, dict[str, Any]]] = []

    def record(name: str) -> Any:
        return lambda sender, **notice: seen.append((name, sender, notice))

    on_link, on_unlink = record("linked"), record("unlinked")
    with (
        signals.account_linked.connected_to(on_link),  # no sender: every app's
        signals.account_unlinked.connected_to(on_unlink),
    ):
        deliver_token(client, token_url, emulator.issue_social_token("google", "ann"))
        client.post("/capture-link/unlink", data=form_fields(client.get("/accounts").text))
    [linked, unlinked] = seen
    assert linked[:2] == ("linked", app) and linked[2]["identity"].domain == "google.com"
    assert unlinked[:2] == ("unlinked", app)
    assert unlinked[2]["identity"] == linked[2]["identity"]


def test_a_handler_for_another_app_gets_nothing(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    seen, connected = recorded(signals.account_linked, Flask("another site"))
    with connected:
        deliver_token(client, token_url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client)[0] == "success"
    assert seen == []


def test_no_handler_no_extra_call(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    """The identities are listed for a notice only when someone listens."""
    app = client.application
    assert not signals.account_linked.has_receivers_for(app)
    before = len(emulator.calls_to(ENTITY))
    deliver_token(client, token_url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client)[0] == "success"
    assert len(emulator.calls_to(ENTITY)) == before


def test_a_notice_without_the_identity_when_capture_cannot_say(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    emulator.set_fault(ENTITY, "html_502")
    seen, connected = recorded(signals.account_linked, app)
    with connected:
        deliver_token(client, token_url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client)[0] == "success"  # linked all the same
    assert (seen[0]["identity"], seen[0]["label"], seen[0]["provider"]) == (None, None, None)


# The example site and the docs ------------------------------------------------------------


def example_site(capture_emulator: EmulatorServer, **config: Any) -> Flask:
    settings = capture_emulator.settings()
    site_config = {k: v for k, v in settings.items() if k.startswith("CAPTURE_LINK_")}
    site_config.update(SECRET_KEY="notice tests", TESTING=True, **config)
    return example_app.create_app(site_config)


def sign_in_and_link(client: FlaskClient, emulator: CaptureEmulator) -> None:
    """Sign in on the example site's form, and link Google from the connected-accounts page."""
    token = CSRF_FIELD.search(client.get("/login").get_data(as_text=True))
    assert token is not None
    client.post(
        "/login",
        data={
            "email": emulator.demo_email,
            "password": emulator.demo_password,
            "csrf_token": token.group(1),
        },
    )
    url = find_token_url(client.get("/account").get_data(as_text=True), "google")
    social = emulator.issue_social_token("google", "ann", display_name="Ann Example")
    deliver_token(client, url, social)
    assert last_flash(client)[0] == "success"


def test_the_example_site_logs_a_notice(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="example_app.notices")
    client = example_site(capture_emulator).test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    sign_in_and_link(client, emulator)
    [notice] = [r.getMessage() for r in caplog.records if r.name == "example_app.notices"]
    assert notice.startswith(f"Notice To {emulator.demo_email}: Ann Example (google.com) was ")
    assert "linked to your account" in notice
    assert f"from 127.0.0.1 ({BROWSER})" in notice


def test_the_example_site_logs_a_notice_of_an_unlink(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="example_app.notices")
    client = example_site(capture_emulator).test_client()
    sign_in_and_link(client, emulator)
    page = client.get("/account").get_data(as_text=True)
    forms = unlink_forms(page)
    assert forms
    fields = forms[0]
    client.post("/capture-link/unlink", data=fields)
    assert emulator.identities(emulator.demo_email) == []
    notices = [r.getMessage() for r in caplog.records if r.name == "example_app.notices"]
    assert len(notices) == 2
    assert "Ann Example (google.com) was removed from your account on " in notices[1]


def test_the_demo_prints_notices(capsys: pytest.CaptureFixture[str]) -> None:
    from example_app.demo import show_notices

    logger = logging.getLogger("example_app.notices")
    handlers, level = list(logger.handlers), logger.level
    try:
        show_notices()
        logger.info("Notice To someone: something changed")
    finally:
        logger.handlers[:], logger.level = handlers, level
    assert "Notice To someone: something changed" in capsys.readouterr().out


class SMTPServer:
    """Just enough SMTP for ``smtplib`` to send one message: the messages are kept."""

    def __init__(self) -> None:
        received: list[Message] = []
        self.received = received

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 test SMTP\r\n")
                data: list[bytes] | None = None
                for line in self.rfile:
                    if data is not None:
                        if line.rstrip(b"\r\n") == b".":
                            received.append(email.message_from_bytes(b"".join(data)))
                            data = None
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            data.append(line[1:] if line.startswith(b"..") else line)
                        continue
                    command = line.strip().upper()
                    if command == b"DATA":
                        data = []
                        self.wfile.write(b"354 go ahead\r\n")
                    elif command == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    yield server
    server.stop()


def docs_mail_handler() -> str:
    """The mail handler of "Sensitive actions" in docs/security.md, as printed there."""
    docs = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- notice-mail:[^>]*-->\s*```python\n(.*?)```", docs, re.S)
    assert found is not None, "docs/security.md's mail handler is missing"
    lines = found.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines)


def test_the_docs_mail_handler_sends_the_notice(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, smtp_server: SMTPServer
) -> None:
    snippet = docs_mail_handler()
    assert len([line for line in snippet.splitlines() if line.strip()]) <= 20
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "docs/security.md", "exec"), namespace)  # noqa: S102 - the docs' code
    handler = namespace["mail_notice"]
    try:
        app = example_site(
            capture_emulator,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=smtp_server.port,
            MAIL_FROM="security@example.com",
        )
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BROWSER
        sign_in_and_link(client, emulator)
    finally:
        signals.account_linked.disconnect(handler)
        signals.account_unlinked.disconnect(handler)
    [mail] = smtp_server.received
    assert mail["To"] == emulator.demo_email
    assert mail["Subject"] == "A sign-in method was added to your account"
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = " ".join(payload.decode().split())
    assert "Ann Example (google.com) was added to your account on " in body
    assert f"from 127.0.0.1 ({BROWSER})" in body


def signals_docs_example() -> str:
    page = (Path(__file__).resolve().parents[1] / "docs" / "signals.md").read_text("utf-8")
    found = re.search(r"```python\n(.*?)```", page, re.S)
    assert found is not None
    return found.group(1)


def docs_example_site(capture_emulator: EmulatorServer, **config: Any) -> Flask:
    """A Flask-Login site with the docs' handler connected, as a reader copies it."""
    from flask_login import LoginManager, UserMixin

    from flask_capture_link import CaptureLink

    from .helpers import make_site, site_config

    class User(UserMixin):
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    def with_login(app: Flask) -> None:
        LoginManager(app).user_loader(User)

    app = make_site(site_config(capture_emulator, **config), CaptureLink(), before=with_login)
    namespace: dict[str, Any] = {"app": app}
    exec(compile(signals_docs_example(), "docs/signals.md", "exec"), namespace)  # noqa: S102
    app.extensions["docs_user"] = User
    return app


def test_the_docs_handler_runs_on_a_link(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    from flask_capture_link.testing import sign_in

    app = docs_example_site(capture_emulator)
    email_address = emulator.demo_email
    with app.test_client() as client, caplog.at_level(logging.INFO):
        sign_in(client, emulator, email_address, user=app.extensions["docs_user"](email_address))
        url = find_token_url(client.get("/account"), "google")
        deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert f"user {email_address} linked an identity" in caplog.text


def test_a_failing_handler_is_raised_under_testing_and_logged_otherwise(
    capture_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = docs_example_site(capture_emulator)

    def broken(sender: Flask, **extra: Any) -> None:
        raise LookupError("the handler's own bug")

    signals.account_linked.connect(broken, app)
    try:
        with app.test_request_context("/"), pytest.raises(LookupError):
            signals.send(signals.account_linked, next="/")
        app.testing = False
        with app.test_request_context("/"), caplog.at_level(logging.ERROR):
            signals.send(signals.account_linked, next="/")  # logged, not raised
        assert "a account-linked signal handler failed" in caplog.text
    finally:
        signals.account_linked.disconnect(broken, app)
