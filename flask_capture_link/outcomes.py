"""The outcomes: what the user is told and what the site's logs say, for every result.

Each outcome names the message the user sees, the flash category, the log level, whether the
user's access token is dropped so that they sign in again, and whether they are sent to confirm
their password (the session is not fresh enough to change sign-in methods). Configuration
faults (the site's settings are wrong, not the user's doing) log at ERROR; what users cause logs
at INFO/WARNING.

Which outcome a Capture error has is said by its class (:data:`OUTCOME_OF_CLASS`), or by its
Capture ``error`` string where that string has an outcome of its own here (see
:func:`outcome_for`). The error classes themselves know nothing of outcomes: they belong to the
Flask-free client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .client import errors


@dataclass(frozen=True)
class Outcome:
    """How one kind of result is shown and logged."""

    message_key: str
    category: str = "error"
    log_level: int = logging.WARNING
    sign_in_again: bool = False
    #: The Social Login provider the outcome is about, for ``{provider}`` in its message.
    provider: str | None = None
    reauthenticate: bool = False


#: The extension's own results: no Capture ``error`` string can take one of these (an unknown
#: error that says ``"success"`` is still an error).
OWN_RESULTS = frozenset(
    {
        "success",
        "unlinked",
        "invalid_state",
        "missing_token",
        "missing_access_token",
        "missing_identifier",
        "not_linked",
        "needs_fresh_sign_in",
        "session_expired",
        "unlink_not_allowed",
        "unavailable",
        "unconfirmed",
        "unconfirmed_unchanged",
        "unknown",
        "unique_violation_listed",
        "no_account_for_identity",
        "merge_expired",
        "signed_in",
        "merged",
        "merge_cancelled",
        "sign_in_cancelled",
        "no_account_register",
        "sign_in_not_set_up",
    }
)

# Short names for the table below.
INFO, WARNING, ERROR = logging.INFO, logging.WARNING, logging.ERROR
_SIGN_IN: dict[str, Any] = {"sign_in_again": True}
_REAUTHENTICATE: dict[str, Any] = {"reauthenticate": True}

#: Outcome per Capture ``error`` string, and for the extension's own results.
OUTCOMES: dict[str, Outcome] = {
    # The extension's own results.
    "success": Outcome("success", "success", INFO),
    "unlinked": Outcome("unlinked", "success", INFO),
    "invalid_state": Outcome("invalid_state", "error", WARNING),
    "missing_token": Outcome("missing_token", "info", INFO),  # a cancel: no error of anyone
    "missing_access_token": Outcome("missing_access_token", "error", INFO, **_SIGN_IN),
    "missing_identifier": Outcome("missing_identifier", "error", INFO),
    "not_linked": Outcome("not_linked", "error", INFO),
    "needs_fresh_sign_in": Outcome("needs_fresh_sign_in", "info", INFO, **_REAUTHENTICATE),
    # An access token without a refresh token outlived its hour: sign in again.
    "session_expired": Outcome("session_expired", "error", INFO, **_SIGN_IN),
    "unlink_not_allowed": Outcome("unlink_not_allowed", "error", INFO),
    "unavailable": Outcome("unavailable", "error", WARNING),
    "unconfirmed": Outcome("unconfirmed", "error", WARNING),
    # Capture's answer was lost, and the identities listed after show no change.
    "unconfirmed_unchanged": Outcome("unconfirmed_unchanged", "error", WARNING),
    "unknown": Outcome("unknown", "error", ERROR),
    # Caused by the user or their session.
    "unique_violation": Outcome("unique_violation", "error", INFO),
    "unique_violation_listed": Outcome("unique_violation_listed", "error", INFO),
    # A social sign-in: no account has the identity; or one has its email (merge next).
    "no_account_for_identity": Outcome("no_account_for_identity", "error", INFO),
    "email_address_in_use": Outcome("email_address_in_use", "info", INFO),
    "merge_expired": Outcome("merge_expired", "error", INFO),
    "signed_in": Outcome("signed_in", "success", INFO),
    "merged": Outcome("merged", "success", INFO),
    "merge_cancelled": Outcome("merge_cancelled", "info", INFO),
    "sign_in_cancelled": Outcome("sign_in_cancelled", "info", INFO),
    # 310 on a site with a registration page (CAPTURE_LINK_REGISTER_URL).
    "no_account_register": Outcome("no_account_register", "info", INFO),
    # No signed_in hook: the site's setup is incomplete.
    "sign_in_not_set_up": Outcome("sign_in_not_set_up", "error", ERROR),
    "engage_error": Outcome("engage_error", "error", WARNING),
    "invalid_access_token": Outcome("invalid_access_token", "error", INFO, **_SIGN_IN),
    "no_access_grant": Outcome("no_access_grant", "error", INFO, **_SIGN_IN),
    "access_token_expired": Outcome("access_token_expired", "error", INFO, **_SIGN_IN),
    "invalid_credentials": Outcome("invalid_credentials", "error", INFO),
    # Capture is busy.
    "api_feature_disabled": Outcome("api_feature_disabled", "error", WARNING),
    "api_limit_error": Outcome("api_limit_error", "error", WARNING),
    # The site's configuration is wrong: the user can only try later.
    "missing_argument": Outcome("missing_argument", "error", ERROR),
    "invalid_argument": Outcome("invalid_argument", "error", ERROR),
    "permission_error": Outcome("permission_error", "error", ERROR),
    "client_permission_error": Outcome("client_permission_error", "error", ERROR),
    "unexpected_error": Outcome("unexpected_error", "error", ERROR),
}


#: Outcome of each error class; a class not listed has its nearest listed base's.
OUTCOME_OF_CLASS: dict[type[errors.CaptureError], str] = {
    errors.CaptureError: "unknown",
    errors.MissingArgument: "missing_argument",
    errors.InvalidArgument: "invalid_argument",
    errors.UnknownAttribute: "unknown",
    errors.InvalidCredentials: "invalid_credentials",
    errors.RecordNotFound: "not_linked",
    errors.NoAccountForIdentity: "no_account_for_identity",
    errors.MergeRequired: "email_address_in_use",
    errors.MergeTokenInvalid: "merge_expired",
    errors.AccountAlreadyLinked: "unique_violation",
    errors.SocialTokenInvalid: "engage_error",
    errors.ClientPermissionError: "permission_error",
    errors.AccessTokenInvalid: "invalid_access_token",
    errors.AccessTokenExpired: "access_token_expired",
    errors.SessionExpired: "session_expired",
    errors.NoAccessToken: "missing_access_token",
    # A refused refresh or code: the session cannot be renewed.
    errors.RefreshTokenInvalid: "access_token_expired",
    errors.ClientCredentialsRefused: "access_token_expired",
    errors.AuthorizationCodeInvalid: "unknown",
    errors.IdentityNotLinked: "not_linked",
    errors.UnexpectedError: "unexpected_error",
    errors.CaptureUnavailable: "unavailable",
    errors.CaptureAnswerLost: "unconfirmed",
}


def class_outcome(error_class: type[errors.CaptureError]) -> str:
    """The outcome of ``error_class``: its own in :data:`OUTCOME_OF_CLASS`, else its nearest
    listed base's."""
    for cls in error_class.__mro__:
        found = OUTCOME_OF_CLASS.get(cls)
        if found is not None:
            return found
    return "unknown"


def outcome_for(error: errors.CaptureError) -> Outcome:
    """The outcome of a Capture error: the one its Capture ``error`` string names, when the
    string has an outcome of its own (``no_access_grant``, ``api_limit_error``, ... each have
    their message) and the error's class is the string's own (not finer, as
    ``invalid_argument`` about the access token is an expiry) or says nothing (``unknown``);
    else its class's (:func:`class_outcome`)."""
    name = error.error or ""
    named = None if name in OWN_RESULTS else OUTCOMES.get(name)
    own_class = type(error) is errors.ERRORS_BY_NAME.get(name)
    by_class = class_outcome(type(error))
    if named is not None and (own_class or by_class == "unknown"):
        return named
    return OUTCOMES[by_class]
