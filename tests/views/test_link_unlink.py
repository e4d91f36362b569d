"""Connected accounts: listing identities and the unlink endpoint (views.unlink)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link import signals
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.storage import TOKENS_KEY
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from ..helpers import ENTITY, UNLINK, last_flash, make_site, site_config, unlink_forms

ACCOUNTS = """
{% for identity in capture_link_identities() %}
<li>{{ identity.domain }} {{ identity.label }}
{{ capture_link_unlink_button(identity, next="/accounts") }}</li>
{% endfor %}
"""


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    app = make_site(site_config(capture_emulator))

    @app.route("/accounts")
    def accounts() -> str:
        # Listed twice: Capture is still asked once per request.
        return render_template_string(ACCOUNTS + ACCOUNTS)

    return app


def test_list_after_link_and_after_unlink(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: dict[str, Any]
) -> None:
    url = find_token_url(client.get("/").get_data(as_text=True))
    deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    before = len(emulator.calls_to(ENTITY))
    page = client.get("/accounts").get_data(as_text=True)
    assert len(emulator.calls_to(ENTITY)) == before + 1
    assert "google.com" in page
    assert "Unlink" in page
    form = unlink_forms(page)[0]

    response = client.post("/capture-link/unlink", data=form)

    assert response.status_code == 303
    assert response.headers["Location"] == "/accounts"
    assert last_flash(client) == ("success", ENGLISH["unlinked"])
    assert emulator.identities(emulator.demo_email) == []
    assert "google.com" not in client.get("/accounts").get_data(as_text=True)


def test_display_fields_reach_the_page(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: dict[str, Any]
) -> None:
    url = find_token_url(client.get("/").get_data(as_text=True))
    token = emulator.issue_social_token("google", "ann", display_name="Ann Example")
    deliver_token(client, url, token)
    assert "Ann Example" in client.get("/accounts").get_data(as_text=True)


def test_no_access_token_lists_nothing(client: FlaskClient, emulator: CaptureEmulator) -> None:
    assert "<li>" not in client.get("/accounts").get_data(as_text=True)
    assert emulator.calls_to(ENTITY) == []


def linked_form(client: FlaskClient, emulator: CaptureEmulator) -> dict[str, str]:
    emulator.add_identity(emulator.demo_email, "google", "zed")
    return unlink_forms(client.get("/accounts").get_data(as_text=True))[0]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda form: {**form, "state": ""}, id="missing"),
        pytest.param(lambda form: {**form, "state": form["state"][:-3] + "abc"}, id="forged"),
        pytest.param(lambda form: {k: v for k, v in form.items() if k != "state"}, id="absent"),
    ],
)
def test_bad_unlink_state_is_refused(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any, tamper: Any
) -> None:
    form = linked_form(client, emulator)
    client.post("/capture-link/unlink", data=tamper(form))
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert emulator.calls_to(UNLINK) == []
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_replayed_unlink_state_is_refused(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    form = linked_form(client, emulator)
    client.post("/capture-link/unlink", data=form)
    client.post("/capture-link/unlink", data=form)
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert len(emulator.calls_to(UNLINK)) == 1


def test_expired_unlink_state_is_refused(capture_emulator: EmulatorServer) -> None:
    import time

    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_STATE_MAX_AGE=1))

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)

    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        form = linked_form(client, emulator)
        time.sleep(2.1)
        client.post("/capture-link/unlink", data=form)
        assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert emulator.calls_to(UNLINK) == []


def test_unlink_without_an_access_token_calls_nothing(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    # The page was rendered while signed in to Capture; the access token is gone by the time the
    # button is pressed (another tab dropped it): still the user's state, but nothing to call with.
    form = linked_form(client, emulator)
    calls = len(emulator.calls)
    with client.session_transaction() as session:
        session.pop(TOKENS_KEY)
    response = client.post("/capture-link/unlink", data=form)
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["missing_access_token"])
    assert len(emulator.calls) == calls
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_get_is_refused(client: FlaskClient, emulator: CaptureEmulator, signed_in: Any) -> None:
    form = linked_form(client, emulator)
    response = client.get("/capture-link/unlink", query_string=form)
    assert response.status_code == 405
    assert emulator.calls_to(UNLINK) == []


def test_unlinking_what_the_user_does_not_have(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    form = linked_form(client, emulator)
    second_tab = unlink_forms(client.get("/accounts").get_data(as_text=True))[0]
    client.post("/capture-link/unlink", data=form)
    response = client.post("/capture-link/unlink", data=second_tab)  # already gone
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["not_linked"])
    assert emulator.identities(emulator.demo_email) == []


def test_an_unlink_state_removes_only_its_own_identity(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    form = linked_form(client, emulator)
    other = emulator.add_identity(emulator.demo_email, "facebook", "keep")
    client.post("/capture-link/unlink", data={**form, "identifier": other})
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert emulator.calls_to(UNLINK) == []
    assert len(emulator.identities(emulator.demo_email)) == 2


def test_missing_identifier(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    form = linked_form(client, emulator)
    client.post("/capture-link/unlink", data={"state": form["state"]})
    assert last_flash(client) == ("error", ENGLISH["missing_identifier"])
    assert emulator.calls_to(UNLINK) == []


def test_unlink_signal(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    form = linked_form(client, emulator)
    seen: list[dict[str, Any]] = []
    with signals.account_unlinked.connected_to(lambda s, **kw: seen.append(kw), app):
        client.post("/capture-link/unlink", data=form)
    assert len(seen) == 1
    assert seen[0]["identifier"] == form["identifier"]
    assert seen[0]["identity"].identifier == form["identifier"]
    assert (seen[0]["provider"], seen[0]["label"]) == ("google.com", "zed")


def test_listing_errors_can_be_raised(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, signed_in: Any
) -> None:
    from flask_capture_link.errors import CaptureUnavailable

    emulator.set_fault(ENTITY, "html_502")
    with app.test_request_context("/"):
        from flask import session

        session.update({"capture_access_token": signed_in["access_token"]})
        ext = app.extensions["capture_link"]
        assert ext.linked_identities() == []
        with pytest.raises(CaptureUnavailable):
            ext.linked_identities(raise_errors=True)
