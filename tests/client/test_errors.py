"""The exception family built from Capture's error bodies."""

from __future__ import annotations

import pytest

from flask_capture_link.client import errors


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"code": 100, "error": "missing_argument"}, errors.MissingArgument),
        ({"code": 200, "error": "invalid_argument"}, errors.InvalidArgument),
        ({"code": 361, "error": "unique_violation"}, errors.AccountAlreadyLinked),
        ({"code": 400, "error": "engage_error"}, errors.SocialTokenInvalid),
        ({"code": 403, "error": "permission_error"}, errors.ClientPermissionError),
        ({"code": 403, "error": "client_permission_error"}, errors.ClientPermissionError),
        ({"code": 413, "error": "invalid_access_token"}, errors.AccessTokenInvalid),
        ({"code": 413, "error": "no_access_grant"}, errors.AccessTokenInvalid),
        ({"code": 414, "error": "access_token_expired"}, errors.AccessTokenExpired),
        ({"code": 480, "error": "api_feature_disabled"}, errors.CaptureUnavailable),
        ({"code": 500, "error": "unexpected_error"}, errors.UnexpectedError),
        ({"code": 510, "error": "api_limit_error"}, errors.CaptureUnavailable),
        ({"code": 414}, errors.AccessTokenExpired),
        ({"error": "unique_violation"}, errors.AccountAlreadyLinked),
        ({"code": 999, "error": "mystery"}, errors.CaptureError),
        ({"code": "361"}, errors.CaptureError),
        ({"code": 200, "error": "invalid_argument", "argument_name": "access_token"},
         errors.AccessTokenExpired),  # some tenants report an expiry so
        ({"code": 415}, errors.AuthorizationCodeInvalid),
        ({"code": 420}, errors.AuthorizationCodeInvalid),
        ({"code": 200, "error": "invalid_argument", "argument_name": "refresh_token"},
         errors.RefreshTokenInvalid),
        ({"code": 200, "error": "invalid_argument", "argument_name": "identifier_to_remove"},
         errors.IdentityNotLinked),
    ],
)  # fmt: skip
def test_class_by_error_then_code(body: dict[str, object], cls: type) -> None:
    assert type(errors.error_from_body({"stat": "error", **body})) is cls


def test_fields_and_request_id() -> None:
    error = errors.error_from_body(
        {
            "stat": "error",
            "code": 361,
            "error": "unique_violation",
            "error_description": "that account already exists",
            "request_token": "bqpucbv8x4dxwtsn",
            "message": "That account is already in use.",
        }
    )
    assert error.request_id == "bqpucbv8x4dxwtsn"
    assert error.fields == {"message": "That account is already in use."}
    assert str(error) == (
        "361 unique_violation that account already exists (request_id=bqpucbv8x4dxwtsn)"
    )
    assert "AccountAlreadyLinked(code=361" in repr(error)


def test_unknown_body_still_reads() -> None:
    error = errors.error_from_body({"stat": "error"})
    assert type(error) is errors.CaptureError
    assert error.code is None and error.request_id is None
    assert str(error) == "Capture returned an error"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"stat": "error", "code": 200, "error": "invalid_request",
               "sub_error": "invalid_argument", "argument_name": "refresh_token"},
         errors.RefreshTokenInvalid),
        (400, {"stat": "error", "code": 402, "error": "invalid_request",
               "sub_error": "invalid_client_credentials"}, errors.ClientCredentialsRefused),
        (400, {"stat": "error", "code": 403, "error": "invalid_request",
               "sub_error": "client_permission_error"}, errors.ClientCredentialsRefused),
        (400, {"stat": "error", "code": 100, "error": "invalid_request",
               "sub_error": "missing_argument", "argument_name": "refresh_token"},
         errors.RefreshTokenInvalid),
        (200, {"stat": "error", "code": 310, "error": "record_not_found"},
         errors.RefreshTokenInvalid),
        (200, {"stat": "error", "code": 500, "error": "unexpected_error"},
         errors.CaptureUnavailable),
        (400, {"stat": "error", "code": 500, "error": "invalid_request",
               "sub_error": "unexpected_error"}, errors.CaptureUnavailable),
        (503, {"error": "invalid_request"}, errors.CaptureUnavailable),
        (200, {"stat": "error", "code": 480, "error": "api_feature_disabled"},
         errors.CaptureUnavailable),
        (200, {"stat": "error", "code": 999, "error": "mystery_error"},
         errors.CaptureUnavailable),  # no document lists it: nothing was refused
    ],
)  # fmt: skip
def test_refresh_refusal_only_for_a_documented_refusal(
    status: int, body: dict[str, object], cls: type[errors.CaptureError]
) -> None:
    error = errors.error_from_body(body)
    error.http_status = status
    error.request_id = "r" * 16
    refusal = errors.refresh_refusal(error)
    assert type(refusal) is cls
    assert (refusal.code, refusal.error, refusal.request_id) == (
        error.code,
        error.error,
        error.request_id,
    )
    assert refusal.http_status == status


def test_code_refusal_names_the_code() -> None:
    body = {"stat": "error", "code": 200, "error": "invalid_request",
            "sub_error": "invalid_argument", "argument_name": "code"}  # fmt: skip
    refusal = errors.code_refusal(errors.error_from_body(body))
    assert type(refusal) is errors.AuthorizationCodeInvalid
    refusal = errors.code_refusal(errors.error_from_body({**body, "argument_name": "x"}))
    assert type(refusal) is errors.AuthorizationCodeInvalid
