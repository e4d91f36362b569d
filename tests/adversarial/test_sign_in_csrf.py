"""Social sign-in and merge under attack: forged, swapped and replayed states sign no one in,
and whatever reaches the merge views ends in a redirect, never a 500 and never a call."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token

from ..views.test_social import AUTH_NATIVE, AUTH_TRADITIONAL, Site, sign_in_url, start_merge


def test_a_forged_sign_in_state_signs_no_one_in(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    site = Site(capture_emulator)
    client = site.client()
    real = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    payload = URLSafeTimedSerializer("test secret key", salt="flask-capture-link.state").loads(
        real.split("state=")[1]
    )
    forged = URLSafeTimedSerializer("not the key", salt="flask-capture-link.state").dumps(payload)
    url = real.split("state=")[0] + "state=" + forged

    deliver_token(client, url, emulator.issue_social_token("facebook", "sam-facebook"))

    assert site.calls == []
    assert emulator.calls_to(AUTH_NATIVE) == []


BODIES = [
    {},
    {"state": ""},
    {"state": "x" * 5000},
    {"state": "garbage", "email": "a@b", "password": "p"},
    {"state": "\x00\udcff", "email": "\x00", "password": "\n"},
    {"email": "a" * 5000, "password": "b" * 5000},
]


@pytest.mark.parametrize("path", ["/capture-link/merge", "/capture-link/merge/cancel"])
@pytest.mark.parametrize("body", BODIES)
def test_the_merge_views_never_fail(
    capture_emulator: EmulatorServer,
    emulator: CaptureEmulator,
    path: str,
    body: dict[str, str],
) -> None:
    site = Site(capture_emulator)
    client = start_merge(site, emulator, "google", "demo-google")
    calls = len(emulator.calls)

    response = client.post(
        path, data={k: v.encode("utf-8", "surrogatepass") for k, v in body.items()}
    )

    assert response.status_code == 303
    assert len(emulator.calls) == calls
    assert emulator.calls_to(AUTH_TRADITIONAL) == []
    assert site.calls == []
