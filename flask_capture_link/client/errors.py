"""Exceptions for Capture's answers, one class per kind of failure.

Capture answers most errors with HTTP 200 and a body such as
``{"stat": "error", "code": 361, "error": "unique_violation", ...}``.
:func:`error_from_body` turns such a body into the matching exception, keyed first by the
``error`` string and then by the numeric ``code``; unknown errors give a plain
:class:`CaptureError` that still keeps the raw body.

What the user is told for each is the web layer's business: its table maps each class to an
outcome (:data:`flask_capture_link.outcomes.OUTCOME_OF_CLASS`); nothing here knows of it.

No exception here ever holds a token, access token, refresh token, password or client secret:
the client scrubs the values it sent from Capture's answer before building one. The one
exception is :class:`MergeRequired`: it keeps the Social Login token that met the 380 (the
merge token the next step sends back, as Janrain's SDKs keep it), in an attribute that neither
its message nor its ``repr`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

E = TypeVar("E", bound="CaptureError")


class CaptureError(Exception):
    """Capture refused a call, or could not be reached.

    :ivar code: Capture's numeric error code, or ``None`` when Capture gave none.
    :ivar error: Capture's ``error`` string, such as ``"unique_violation"``.
    :ivar description: Capture's ``error_description``, or what went wrong on the way.
    :ivar request_id: Capture's support id (``request_id`` or ``request_token``), if any.
    :ivar fields: every other field of the answer (``argument_name``, ``message``, ...).
    :ivar http_status: the HTTP status of Capture's answer, when there was one.
    """

    http_status: int | None = None

    def __init__(
        self,
        description: str,
        *,
        code: int | None = None,
        error: str | None = None,
        request_id: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.error = error
        self.request_id = request_id
        self.fields: dict[str, Any] = dict(fields or {})

    def __str__(self) -> str:
        parts = [f"{self.code} {self.error}" if self.code is not None else (self.error or "")]
        parts.append(self.description)
        if self.request_id:
            parts.append(f"(request_id={self.request_id})")
        return " ".join(part for part in parts if part)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, error={self.error!r}, "
            f"description={self.description!r}, request_id={self.request_id!r})"
        )

    def as_class(self, cls: type[E]) -> E:
        """The same answer (description, code, error, request id, fields, HTTP status) as an
        error of class ``cls``: what it means once the caller knows more."""
        converted = cls(
            self.description,
            code=self.code,
            error=self.error,
            request_id=self.request_id,
            fields=self.fields,
        )
        converted.http_status = self.http_status
        return converted


class MissingArgument(CaptureError):
    """100: a required parameter is missing; ``description`` names it."""


class InvalidArgument(CaptureError):
    """200: a parameter is malformed; ``fields["argument_name"]`` names it."""

    @property
    def argument_name(self) -> str | None:
        """The parameter Capture complained about, if it said."""
        value = self.fields.get("argument_name")
        return value if isinstance(value, str) else None


class UnknownAttribute(CaptureError):
    """223 ``unknown_attribute``: the schema has no attribute of that name
    (``fields["attribute_name"]``)."""


class InvalidCredentials(CaptureError):
    """210 ``invalid_credentials``: the email address and password do not match an account;
    or ``invalid_form_fields``: the sign-in form's fields were refused (``invalid_fields``)."""


class RecordNotFound(CaptureError):
    """310 ``record_not_found``: no such record or plural element; for an unlink, the identity
    is not linked to this user."""


class NoAccountForIdentity(RecordNotFound):
    """310 ``record_not_found`` from ``/oauth/auth_native``: no account has the social identity
    that signed in. The user signs in another way and links it from their account page (or
    registers). Capture may send ``prereg_fields``: what the provider told of the person, for a
    registration form (jump.ios, jump.android)."""

    @property
    def prereg_fields(self) -> dict[str, Any] | None:
        """The provider's data for a social registration form, when Capture sent it."""
        value = self.fields.get("prereg_fields")
        return value if isinstance(value, dict) else None


class MergeRequired(CaptureError):
    """380 ``email_address_in_use``: the provider's verified email belongs to an existing
    account, which the user must prove before the new identity is linked to it (the vendor's
    "Merge accounts" page).

    With :attr:`existing_provider` ``"capture"`` the user proves it with their password
    (:meth:`CaptureClient.sign_in <flask_capture_link.client.CaptureClient.sign_in>` with
    ``merge_token``); else with that social provider (:meth:`CaptureClient.sign_in_with_token
    <flask_capture_link.client.CaptureClient.sign_in_with_token>` with the provider's token and
    ``merge_token``). :attr:`merge_token` is the Social Login token that met the 380: the
    client sets it; it is never in the message or the ``repr``.
    """

    #: The Social Login token of the new identity, to send back as ``merge_token``.
    merge_token: str | None = None

    @property
    def existing_provider(self) -> str | None:
        """How the existing account signs in: ``"capture"`` (email and password) or a Social
        Login provider name such as ``"facebook"``."""
        value = self.fields.get("existing_provider")
        return value if isinstance(value, str) and value else None

    def as_class(self, cls: type[E]) -> E:
        converted = super().as_class(cls)
        if isinstance(converted, MergeRequired):
            converted.merge_token = self.merge_token
        return converted


class AccountAlreadyLinked(CaptureError):
    """361 ``unique_violation``: the social identity already belongs to an account."""


class SocialTokenInvalid(CaptureError):
    """400 ``engage_error``: the Social Login token is invalid, used or expired."""


class MergeTokenInvalid(SocialTokenInvalid):
    """The ``merge_token`` of a merge was refused: unknown, already used, expired, or not
    the token that met the 380. The new identity was not linked; the user starts again by
    signing in with it."""


class ClientPermissionError(CaptureError):
    """403: the API client lacks the ``login_client`` feature (a configuration fault)."""


class AccessTokenInvalid(CaptureError):
    """413: the Registration access token is not valid; the user must sign in again."""


class AccessTokenExpired(AccessTokenInvalid):
    """The Registration access token expired (they live one hour): 414
    ``access_token_expired``, or 200 ``invalid_argument`` naming ``access_token`` as some
    tenants report it. A site with a refresh token refreshes once and retries once."""


class SessionExpired(AccessTokenExpired):
    """The access token expired and nothing can renew it: there is no refresh token (the
    site has no ``CAPTURE_LINK_CLIENT_SECRET``, so its sign-ins give an access token only),
    or no client secret to refresh with. The user signs in again. Raised by the extension
    instead of Capture's "access token expired" in that case, and before calling Capture when
    the stored expiry has passed."""

    @classmethod
    def instead_of(cls, expired: CaptureError) -> SessionExpired:
        """This error in place of Capture's own report of expiry (its details kept)."""
        return expired.as_class(cls)


class NoAccessToken(CaptureError):
    """The user has no Registration access token (they did not sign in, or their tokens were
    dropped): nothing was sent to Capture. Raised by
    :meth:`CaptureLink.with_access_token <flask_capture_link.CaptureLink.with_access_token>`."""

    def __init__(self, description: str = "the user has no access token") -> None:
        super().__init__(description)


class RefreshTokenInvalid(InvalidArgument):
    """Capture refused a refresh: the refresh token is unknown, expired or already used
    (refresh tokens are single-use), or refused with it. Never send it again."""


class ClientCredentialsRefused(RefreshTokenInvalid):
    """Capture refused ``/oauth/token`` for the site's client credentials (the token client's
    id and secret, e.g. 402 ``invalid_client_credentials``, OAuth's ``invalid_client``, or a
    client without the permission): a site misconfiguration. Raised by a refresh (the user's
    tokens are dropped all the same) and by a code exchange."""


class AuthorizationCodeInvalid(InvalidArgument):
    """Capture refused to exchange an authorization code: unknown, already used (codes are
    single-use), expired (415), or given with another ``redirect_uri`` (420). The sign-in did
    not complete; the user signs in again."""


class IdentityNotLinked(InvalidArgument):
    """The identity to unlink is not linked to this user (``argument_name`` is
    ``identifier_to_remove``)."""


class UnexpectedError(CaptureError):
    """500: Capture failed, for example on an unknown flow, flow version or locale."""


class CaptureUnavailable(CaptureError):
    """Capture could not answer: transport failure, timeout, a 5xx or a body that is not
    Capture's JSON, or a temporary refusal (480 ``api_feature_disabled``, 510
    ``api_limit_error``). The user may try again later."""


class CaptureAnswerLost(CaptureUnavailable):
    """The call may have reached Capture, but no answer came back (a read timeout, a
    connection dropped mid-answer). Capture may have acted: do not claim nothing changed."""


#: Exception class for each Capture ``error`` string. Looked up before :data:`ERRORS_BY_CODE`.
ERRORS_BY_NAME: dict[str, type[CaptureError]] = {
    "missing_argument": MissingArgument,
    "invalid_argument": InvalidArgument,
    "unknown_attribute": UnknownAttribute,
    "invalid_credentials": InvalidCredentials,
    "invalid_form_fields": InvalidCredentials,
    "record_not_found": RecordNotFound,
    "unique_violation": AccountAlreadyLinked,
    "email_address_in_use": MergeRequired,
    "engage_error": SocialTokenInvalid,
    "permission_error": ClientPermissionError,
    "client_permission_error": ClientPermissionError,
    "invalid_access_token": AccessTokenInvalid,
    "no_access_grant": AccessTokenInvalid,
    "access_token_expired": AccessTokenExpired,
    "unexpected_error": UnexpectedError,
    "api_feature_disabled": CaptureUnavailable,
    "api_limit_error": CaptureUnavailable,
}

#: Exception class for each Capture error ``code``, for errors whose string is unknown.
ERRORS_BY_CODE: dict[int, type[CaptureError]] = {
    100: MissingArgument,
    200: InvalidArgument,
    210: InvalidCredentials,
    223: UnknownAttribute,
    310: RecordNotFound,
    361: AccountAlreadyLinked,
    380: MergeRequired,
    400: SocialTokenInvalid,
    403: ClientPermissionError,
    413: AccessTokenInvalid,
    414: AccessTokenExpired,
    415: AuthorizationCodeInvalid,
    420: AuthorizationCodeInvalid,
    480: CaptureUnavailable,
    500: UnexpectedError,
    510: CaptureUnavailable,
}

#: Finer classes for ``invalid_argument``, by ``argument_name``. Some tenants report an
#: expired access token as ``invalid_argument`` naming it: taken as an expiry, so a site
#: refreshes once and retries once (a refused refresh then ends the session).
ERRORS_BY_ARGUMENT: dict[str, type[CaptureError]] = {
    "access_token": AccessTokenExpired,
    "refresh_token": RefreshTokenInvalid,
    "code": AuthorizationCodeInvalid,
    "identifier_to_remove": IdentityNotLinked,
    "merge_token": MergeTokenInvalid,
}

#: Answer fields that are stored as attributes rather than in ``fields``.
_ENVELOPE_FIELDS = frozenset(
    {"stat", "code", "error", "error_description", "request_id", "request_token"}
)


def error_from_body(body: Mapping[str, Any]) -> CaptureError:
    """Build the exception for a Capture error answer (``stat`` is ``"error"``)."""
    code = body.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    name = body.get("error")
    name = name if isinstance(name, str) else None
    description = body.get("error_description")
    request_id = body.get("request_id") or body.get("request_token")
    fields = {key: value for key, value in body.items() if key not in _ENVELOPE_FIELDS}

    cls = _class_for(name, code)
    argument = str(fields.get("argument_name"))
    if cls is InvalidArgument:
        cls = ERRORS_BY_ARGUMENT.get(argument, cls)
    elif cls is SocialTokenInvalid and argument == "merge_token":
        # A merge sends two Social Login tokens: the argument name says which was refused.
        cls = MergeTokenInvalid
    return cls(
        description if isinstance(description, str) else (name or "Capture returned an error"),
        code=code,
        error=name,
        request_id=request_id if isinstance(request_id, str) else None,
        fields=fields,
    )


def _class_for(name: str | None, code: int | None) -> type[CaptureError]:
    if name is not None and name in ERRORS_BY_NAME:
        return ERRORS_BY_NAME[name]
    if code is not None and code in ERRORS_BY_CODE:
        return ERRORS_BY_CODE[code]
    return CaptureError


#: Words in a refusal of ``/oauth/token`` (its ``error``, ``sub_error`` or ``argument_name``)
#: that put the blame on the site's client credentials rather than on the grant.
CLIENT_CREDENTIAL_WORDS = frozenset(
    {
        "invalid_client",
        "invalid_client_credentials",
        "unauthorized_client",
        "permission_error",
        "client_permission_error",
        "client_id",
        "client_secret",
    }
)

#: Capture error codes of ``/oauth/token`` that name the client credentials: 402 (an unknown
#: client id or a wrong secret, jump.ios) and 403 (a client without the permission).
CLIENT_CREDENTIAL_CODES = frozenset({402, 403})

#: Words (``error`` or ``sub_error``) of a documented refusal of the grant itself.
GRANT_REFUSAL_WORDS = frozenset(
    {
        "invalid_request",  # docs.janrain.com's OAuth shape; RFC 6749
        "invalid_grant",
        "unsupported_grant_type",
        "missing_argument",
        "invalid_argument",
        "record_not_found",
        "invalid_access_token",
        "access_token_expired",
    }
)

#: Capture error codes of a documented refusal of the grant: missing or invalid argument,
#: no such record, an invalid or expired token or code, a ``redirect_uri`` that differs.
GRANT_REFUSAL_CODES = frozenset({100, 200, 310, 413, 414, 415, 420})

#: Capture error codes that refuse nothing: an internal error (500), a call disabled for a
#: while (480) or too many calls (510). The grant may still be good.
TEMPORARY_CODES = frozenset({480, 500, 510})
TEMPORARY_WORDS = frozenset({"unexpected_error", "api_feature_disabled", "api_limit_error"})


def refresh_refusal(error: CaptureError) -> CaptureError:
    """What a failed ``grant_type=refresh_token`` call of ``/oauth/token`` means.

    A documented refusal (Capture's OAuth shape, its own envelope or RFC 6749's, with HTTP
    200 or 4xx) becomes :class:`RefreshTokenInvalid`, or :class:`ClientCredentialsRefused`
    when it names the client credentials. Anything else refuses nothing (a transport failure,
    a 5xx, a 500 ``unexpected_error``, 480, 510, a body that is not Capture's, an error no
    document lists): :class:`CaptureUnavailable`, and the refresh token may still be good.
    """
    return token_refusal(error, RefreshTokenInvalid)


def code_refusal(error: CaptureError) -> CaptureError:
    """What a failed ``grant_type=authorization_code`` call of ``/oauth/token`` means: as
    :func:`refresh_refusal`, with :class:`AuthorizationCodeInvalid` for a refused code."""
    return token_refusal(error, AuthorizationCodeInvalid)


def token_refusal(error: CaptureError, refused: type[CaptureError]) -> CaptureError:
    """``error`` of an ``/oauth/token`` call as ``refused`` (the grant is dead),
    :class:`ClientCredentialsRefused` (the site's credentials are) or
    :class:`CaptureUnavailable` (nothing was refused)."""
    if isinstance(error, CaptureUnavailable):
        return error
    sub_error = error.fields.get("sub_error")
    words = {error.error, sub_error, error.fields.get("argument_name")}
    temporary = (
        (error.http_status is not None and error.http_status >= 500)
        or error.code in TEMPORARY_CODES
        or bool({error.error, sub_error} & TEMPORARY_WORDS)
    )
    if temporary:
        cls: type[CaptureError] = CaptureUnavailable
    elif words & CLIENT_CREDENTIAL_WORDS or error.code in CLIENT_CREDENTIAL_CODES:
        cls = ClientCredentialsRefused
    elif {error.error, sub_error} & GRANT_REFUSAL_WORDS or error.code in GRANT_REFUSAL_CODES:
        cls = refused
    else:
        cls = CaptureUnavailable
    return error if type(error) is cls else error.as_class(cls)


#: The public names: :mod:`flask_capture_link.errors` and :mod:`flask_capture_link.client`
#: export them.
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
    "MergeRequired",
    "MergeTokenInvalid",
    "MissingArgument",
    "NoAccessToken",
    "NoAccountForIdentity",
    "RecordNotFound",
    "RefreshTokenInvalid",
    "SessionExpired",
    "SocialTokenInvalid",
    "UnexpectedError",
    "UnknownAttribute",
    "error_from_body",
]
