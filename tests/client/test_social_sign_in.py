"""Sign-in with a social identity and the merge on 380, against the emulator over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from flask_capture_link.client import CaptureClient, errors
from flask_capture_link.client.models import PASSWORD, SOCIAL
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

SOCIAL_SIGN_IN = "/oauth/auth_native"
TOKEN = "/oauth/token"


@pytest.fixture
def with_secret(capture_emulator: EmulatorServer) -> Iterator[CaptureClient]:
    emulator = capture_emulator.emulator
    with CaptureClient(
        capture_emulator.url,
        emulator.client_id,
        flow_version=emulator.flow_version,
        redirect_uri="http://localhost/",
        client_secret=emulator.client_secret,
    ) as client:
        yield client


def test_a_linked_identity_signs_in_by_token(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "ann")
    tokens = capture.sign_in_with_token(emulator.issue_social_token("google", "ann"))
    assert tokens.obtained_by == SOCIAL and tokens.refresh_token is None
    assert tokens.capture_user is not None
    assert tokens.capture_user["email"] == emulator.demo_email
    assert "capture_user" not in repr(tokens) and tokens.access_token not in repr(tokens)
    [call] = emulator.calls_to(SOCIAL_SIGN_IN)
    assert "response_type" in call.param_names and "merge_token" not in call.param_names


def test_with_a_secret_the_code_is_exchanged(
    with_secret: CaptureClient, emulator: CaptureEmulator
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "ann")
    tokens = with_secret.sign_in_with_token(emulator.issue_social_token("google", "ann"))
    assert tokens.refresh_token and tokens.obtained_by == SOCIAL
    assert tokens.capture_user is not None
    [exchange] = emulator.calls_to(TOKEN)
    assert exchange.stat == "ok" and exchange.auth_scheme == "Basic"


def test_a_token_is_spent_by_the_sign_in(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    emulator.add_identity(emulator.demo_email, "google", "ann")
    token = emulator.issue_social_token("google", "ann")
    capture.sign_in_with_token(token)
    with pytest.raises(errors.SocialTokenInvalid) as caught:
        capture.sign_in_with_token(token)
    assert type(caught.value) is errors.SocialTokenInvalid
    assert token not in str(caught.value) and token not in repr(caught.value)


def test_no_account_for_the_identity_is_its_own_class(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    with pytest.raises(errors.NoAccountForIdentity) as caught:
        capture.sign_in_with_token(emulator.issue_social_token("facebook", "newcomer"))
    assert isinstance(caught.value, errors.RecordNotFound)  # existing handling still holds
    assert caught.value.code == 310 and caught.value.error == "record_not_found"


def test_an_unverified_email_gives_no_merge(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    with pytest.raises(errors.NoAccountForIdentity):
        capture.sign_in_with_token(emulator.issue_social_token("google", "demo-unverified"))


def start_merge(capture: CaptureClient, emulator: CaptureEmulator, account: str) -> str:
    """Meet the 380 of that demo Google account; returns the merge token it carries."""
    token = emulator.issue_social_token("google", account)
    with pytest.raises(errors.MergeRequired) as caught:
        capture.sign_in_with_token(token)
    merge = caught.value
    assert merge.code == 380 and merge.merge_token == token
    assert token not in str(merge) and token not in repr(merge)
    assert token not in str(merge.fields)
    return token


def test_merge_by_password(capture: CaptureClient, emulator: CaptureEmulator) -> None:
    token = emulator.issue_social_token("google", "demo-google")
    with pytest.raises(errors.MergeRequired) as caught:
        capture.sign_in_with_token(token)
    assert caught.value.existing_provider == "capture"
    tokens = capture.sign_in(
        emulator.demo_email, emulator.demo_password, merge_token=caught.value.merge_token
    )
    assert tokens.obtained_by == PASSWORD
    [google] = emulator.identities(emulator.demo_email)
    assert google["identifier"] == "https://www.google.com/profiles/demo-google"
    # From now on the new identity signs in by itself.
    again = capture.sign_in_with_token(emulator.issue_social_token("google", "demo-google"))
    assert again.capture_user is not None
    assert again.capture_user["email"] == emulator.demo_email


def test_a_wrong_password_links_nothing_and_keeps_the_merge_token(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    merge_token = start_merge(capture, emulator, "demo-google")
    with pytest.raises(errors.InvalidCredentials):
        capture.sign_in(emulator.demo_email, "not-it", merge_token=merge_token)
    assert emulator.identities(emulator.demo_email) == []
    capture.sign_in(emulator.demo_email, emulator.demo_password, merge_token=merge_token)
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_merge_by_the_existing_provider(capture: CaptureClient, emulator: CaptureEmulator) -> None:
    token = emulator.issue_social_token("google", "sam-google")
    with pytest.raises(errors.MergeRequired) as caught:
        capture.sign_in_with_token(token)
    assert caught.value.existing_provider == "facebook"
    existing = emulator.issue_social_token(caught.value.existing_provider, "sam-facebook")
    tokens = capture.sign_in_with_token(existing, merge_token=caught.value.merge_token)
    assert tokens.obtained_by == SOCIAL and tokens.capture_user is not None
    sam = str(tokens.capture_user["email"])
    domains = sorted(str(identity["domain"]) for identity in emulator.identities(sam))
    assert domains == ["facebook.com", "google.com"]


def test_a_merge_token_is_used_once(capture: CaptureClient, emulator: CaptureEmulator) -> None:
    merge_token = start_merge(capture, emulator, "demo-google")
    capture.sign_in(emulator.demo_email, emulator.demo_password, merge_token=merge_token)
    with pytest.raises(errors.MergeTokenInvalid) as caught:
        capture.sign_in(emulator.demo_email, emulator.demo_password, merge_token=merge_token)
    assert merge_token not in str(caught.value) and merge_token not in repr(caught.value)
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_an_expired_merge_token_is_refused(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    merge_token = start_merge(capture, emulator, "demo-google")
    emulator.advance_clock(301)  # Social Login tokens live minutes
    with pytest.raises(errors.MergeTokenInvalid):
        capture.sign_in(emulator.demo_email, emulator.demo_password, merge_token=merge_token)
    assert emulator.identities(emulator.demo_email) == []


def test_a_merge_token_proves_only_its_own_account(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    merge_token = start_merge(capture, emulator, "sam-google")  # Sam's email, not the demo's
    with pytest.raises(errors.MergeTokenInvalid):
        capture.sign_in(emulator.demo_email, emulator.demo_password, merge_token=merge_token)
    assert emulator.identities(emulator.demo_email) == []


def test_no_secret_reaches_an_error_or_a_log(
    with_secret: CaptureClient, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = emulator.issue_social_token("google", "demo-google")
    with pytest.raises(errors.MergeRequired) as caught:
        with_secret.sign_in_with_token(token)
    with pytest.raises(errors.InvalidCredentials) as wrong:
        with_secret.sign_in(emulator.demo_email, "wrong-password", merge_token=token)
    tokens = with_secret.sign_in(emulator.demo_email, emulator.demo_password, merge_token=token)
    with pytest.raises(errors.MergeTokenInvalid) as spent:
        with_secret.sign_in(emulator.demo_email, emulator.demo_password, merge_token=token)
    secrets = (
        token,
        emulator.demo_password,
        "wrong-password",
        emulator.client_secret,
        tokens.access_token,
    )
    shown = [str(e) + repr(e) + str(e.fields) for e in (caught.value, wrong.value, spent.value)]
    logged = " ".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert all(secret not in text for text in shown)
        assert secret not in logged
