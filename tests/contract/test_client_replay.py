"""Every documented answer, replayed through ``CaptureClient`` and the extension.

The emulator answers each call with one documented body (``answer_next``), over loopback HTTP;
the client must return the documented value or raise the documented exception class, and the
site must flash the documented outcome.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.client import CaptureClient, errors
from flask_capture_link.client.models import LinkedIdentity, Tokens
from flask_capture_link.emulator import CaptureEmulator
from flask_capture_link.outcomes import OUTCOMES, outcome_for
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from ..helpers import form_fields, last_flash, session_tokens, stored_tokens
from . import corpus

LINK = corpus.load("link_account_native")["path"]
UNLINK = corpus.load("unlink_account_native")["path"]
ENTITY = corpus.load("entity")["path"]
TOKEN = corpus.load("oauth_token")["path"]

ANSWERS = corpus.each_answer(*corpus.CALLS)


def call(capture: CaptureClient, name: str, entry: dict[str, Any]) -> Any:
    """Make the call ``name`` with values the canned answer makes irrelevant."""
    if entry.get("grant") == "authorization_code":
        return capture.exchange_code("7n12d0snfps1bb")
    calls = {
        "link_account_native": lambda: capture.link_account("t" * 40, "access-token"),
        "unlink_account_native": lambda: capture.unlink_account("access-token", "http://x/1"),
        "entity": lambda: capture.linked_identities("access-token"),
        "auth_native_traditional": lambda: capture.sign_in("a@example.com", "password"),
        "auth_native": lambda: capture.sign_in_with_token("t" * 40),
        "oauth_token": lambda: capture.refresh("refresh-token", "client-secret"),
    }
    return calls[name]()


@pytest.mark.parametrize(("name", "entry"), ANSWERS, ids=corpus.ids(ANSWERS))
def test_client_makes_of_each_answer_what_the_corpus_says(
    capture: CaptureClient,
    capture_with_secret: CaptureClient,
    emulator: CaptureEmulator,
    name: str,
    entry: dict[str, Any],
) -> None:
    emulator.answer_next(
        corpus.load(name)["path"], corpus.filled(entry["body"]), status=entry["status"]
    )
    expected = entry["client"]
    if expected.get("then"):  # the sign-in's code is exchanged: the exchange is answered too
        then = corpus.answer("oauth_token", expected["then"])
        emulator.answer_next(TOKEN, corpus.filled(then["body"]), status=then["status"])
    needs_secret = expected.get("with_secret") or entry.get("grant") == "authorization_code"
    if needs_secret:
        capture = capture_with_secret
    if "raises" in expected:
        with pytest.raises(errors.CaptureError) as caught:
            call(capture, name, entry)
        assert type(caught.value).__name__ == expected["raises"]
        assert outcome_for(caught.value).message_key == entry["outcome"]
    elif "retries_with" in expected:
        access_token = str(emulator.sign_in(emulator.demo_email)["access_token"])
        emulator.add_identity(emulator.demo_email, "google", "ann")
        [identity] = capture.linked_identities(access_token)  # the emulator's second answer
        assert identity.label == "google.com"  # domain and identifier only
        assert [c.error for c in emulator.calls_to(ENTITY)] == ["unknown_attribute", None]
    elif expected["returns"] is None:
        assert call(capture, name, entry) is None
    elif expected["returns"] == "tokens":
        tokens = call(capture, name, entry)
        assert isinstance(tokens, Tokens)
        assert tokens.access_token == corpus.FILLERS["<string>"]
        if needs_secret:  # a sign-in for a code ends with a refresh token
            assert tokens.refresh_token == corpus.FILLERS["<string>"]
            [exchange] = emulator.calls_to(TOKEN)
            assert exchange.auth_scheme == "Basic" and "code" in exchange.param_names
    else:
        identities = call(capture, name, entry)
        assert all(isinstance(identity, LinkedIdentity) for identity in identities)
        labels = [label.replace("<domain>", "<string>") for label in expected["labels"]]
        assert [identity.label for identity in identities] == [
            corpus.filled(label) for label in labels
        ]


#: What a site without a refresh token shows for an answer whose outcome is an expiry: the
#: session cannot be renewed, so the user signs in again (with its own message).
NOT_RENEWABLE = {"access_token_expired": "session_expired"}


def flashed(client: FlaskClient, key: str) -> None:
    outcome = OUTCOMES[key]
    assert last_flash(client) == (outcome.category, ENGLISH[outcome.message_key])


LINK_ANSWERS = corpus.each_answer("link_account_native")


@pytest.mark.parametrize(("name", "entry"), LINK_ANSWERS, ids=corpus.ids(LINK_ANSWERS))
def test_site_flashes_the_outcome_of_each_link_answer(
    client: FlaskClient, emulator: CaptureEmulator, name: str, entry: dict[str, Any]
) -> None:
    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    session_tokens(client, access_token=access_token)  # no refresh token: nothing is retried
    url = find_token_url(client.get("/").get_data(as_text=True))
    emulator.answer_next(LINK, corpus.filled(entry["body"]), status=entry["status"])

    response = deliver_token(client, url, "b5f21ac796fc5f2d76027a8b8c28366df1b8623c")

    assert response.status_code == 303
    flashed(client, NOT_RENEWABLE.get(entry["outcome"], entry["outcome"]))
    assert len(emulator.calls_to(LINK)) == 1


UNLINK_ANSWERS = corpus.each_answer("unlink_account_native")


@pytest.mark.parametrize(("name", "entry"), UNLINK_ANSWERS, ids=corpus.ids(UNLINK_ANSWERS))
def test_site_flashes_the_outcome_of_each_unlink_answer(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, name: str, entry: dict[str, Any]
) -> None:
    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(
            "{% for i in capture_link_identities() %}{{ capture_link_unlink_button(i) }}"
            "{% endfor %}"
        )

    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    session_tokens(client, access_token=access_token)  # no refresh token: nothing is retried
    emulator.add_identity(emulator.demo_email, "google", "ann")
    # A second way in: without a password sign-in the extension keeps the last identity.
    emulator.add_identity(emulator.demo_email, "facebook", "ann")
    page = client.get("/accounts").get_data(as_text=True)
    first_form = re.search(r"<form.*?</form>", page, re.S)
    assert first_form is not None
    form = form_fields(first_form.group(0))
    emulator.answer_next(UNLINK, corpus.filled(entry["body"]), status=entry["status"])

    response = client.post("/capture-link/unlink", data=form)

    assert response.status_code == 303
    flashed(client, NOT_RENEWABLE.get(entry["outcome"], entry["outcome"]))


REFUSALS = [
    (n, e)
    for n, e in corpus.each_answer("oauth_token")
    if e["outcome"] and e.get("grant") != "authorization_code"
]


@pytest.mark.parametrize(("name", "entry"), REFUSALS, ids=corpus.ids(REFUSALS))
def test_a_refused_refresh_signs_the_user_out_and_is_never_sent_again(
    client: FlaskClient,
    emulator: CaptureEmulator,
    caplog: pytest.LogCaptureFixture,
    name: str,
    entry: dict[str, Any],
) -> None:
    caplog.set_level(logging.INFO, logger="flask_capture_link")
    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    session_tokens(
        client, access_token=access_token, refresh_token="r" * 32, expires_at=time.time() - 5
    )
    emulator.answer_next(TOKEN, corpus.filled(entry["body"]), status=entry["status"])

    url = find_token_url(client.get("/").get_data(as_text=True))
    response = deliver_token(client, url, "b5f21ac796fc5f2d76027a8b8c28366df1b8623c")

    flashed(client, entry["outcome"])
    assert emulator.calls_to(LINK) == []  # the call the user asked for was not made
    stored = stored_tokens(client)
    kept = stored.refresh_token if stored is not None else None
    misconfigured = [r for r in caplog.records if "CAPTURE_LINK_CLIENT_SECRET" in r.getMessage()]
    if entry["refresh"].startswith("dead"):
        assert response.headers["Location"] == "/sign-in"
        assert kept is None
        # The user comes back: the dead refresh token is not sent again.
        client.get("/")
        assert len(emulator.calls_to(TOKEN)) == 1
        assert bool(misconfigured) == ("misconfigured" in entry["refresh"])
        assert all(r.levelno == logging.ERROR for r in misconfigured)
    else:
        assert kept == "r" * 32  # Capture asked to try again later; the token may be good
        assert misconfigured == []


DELIVERIES = corpus.each_request("social_login_token")


@pytest.mark.parametrize(("name", "entry"), DELIVERIES, ids=corpus.ids(DELIVERIES))
def test_site_takes_each_documented_social_login_delivery(
    client: FlaskClient, emulator: CaptureEmulator, name: str, entry: dict[str, Any]
) -> None:
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/").get_data(as_text=True))
    token = emulator.issue_social_token("google", "ann")
    assert len(token) == corpus.load(name)["token"]["length"]
    fields = {**entry.get("form", {}), **entry.get("query", {})}
    sent = token if fields.get("token") == "<token40>" else None

    response = deliver_token(client, url, sent, method=entry["method"])

    answer = corpus.answer(name, entry["expect"])
    assert response.status_code == 303
    flashed(client, answer["outcome"])
    assert len(emulator.calls_to(LINK)) == (1 if answer["calls"] else 0)
