"""The emulator's ``/oauth/auth_native`` and merges: its rules, over loopback HTTP."""

from __future__ import annotations

from typing import Any

from flask_capture_link.emulator import CaptureEmulator

from .helpers import CaptureAPI, assert_error

SOCIAL_SIGN_IN = "/oauth/auth_native"
SIGN_IN = "/oauth/auth_native_traditional"


def social(api: CaptureAPI, token: str, **fields: str) -> dict[str, Any]:
    base = {"redirect_uri": "http://localhost", "response_type": "token", "token": token}
    return api.post(SOCIAL_SIGN_IN, api.flow_form(**{**base, **fields}))


def test_the_seeded_accounts_tell_each_story(api: CaptureAPI, emu: CaptureEmulator) -> None:
    merge = social(api, emu.issue_social_token("google", "demo-google"))
    assert_error(
        merge,
        380,
        "email_address_in_use",
        "the email address of this identity belongs to an existing user",
    )
    assert merge["existing_provider"] == "capture"
    assert social(api, emu.issue_social_token("google", "sam-google"))["existing_provider"] == (
        "facebook"
    )
    for account in ("facebook/newcomer", "google/demo-unverified"):
        provider, account_id = account.split("/")
        answer = social(api, emu.issue_social_token(provider, account_id))
        assert_error(answer, 310, "record_not_found", "no user has this identity")
    signed_in = social(api, emu.issue_social_token("facebook", "sam-facebook"))
    assert signed_in["stat"] == "ok" and signed_in["capture_user"]["email"] == "sam@example.com"


def test_neither_310_nor_380_spends_the_token(api: CaptureAPI, emu: CaptureEmulator) -> None:
    newcomer = emu.issue_social_token("facebook", "newcomer")
    for _ in range(2):
        assert social(api, newcomer)["code"] == 310
    merge = emu.issue_social_token("google", "demo-google")
    for _ in range(2):
        assert social(api, merge)["code"] == 380


def test_a_sign_in_spends_the_token_and_a_code_is_answered_on_request(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    token = emu.issue_social_token("facebook", "sam-facebook")
    answer = social(api, token, response_type="code")
    assert answer["authorization_code"] and "access_token" not in answer
    again = social(api, token)
    assert (again["code"], again["error"], again["argument_name"]) == (
        400,
        "engage_error",
        "token",
    )


def test_a_password_less_account_cannot_sign_in_with_an_empty_password(
    api: CaptureAPI, emu: CaptureEmulator
) -> None:
    form = api.flow_form(
        redirect_uri="http://localhost",
        response_type="token",
        form="signInForm",
        signInEmailAddress="sam@example.com",
        currentPassword="x",
    )
    assert api.post(SIGN_IN, form)["code"] == 210


def test_only_a_verified_email_leads_to_a_merge(api: CaptureAPI, emu: CaptureEmulator) -> None:
    emu.add_user("kim@example.com", "kim-password")
    unverified = emu.issue_social_token(
        "google", "kim", email="KIM@example.com", email_verified=False
    )
    assert social(api, unverified)["code"] == 310
    verified = emu.issue_social_token("google", "kim", email="KIM@example.com")
    assert social(api, verified)["code"] == 380  # emails match regardless of case


def test_a_merge_needs_the_token_that_met_the_380(api: CaptureAPI, emu: CaptureEmulator) -> None:
    unrelated = emu.issue_social_token("twitter", "12345")
    existing = emu.issue_social_token("facebook", "sam-facebook")
    answer = social(api, existing, merge_token=unrelated)
    assert (answer["code"], answer["error"], answer["argument_name"]) == (
        400,
        "engage_error",
        "merge_token",
    )
    assert [identity["domain"] for identity in emu.identities("sam@example.com")] == [
        "facebook.com"
    ]


def test_reset_restores_the_social_demo_account(api: CaptureAPI, emu: CaptureEmulator) -> None:
    merge_token = emu.issue_social_token("google", "sam-google")
    assert social(api, merge_token)["code"] == 380
    existing = emu.issue_social_token("facebook", "sam-facebook")
    assert social(api, existing, merge_token=merge_token)["stat"] == "ok"
    assert len(emu.identities("sam@example.com")) == 2
    emu.reset()
    assert [identity["domain"] for identity in emu.identities("sam@example.com")] == [
        "facebook.com"
    ]
