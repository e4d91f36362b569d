"""The exception family built from Capture's error bodies."""

from __future__ import annotations

import pytest

from flask_capture_link import errors


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
         errors.AccessTokenInvalid),
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
