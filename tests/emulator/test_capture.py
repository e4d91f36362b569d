"""The Capture endpoints answer as the vendor specification shows, in its order of checks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from flask_capture_link.emulator import CaptureEmulator

from ..helpers import ENTITY, LINK, REFRESH, SIGN_IN, UNLINK
from .helpers import CaptureAPI, assert_error

GOOGLE_ALICE = "https://www.google.com/profiles/alice"


def engage_error(body: dict[str, object]) -> None:
    assert_error(body, 400, "engage_error", "Unexpected HTTP status code from server: 400")


def test_link_succeeds_and_entity_lists_the_identity(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    access_token = api.access_token()
    token = emu.issue_social_token("google", "alice", display_name="Alice", email="a@example.com")

    assert api.link(access_token, token) == {"stat": "ok"}

    body = api.post(ENTITY, {"access_token": access_token, "type_name": "user"})
    assert body["stat"] == "ok"
    assert body["result"]["email"] == emu.demo_email
    assert body["result"]["displayName"] == "Demo User"
    [identity] = body["result"]["profiles"]
    assert isinstance(identity["id"], int)
    assert (identity["domain"], identity["identifier"]) == ("google.com", GOOGLE_ALICE)
    assert identity["profile"]["displayName"] == "Alice"
    assert identity["profile"]["preferredUsername"] == "alice"
    assert identity["profile"]["emails"] == [
        {"primary": True, "type": None, "value": "a@example.com"}
    ]
    assert identity["verifiedEmail"] == "a@example.com"
    assert identity["accessCredentials"] is None  # the emulator holds no provider secrets
    assert "displayName" not in identity  # display fields live under profile
    assert emu.identities(emu.demo_email) == body["result"]["profiles"]


def test_spec_error_invalid_social_login_token(api: CaptureAPI) -> None:
    engage_error(api.link(api.access_token(), "b5f21ac796fc5f2d76027a8b8c28366df1b8623c"))


def test_spec_error_invalid_access_token(api: CaptureAPI, emu: CaptureEmulator) -> None:
    body = api.link("z0y98xv76u5t4rs3", emu.issue_social_token("google", "alice"))
    assert_error(body, 413, "invalid_access_token", "invalid access token")


def test_spec_error_social_account_already_used_by_another_user(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.add_user("bob@example.com", "bob-password")
    assert api.link(api.access_token(), emu.issue_social_token("google", "alice"))["stat"] == "ok"

    body = api.link(api.access_token("bob@example.com"), emu.issue_social_token("google", "alice"))

    assert_error(body, 361, "unique_violation", "that account already exists")
    assert body["message"] == "That account is already in use."
    assert emu.identities("bob@example.com") == []


def test_spec_error_missing_required_parameters(api: CaptureAPI, emu: CaptureEmulator) -> None:
    token = emu.issue_social_token("google", "alice")
    body = api.link(api.access_token(), token, flow=None)
    assert_error(body, 100, "missing_argument", "missing arguments: flow")


def test_missing_arguments_are_all_named_in_the_listed_order(api: CaptureAPI) -> None:
    body = api.post(LINK, {"client_id": api.emulator.client_id, "locale": "en-US"})
    assert_error(
        body,
        100,
        "missing_argument",
        "missing arguments: flow, flow_version, redirect_uri, token, access_token",
    )


def test_empty_parameters_count_as_missing(api: CaptureAPI) -> None:
    body = api.link(api.access_token(), "", locale="")
    assert_error(body, 100, "missing_argument", "missing arguments: locale, token")


def test_parameters_in_the_query_string_count_as_missing(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    form = api.link_form(api.access_token(), emu.issue_social_token("google", "alice"))
    query = {name: form.pop(name) for name in ("token", "access_token")}

    body = api.post(LINK, form, params=query)

    assert_error(body, 100, "missing_argument", "missing arguments: token, access_token")
    [call] = emu.calls_to(LINK)
    assert call.query_param_names == ("access_token", "token")
    assert "token" not in call.param_names


def test_spec_error_invalid_flow_value(api: CaptureAPI, emu: CaptureEmulator) -> None:
    version = "12345abc-1234-abcd-1234-12345abcde12"
    body = api.link(
        api.access_token(), emu.issue_social_token("google", "a"), flow_version=version
    )
    assert_error(
        body,
        500,
        "unexpected_error",
        f"could not find a flow named 'standard' with version '{version}' and locale 'en-US'",
    )


@pytest.mark.parametrize(
    ("field", "value"), [("flow", "other"), ("flow_version", "HEAD"), ("locale", "fr-FR")]
)
def test_unknown_flow_version_or_locale_is_an_unexpected_error(
    api: CaptureAPI, field: str, value: str
) -> None:
    body = api.link(api.access_token(), "0" * 40, **{field: value})
    assert (body["code"], body["error"]) == (500, "unexpected_error")
    assert f"'{value}'" in body["error_description"]


def test_every_configured_locale_is_accepted(api: CaptureAPI, emu: CaptureEmulator) -> None:
    token = emu.issue_social_token("google", "alice")
    assert api.link(api.access_token(), token, locale="es-ES") == {"stat": "ok"}


def test_spec_error_invalid_api_client_permissions(api: CaptureAPI) -> None:
    body = api.link(api.access_token(), "0" * 40, client_id=api.emulator.unprivileged_client_id)
    assert_error(
        body, 403, "permission_error", "This client does not support log in and registration."
    )


def test_an_unknown_client_is_refused_like_an_unprivileged_one(api: CaptureAPI) -> None:
    body = api.link(api.access_token(), "0" * 40, client_id="1" * 32)
    assert (body["code"], body["error"]) == (403, "permission_error")
    description = str(body["error_description"])
    assert f"The emulator does not know the client_id '{'1' * 32}'" in description
    assert "restarted with other settings" in description
    assert "CAPTURE_LINK_CLIENT_ID" in description


def test_a_refresh_with_an_unknown_client_says_so(api: CaptureAPI) -> None:
    refresh_token = api.emulator.sign_in(api.emulator.demo_email)["refresh_token"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": str(refresh_token),
        "client_id": "2" * 32,
        "client_secret": "x",
    }
    with api.session.post(api.server.url + REFRESH, data=form) as response:
        assert response.status_code == 400  # the OAuth shape of a wrong client secret
        body = response.json()
    assert (body["error"], body["sub_error"]) == ("invalid_request", "invalid_client_credentials")
    assert "does not know the client_id" in str(body["error_description"])


def test_redirect_uri_must_begin_with_http(api: CaptureAPI) -> None:
    body = api.link(api.access_token(), "0" * 40, redirect_uri="ftp://localhost")
    assert (body["code"], body["error"], body["argument_name"]) == (
        200,
        "invalid_argument",
        "redirect_uri",
    )


def test_flow_may_be_omitted_only_when_the_client_has_default_flow_settings(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    access_token = api.access_token()
    without_flow = {"flow": None, "flow_version": None}
    body = api.link(access_token, emu.issue_social_token("google", "a"), **without_flow)
    assert body["error_description"] == "missing arguments: flow, flow_version"

    emu.set_client_default_flow(True)
    assert api.link(access_token, emu.issue_social_token("google", "a"), **without_flow) == {
        "stat": "ok"
    }


@pytest.mark.parametrize(
    ("broken", "code"),
    [
        ({"flow": None, "client_id": "unprivileged"}, 100),
        ({"client_id": "unprivileged", "flow_version": "HEAD"}, 403),
        ({"flow_version": "HEAD", "redirect_uri": "localhost"}, 500),
        ({"redirect_uri": "localhost", "access_token": "unknown"}, 200),
        ({"access_token": "unknown", "token": "unknown"}, 413),
        ({"access_token": "expired", "token": "unknown"}, 414),
    ],
)
def test_checks_run_in_the_specified_order(
    api: CaptureAPI, emu: CaptureEmulator, broken: dict[str, str | None], code: int
) -> None:
    access_token = api.access_token()
    token = emu.issue_social_token("google", "alice")
    values = {"unprivileged": emu.unprivileged_client_id, "unknown": "u" * 16}
    if broken.get("access_token") == "expired":
        emu.expire_access_tokens()
        broken = {**broken, "access_token": access_token}
    fields = {key: values.get(value, value) if value else None for key, value in broken.items()}
    form: dict[str, str | None] = {**api.link_form(access_token, token), **fields}

    assert api.post(LINK, {key: value for key, value in form.items() if value})["code"] == code
    # Checks before the Social Login one leave the token unspent.
    if "token" not in broken:
        assert api.link(api.access_token(), token)["stat"] == "ok"


def test_a_social_login_token_is_one_time(api: CaptureAPI, emu: CaptureEmulator) -> None:
    access_token = api.access_token()
    token = emu.issue_social_token("google", "alice")
    assert api.link(access_token, token)["stat"] == "ok"
    engage_error(api.link(access_token, token))


def test_a_social_login_token_is_spent_even_when_the_link_then_fails(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.add_user("bob@example.com", "bob-password")
    identifier = emu.add_identity(emu.demo_email, "google", "alice")
    token = emu.issue_social_token("google", "alice")
    bob = api.access_token("bob@example.com")
    assert api.link(bob, token)["code"] == 361

    demo_token = api.access_token()
    unlink = api.flow_form(access_token=demo_token, identifier_to_remove=identifier)
    assert api.post(UNLINK, unlink) == {"stat": "ok"}
    engage_error(api.link(bob, token))


def test_a_social_login_token_expires(api: CaptureAPI, emu: CaptureEmulator) -> None:
    token = emu.issue_social_token("google", "alice")
    emu.advance_clock(300)
    engage_error(api.link(api.access_token(), token))


def test_access_tokens_expire_by_the_emulator_clock(api: CaptureAPI, emu: CaptureEmulator) -> None:
    access_token = api.access_token()
    emu.advance_clock(3599)
    assert api.post(ENTITY, {"access_token": access_token})["stat"] == "ok"
    emu.advance_clock(1)
    body = api.post(ENTITY, {"access_token": access_token})
    assert_error(body, 414, "access_token_expired", "access token expired")


def test_expire_access_tokens_of_one_user(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.add_user("bob@example.com", "bob-password")
    demo, bob = api.access_token(), api.access_token("bob@example.com")
    emu.expire_access_tokens(emu.demo_email)
    assert api.post(ENTITY, {"access_token": demo})["code"] == 414
    assert api.post(ENTITY, {"access_token": bob})["stat"] == "ok"


def test_linking_the_same_identity_twice_to_the_same_user_is_a_unique_violation(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.add_identity(emu.demo_email, "facebook", "42")
    body = api.link(api.access_token(), emu.issue_social_token("facebook", "42"))
    assert body["code"] == 361


def test_unlink_removes_the_identity_from_entity(api: CaptureAPI, emu: CaptureEmulator) -> None:
    access_token = api.access_token()
    assert api.link(access_token, emu.issue_social_token("google", "alice"))["stat"] == "ok"
    [profile] = api.post(ENTITY, {"access_token": access_token})["result"]["profiles"]

    form = api.flow_form(access_token=access_token, identifier_to_remove=profile["identifier"])
    assert api.post(UNLINK, form) == {"stat": "ok"}

    assert api.post(ENTITY, {"access_token": access_token})["result"]["profiles"] == []
    # Unlinked, the identity is free to link again.
    assert api.link(access_token, emu.issue_social_token("google", "alice"))["stat"] == "ok"


def test_unlink_of_an_identifier_the_user_does_not_have(api: CaptureAPI) -> None:
    form = api.flow_form(access_token=api.access_token(), identifier_to_remove=GOOGLE_ALICE)
    body = api.post(UNLINK, form)
    assert_error(
        body,
        200,
        "invalid_argument",
        "identifier_to_remove is not linked to this account",
    )
    assert body["argument_name"] == "identifier_to_remove"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"identifier_to_remove": None}, 100),
        ({"client_id": "u" * 32}, 403),
        ({"flow_version": "HEAD"}, 500),
        ({"access_token": "u" * 16}, 413),
    ],
)
def test_unlink_checks(api: CaptureAPI, fields: dict[str, str | None], code: int) -> None:
    form = api.flow_form(
        **{"access_token": api.access_token(), "identifier_to_remove": GOOGLE_ALICE, **fields}
    )
    assert api.post(UNLINK, form)["code"] == code


def test_entity_needs_a_valid_access_token(api: CaptureAPI) -> None:
    assert_error(api.post(ENTITY, {}), 100, "missing_argument", "missing arguments: access_token")
    body = api.post(ENTITY, {"access_token": "u" * 16})
    assert_error(body, 413, "invalid_access_token", "invalid access token")


def sign_in_form(
    api: CaptureAPI, email: str, password: str, response_type: str = "token"
) -> dict[str, str]:
    return api.flow_form(
        redirect_uri="http://localhost",
        response_type=response_type,
        form="signInForm",
        signInEmailAddress=email,
        currentPassword=password,
    )


def test_sign_in_returns_tokens_that_work(api: CaptureAPI, emu: CaptureEmulator) -> None:
    body = api.post(SIGN_IN, sign_in_form(api, "Demo@Example.com", emu.demo_password))

    # What jump.ios's sign-in handler reads, and no refresh token: no source shows one here.
    assert set(body) == {"stat", "access_token", "capture_user"}
    assert body["stat"] == "ok"
    assert body["capture_user"]["email"] == emu.demo_email
    assert body["capture_user"]["displayName"] == "Demo User"
    assert 16 <= len(body["access_token"]) <= 32
    assert api.post(ENTITY, {"access_token": body["access_token"]})["stat"] == "ok"


def code_form(emu: CaptureEmulator, code: str, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost",
        **fields,
    }


def sign_in_for_a_code(api: CaptureAPI, emu: CaptureEmulator) -> str:
    body = api.post(SIGN_IN, sign_in_form(api, emu.demo_email, emu.demo_password, "code"))
    assert set(body) == {"stat", "authorization_code", "capture_user"}
    return str(body["authorization_code"])


def test_a_code_from_a_sign_in_is_exchanged_once_for_tokens(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    code = sign_in_for_a_code(api, emu)
    auth = (emu.client_id, emu.client_secret)

    status, body = post_token(api, code_form(emu, code), auth=auth)

    assert status == 200
    assert set(body) == {"stat", "access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == 3600
    assert api.post(ENTITY, {"access_token": body["access_token"]})["stat"] == "ok"
    status, again = post_token(api, code_form(emu, code), auth=auth)
    assert status == 400
    assert again == {
        "stat": "error",
        "code": 200,
        "error": "invalid_request",
        "sub_error": "invalid_argument",
        "argument_name": "code",
        "error_description": "code is not valid",
    }


def test_a_code_is_bound_to_its_redirect_uri(api: CaptureAPI, emu: CaptureEmulator) -> None:
    code = sign_in_for_a_code(api, emu)
    form = code_form(emu, code, redirect_uri="http://elsewhere.example/")
    status, body = post_token(api, form, auth=(emu.client_id, emu.client_secret))
    assert (status, body["code"], body["argument_name"]) == (400, 420, "redirect_uri")
    # The refused attempt spent it.
    status, body = post_token(api, code_form(emu, code), auth=(emu.client_id, emu.client_secret))
    assert (status, body["argument_name"]) == (400, "code")


def test_a_code_expires(api: CaptureAPI, emu: CaptureEmulator) -> None:
    code = sign_in_for_a_code(api, emu)
    emu.advance_clock(600)
    status, body = post_token(api, code_form(emu, code), auth=(emu.client_id, emu.client_secret))
    assert (status, body["code"], body["argument_name"]) == (400, 200, "code")


def test_an_owner_client_may_exchange_the_login_client_s_code(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    code = sign_in_for_a_code(api, emu)
    auth = (emu.owner_client_id, emu.owner_client_secret)
    status, body = post_token(api, code_form(emu, code), auth=auth)
    assert (status, body["stat"]) == (200, "ok")
    # and refresh what it got
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert post_token(api, form, auth=auth)[0] == 200


def test_a_client_without_the_permission_may_not_call_oauth_token(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    code = sign_in_for_a_code(api, emu)
    auth = (emu.unprivileged_client_id, emu.unprivileged_client_secret)
    status, body = post_token(api, code_form(emu, code), auth=auth)
    assert (status, body["code"], body["sub_error"]) == (400, 403, "client_permission_error")


def test_an_unknown_client_id_is_402(api: CaptureAPI, emu: CaptureEmulator) -> None:
    code = sign_in_for_a_code(api, emu)
    status, body = post_token(api, code_form(emu, code), auth=("nobody", "secret"))
    assert (status, body["stat"], body["code"]) == (400, "error", 402)
    assert (body["error"], body["sub_error"]) == ("invalid_request", "invalid_client_credentials")


def test_an_unknown_grant_type_is_the_vendor_s_example(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    status, body = post_token(api, {"grant_type": "X"}, auth=(emu.client_id, emu.client_secret))
    assert status == 400
    assert body == {
        "stat": "error",
        "code": 200,
        "error": "invalid_request",
        "sub_error": "invalid_argument",
        "argument_name": "grant_type",
        "error_description": "invalid grant_type: X",
    }


def test_sign_in_takes_no_parameter_from_the_query(api: CaptureAPI, emu: CaptureEmulator) -> None:
    form = sign_in_form(api, emu.demo_email, emu.demo_password)
    password = form.pop("currentPassword")
    body = api.post(SIGN_IN, form, params={"currentPassword": password})
    assert (body["code"], body["argument_name"]) == (100, "currentPassword")
    [call] = emu.calls_to(SIGN_IN)
    assert call.query_param_names == ("currentPassword",)


@pytest.mark.parametrize(
    ("email", "password"),
    [("demo@example.com", "wrong"), ("nobody@example.com", "demo-password")],
)
def test_sign_in_with_wrong_credentials(api: CaptureAPI, email: str, password: str) -> None:
    body = api.post(SIGN_IN, sign_in_form(api, email, password))
    message = "Incorrect username or password. Please try again."
    assert_error(body, 210, "invalid_credentials", message)
    assert body["invalid_fields"] == {"signInForm": [message]}


def test_a_user_added_by_a_test_can_sign_in(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.add_user("bob@example.com", "bob-password", display_name="Bob")
    body = api.post(SIGN_IN, sign_in_form(api, "bob@example.com", "bob-password"))
    assert body["capture_user"]["displayName"] == "Bob"


def refresh_form(emu: CaptureEmulator, refresh_token: str, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        **fields,
    }


def post_token(
    api: CaptureAPI, form: dict[str, str], auth: tuple[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST to ``/oauth/token``, whose refusals are HTTP 400: the status and the JSON."""
    with api.session.post(api.server.url + REFRESH, data=form, auth=auth) as response:
        return response.status_code, response.json()


def test_refresh_gives_new_tokens_and_spends_the_old_refresh_token(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    old = emu.sign_in(emu.demo_email)
    body = api.post(REFRESH, refresh_form(emu, str(old["refresh_token"])))

    assert set(body) == {"stat", "access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == 3600
    assert body["refresh_token"] != old["refresh_token"]
    assert api.post(ENTITY, {"access_token": body["access_token"]})["stat"] == "ok"

    status, again = post_token(api, refresh_form(emu, str(old["refresh_token"])))
    assert status == 400
    assert again == {
        "stat": "error",
        "code": 200,
        "error": "invalid_request",
        "sub_error": "invalid_argument",
        "argument_name": "refresh_token",
        "error_description": "refresh_token is not valid",
    }
    assert api.post(REFRESH, refresh_form(emu, body["refresh_token"]))["stat"] == "ok"


def test_refresh_takes_the_client_credentials_as_http_basic(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    tokens = emu.sign_in(emu.demo_email)
    form = {"grant_type": "refresh_token", "refresh_token": str(tokens["refresh_token"])}
    status, body = post_token(api, form, auth=(emu.client_id, emu.client_secret))
    assert (status, body["stat"]) == (200, "ok")
    [call] = emu.calls_to(REFRESH)
    assert call.auth_scheme == "Basic"
    assert "client_secret" not in call.param_names


def test_refresh_tokens_live_thirty_days(api: CaptureAPI, emu: CaptureEmulator) -> None:
    tokens = emu.sign_in(emu.demo_email)
    emu.advance_clock(30 * 24 * 3600)
    status, body = post_token(api, refresh_form(emu, str(tokens["refresh_token"])))
    assert (status, body["argument_name"]) == (400, "refresh_token")


def test_refresh_needs_the_client_secret(api: CaptureAPI, emu: CaptureEmulator) -> None:
    tokens = emu.sign_in(emu.demo_email)
    form = refresh_form(emu, str(tokens["refresh_token"]), client_secret="wrong")
    status, body = post_token(api, form)
    assert (status, body["sub_error"], body["argument_name"]) == (
        400,
        "invalid_client_credentials",
        "client_secret",
    )
    status, body = post_token(
        api,
        {"grant_type": "refresh_token", "refresh_token": str(tokens["refresh_token"])},
        auth=(emu.client_id, "wrong"),
    )
    assert (status, body["sub_error"]) == (400, "invalid_client_credentials")
    # A refused call does not spend the refresh token.
    assert api.post(REFRESH, refresh_form(emu, str(tokens["refresh_token"])))["stat"] == "ok"


def test_refresh_missing_arguments(api: CaptureAPI, emu: CaptureEmulator) -> None:
    status, body = post_token(api, {"grant_type": "refresh_token"})
    assert (status, body["code"], body["sub_error"], body["argument_name"]) == (
        400,
        100,
        "missing_argument",
        "client_id",
    )
    auth = (emu.client_id, emu.client_secret)
    status, body = post_token(api, {"grant_type": "refresh_token"}, auth=auth)
    assert (status, body["error"], body["sub_error"], body["argument_name"]) == (
        400,
        "invalid_request",
        "missing_argument",
        "refresh_token",
    )
    assert body["error_description"] == "missing required argument: refresh_token"


@pytest.mark.parametrize("endpoint", [LINK, UNLINK, SIGN_IN, REFRESH])
def test_an_oauth_call_by_get_is_refused_without_an_envelope(
    api: CaptureAPI, endpoint: str
) -> None:
    # No source shows Capture's answer: a plain 405, never one of Capture's envelopes.
    with api.session.get(api.server.url + endpoint) as response:
        assert response.status_code == 405
        assert response.headers["Allow"] == "POST"
        assert "application/json" not in response.headers["Content-Type"]


def test_entity_by_get_takes_its_parameters_from_the_query(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    access_token = linked_demo(api, emu)
    params = {"access_token": access_token, "attributes": '["profiles.domain"]'}
    with api.session.get(api.server.url + ENTITY, params=params) as response:
        body = response.json()
    assert body == {"stat": "ok", "result": {"profiles": [{"domain": "google.com"}]}}
    call = emu.calls_to(ENTITY)[-1]
    assert (call.method, call.param_names) == ("GET", ("access_token", "attributes"))


def test_unknown_paths_answer_a_plain_404(api: CaptureAPI, emu: CaptureEmulator) -> None:
    with api.session.post(api.server.url + "/oauth/nothing_here") as response:
        assert response.status_code == 404
        assert "application/json" not in response.headers["Content-Type"]
    assert emu.calls == []


def linked_demo(api: CaptureAPI, emu: CaptureEmulator) -> str:
    """The demo user's access token, with Google account alice linked."""
    access_token = api.access_token()
    token = emu.issue_social_token("google", "alice", display_name="Alice", email="a@example.com")
    assert api.link(access_token, token) == {"stat": "ok"}
    return access_token


def test_entity_answers_only_the_attributes_asked(api: CaptureAPI, emu: CaptureEmulator) -> None:
    access_token = linked_demo(api, emu)
    asked = '["profiles.domain", "profiles.identifier", "profiles.profile.displayName"]'
    body = api.post(ENTITY, {"access_token": access_token, "attributes": asked})
    assert body == {
        "stat": "ok",
        "result": {
            "profiles": [
                {
                    "domain": "google.com",
                    "identifier": GOOGLE_ALICE,
                    "profile": {"displayName": "Alice"},
                }
            ]
        },
    }


def test_entity_record_has_capture_s_own_attributes(api: CaptureAPI, emu: CaptureEmulator) -> None:
    access_token = linked_demo(api, emu)
    result = api.post(ENTITY, {"access_token": access_token})["result"]
    assert isinstance(result["id"], int)
    assert result["uuid"] and result["created"] and result["lastUpdated"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \+0000", result["created"])
    assert result["lastUpdated"] >= result["created"]  # the link updated the record


@pytest.mark.parametrize(
    "attribute", ["profiles.displayName", "profiles.email", "nickname", "profiles.profile.x"]
)
def test_entity_refuses_an_attribute_the_schema_lacks(
    api: CaptureAPI, emu: CaptureEmulator, attribute: str
) -> None:
    body = api.post(
        ENTITY,
        {"access_token": api.access_token(), "attributes": f'["profiles.domain", "{attribute}"]'},
    )
    assert (body["stat"], body["code"], body["error"]) == ("error", 223, "unknown_attribute")
    assert body["attribute_name"] == attribute


def test_entity_refuses_attributes_that_are_not_a_json_list(api: CaptureAPI) -> None:
    body = api.post(ENTITY, {"access_token": api.access_token(), "attributes": "profiles"})
    assert (body["code"], body["argument_name"]) == (200, "attributes")


@pytest.mark.parametrize("scheme", ["OAuth", "Bearer"])
def test_the_access_token_may_come_in_the_authorization_header_of_entity(
    api: CaptureAPI, emu: CaptureEmulator, scheme: str
) -> None:
    access_token = linked_demo(api, emu)
    body = api.post(ENTITY, {}, headers={"Authorization": f"{scheme} {access_token}"})
    assert body["stat"] == "ok"
    assert emu.calls_to(ENTITY)[-1].auth_scheme == scheme
    assert "access_token" not in emu.calls_to(ENTITY)[-1].param_names


@pytest.mark.parametrize("endpoint", [LINK, UNLINK])
def test_the_oauth_calls_take_the_access_token_from_the_body_only(
    api: CaptureAPI, emu: CaptureEmulator, endpoint: str
) -> None:
    access_token = linked_demo(api, emu)
    fields = {"token": "t" * 40, "redirect_uri": "http://x/"} if endpoint == LINK else {}
    form = api.flow_form(identifier_to_remove=GOOGLE_ALICE, **fields)
    body = api.post(endpoint, form, headers={"Authorization": f"OAuth {access_token}"})
    assert (body["code"], body["argument_name"]) == (100, "access_token")
    assert len(emu.identities(emu.demo_email)) == 1


def test_a_wrong_token_in_the_header_is_an_invalid_access_token(api: CaptureAPI) -> None:
    body = api.post(ENTITY, {}, headers={"Authorization": "OAuth z0y98xv76u5t4rs3"})
    assert (body["code"], body["error"]) == (413, "invalid_access_token")


def test_answer_next_replays_a_documented_answer_once(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    emu.answer_next(REFRESH, {"error": "invalid_grant"}, status=400)
    status, body = post_token(api, {})
    assert (status, body) == (400, {"error": "invalid_grant"})
    status, body = post_token(api, {})
    assert body["sub_error"] == "missing_argument"  # the emulator's own answer again
    assert [call.error for call in emu.calls_to(REFRESH)] == ["invalid_grant", "invalid_request"]
