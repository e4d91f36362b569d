"""Link CSRF, as an attacker would try it: every way to make the token URL link an identity the
user did not choose. Each attempt must end with no link call reaching Capture and the user
seeing the ``invalid_state`` message.

The attacker ("mallory") is a user of the site too: she can get valid states for her own
session, Social Login tokens for her own identities, and a browser of her own. What she does not
have is the victim's session cookie or an unused state issued to it.
"""

from __future__ import annotations

import html
import logging
import re
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, render_template_string, session
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin, login_user
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
from markupsafe import escape

from flask_capture_link import state
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.freshness import sign_in_id as recorded_sign_in
from flask_capture_link.testing import deliver_token, find_token_url, sign_in
from flask_capture_link.views.flow import CONTENT_SECURITY_POLICY

from ..helpers import (
    LINK,
    UNLINK,
    form_fields,
    last_flash,
    link_calls,
    make_site,
    site_config,
    site_with,
    state_of,
)

INVALID = ("error", ENGLISH["invalid_state"])
MALLORY = "mallory@example.com"
SALT = "flask-capture-link.state"
TOKEN_PATH = "/capture-link/token"


@pytest.fixture
def mallory(app: Flask, emulator: CaptureEmulator) -> FlaskClient:
    """The attacker's own browser, signed in to the site as herself."""
    emulator.add_user(MALLORY, "mallory-password")
    browser = app.test_client()
    sign_in(browser, emulator, MALLORY)
    browser.get("/account")  # she uses the site: her session has link states of its own
    return browser


@pytest.fixture
def mallory_token(emulator: CaptureEmulator) -> str:
    """A Social Login token for the attacker's own Google identity."""
    return emulator.issue_social_token("google", "mallory-google")


def refused_because(caplog: pytest.LogCaptureFixture, reason: str) -> bool:
    """Whether the extension logged a refusal for ``reason``."""
    return any(
        "refused" in record.getMessage() and reason in record.getMessage()
        for record in caplog.records
        if record.name.startswith("flask_capture_link")
    )


def assert_refused(browser: Any, emulator: CaptureEmulator, response: Any) -> None:
    """What the user sees and what Capture sees after a refused attempt."""
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).netloc == ""
    assert last_flash(browser) == INVALID
    assert link_calls(emulator) == 0
    assert emulator.identities(emulator.demo_email) == []


# No state, or one the site never made -------------------------------------------------------


def test_token_post_without_state(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any, mallory_token: str
) -> None:
    client.get("/account")  # the victim's session has link states of its own
    response = client.post(TOKEN_PATH, data={"token": mallory_token})
    assert_refused(client, emulator, response)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda real: real[:-3] + ("abc" if real[-3:] != "abc" else "xyz"), id="sig"),
        pytest.param(lambda real: real.rsplit(".", 1)[0], id="signature-removed"),
        pytest.param(
            lambda real: real.split(".", 1)[0] + ".AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
            id="junk-sig",
        ),
        pytest.param(lambda real: "eyJuIjoiYSJ9.Zz.abc", id="made-up"),
        pytest.param(lambda real: "." * 40, id="dots"),
        pytest.param(lambda real: real + real, id="doubled"),
        pytest.param(lambda real: "x" * (state.MAX_STATE_LENGTH + 1), id="oversized"),
        pytest.param(lambda real: "%00" + real, id="nul-prefixed"),
        pytest.param(lambda real: "", id="empty"),
    ],
)
def test_forged_state(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str, mallory_token: str, forge: Any
) -> None:
    forged = forge(state_of(token_url))
    response = client.post(
        TOKEN_PATH, query_string={"state": forged}, data={"token": mallory_token}
    )
    assert_refused(client, emulator, response)


def _payload_for(browser: FlaskClient, key: str, purpose: str = "link") -> dict[str, Any]:
    """The payload an attacker would sign: right fields, digests made with ``key``."""
    import hashlib
    import hmac

    def digest(kind: str, value: str) -> str:
        mac = hmac.new(key.encode(), f"{SALT}.{kind}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:24]

    with browser.session_transaction() as stored:
        record = stored.get(state.SESSION_RECORD) or {"k": "guess"}
        sign_in_id = recorded_sign_in(stored) or ""
    return {
        "n": "forged-nonce",
        "s": digest("session", record["k"]),
        "u": digest("user", f"sign-in:{sign_in_id}"),
        "i": digest("subject", ""),
        "p": purpose,
        "x": "/account",
        "t": time.time(),
    }


def test_state_signed_with_another_key(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str, mallory_token: str
) -> None:
    # Even knowing the session's record and the access token (which an attacker does not),
    # a state signed with any key but the site's is refused.
    payload = _payload_for(client, "attacker's guess at the secret")
    forged = URLSafeTimedSerializer("attacker's guess at the secret", salt=SALT).dumps(payload)
    response = client.post(
        TOKEN_PATH, query_string={"state": forged}, data={"token": mallory_token}
    )
    assert_refused(client, emulator, response)


def test_state_signed_with_the_site_key_but_another_salt(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str, mallory_token: str
) -> None:
    # Other values the site signs with its SECRET_KEY (the session cookie, another extension's
    # tokens) must not pass for a link state.
    payload = _payload_for(client, str(app.secret_key))
    for forged in (
        URLSafeTimedSerializer(str(app.secret_key), salt="cookie-session").dumps(payload),
        URLSafeTimedSerializer(str(app.secret_key)).dumps(payload),
        URLSafeSerializer(str(app.secret_key), salt=SALT).dumps(payload),
    ):
        response = client.post(
            TOKEN_PATH, query_string={"state": forged}, data={"token": mallory_token}
        )
        assert_refused(client, emulator, response)


def test_session_cookie_is_not_a_state(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str, mallory_token: str
) -> None:
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    response = client.post(
        TOKEN_PATH, query_string={"state": cookie.value}, data={"token": mallory_token}
    )
    assert_refused(client, emulator, response)


# Expired ------------------------------------------------------------------------------------


def test_expired_state_by_the_clock(
    capture_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = capture_emulator.emulator
    app = site_with(capture_emulator, CAPTURE_LINK_STATE_MAX_AGE=1)
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/account").get_data(as_text=True))
        time.sleep(2.1)  # itsdangerous counts whole seconds: age 2 > max_age 1
        response = deliver_token(client, url, emulator.issue_social_token("google", "late"))
        assert_refused(client, emulator, response)
    assert refused_because(caplog, "SignatureExpired")


def test_expired_state_with_the_clock_moved(
    client: FlaskClient,
    emulator: CaptureEmulator,
    token_url: str,
    mallory_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_time = time.time
    later = SimpleNamespace(time=lambda: real_time() + 601)  # default max age: 600 s
    monkeypatch.setattr("itsdangerous.timed.time", later)
    monkeypatch.setattr(state, "time", later)
    response = deliver_token(client, token_url, mallory_token)
    assert_refused(client, emulator, response)
    assert refused_because(caplog, "SignatureExpired")


# Replayed -----------------------------------------------------------------------------------


def test_replay_after_success(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str, mallory_token: str
) -> None:
    first = deliver_token(client, token_url, emulator.issue_social_token("google", "mine"))
    assert first.status_code == 303
    assert last_flash(client)[0] == "success"

    response = deliver_token(client, token_url, mallory_token)

    assert response.status_code == 303
    assert last_flash(client) == INVALID
    assert link_calls(emulator) == 1
    assert [
        p["profile"]["preferredUsername"] for p in emulator.identities(emulator.demo_email)
    ] == ["mine"]


@pytest.mark.parametrize("failure", ["unique_violation", "html_502", "engage_error"])
def test_replay_after_failure(
    client: FlaskClient,
    emulator: CaptureEmulator,
    token_url: str,
    mallory_token: str,
    failure: str,
) -> None:
    if failure == "unique_violation":
        emulator.add_user("other@example.com", "pw")
        emulator.add_identity("other@example.com", "google", "taken")
        first_token = emulator.issue_social_token("google", "taken")
    elif failure == "html_502":
        emulator.set_fault(LINK, "html_502", times=1)
        first_token = emulator.issue_social_token("google", "unlucky")
    else:
        first_token = "f" * 40  # well-formed, but no token Social Login issued
    deliver_token(client, token_url, first_token)
    assert last_flash(client)[0] == "error"
    assert last_flash(client) != INVALID

    response = deliver_token(client, token_url, mallory_token)

    assert response.status_code == 303
    assert last_flash(client) == INVALID
    assert link_calls(emulator) == 1
    assert emulator.identities(emulator.demo_email) == []


def test_replay_of_many_used_states(
    capture_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Using many states must not make the oldest usable again (the session once kept a short
    # list of used nonces). Without an access token each use spends its state and calls nothing,
    # so a replay that got through would say "sign in first" instead of "invalid state".
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator))
    with app.test_client() as client:
        urls = [find_token_url(client.get("/").get_data(as_text=True)) for _ in range(20)]
        assert len(set(urls)) == 20
        for url in urls:
            deliver_token(client, url, "a" * 40)
            assert last_flash(client) == ("error", ENGLISH["missing_access_token"])
        for url in urls:
            deliver_token(client, url, "b" * 40)
            assert last_flash(client) == INVALID
    assert emulator.calls == []
    assert refused_because(caplog, "already used")


def test_replay_of_a_victims_used_state_from_the_attackers_browser(
    client: FlaskClient,
    emulator: CaptureEmulator,
    token_url: str,
    mallory: FlaskClient,
    mallory_token: str,
) -> None:
    # A used state leaks (browser history, a proxy log): it is worth nothing anywhere.
    deliver_token(client, token_url, emulator.issue_social_token("google", "mine"))
    deliver_token(mallory, token_url, mallory_token)
    assert last_flash(mallory) == INVALID
    deliver_token(client, token_url, mallory_token)
    assert last_flash(client) == INVALID
    assert link_calls(emulator) == 1


# Issued to someone else, or for something else ----------------------------------------------


def test_state_issued_to_another_user_same_browser(
    client: FlaskClient,
    emulator: CaptureEmulator,
    token_url: str,
    mallory_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The victim's page was open; then Mallory signed in on the same browser (a shared
    # computer): the victim's state must not link her identity to her own account either.
    emulator.add_user(MALLORY, "pw")
    sign_in(client, emulator, MALLORY)
    response = deliver_token(client, token_url, mallory_token)
    assert_refused(client, emulator, response)
    assert emulator.identities(MALLORY) == []
    assert refused_because(caplog, "issued to another user")


def test_state_issued_to_another_flask_login_user(
    capture_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # With Flask-Login the state is bound to the user id; sign a different user into the same
    # session (a site that does not clear the session on sign-in) and the state is refused.
    emulator = capture_emulator.emulator
    emulator.add_user(MALLORY, "pw")

    class User(UserMixin):  # type: ignore[misc]
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    def with_login(app: Flask) -> None:
        manager = LoginManager(app)
        manager.user_loader(User)

        @app.route("/login-as/<email>")
        def login_as(email: str) -> str:
            login_user(User(email))
            session["capture_access_token"] = emulator.sign_in(email)["access_token"]
            return "ok"

    app = make_site(site_config(capture_emulator), before=with_login)
    with app.test_client() as client:
        client.get(f"/login-as/{emulator.demo_email}")
        url = find_token_url(client.get("/account").get_data(as_text=True))
        client.get(f"/login-as/{MALLORY}")
        response = deliver_token(client, url, emulator.issue_social_token("google", "m"))
        assert_refused(client, emulator, response)
    assert refused_because(caplog, "issued to another user")


def test_state_issued_to_another_session(
    emulator: CaptureEmulator, token_url: str, mallory: FlaskClient, mallory_token: str
) -> None:
    # Mallory learns a victim's unused state: it does not work with her session.
    response = deliver_token(mallory, token_url, mallory_token)
    assert_refused(mallory, emulator, response)
    assert emulator.identities(MALLORY) == []


def test_unlink_state_cannot_link(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, signed_in: Any, mallory_token: str
) -> None:
    emulator.add_identity(emulator.demo_email, "facebook", "victim-fb")

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(
            "{% for i in capture_link_identities() %}{{ capture_link_unlink_button(i) }}"
            "{% endfor %}"
        )

    page = client.get("/accounts").get_data(as_text=True)
    [unlink_state] = re.findall(r'name="state" value="([^"]+)"', page)
    response = client.post(
        TOKEN_PATH,
        query_string={"state": html.unescape(unlink_state)},
        data={"token": mallory_token},
    )
    assert response.status_code == 303
    assert last_flash(client) == INVALID
    assert link_calls(emulator) == 0
    assert [p["domain"] for p in emulator.identities(emulator.demo_email)] == ["facebook.com"]


def test_link_state_cannot_unlink(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    identifier = emulator.add_identity(emulator.demo_email, "facebook", "victim-fb")
    response = client.post(
        "/capture-link/unlink", data={"state": state_of(token_url), "identifier": identifier}
    )
    assert response.status_code == 303
    assert last_flash(client) == INVALID
    assert emulator.calls_to(UNLINK) == []
    assert len(emulator.identities(emulator.demo_email)) == 1


# The attack itself: Mallory's valid state and token, delivered by the victim's browser --------


@pytest.fixture
def mallory_state(mallory: FlaskClient) -> str:
    """A state the site really issued: to Mallory's own session, from her own page."""
    return state_of(find_token_url(mallory.get("/account").get_data(as_text=True)))


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_attackers_state_with_the_victims_cookie(
    client: FlaskClient,
    emulator: CaptureEmulator,
    signed_in: Any,
    mallory_state: str,
    mallory_token: str,
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The victim's cookie goes along (a top-level GET carries a SameSite=Lax cookie; a POST
    # carries a cookie without SameSite): the session binding refuses it.
    client.get("/account")
    url = f"http://localhost{TOKEN_PATH}?state={mallory_state}"
    response = deliver_token(client, url, mallory_token, method=method)
    assert_refused(client, emulator, response)
    assert emulator.identities(MALLORY) == []
    assert refused_because(caplog, "issued to another session")


def test_attackers_state_without_the_victims_cookie_is_bounced_then_refused(
    app: Flask,
    client: FlaskClient,
    emulator: CaptureEmulator,
    signed_in: Any,
    mallory_state: str,
    mallory_token: str,
) -> None:
    client.get("/account")
    # The cross-site POST arrives without any cookie: the site answers the bounce page.
    with app.test_client() as cross_site:
        bounce = cross_site.post(
            TOKEN_PATH, query_string={"state": mallory_state}, data={"token": mallory_token}
        )
    assert bounce.status_code == 200
    fields = form_fields(bounce.get_data(as_text=True))
    assert link_calls(emulator) == 0

    # The page submits itself, now same-site: the victim's cookie comes along, and is refused.
    response = client.post(TOKEN_PATH, data={k: html.unescape(v) for k, v in fields.items()})
    assert_refused(client, emulator, response)
    assert emulator.identities(MALLORY) == []


def test_what_an_attacker_gets_from_the_bounce_page(
    app: Flask, emulator: CaptureEmulator, mallory_state: str, mallory_token: str
) -> None:
    hostile_state = mallory_state[:40] + '"><script>alert(1)</script><input name="x'
    with app.test_client() as cross_site:
        bounce = cross_site.post(
            f"{TOKEN_PATH}?next=//evil.example/&state={hostile_state}",
            data={"token": mallory_token},
            headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        )
        page = bounce.get_data(as_text=True)
        # Nothing new for the attacker: no cookie, no state of the site's, only her own values.
        assert "Set-Cookie" not in bounce.headers
        assert bounce.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert bounce.headers["X-Frame-Options"] == "DENY"
        assert bounce.headers["Cache-Control"] == "no-store"
        # Her markup stays text: one script, the page's own; the form posts to the token URL.
        assert page.count("<script>") == 1
        assert "<script>alert(1)" not in page
        # Not even as text: the page carries a successor of the state, never what it was given.
        assert str(escape(hostile_state)) not in page
        assert re.findall(r'<form [^>]*action="([^"]*)"', page) == [TOKEN_PATH]
        assert "evil.example" not in page

        # Re-posting it from her side, still without the victim's cookie, is refused, and
        # starts no session (whose cookie would replace a browser's own).
        again = cross_site.post(
            TOKEN_PATH,
            data={"token": mallory_token, "state": mallory_state, "capture_link_bounced": "1"},
        )
        assert again.status_code == 303
        assert "Set-Cookie" not in again.headers
    assert link_calls(emulator) == 0


def test_bounce_is_not_a_state_oracle(
    app: Flask, emulator: CaptureEmulator, token_url: str, mallory_token: str
) -> None:
    # Forged, valid and used states get the same bounce page: it says nothing about them. The
    # page carries a successor, never the state it was given (that one is in the access log).
    field = re.compile(r'name="state" value="([^"]+)"')
    with app.test_client() as cross_site:
        pages = []
        for value in (state_of(token_url), "forged." + "A" * 60, state_of(token_url)):
            bounce = cross_site.post(
                TOKEN_PATH, query_string={"state": value}, data={"token": mallory_token}
            )
            assert bounce.status_code == 200
            page = bounce.get_data(as_text=True)
            assert value not in page
            successor = field.search(page)
            assert successor is not None
            pages.append(field.sub("STATE", page))
        assert pages[0] == pages[1] == pages[2]
    assert link_calls(emulator) == 0


def test_attack_with_no_session_at_all_never_calls_capture(
    app: Flask, emulator: CaptureEmulator, mallory_state: str, mallory_token: str
) -> None:
    # A victim who is not signed in: bounced, then refused, with no call and no new session.
    victim = app.test_client()
    bounce = victim.post(
        TOKEN_PATH, query_string={"state": mallory_state}, data={"token": mallory_token}
    )
    assert bounce.status_code == 200
    response = victim.post(
        TOKEN_PATH,
        data={"token": mallory_token, "state": mallory_state, "capture_link_bounced": "1"},
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).netloc == ""
    assert "Set-Cookie" not in response.headers
    assert link_calls(emulator) == 0
    assert emulator.identities(emulator.demo_email) == []


def test_every_refusal_is_logged_without_the_state(
    client: FlaskClient,
    emulator: CaptureEmulator,
    token_url: str,
    mallory_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    deliver_token(client, token_url, emulator.issue_social_token("google", "ok"))
    deliver_token(client, token_url, mallory_token)
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refusals and all(r.levelno == logging.WARNING for r in refusals)
    assert all(state_of(token_url) not in r.getMessage() for r in caplog.records)
