"""No lock-out on unlink (``CaptureLink.unlink_allowed`` and its default): the last
identity of an account that may have no password stays, unless the site's hook says
otherwise; nothing is sent to Capture for a refused unlink."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link import CaptureLink, LinkedIdentity
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import sign_in

from .helpers import UNLINK, last_flash, make_site, race, site_config, unlink_forms

ACCOUNTS = """
{% for identity in capture_link_identities() %}
<li>{{ capture_link_unlink_button(identity, next="/accounts") }}</li>
{% endfor %}
"""


def site(capture_emulator: EmulatorServer, ext: CaptureLink | None = None) -> Flask:
    app = make_site(site_config(capture_emulator), ext)

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)

    return app


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    return site(capture_emulator)


def sign_in_without_password(client: FlaskClient, emulator: CaptureEmulator) -> None:
    """Tokens the site put in the session itself (say, from a social sign-in): whether the
    account has a password is not known."""
    with client.session_transaction() as session:
        session["capture_access_token"] = emulator.sign_in(emulator.demo_email)["access_token"]


def test_last_identity_after_a_password_sign_in_can_go(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    sign_in(client, emulator, emulator.demo_email)  # as store_tokens(client.sign_in(...))
    emulator.add_identity(emulator.demo_email, "google", "ann")
    [form] = unlink_forms(client.get("/accounts").get_data(as_text=True))
    client.post("/capture-link/unlink", data=form)
    assert last_flash(client) == ("success", ENGLISH["unlinked"])
    assert emulator.identities(emulator.demo_email) == []


def test_last_identity_without_a_password_sign_in_stays(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    sign_in_without_password(client, emulator)
    emulator.add_identity(emulator.demo_email, "google", "ann")
    page = client.get("/accounts").get_data(as_text=True)

    assert unlink_forms(page) == []  # the button is disabled and says why
    assert re.search(r"<button[^>]*disabled[^>]*>Unlink ann</button>", page)
    assert ENGLISH["unlink_disabled"] in page

    assert emulator.calls_to(UNLINK) == []


def test_refused_unlink_sends_nothing_to_capture(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    """The page showed an unlink form (a second identity existed); meanwhile the other one
    went: the unlink of what is now the last identity is refused with a clear message."""
    app = site(capture_emulator)
    with app.test_client() as client:
        sign_in_without_password(client, emulator)
        emulator.add_identity(emulator.demo_email, "google", "ann")
        emulator.add_identity(emulator.demo_email, "facebook", "ann")
        first, second = unlink_forms(client.get("/accounts").get_data(as_text=True))
        client.post("/capture-link/unlink", data=second)
        assert last_flash(client) == ("success", ENGLISH["unlinked"])

        response = client.post("/capture-link/unlink", data=first)
        assert response.status_code == 303
        assert response.headers["Location"] == "/accounts"
        assert last_flash(client) == ("error", ENGLISH["unlink_not_allowed"])
        assert len(emulator.calls_to(UNLINK)) == 1  # only the allowed one
        assert len(emulator.identities(emulator.demo_email)) == 1


def test_one_of_two_identities_can_go_without_a_password(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    sign_in_without_password(client, emulator)
    emulator.add_identity(emulator.demo_email, "google", "ann")
    emulator.add_identity(emulator.demo_email, "facebook", "ann")
    forms = unlink_forms(client.get("/accounts").get_data(as_text=True))
    assert len(forms) == 2
    client.post("/capture-link/unlink", data=forms[0])
    assert last_flash(client) == ("success", ENGLISH["unlinked"])
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_the_hook_overrides_the_default(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    ext = CaptureLink()
    seen: list[tuple[str, list[str]]] = []

    @ext.unlink_allowed
    def anything_goes(identity: LinkedIdentity, identities: Sequence[LinkedIdentity]) -> bool:
        seen.append((identity.identifier, [found.identifier for found in identities]))
        return True

    assert ext.unlink_allowed(anything_goes) is anything_goes  # stored and given back
    app = site(capture_emulator, ext)
    with app.test_client() as client:
        sign_in_without_password(client, emulator)
        identifier = emulator.add_identity(emulator.demo_email, "google", "ann")
        [form] = unlink_forms(client.get("/accounts").get_data(as_text=True))
        client.post("/capture-link/unlink", data=form)
        assert last_flash(client) == ("success", ENGLISH["unlinked"])
    assert emulator.identities(emulator.demo_email) == []
    assert seen[-1] == (identifier, [identifier])


def test_a_refusing_hook_keeps_every_identity(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    ext = CaptureLink()
    allowed = {"on": True}

    @ext.unlink_allowed
    def not_google(identity: LinkedIdentity, identities: Sequence[LinkedIdentity]) -> bool:
        return allowed["on"] or identity.domain != "google.com"

    app = site(capture_emulator, ext)
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)  # a password sign-in: the default allows
        emulator.add_identity(emulator.demo_email, "google", "ann")
        emulator.add_identity(emulator.demo_email, "facebook", "ann")
        page = client.get("/accounts").get_data(as_text=True)
        google = next(f for f in unlink_forms(page) if "google" in f["identifier"])
        allowed["on"] = False
        assert len(unlink_forms(client.get("/accounts").get_data(as_text=True))) == 1
        client.post("/capture-link/unlink", data=google)
        assert last_flash(client) == ("error", ENGLISH["unlink_not_allowed"])
    assert emulator.calls_to(UNLINK) == []
    assert len(emulator.identities(emulator.demo_email)) == 2


def test_concurrent_unlinks_of_the_last_two_leave_one(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    # One tab's unlink is slow at Capture; the other's lists the identities meanwhile. Under
    # the account's lock it lists them only after the first changed them, so it sees the last
    # one and refuses (the review's 8 of 14 pairs left the account with no way in).
    sign_in_without_password(client, emulator)
    for identifier in ("ann", "bob"):
        emulator.add_identity(emulator.demo_email, "google", identifier)
    forms = unlink_forms(client.get("/accounts").get_data(as_text=True))
    assert len(forms) == 2
    cookie = client.get_cookie("session")
    assert cookie is not None
    tabs = [app.test_client() for _ in forms]
    for tab in tabs:
        tab.set_cookie("session", cookie.value)
    emulator.set_fault(UNLINK, "latency", seconds=0.3, times=1)

    answers = race(2, lambda i: tabs[i].post("/capture-link/unlink", data=forms[i]))

    assert [answer.status_code for answer in answers] == [303, 303]
    assert len(emulator.identities(emulator.demo_email)) == 1
    assert len(emulator.calls_to(UNLINK)) == 1  # the refused one sent nothing
    flashes = sorted(last_flash(tab)[1] for tab in tabs)
    assert flashes == sorted([ENGLISH["unlinked"], ENGLISH["unlink_not_allowed"]])
