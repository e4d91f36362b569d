"""The Capture API endpoints: each checks its form in Capture's order and answers a JSON body.

Capture answers errors with HTTP 200 and ``{"stat": "error", "code": N, "error": ...}``; every
check below raises :class:`ErrorAnswer` with the values of the vendor's specification, so an
endpoint reads as its list of checks. ``/oauth/token`` refuses in the OAuth shape that
docs.janrain.com's error-code page shows instead (:class:`OAuthRefusal`: HTTP 400, ``stat``,
``code``, ``"error": "invalid_request"``, the Capture error as ``sub_error``,
``argument_name``). Every answer here is one that ``tests/contract/`` documents. The caller
holds the emulator's lock.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable, Mapping

from werkzeug.wrappers import Response

from . import schema
from .data import (
    FLOW,
    FLOW_VERSION,
    Client,
    CodeGrant,
    Grant,
    Profile,
    SocialGrant,
    Store,
    User,
    random_string,
)
from .providers import provider_of_domain

Form = Mapping[str, str]
Body = dict[str, object]

LINK_ACCOUNT = "/oauth/link_account_native"
UNLINK_ACCOUNT = "/oauth/unlink_account_native"
ENTITY = "/entity"
SIGN_IN = "/oauth/auth_native_traditional"
SOCIAL_SIGN_IN = "/oauth/auth_native"
TOKEN = "/oauth/token"  # noqa: S105 - a path
#: The old name of :data:`TOKEN`.
REFRESH = TOKEN

_WRONG_CREDENTIALS = "Incorrect username or password. Please try again."


def unknown_client(client_id: str) -> str:
    """The description for a client id this emulator has not got: it tells a site whose saved
    settings came from an emulator started with another seed what to do."""
    shown = client_id if len(client_id) <= 64 else client_id[:64] + "..."
    return (
        f"The emulator does not know the client_id {shown!r}. It may have been restarted with "
        "other settings (another --seed): use the CAPTURE_LINK_CLIENT_ID it printed."
    )


class ErrorAnswer(Exception):
    """An error answer of Capture: code, error, description and any extra fields."""

    #: The HTTP status of the answer: Capture answers its errors with 200.
    status = 200

    def __init__(self, code: int, error: str, description: str, **extra: object) -> None:
        super().__init__(description)
        self.code = code
        self.error = error
        self.description = description
        self.extra = extra

    def body(self) -> Body:
        """The JSON body Capture sends, with a fresh support ``request_id``."""
        return {
            "stat": "error",
            "code": self.code,
            "error": self.error,
            "error_description": self.description,
            "request_id": random_string(16),
            **self.extra,
        }


class OAuthRefusal(ErrorAnswer):
    """A refusal of ``/oauth/token`` in the OAuth shape docs.janrain.com shows: HTTP 400,
    ``stat`` error, Capture's ``code``, ``"error": "invalid_request"``, Capture's error name
    as ``sub_error`` and the parameter at fault as ``argument_name``."""

    status = 400

    def __init__(self, code: int, sub_error: str, argument_name: str, description: str) -> None:
        super().__init__(code, "invalid_request", description)
        self.sub_error = sub_error
        self.argument_name = argument_name

    def body(self) -> Body:
        """The OAuth error body, as the vendor's example (no support id in it)."""
        return {
            "stat": "error",
            "code": self.code,
            "error": self.error,
            "sub_error": self.sub_error,
            "argument_name": self.argument_name,
            "error_description": self.description,
        }


def invalid_argument(name: str, description: str) -> ErrorAnswer:
    """Capture's code 200: a parameter is malformed; ``argument_name`` says which."""
    return ErrorAnswer(200, "invalid_argument", description, argument_name=name)


def require(form: Form, names: list[str]) -> None:
    """Code 100 naming, in order, every required parameter that is absent or empty (the
    specification's description) and the first as ``argument_name`` (docs.janrain.com)."""
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise ErrorAnswer(
            100,
            "missing_argument",
            "missing arguments: " + ", ".join(missing),
            argument_name=missing[0],
        )


def login_client(store: Store, form: Form, *after_locale: str) -> Client:
    """Checks 1-3 of the login endpoints: arguments present, a login client, a known flow.

    ``flow`` and ``flow_version`` may be left out when the client has default flow settings.
    """
    client = store.clients.get(form.get("client_id", ""))
    flow_names = [] if client is not None and client.default_flow else ["flow", "flow_version"]
    require(form, ["client_id", *flow_names, "locale", *after_locale])
    if client is None:
        raise ErrorAnswer(403, "permission_error", unknown_client(form["client_id"]))
    if not client.login_client:
        raise ErrorAnswer(
            403, "permission_error", "This client does not support log in and registration."
        )
    flow = form.get("flow") or FLOW
    version = form.get("flow_version") or FLOW_VERSION
    locale = form["locale"]
    if flow != FLOW or version != FLOW_VERSION or locale not in store.locales:
        raise ErrorAnswer(
            500,
            "unexpected_error",
            f"could not find a flow named '{flow}' with version '{version}' and locale '{locale}'",
        )
    return client


def check_redirect_uri(form: Form) -> None:
    """Code 200 unless ``redirect_uri`` begins with ``http:`` or ``https:``."""
    if not form["redirect_uri"].lower().startswith(("http:", "https:")):
        raise invalid_argument("redirect_uri", "redirect_uri must begin with http: or https:")


def token_owner(store: Store, access_token: str) -> User:
    """The user of a valid access token; code 413 when unknown, 414 when expired."""
    grant = store.access_tokens.get(access_token)
    if grant is None:
        raise ErrorAnswer(413, "invalid_access_token", "invalid access token")
    if store.clock.now() >= grant.expires_at:
        raise ErrorAnswer(414, "access_token_expired", "access token expired")
    return store.users[grant.user_uuid]


def link_account(store: Store, form: Form) -> Body:
    """``/oauth/link_account_native``: link the Social Login token's identity to the user."""
    login_client(store, form, "redirect_uri", "token", "access_token")
    check_redirect_uri(form)
    user = token_owner(store, form["access_token"])
    # Capture spends the token on Social Login before it knows whether the link can be made.
    social = store.social_tokens.pop(form["token"], None)
    if social is None or store.clock.now() >= social.expires_at:
        raise ErrorAnswer(400, "engage_error", "Unexpected HTTP status code from server: 400")
    link_new_identity(store, user, social.profile)
    return {"stat": "ok"}


def link_new_identity(store: Store, user: User, profile: Profile) -> None:
    """Link ``profile`` to ``user``; code 361 when another account (or this one) has it."""
    if store.owner(profile) is not None:
        raise ErrorAnswer(
            361,
            "unique_violation",
            "that account already exists",
            message="That account is already in use.",
        )
    store.link(user, profile)


def unlink_account(store: Store, form: Form) -> Body:
    """``/oauth/unlink_account_native``: remove one of the user's linked identities."""
    login_client(store, form, "access_token", "identifier_to_remove")
    user = token_owner(store, form["access_token"])
    if not store.unlink(user, form["identifier_to_remove"]):
        raise invalid_argument(
            "identifier_to_remove", "identifier_to_remove is not linked to this account"
        )
    return {"stat": "ok"}


def entity(store: Store, form: Form) -> Body:
    """``/entity``: the access token's user record, or only its ``attributes`` when asked."""
    require(form, ["access_token"])
    user = token_owner(store, form["access_token"])
    type_name = form.get("type_name", "user")
    if type_name != "user":
        raise ErrorAnswer(
            222, "unknown_entity_type", f"no entity type named {type_name}", type_name=type_name
        )
    record = user.to_json()
    if form.get("attributes"):
        try:
            record = schema.select(record, schema.parse(form["attributes"]))
        except schema.BadAttributes as exc:
            if exc.unknown is None:
                raise invalid_argument("attributes", str(exc)) from None
            raise ErrorAnswer(
                223, "unknown_attribute", str(exc), attribute_name=exc.unknown
            ) from None
    return {"stat": "ok", "result": record}


def sign_in(store: Store, form: Form) -> Body:
    """``/oauth/auth_native_traditional``: email and password sign-in.

    ``response_type=token`` answers an access token and ``capture_user`` (what jump.ios's
    sign-in handler reads; no source shows a refresh token there); ``response_type=code`` an
    ``authorization_code`` for the server to exchange at ``/oauth/token``. With a
    ``merge_token`` (jump.ios, jump.android), the password proves the account and the merge
    token's identity is linked to it (the vendor's "Merge accounts" page).
    """
    fields = ["redirect_uri", "response_type", "form", "signInEmailAddress", "currentPassword"]
    client = login_client(store, form, *fields)
    check_redirect_uri(form)
    _check_response_type(form)
    if form["form"] != "signInForm":
        raise invalid_argument("form", f"no form named '{form['form']}' in this flow")
    user = store.find_user(form["signInEmailAddress"])
    if (
        user is None
        or not user.password
        or not hmac.compare_digest(user.password.encode(), form["currentPassword"].encode())
    ):
        raise ErrorAnswer(
            210,
            "invalid_credentials",
            _WRONG_CREDENTIALS,
            invalid_fields={"signInForm": [_WRONG_CREDENTIALS]},
        )
    if form.get("merge_token"):
        _merge(store, user, form["merge_token"])
    return _signed_in(store, client, form, user)


def social_sign_in(store: Store, form: Form) -> Body:
    """``/oauth/auth_native``: sign in with the identity of a Social Login token.

    The account the identity is linked to signs in, answered as :func:`sign_in` answers. No
    account has it: 310 ``record_not_found``. None has it, but the provider's verified email is
    an account's: 380 ``email_address_in_use`` with ``existing_provider``, ``"capture"`` for an
    account with a password, else the provider of its first identity. Neither error spends the
    token (the vendor's pages use it again: as ``merge_token``, or for ``register_native``).
    With a ``merge_token`` (a token that met a 380), ``token`` proves the existing account and
    the merge token's identity is linked to it.
    """
    client = login_client(store, form, "redirect_uri", "response_type", "token")
    check_redirect_uri(form)
    _check_response_type(form)
    social = _social_grant(store, form["token"], "token")
    user = store.owner(social.profile)
    if user is None and form.get("merge_token"):
        raise ErrorAnswer(310, "record_not_found", "no user has the identity of token")
    if user is None:
        owner_of_email = _owner_of_email(store, social)
        if owner_of_email is None:
            raise ErrorAnswer(310, "record_not_found", "no user has this identity")
        store.merge_candidates[form["token"]] = owner_of_email.uuid
        raise ErrorAnswer(
            380,
            "email_address_in_use",
            "the email address of this identity belongs to an existing user",
            existing_provider=_existing_provider(owner_of_email),
        )
    if form.get("merge_token"):
        _merge(store, user, form["merge_token"])
    del store.social_tokens[form["token"]]
    store.merge_candidates.pop(form["token"], None)
    return _signed_in(store, client, form, user)


def _check_response_type(form: Form) -> None:
    if form["response_type"] not in ("token", "code"):
        raise invalid_argument("response_type", "response_type must be token or code")


def _signed_in(store: Store, client: Client, form: Form, user: User) -> Body:
    if form["response_type"] == "code":
        code = store.issue_code(user, client.client_id, form["redirect_uri"])
        return {"stat": "ok", "authorization_code": code, "capture_user": user.summary()}
    access_token = store.issue_access_token(user, client.client_id)
    return {"stat": "ok", "access_token": access_token, "capture_user": user.summary()}


def _social_grant(store: Store, token: str, name: str) -> SocialGrant:
    """The identity of a live Social Login token; 400 ``engage_error`` naming ``name`` else
    (an expired token is forgotten)."""
    social = store.social_tokens.get(token)
    if social is not None and store.clock.now() < social.expires_at:
        return social
    store.social_tokens.pop(token, None)
    store.merge_candidates.pop(token, None)
    raise ErrorAnswer(
        400, "engage_error", f"{name} is invalid, used or expired", argument_name=name
    )


def _owner_of_email(store: Store, social: SocialGrant) -> User | None:
    """The account whose email is the identity's verified email: unverified ones never match."""
    email = social.profile.verified_email
    return None if email is None else store.find_user(email)


def _existing_provider(user: User) -> str:
    """How the account signs in, as a 380 names it: ``capture`` for a password."""
    if user.password or not user.profiles:
        return "capture"
    return provider_of_domain(user.profiles[0].domain)


def _merge(store: Store, user: User, merge_token: str) -> None:
    """Link the identity of ``merge_token`` to ``user``, who has just proved the account.

    The merge token must be a live token that met a 380 for this very account; it is spent by
    the merge. The identity may have been linked meanwhile: 361, as a link would answer.
    """
    social = _social_grant(store, merge_token, "merge_token")
    if store.merge_candidates.get(merge_token) != user.uuid:
        raise ErrorAnswer(
            400,
            "engage_error",
            "merge_token did not meet email_address_in_use for this account",
            argument_name="merge_token",
        )
    del store.social_tokens[merge_token]
    del store.merge_candidates[merge_token]
    link_new_identity(store, user, social.profile)


def token(store: Store, form: Form) -> Body:
    """``/oauth/token``: ``grant_type=authorization_code`` (a sign-in's code) or
    ``refresh_token``; both single-use. Client credentials come as HTTP Basic or in the form
    (the caller puts the Basic ones in the form); a login client or an owner, access_issuer
    or direct_access client may call it."""
    _token_require(form, ["grant_type", "client_id", "client_secret"])
    grant_type = form["grant_type"]
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthRefusal(
            200, "invalid_argument", "grant_type", f"invalid grant_type: {grant_type}"
        )
    client = store.clients.get(form["client_id"])
    if client is None:  # jump.ios: 402 is an unknown client id or a wrong secret
        raise OAuthRefusal(
            402, "invalid_client_credentials", "client_id", unknown_client(form["client_id"])
        )
    if not hmac.compare_digest(client.client_secret.encode(), form["client_secret"].encode()):
        raise OAuthRefusal(
            402,
            "invalid_client_credentials",
            "client_secret",
            "client_id and client_secret do not match",
        )
    if not client.may_call_token:
        raise OAuthRefusal(
            403,
            "client_permission_error",
            "client_id",
            "this client may not call oauth/token: it needs the owner, access_issuer or "
            "login_client feature",
        )
    if grant_type == "authorization_code":
        user = _redeem_code(store, client, form)
    else:
        user = _redeem_refresh_token(store, client, form)
    return {"stat": "ok", **store.issue_tokens(user, client.client_id)}


def _token_require(form: Form, names: list[str]) -> None:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise OAuthRefusal(
            100, "missing_argument", missing[0], f"missing required argument: {missing[0]}"
        )


def _redeem_code(store: Store, client: Client, form: Form) -> User:
    _token_require(form, ["code", "redirect_uri"])
    # Spent by any attempt, whatever the outcome (RFC 6749: a code is used once).
    grant: CodeGrant | None = store.codes.pop(form["code"], None)
    if grant is None or store.clock.now() >= grant.expires_at or not client.may_redeem(grant):
        raise OAuthRefusal(200, "invalid_argument", "code", "code is not valid")
    if form["redirect_uri"] != grant.redirect_uri:  # jump.ios: 420 on the code exchange
        raise OAuthRefusal(
            420,
            "redirect_uri_mismatch",
            "redirect_uri",
            "redirect_uri does not match the one the code was issued with",
        )
    return store.users[grant.user_uuid]


def _redeem_refresh_token(store: Store, client: Client, form: Form) -> User:
    _token_require(form, ["refresh_token"])
    grant: Grant | None = store.refresh_tokens.pop(form["refresh_token"], None)
    if grant is None or store.clock.now() >= grant.expires_at or not client.may_redeem(grant):
        raise OAuthRefusal(200, "invalid_argument", "refresh_token", "refresh_token is not valid")
    return store.users[grant.user_uuid]


#: Capture endpoints by path.
ENDPOINTS: dict[str, Callable[[Store, Form], Body]] = {
    LINK_ACCOUNT: link_account,
    UNLINK_ACCOUNT: unlink_account,
    ENTITY: entity,
    SIGN_IN: sign_in,
    SOCIAL_SIGN_IN: social_sign_in,
    TOKEN: token,
}

#: The HTTP methods each endpoint takes: ``/entity`` by GET too (the vendor's REST API takes
#: GET and POST); the ``/oauth`` calls only a POST with a form body.
METHODS: dict[str, frozenset[str]] = {
    path: frozenset({"GET", "POST"} if path == ENTITY else {"POST"}) for path in ENDPOINTS
}


def answer(store: Store, endpoint: str, form: Form) -> tuple[int, Body]:
    """The HTTP status and JSON body Capture answers to a POST of ``form`` to ``endpoint``."""
    try:
        return 200, ENDPOINTS[endpoint](store, form)
    except ErrorAnswer as error:
        return error.status, error.body()


#: Endpoints that take the user's access token in the ``Authorization`` header too
#: (``OAuth <token>``, the vendor's janrain-oauth authentication, or ``Bearer``): ``/entity``
#: only. The ``/oauth/*_native`` pages say every parameter goes in the body.
ACCESS_TOKEN_ENDPOINTS = frozenset({ENTITY})


def with_authorization(endpoint: str, form: Form, authorization: str | None) -> dict[str, str]:
    """``form`` plus what the ``Authorization`` header carries: the access token
    (``OAuth``/``Bearer``) on the endpoints that take one, the client credentials (``Basic``)
    on ``/oauth/token``. A value in the form wins over the header."""
    merged = dict(form)
    scheme, _, value = (authorization or "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if endpoint in ACCESS_TOKEN_ENDPOINTS and scheme in ("oauth", "bearer") and value:
        merged.setdefault("access_token", value)
    elif endpoint == TOKEN and scheme == "basic" and value:
        try:
            client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return merged
        merged.setdefault("client_id", client_id)
        merged.setdefault("client_secret", secret)
    return merged


def json_response(body: object, status: int = 200) -> Response:
    """``body`` as a JSON answer; Capture answers errors with HTTP 200 too."""
    return Response(json.dumps(body), status, mimetype="application/json")
