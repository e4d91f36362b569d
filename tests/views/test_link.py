"""The token URL, end to end against the emulator: every outcome a user can meet."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_capture_link import ConfigError, signals
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.storage import TOKENS_KEY
from flask_capture_link.testing import deliver_token, find_token_url, flashes, sign_in

from ..helpers import (
    LINK,
    form_fields,
    last_flash,
    link_calls,
    make_site,
    session_tokens,
    site_config,
    site_with,
    state_of,
)

SEVEN = (
    "access_token",
    "client_id",
    "flow",
    "flow_version",
    "locale",
    "redirect_uri",
    "token",
)


def test_link_succeeds_and_redirects_to_next(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: dict[str, Any]
) -> None:
    url = find_token_url(client.get("/account?next=/account").get_data(as_text=True), "google")
    token = emulator.issue_social_token("google", "alice")

    response = deliver_token(client, url, token)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert response.headers["Cache-Control"] == "no-store"
    assert last_flash(client) == ("success", ENGLISH["success"])
    [call] = emulator.calls_to(LINK)
    assert call.param_names == SEVEN
    assert call.query_param_names == ()
    assert call.stat == "ok"
    assert [p["domain"] for p in emulator.identities(emulator.demo_email)] == ["google.com"]


def test_link_without_next_goes_home(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    response = deliver_token(client, token_url, emulator.issue_social_token("google", "bob"))
    assert response.headers["Location"] == "/"
    assert last_flash(client)[0] == "success"


def test_token_by_get_is_accepted(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    token = emulator.issue_social_token("facebook", "carol")
    response = deliver_token(client, token_url, token, method="GET")
    assert response.status_code == 303
    assert last_flash(client)[0] == "success"
    assert "token" not in response.headers["Location"]


def test_cancel_at_provider_calls_nothing(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: dict[str, Any]
) -> None:
    url = find_token_url(client.get("/account?next=/account").get_data(as_text=True))
    response = deliver_token(client, url, None, method="GET")
    assert response.headers["Location"] == "/account"
    assert last_flash(client) == ("info", ENGLISH["missing_token"])
    assert link_calls(emulator) == 0


def test_open_next_is_refused_when_the_button_is_made(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: dict[str, Any]
) -> None:
    page = client.get("/account?next=//evil.example/").get_data(as_text=True)
    response = deliver_token(
        client, find_token_url(page), emulator.issue_social_token("google", "d")
    )
    assert response.headers["Location"] == "/"


# Not signed in to Capture (bad states: tests/adversarial/test_link_csrf.py) ----------------


def test_no_access_token_sends_to_sign_in_without_calling(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_LOGIN_URL="/sign-in"))
    emulator = capture_emulator.emulator
    with app.test_client() as client:
        url = find_token_url(client.get("/").get_data(as_text=True))
        response = deliver_token(client, url, emulator.issue_social_token("google", "j"))
        assert response.headers["Location"] == "/sign-in"
        assert last_flash(client) == ("error", ENGLISH["missing_access_token"])
    assert link_calls(emulator) == 0


# The bounce --------------------------------------------------------------------------------


def test_cookieless_post_is_bounced_then_links(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    token = emulator.issue_social_token("google", "k")
    with app.test_client() as cross_site:  # a cross-site POST: no session cookie
        bounce = deliver_token(cross_site, token_url, token)
    assert bounce.status_code == 200
    assert bounce.headers["Cache-Control"] == "no-store"
    assert bounce.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in bounce.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in bounce.headers
    page = bounce.get_data(as_text=True)
    assert f'name="token" value="{token}"' in page
    assert 'method="post" action="/capture-link/token"' in page
    assert link_calls(emulator) == 0

    # The page carries a successor of the state: the one in the URL (and the access log) is
    # spent by the cookieless POST itself.
    logged = state_of(token_url)
    found = re.search(r'name="state" value="([^"]+)"', page)
    assert found is not None and found.group(1) != logged
    replay = client.post(
        "/capture-link/token",
        data={"token": token, "state": logged, "capture_link_bounced": "1"},
    )
    assert replay.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    response = client.post(
        "/capture-link/token",
        data={"token": token, "state": found.group(1), "capture_link_bounced": "1"},
    )
    assert response.status_code == 303
    assert last_flash(client)[0] == "success"
    assert link_calls(emulator) == 1


def test_bounce_page_ignores_the_sites_context_processors(
    capture_emulator: EmulatorServer,
) -> None:
    from flask import session

    def add_processor(site: Flask) -> None:
        @site.context_processor
        def counts_visits() -> dict[str, Any]:
            session["visits"] = session.get("visits", 0) + 1
            return {}

    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator), before=add_processor)
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
    with app.test_client() as cross_site:
        bounce = deliver_token(cross_site, url, emulator.issue_social_token("google", "cp"))
    assert bounce.status_code == 200
    assert "Set-Cookie" not in bounce.headers  # the browser's own session survives


def test_second_cookieless_arrival_is_not_bounced_again(
    app: Flask, emulator: CaptureEmulator, token_url: str
) -> None:
    state = state_of(token_url)
    with app.test_client() as cross_site:
        response = cross_site.post(
            "/capture-link/token",
            data={"token": "b" * 40, "state": state, "capture_link_bounced": "1"},
        )
        assert response.status_code == 303
        assert "Set-Cookie" not in response.headers  # the browser's own session is left alone
        assert flashes(cross_site) == []
    assert link_calls(emulator) == 0


@pytest.mark.parametrize("path", ["/capture-link/token", "/capture-link/unlink"])
def test_forged_cookieless_post_does_not_replace_the_session(
    app: Flask, emulator: CaptureEmulator, path: str
) -> None:
    with app.test_client() as cross_site:
        response = cross_site.post(path, data={"token": "<not a token>", "identifier": "x"})
        # The token URL bounces it (checked with the session after); unlink just refuses.
        assert response.status_code == (200 if path.endswith("token") else 303)
        assert "Set-Cookie" not in response.headers
        assert "&lt;not a token&gt;" in response.get_data(as_text=True) or path.endswith("unlink")
    assert emulator.calls == []


def test_head_spends_and_links_nothing(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    parts = urlsplit(token_url)
    token = emulator.issue_social_token("google", "prefetched")
    response = client.head(parts.path + "?" + parts.query + "&token=" + token)
    assert response.status_code == 303
    assert link_calls(emulator) == 0
    deliver_token(client, token_url, token)  # the state and the token still work afterwards
    assert last_flash(client)[0] == "success"


def test_oversized_body_is_a_message_not_an_error(
    app: Flask, client: FlaskClient, token_url: str
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post(urlsplit(token_url).path, data={"token": "x" * 5000})
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])


# Capture's answers -------------------------------------------------------------------------


def test_identity_in_use_elsewhere(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    emulator.add_user("other@example.com", "pw")
    emulator.add_identity("other@example.com", "google", "shared")
    deliver_token(client, token_url, emulator.issue_social_token("google", "shared"))
    assert last_flash(client) == ("error", ENGLISH["unique_violation"])
    assert emulator.identities(emulator.demo_email) == []


def test_used_social_token(client: FlaskClient, emulator: CaptureEmulator, signed_in: Any) -> None:
    token = emulator.issue_social_token("google", "once")
    first = find_token_url(client.get("/").get_data(as_text=True))
    second = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, first, token)
    deliver_token(client, second, token)
    assert last_flash(client) == ("error", ENGLISH["engage_error"])


def test_unknown_access_token_sends_to_sign_in_and_drops_it(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    session_tokens(client, access_token="not-a-real-token")
    url = find_token_url(client.get("/").get_data(as_text=True))
    response = deliver_token(client, url, emulator.issue_social_token("google", "l"))
    assert response.headers["Location"] == "/"  # no login view configured
    assert last_flash(client) == ("error", ENGLISH["invalid_access_token"])
    with client.session_transaction() as session:
        assert TOKENS_KEY not in session


def test_expired_access_token_without_refresh_sends_to_sign_in(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_LOGIN_URL="/sign-in"))
    emulator = capture_emulator.emulator
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        emulator.expire_access_tokens()
        response = deliver_token(client, url, emulator.issue_social_token("google", "m"))
        assert response.headers["Location"] == "/sign-in"
        assert last_flash(client) == ("error", ENGLISH["session_expired"])
        with client.session_transaction() as session:
            assert TOKENS_KEY not in session


@pytest.mark.parametrize(
    ("overrides", "key", "code"),
    [
        ({"CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW": True}, "missing_argument", 100),
        ({"CAPTURE_LINK_FLOW_VERSION": "12345"}, "unexpected_error", 500),
        # The site says its flow has en-GB; it has not.
        (
            {"CAPTURE_LINK_LOCALE": "en-GB", "CAPTURE_LINK_FLOW_LOCALES": None},
            "unexpected_error",
            500,
        ),
        ({"CAPTURE_LINK_CLIENT_ID": "UNPRIVILEGED"}, "permission_error", 403),
    ],
)
def test_configuration_faults_say_try_later_and_log_error(
    capture_emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    overrides: dict[str, Any],
    key: str,
    code: int,
) -> None:
    emulator = capture_emulator.emulator
    if overrides.get("CAPTURE_LINK_CLIENT_ID") == "UNPRIVILEGED":
        overrides = {"CAPTURE_LINK_CLIENT_ID": emulator.unprivileged_client_id}
    app = make_site(site_config(capture_emulator, **overrides))
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "n"))
        assert last_flash(client) == ("error", ENGLISH[key])
    [call] = emulator.calls_to(LINK)
    assert call.code == code
    [record] = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "request_id=" in record.getMessage()
    assert "request_id=None" not in record.getMessage()


# What the site sees ------------------------------------------------------------------------


def test_signals_report_each_outcome(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    with (
        signals.account_linked.connected_to(lambda s, **kw: seen.append(("linked", kw)), app),
        signals.link_failed.connected_to(lambda s, **kw: seen.append(("failed", kw)), app),
    ):
        deliver_token(client, token_url, emulator.issue_social_token("google", "r"))
        deliver_token(client, token_url, emulator.issue_social_token("google", "s"))
    assert [name for name, _ in seen] == ["linked", "failed"]
    assert seen[1][1] == {"error": None, "outcome": "invalid_state"}


def test_a_failing_signal_handler_does_not_change_the_outcome(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    def broken(sender: Any, **extra: Any) -> None:
        raise RuntimeError("handler bug")

    app.testing = False  # in production; under TESTING it is raised (tests/test_signals.py)
    with signals.account_linked.connected_to(broken, app):
        response = deliver_token(client, token_url, emulator.issue_social_token("google", "t"))
    assert response.status_code == 303
    assert last_flash(client)[0] == "success"


def test_no_secret_reaches_any_log(
    client: FlaskClient,
    emulator: CaptureEmulator,
    signed_in: dict[str, Any],
    all_logs: pytest.LogCaptureFixture,
) -> None:
    tokens = [emulator.issue_social_token("google", f"u{i}") for i in range(3)]
    emulator.add_user("other@example.com", "pw")
    emulator.add_identity("other@example.com", "google", "u1")
    for token, fault in zip(tokens, [None, None, "html_502"], strict=True):
        if fault:
            emulator.set_fault(LINK, fault)
        url = find_token_url(client.get("/").get_data(as_text=True))
        deliver_token(client, url, token)
    emulator.expire_access_tokens()
    url = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, url, emulator.issue_social_token("google", "u9"))

    secrets = [*tokens, signed_in["access_token"], signed_in["refresh_token"]]
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in all_logs.records)
    assert all_logs.records, "nothing was logged at DEBUG"
    for secret in secrets:
        assert secret not in text


# Every request that presents a state spends it -------------------------------------------


def replay_is_refused(client: FlaskClient, emulator: CaptureEmulator, token_url: str) -> None:
    """The state of ``token_url``, sent again with a good token: refused, nothing linked."""
    before = link_calls(emulator)
    deliver_token(client, token_url, emulator.issue_social_token("google", "later"))
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert link_calls(emulator) == before


def test_a_replay_is_refused_on_the_page_of_the_button(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    token_url = find_token_url(client.get("/?next=/settings"), "google")
    first = deliver_token(client, token_url, emulator.issue_social_token("google", "once"))
    assert first.headers["Location"] == "/settings"
    replay = deliver_token(client, token_url, emulator.issue_social_token("google", "twice"))
    assert replay.headers["Location"] == "/settings"  # back where the user was, as a success
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])


def test_a_replay_through_the_bounce_is_refused_on_the_page_of_the_button(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    token_url = find_token_url(client.get("/?next=/settings"), "google")
    deliver_token(client, token_url, emulator.issue_social_token("google", "once"))
    parts = urlsplit(token_url)
    with app.test_client() as cross_site:  # Social Login's POST: no cookie of this site
        token = emulator.issue_social_token("google", "again")
        page = cross_site.post(f"{parts.path}?{parts.query}", data={"token": token})
    assert page.status_code == 200  # the bounce page, with a successor that cannot be used
    replay = client.post("/capture-link/token", data=form_fields(page.get_data(as_text=True)))
    assert replay.headers["Location"] == "/settings"
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])


def test_a_cancel_spends_the_state(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    deliver_token(client, token_url, None)
    assert last_flash(client)[1] == ENGLISH["missing_token"]
    replay_is_refused(client, emulator, token_url)
    assert link_calls(emulator) == 0


def test_a_malformed_token_is_not_sent_to_capture_and_spends_the_state(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    response = deliver_token(client, token_url, "<script>" * 10)
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["engage_error"])
    replay_is_refused(client, emulator, token_url)
    assert link_calls(emulator) == 0


def test_a_state_used_for_the_wrong_purpose_is_spent(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    response = client.post(
        "/capture-link/unlink", data={"identifier": "x", "state": state_of(token_url)}
    )
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    replay_is_refused(client, emulator, token_url)
    assert link_calls(emulator) == 0


def test_a_chunked_body_over_64_kib_is_refused_unread(
    client: FlaskClient, emulator: CaptureEmulator, token_url: str
) -> None:
    from io import BytesIO

    from flask_capture_link.views.flow import MAX_BODY

    body = BytesIO(b"token=" + b"a" * (4 * 1024 * 1024))
    parts = urlsplit(token_url)
    response = client.post(
        f"{parts.path}?{parts.query}",
        input_stream=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert body.tell() <= 2 * MAX_BODY  # stopped at the limit, not read to the end
    # The state in its URL was presented, so it is spent too.
    replay_is_refused(client, emulator, token_url)


def test_flash_categories_are_configurable(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    categories = {"error": "danger", "info": "secondary", "success": "ok"}
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_FLASH_CATEGORIES=categories))
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        for token, category in ((None, "secondary"), ("0" * 40, "danger")):
            url = find_token_url(client.get("/account").get_data(as_text=True))
            deliver_token(client, url, token)
            assert last_flash(client)[0] == category
        url = find_token_url(client.get("/account").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "ok"))
        assert last_flash(client) == ("ok", ENGLISH["success"])


@pytest.mark.parametrize("categories", [["danger"], {"warning": "x"}, {"error": 1}])
def test_wrong_flash_categories_name_the_key(
    capture_emulator: EmulatorServer, categories: Any
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_site(site_config(capture_emulator, CAPTURE_LINK_FLASH_CATEGORIES=categories))
    assert raised.value.key == "CAPTURE_LINK_FLASH_CATEGORIES"


@pytest.mark.parametrize(
    ("settings", "raised"),
    [
        ({"TESTING": True}, True),
        ({"TESTING": False, "DEBUG": True}, True),
        ({"TESTING": False, "PROPAGATE_EXCEPTIONS": True}, True),
        ({"TESTING": True, "PROPAGATE_EXCEPTIONS": False}, False),
        ({"TESTING": False}, False),
    ],
)
def test_a_bug_is_raised_where_flask_propagates_exceptions(
    capture_emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    settings: dict[str, Any],
    raised: bool,
) -> None:
    app = site_with(capture_emulator, **settings)
    app.debug = bool(settings.get("DEBUG"))

    def bug(link_request: object) -> None:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr("flask_capture_link.views.link.check_token", bug)
    client = app.test_client()
    client.get("/")  # a session, so the POST is not bounced
    if raised:
        with pytest.raises(ZeroDivisionError):
            client.post("/capture-link/token", data={"token": "x" * 40, "state": "s"})
        return
    response = client.post("/capture-link/token", data={"token": "x" * 40, "state": "s"})
    assert response.status_code == 303  # production: the user sees `unknown`, never a 500
    assert last_flash(client) == ("error", ENGLISH["unknown"])
    assert "unexpected failure in token" in caplog.text
