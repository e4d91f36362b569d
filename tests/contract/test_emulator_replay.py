"""Every documented request, sent to the emulator over loopback: its answer must have the
documented shape (HTTP status, ``stat``, ``code``, ``error``, ``argument_name``, the fields).

The emulator's behaviour comes from the corpus: a request expects an answer by name, and the
answer's shape is the corpus's, held by the same matcher ``check --contract`` uses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from flask_capture_link.client.conformance import shape_problems
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from . import corpus

REQUESTS = corpus.each_request(*corpus.CALLS)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def placeholder_values(server: EmulatorServer, http: requests.Session) -> dict[str, str]:
    """A value for every ``{placeholder}`` of the corpus's requests, from a seeded emulator."""
    emulator: CaptureEmulator = server.emulator
    demo = emulator.demo_email
    tokens = emulator.sign_in(demo)
    access_token = str(tokens["access_token"])
    # The demo user has one identity with display fields, linked as a site would link it.
    linked = emulator.issue_social_token(
        "google", "ann", display_name="Ann Example", email="ann@example.com"
    )
    form = {
        "client_id": emulator.client_id,
        "flow": emulator.flow,
        "flow_version": emulator.flow_version,
        "locale": "en-US",
        "redirect_uri": "http://localhost",
        "token": linked,
        "access_token": access_token,
    }
    assert http.post(server.url + "/oauth/link_account_native", data=form).json()["stat"] == "ok"
    emulator.add_user("bob@example.com", "bob-password")
    emulator.add_identity("bob@example.com", "facebook", "taken")
    emulator.add_user("old@example.com", "old-password")
    expired = str(emulator.sign_in("old@example.com")["access_token"])
    emulator.expire_access_tokens("old@example.com")
    spent = str(emulator.sign_in(demo)["refresh_token"])
    spend = {"grant_type": "refresh_token", "refresh_token": spent}
    auth = (emulator.client_id, emulator.client_secret)
    assert http.post(server.url + "/oauth/token", data=spend, auth=auth).status_code == 200
    sign_in = {
        **form,
        "response_type": "code",
        "form": "signInForm",
        "signInEmailAddress": demo,
        "currentPassword": emulator.demo_password,
    }
    del sign_in["token"], sign_in["access_token"]
    codes = []
    for _ in range(2):
        answer = http.post(server.url + "/oauth/auth_native_traditional", data=sign_in).json()
        codes.append(str(answer["authorization_code"]))
    spend_code = {"grant_type": "authorization_code", "code": codes[1]}
    spend_code["redirect_uri"] = "http://localhost"
    assert http.post(server.url + "/oauth/token", data=spend_code, auth=auth).status_code == 200
    social = {**form, "response_type": "token"}
    del social["access_token"]
    met_380 = []
    for account in ("demo-google", "sam-google"):  # each meets a 380: a merge token
        social["token"] = emulator.issue_social_token("google", account)
        answer = http.post(server.url + "/oauth/auth_native", data=social).json()
        assert answer["code"] == 380
        met_380.append(social["token"])
    return {
        "social_sign_in_token": emulator.issue_social_token("google", "ann"),
        "unlinked_social_token": emulator.issue_social_token("facebook", "newcomer"),
        "email_in_use_token": emulator.issue_social_token("google", "demo-google"),
        "password_merge_token": met_380[0],
        "social_merge_token": met_380[1],
        "existing_provider_token": emulator.issue_social_token("facebook", "sam-facebook"),
        "code": codes[0],
        "spent_code": codes[1],
        "owner_client_id": emulator.owner_client_id,
        "owner_client_secret": emulator.owner_client_secret,
        "unprivileged_client_secret": emulator.unprivileged_client_secret,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "unprivileged_client_id": emulator.unprivileged_client_id,
        "flow": emulator.flow,
        "flow_version": emulator.flow_version,
        "access_token": access_token,
        "expired_access_token": expired,
        "social_token": emulator.issue_social_token("twitter", "12345"),
        "taken_social_token": emulator.issue_social_token("facebook", "taken"),
        "linked_identifier": emulator.identities(demo)[0]["identifier"],  # type: ignore[dict-item]
        "refresh_token": str(tokens["refresh_token"]),
        "spent_refresh_token": spent,
        "email": demo,
        "password": emulator.demo_password,
    }


@pytest.mark.parametrize(("name", "request_entry"), REQUESTS, ids=corpus.ids(REQUESTS))
def test_emulator_answers_each_documented_request_in_the_documented_shape(
    capture_emulator: EmulatorServer,
    http: requests.Session,
    name: str,
    request_entry: dict[str, Any],
) -> None:
    values = placeholder_values(capture_emulator, http)
    sent = corpus.substitute(request_entry, values)
    documented = corpus.answer(name, request_entry["expect"])

    with http.request(
        sent.get("method", "POST"),
        capture_emulator.url + corpus.load(name)["path"],
        data=sent["form"] or None,
        params=sent.get("query"),
        headers=sent.get("headers"),
        auth=tuple(sent["basic"]) if "basic" in sent else None,
    ) as response:
        status, body = response.status_code, response.json()

    problems = shape_problems(
        (documented["status"], documented["body"]),
        status,
        body,
        closed=documented.get("closed", False),
    )
    assert problems == [], f"{request_entry['name']}: {body}"
    # The corpus value of "any string" never stands for an empty one.
    assert all(value != "" for value in body.values() if isinstance(value, str))


TOKEN_URL = "https://site.example/capture-link/token?state=abc"


def test_emulated_social_login_posts_the_single_documented_field(
    capture_emulator: EmulatorServer, http: requests.Session
) -> None:
    delivery = corpus.load("social_login_token")
    [post] = [r for r in delivery["requests"] if r["method"] == "POST"]
    page = http.post(
        capture_emulator.social_login_url + "/google/signin",
        data={"token_url": TOKEN_URL, "identifier": "ann"},
    ).text
    form = re.search(
        r'<form id="token-form" method="(\w+)" action="([^"]*)">(.*?)</form>', page, re.S
    )
    assert form is not None
    assert (form.group(1).upper(), html.unescape(form.group(2))) == ("POST", TOKEN_URL)
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(3))
    assert (
        [name for name, _ in fields] == list(post["form"]) == [delivery["token"]["single_field"]]
    )
    assert len(fields[0][1]) == delivery["token"]["length"]


def test_emulated_social_login_cancel_is_a_get_without_a_token(
    capture_emulator: EmulatorServer, http: requests.Session
) -> None:
    delivery = corpus.load("social_login_token")
    [cancel] = [r for r in delivery["requests"] if r["expect"] == "no token"]
    response = http.get(
        capture_emulator.social_login_url + "/google/cancel",
        params={"token_url": TOKEN_URL},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == TOKEN_URL  # a GET with no token
    assert cancel["method"] == "GET" and cancel["query"] == {}
