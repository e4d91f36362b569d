"""The exceptions of Capture's answers, under the name the documentation gives them.

They live with the Flask-free client (:mod:`flask_capture_link.client.errors`); this module is
their public address for sites: ``from flask_capture_link.errors import AccountAlreadyLinked``.
"""

from .client.errors import (
    ERRORS_BY_ARGUMENT,
    ERRORS_BY_CODE,
    ERRORS_BY_NAME,
    AccessTokenExpired,
    AccessTokenInvalid,
    AccountAlreadyLinked,
    AuthorizationCodeInvalid,
    CaptureAnswerLost,
    CaptureError,
    CaptureUnavailable,
    ClientCredentialsRefused,
    ClientPermissionError,
    IdentityNotLinked,
    InvalidArgument,
    InvalidCredentials,
    MissingArgument,
    NoAccessToken,
    RecordNotFound,
    RefreshTokenInvalid,
    SessionExpired,
    SocialTokenInvalid,
    UnexpectedError,
    UnknownAttribute,
    error_from_body,
)

__all__ = [
    "ERRORS_BY_ARGUMENT",
    "ERRORS_BY_CODE",
    "ERRORS_BY_NAME",
    "AccessTokenExpired",
    "AccessTokenInvalid",
    "AccountAlreadyLinked",
    "AuthorizationCodeInvalid",
    "CaptureAnswerLost",
    "CaptureError",
    "CaptureUnavailable",
    "ClientCredentialsRefused",
    "ClientPermissionError",
    "IdentityNotLinked",
    "InvalidArgument",
    "InvalidCredentials",
    "MissingArgument",
    "NoAccessToken",
    "RecordNotFound",
    "RefreshTokenInvalid",
    "SessionExpired",
    "SocialTokenInvalid",
    "UnexpectedError",
    "UnknownAttribute",
    "error_from_body",
]
