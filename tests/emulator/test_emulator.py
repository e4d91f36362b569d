"""CaptureEmulator's Python API: seeding, inspection, reset, and use as a plain WSGI app."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from flask_capture_link.emulator import Call, CaptureEmulator
from flask_capture_link.emulator.capture import SIGN_IN

from ..helpers import ENTITY, LINK


@pytest.fixture
def wsgi() -> Client:
    return Client(CaptureEmulator())


def link_form(emu: CaptureEmulator, access_token: str, token: str) -> dict[str, str]:
    return {
        "client_id": emu.client_id,
        "flow": emu.flow,
        "flow_version": emu.flow_version,
        "locale": emu.locales[0],
        "redirect_uri": "https://example.com/",
        "token": token,
        "access_token": access_token,
    }


def test_the_seeded_state() -> None:
    emu = CaptureEmulator()
    assert (emu.flow, emu.flow_version, emu.locales) == (
        "standard",
        "20190618143040022299",
        ("en-US", "es-ES"),
    )
    assert (emu.demo_email, emu.demo_password) == ("demo@example.com", "demo-password")
    assert re.fullmatch(r"[a-z0-9]{32}", emu.client_id)
    assert emu.unprivileged_client_id != emu.client_id
    assert emu.identities(emu.demo_email) == []
    assert emu.calls == []


def test_works_as_a_plain_wsgi_application(wsgi: Client) -> None:
    emu = wsgi.application
    assert isinstance(emu, CaptureEmulator)
    tokens = emu.sign_in(emu.demo_email)
    token = emu.issue_social_token("twitter", "12345")

    answer = wsgi.post(LINK, data=link_form(emu, str(tokens["access_token"]), token))

    assert answer.json == {"stat": "ok"}
    [identity] = emu.identities(emu.demo_email)
    assert (identity["domain"], identity["identifier"]) == (
        "twitter.com",
        "http://twitter.com/account/profile?user_id=12345",
    )
    assert identity["profile"] == {
        "displayName": None,
        "preferredUsername": "12345",
        "name": None,
        "emails": [],
    }


def test_calls_hold_names_never_values(wsgi: Client) -> None:
    emu = wsgi.application
    assert isinstance(emu, CaptureEmulator)
    tokens = emu.sign_in(emu.demo_email)
    token = emu.issue_social_token("google", "alice")
    form = link_form(emu, str(tokens["access_token"]), token)

    wsgi.post(LINK, data=form, query_string={"debug": "1"})

    [call] = emu.calls_to(LINK)
    assert call == Call(
        endpoint=LINK,
        method="POST",
        param_names=tuple(sorted(form)),
        query_param_names=("debug",),
        stat="ok",
        code=None,
        error=None,
    )
    for value in (token, tokens["access_token"], emu.client_id):
        assert str(value) not in repr(emu.calls)
    assert emu.calls_to(ENTITY) == []


def test_calls_is_a_copy(wsgi: Client) -> None:
    emu = wsgi.application
    assert isinstance(emu, CaptureEmulator)
    wsgi.post(ENTITY)
    emu.calls.clear()
    assert len(emu.calls) == 1


def test_reset_returns_to_the_seeded_state() -> None:
    emu = CaptureEmulator()
    emu.add_user("bob@example.com", "pw")
    emu.add_identity(emu.demo_email, "google", "alice")
    access_token = str(emu.sign_in(emu.demo_email)["access_token"])
    emu.set_fault("*", "html_502")
    emu.set_client_default_flow(True)
    emu.advance_clock(10_000)
    wsgi = Client(emu)
    wsgi.post(ENTITY)

    emu.reset()

    assert emu.calls == []
    assert emu.identities(emu.demo_email) == []
    with pytest.raises(ValueError):
        emu.identities("bob@example.com")
    body = wsgi.post(ENTITY, data={"access_token": access_token}).json
    assert body is not None and body["code"] == 413  # no fault, token forgotten
    form = link_form(emu, "x" * 16, "0" * 40)
    del form["flow"]
    body = wsgi.post(LINK, data=form).json
    assert body is not None and body["code"] == 100  # default flow settings off again


def test_add_user_returns_a_uuid_and_refuses_duplicates() -> None:
    emu = CaptureEmulator()
    user_uuid = emu.add_user("bob@example.com", "pw", display_name="Bob")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", user_uuid
    )
    with pytest.raises(ValueError):
        emu.add_user("BOB@example.com", "other")


def test_sign_in_issues_tokens_for_a_user() -> None:
    emu = CaptureEmulator(access_token_lifetime=60)
    tokens = emu.sign_in(emu.demo_email)
    assert set(tokens) == {"access_token", "refresh_token", "expires_in"}
    assert tokens["expires_in"] == 60
    with pytest.raises(ValueError):
        emu.sign_in("nobody@example.com")


def test_social_tokens_are_40_lowercase_hex_and_unique() -> None:
    emu = CaptureEmulator()
    tokens = {emu.issue_social_token("google", "alice") for _ in range(20)}
    assert len(tokens) == 20
    assert all(re.fullmatch(r"[0-9a-f]{40}", token) for token in tokens)
    with pytest.raises(ValueError):
        emu.issue_social_token("Google", "alice")


def test_add_identity_returns_the_identifier_and_keeps_identities_unique() -> None:
    emu = CaptureEmulator()
    emu.add_user("bob@example.com", "pw")
    identifier = emu.add_identity(emu.demo_email, "facebook", "100")
    assert identifier == "http://www.facebook.com/profile.php?id=100"
    with pytest.raises(ValueError):
        emu.add_identity("bob@example.com", "facebook", "100")


def test_the_clock_only_moves_forward() -> None:
    with pytest.raises(ValueError):
        CaptureEmulator().advance_clock(-1)


def test_a_drop_without_a_socket_raises_a_connection_error(wsgi: Client) -> None:
    emu = wsgi.application
    assert isinstance(emu, CaptureEmulator)
    emu.set_fault(ENTITY, "drop")
    with pytest.raises(ConnectionError):
        wsgi.post(ENTITY)
    assert len(emu.calls) == 1


def test_same_client_secret_and_demo_user_at_every_start() -> None:
    def demo_uuid(emu: CaptureEmulator) -> str:
        answer = Client(emu).post(
            ENTITY, data={"access_token": emu.sign_in(emu.demo_email)["access_token"]}
        )
        return str(answer.get_json()["result"]["uuid"])

    first, again, other = CaptureEmulator(), CaptureEmulator(), CaptureEmulator(seed="other")
    ids = [
        (e.client_id, e.client_secret, e.unprivileged_client_id, demo_uuid(e))
        for e in (first, again, other)
    ]
    assert ids[0] == ids[1]
    assert all(a != b for a, b in zip(ids[0], ids[2], strict=True))
    assert re.fullmatch(r"[a-z0-9]{32}", first.client_secret)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids[0][3]
    )
    first.reset()
    assert demo_uuid(first) == ids[0][3]


def test_keeps_only_the_last_calls_when_asked() -> None:
    # A long run (make soak) must not grow the emulator by every call it ever answered.
    emu = CaptureEmulator(keep_calls=3)
    client = Client(emu)
    for _ in range(5):
        client.post(LINK, data={"token": "x"})
    client.get(ENTITY)
    assert [call.endpoint for call in emu.calls] == [LINK, LINK, ENTITY]


def test_expired_tokens_are_dropped_as_new_ones_are_issued() -> None:
    # A long run (make soak) must not grow the emulator by every token it ever issued.
    emu = CaptureEmulator(access_token_lifetime=60, social_token_lifetime=30)
    for n in range(200):
        emu.sign_in(emu.demo_email)  # an access token and a refresh token
        emu.issue_social_token("google", f"user{n}")
    wsgi = Client(emu)
    code_form = {
        "client_id": emu.client_id,
        "flow": emu.flow,
        "flow_version": emu.flow_version,
        "locale": "en-US",
        "redirect_uri": "http://localhost",
        "response_type": "code",
        "form": "signInForm",
        "signInEmailAddress": emu.demo_email,
        "currentPassword": emu.demo_password,
    }
    for _ in range(50):
        assert wsgi.post(SIGN_IN, data=code_form).json["stat"] == "ok"
    assert emu.token_counts() == {
        "access_tokens": 200,
        "refresh_tokens": 200,
        "codes": 50,
        "social_tokens": 200,
    }

    # Past every lifetime: 30 days for refresh tokens, and the hour an expired access token
    # is still answered 414 rather than 413.
    emu.advance_clock(31 * 24 * 3600)
    live = emu.sign_in(emu.demo_email)
    token = emu.issue_social_token("google", "now")

    assert emu.token_counts() == {
        "access_tokens": 1,
        "refresh_tokens": 1,
        "codes": 0,
        "social_tokens": 1,
    }
    link = link_form(emu, str(live["access_token"]), token)
    assert wsgi.post(LINK, data=link).json["stat"] == "ok"


def test_an_expired_access_token_answers_expired_for_an_hour_then_unknown() -> None:
    emu = CaptureEmulator(access_token_lifetime=60)
    access_token = str(emu.sign_in(emu.demo_email)["access_token"])
    wsgi = Client(emu)
    emu.advance_clock(61)
    emu.sign_in(emu.demo_email)  # a sweep: the expired token is still known
    assert wsgi.post(ENTITY, data={"access_token": access_token}).json["code"] == 414
    emu.advance_clock(3600)
    emu.sign_in(emu.demo_email)  # a sweep: now it is forgotten
    assert wsgi.post(ENTITY, data={"access_token": access_token}).json["code"] == 413
