"""Faults switched on per endpoint break answers the way a real network and Capture can."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from flask_capture_link.client import CaptureClient
from flask_capture_link.emulator import Call, CaptureEmulator, EmulatorServer
from flask_capture_link.errors import CaptureAnswerLost, CaptureUnavailable, RefreshTokenInvalid

from ..helpers import ENTITY, LINK, REFRESH, UNLINK
from .helpers import REQUEST_ID, CaptureAPI


def post_entity(api: CaptureAPI, timeout: float = 10) -> requests.Response:
    response = api.session.post(
        api.server.url + ENTITY, data={"access_token": "x" * 16}, timeout=timeout
    )
    response.close()
    return response


def test_latency_delays_a_normal_answer(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.set_fault(ENTITY, "latency", seconds=0.3)
    started = time.monotonic()
    response = post_entity(api)
    assert time.monotonic() - started >= 0.3
    assert response.json()["code"] == 413


def test_hang_closes_the_connection_without_an_answer(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.set_fault(ENTITY, "hang", seconds=0.2)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        post_entity(api)
    assert time.monotonic() - started >= 0.2


def test_a_client_read_timeout_fires_during_a_hang(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.set_fault(ENTITY, "hang")
    with pytest.raises(requests.ReadTimeout):
        post_entity(api, timeout=0.2)


def test_clear_faults_releases_a_hanging_request_at_once(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.set_fault("*", "hang")
    errors: list[BaseException] = []

    def call() -> None:
        try:
            post_entity(api)
        except requests.ConnectionError as error:
            errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while not emu.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    emu.clear_faults()
    caller.join(30)
    # The hang (60 s) closed the connection: the client did not reach its own read timeout
    # (10 s, a ReadTimeout, which is no ConnectionError).
    assert not caller.is_alive()
    assert len(errors) == 1
    assert post_entity(api).json()["code"] == 413


def test_drop_breaks_the_connection_mid_answer(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.set_fault(ENTITY, "drop")
    with pytest.raises(requests.ConnectionError):
        post_entity(api)


def test_html_502(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.set_fault(ENTITY, "html_502")
    response = post_entity(api)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("invalid_json", b'{"stat": "ok"'),
        ("json_list", b"[]"),
        ("missing_stat", b'{"ok": true}'),
    ],
)
def test_answers_that_are_not_an_envelope(
    api: CaptureAPI, emu: CaptureEmulator, kind: str, body: bytes
) -> None:
    emu.set_fault(ENTITY, kind)
    response = post_entity(api)
    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/json")
    assert response.content == body


@pytest.mark.parametrize(
    ("kind", "code", "error"),
    [("unknown_code", 999, "mystery_error"), ("unavailable", 510, "api_limit_error")],
)
def test_error_envelopes(
    api: CaptureAPI, emu: CaptureEmulator, kind: str, code: int, error: str
) -> None:
    emu.set_fault(ENTITY, kind)
    body = post_entity(api).json()
    assert (body["stat"], body["code"], body["error"]) == ("error", code, error)
    assert body["error_description"]
    assert REQUEST_ID.fullmatch(body["request_id"])
    assert emu.calls[-1] == Call(ENTITY, "POST", ("access_token",), (), "error", code, error)


def test_faulted_calls_are_recorded(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.set_fault(ENTITY, "html_502")
    post_entity(api)
    emu.set_fault(ENTITY, "drop")
    with pytest.raises(requests.ConnectionError):
        post_entity(api)
    blank = Call(ENTITY, "POST", ("access_token",), (), None, None, None)
    assert emu.calls == [blank, blank]


def test_times_limits_a_fault_to_that_many_calls(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.set_fault(ENTITY, "unavailable", times=2)
    codes = [post_entity(api).json()["code"] for _ in range(3)]
    assert codes == [510, 510, 413]


def test_star_applies_to_every_endpoint_and_a_path_fault_wins(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.set_fault("*", "unavailable")
    emu.set_fault(ENTITY, "unknown_code")
    assert post_entity(api).json()["code"] == 999
    assert api.link("x" * 16, "0" * 40)["code"] == 510
    emu.clear_faults()
    assert api.link("x" * 16, "0" * 40)["code"] == 413
    assert [call.code for call in emu.calls_to(LINK)] == [510, 413]


def test_faults_leave_social_login_pages_alone(
    server: EmulatorServer, emu: CaptureEmulator
) -> None:
    emu.set_fault("*", "html_502")
    url = server.social_login_url + "/google/start"
    with requests.get(url, params={"token_url": "http://127.0.0.1/t"}, timeout=5) as response:
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("endpoint", "kind", "options"),
    [
        (ENTITY, "explode", {}),
        ("entity", "html_502", {}),
        (ENTITY, "latency", {"seconds": -1}),
        (ENTITY, "drop", {"times": 0}),
    ],
)
def test_set_fault_refuses_what_it_cannot_do(
    emu: CaptureEmulator, endpoint: str, kind: str, options: dict[str, float]
) -> None:
    with pytest.raises(ValueError):
        emu.set_fault(endpoint, kind, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "lost"),
    [("acted_502", False), ("acted_garbage", False), ("acted_drop", True)],
)
def test_acted_faults_link_then_lose_the_answer(
    capture: CaptureClient, emu: CaptureEmulator, kind: str, lost: bool
) -> None:
    access_token = str(emu.sign_in(emu.demo_email)["access_token"])
    emu.set_fault(LINK, kind, times=1)

    with pytest.raises(CaptureUnavailable) as raised:
        capture.link_account(emu.issue_social_token("google", "alice"), access_token)

    assert isinstance(raised.value, CaptureAnswerLost) == lost
    # Capture acted: the record shows the link made and Capture's own answer to it.
    [identity] = emu.identities(emu.demo_email)
    assert identity["identifier"] == "https://www.google.com/profiles/alice"
    assert [call.stat for call in emu.calls_to(LINK)] == ["ok"]


def test_acted_drop_unlinks_then_drops_the_connection(
    capture: CaptureClient, emu: CaptureEmulator
) -> None:
    identifier = emu.add_identity(emu.demo_email, "google", "alice")
    access_token = str(emu.sign_in(emu.demo_email)["access_token"])
    emu.set_fault(UNLINK, "acted_drop")

    with pytest.raises(CaptureAnswerLost):
        capture.unlink_account(access_token, identifier)

    assert emu.identities(emu.demo_email) == []


def test_acted_502_on_a_refresh_spends_the_refresh_token(
    capture: CaptureClient, emu: CaptureEmulator
) -> None:
    refresh_token = str(emu.sign_in(emu.demo_email)["refresh_token"])
    emu.set_fault(REFRESH, "acted_502", times=1)

    with pytest.raises(CaptureUnavailable):
        capture.refresh(refresh_token, emu.client_secret)

    # Capture issued new tokens the client never saw: the old refresh token is spent.
    with pytest.raises(RefreshTokenInvalid):
        capture.refresh(refresh_token, emu.client_secret)
    assert [call.stat for call in emu.calls_to(REFRESH)] == ["ok", "error"]
