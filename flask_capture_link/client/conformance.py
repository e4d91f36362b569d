"""``flask capture-link check --contract``: does this Capture answer as its documents say?

It makes only harmless calls (a sign-in with a test account if one is given, and with a client
secret the exchange of its code; ``/entity`` with the attributes the extension asks for, a link
with a made-up Social Login token, an unlink of an identifier the account does not have, and a
refresh) and holds each answer against the shapes
documented in ``tests/contract/`` (:data:`DOCUMENTED`; a test keeps the two equal). What it
prints names HTTP statuses, ``stat``, ``code``, ``error`` and field names, never a value that
could be a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from .client import ENTITY_ATTRIBUTES, CaptureClient
from .errors import CLIENT_CREDENTIAL_CODES, CLIENT_CREDENTIAL_WORDS

#: A documented answer: its HTTP status and body. In a body, ``"<string>"``, ``"<int>"`` and
#: ``"<bool?>"``/``"<string?>"`` (``null`` allowed) stand for any value of that type; a number
#: such as ``3600`` for any positive integer (``expires_in``).
Documented = tuple[int, dict[str, Any]]

_ANY_STRING, _ANY_INT = "<string>", "<int>"
_NULLABLE = frozenset({"<string?>", "<bool?>"})
#: Fields whose documented value is part of the shape (the rest need only be present).
_VALUE_FIELDS = frozenset({"stat", "code", "error", "argument_name"})


def _error(code: int | str, error: str, **extra: object) -> Documented:
    body = {"stat": "error", "code": code, "error": error, "error_description": _ANY_STRING}
    return 200, {**body, "request_id": _ANY_STRING, **extra}


def _oauth(status: int, error: str, **extra: object) -> Documented:
    return status, {"error": error, "error_description": _ANY_STRING, **extra}


def _janrain_oauth(code: int, sub_error: str, argument_name: str | None = None) -> Documented:
    """docs.janrain.com's OAuth error shape: HTTP 400, Capture's code and error name."""
    body: dict[str, Any] = {
        "stat": "error",
        "code": code,
        "error": "invalid_request",
        "sub_error": sub_error,
    }
    if argument_name is not None:
        body["argument_name"] = argument_name
    return 400, {**body, "error_description": _ANY_STRING}


_TOKENS = {"stat": "ok", "access_token": _ANY_STRING, "expires_in": 3600}
_PROFILE = {
    "displayName": "<string?>",
    "preferredUsername": "<string?>",
    "name": {"formatted": "<string?>"},
    "emails": [{"primary": "<bool?>", "type": "<string?>", "value": _ANY_STRING}],
}

#: The documented answers the check compares against, by ``tests/contract/`` file and name.
DOCUMENTED: dict[str, dict[str, Documented]] = {
    "auth_native": {
        "engage_error": _error(_ANY_INT, "engage_error"),
    },
    "auth_native_traditional": {
        "ok": (200, {"stat": "ok", "access_token": _ANY_STRING, "capture_user": {}}),
        "ok with code": (200, {"stat": "ok", "authorization_code": _ANY_STRING}),
        "invalid_credentials": _error(_ANY_INT, "invalid_credentials", invalid_fields={}),
    },
    "entity": {
        "linked identities": (
            200,
            {
                "stat": "ok",
                "result": {
                    "profiles": [
                        {
                            "domain": _ANY_STRING,
                            "identifier": _ANY_STRING,
                            "verifiedEmail": "<string?>",
                            "profile": _PROFILE,
                        }
                    ]
                },
            },
        ),
        "unknown_attribute": _error(223, "unknown_attribute", attribute_name=_ANY_STRING),
        "invalid_access_token": _error(413, "invalid_access_token"),
        "invalid_argument access_token": _error(
            200, "invalid_argument", argument_name="access_token"
        ),
    },
    "link_account_native": {
        "engage_error": _error(400, "engage_error"),
        "invalid_access_token": _error(413, "invalid_access_token"),
        "invalid_argument access_token": _error(
            200, "invalid_argument", argument_name="access_token"
        ),
    },
    "unlink_account_native": {
        "invalid_argument identifier_to_remove": _error(
            200, "invalid_argument", argument_name="identifier_to_remove"
        ),
        "record_not_found": _error(310, "record_not_found"),
        "invalid_access_token": _error(413, "invalid_access_token"),
    },
    "oauth_token": {
        "ok": (200, {**_TOKENS, "refresh_token": _ANY_STRING}),
        "oauth invalid_argument refresh_token": _janrain_oauth(
            200, "invalid_argument", "refresh_token"
        ),
        "oauth invalid_argument grant_type": _janrain_oauth(200, "invalid_argument", "grant_type"),
        "oauth missing_argument": _janrain_oauth(100, "missing_argument", _ANY_STRING),
        "oauth invalid_client_credentials": _janrain_oauth(402, "invalid_client_credentials"),
        "oauth client_permission_error": _janrain_oauth(403, "client_permission_error"),
        "oauth invalid_argument code": _janrain_oauth(200, "invalid_argument", "code"),
        "oauth redirect_uri mismatch": _janrain_oauth(420, _ANY_STRING),
        "rfc invalid_grant": _oauth(400, "invalid_grant"),
        "rfc invalid_client": _oauth(401, "invalid_client"),
        "capture invalid_argument refresh_token": _error(
            200, "invalid_argument", argument_name="refresh_token"
        ),
        "capture invalid_client_credentials": _error(402, "invalid_client_credentials"),
    },
}


#: Documented answers that hold only what was asked (``/entity`` with ``attributes``): a field
#: the document lacks is a problem there (``accessCredentials``, a display field beside
#: ``profile``).
CLOSED: frozenset[tuple[str, str]] = frozenset(
    {("entity", "linked identities"), ("entity", "vendor attributes")}
)

#: The refusals of a made-up refresh token (and of a made-up authorization code): tried first,
#: then every other refusal (one naming the client credentials is reported).
_REFRESH_REFUSALS = (
    "oauth invalid_argument refresh_token",
    "oauth missing_argument",
    "rfc invalid_grant",
    "capture invalid_argument refresh_token",
)
_CODE_REFUSALS = ("oauth invalid_argument code", "oauth missing_argument", "rfc invalid_grant")


def shape_problems(
    documented: Documented, status: int, body: object, *, closed: bool = False
) -> list[str]:
    """How an answer (``status``, JSON ``body``) differs from a documented one; empty when it
    has the documented shape. ``closed``: the answer may hold no field the document lacks (an
    ``/entity`` answer holds only the attributes asked)."""
    expected_status, expected_body = documented
    problems = [] if status == expected_status else [f"HTTP {status}, not {expected_status}"]
    return problems + list(_differences(expected_body, body, "", closed))


def _differences(expected: Any, actual: Any, where: str, closed: bool) -> Iterator[str]:
    if isinstance(expected, dict):
        if actual is None and where:  # an unset object is null
            return
        if not isinstance(actual, dict):
            yield f"{where or 'the body'} is not an object"
            return
        for key, value in expected.items():
            path = f"{where}.{key}" if where else key
            if key not in actual:
                if not (key == "request_id" and "request_token" in actual):
                    yield f"no field {path}"
            elif key in _VALUE_FIELDS and value not in (_ANY_STRING, _ANY_INT):
                if actual[key] != value:
                    yield f"{path} is {_shown(actual[key])}, not {_shown(value)}"
            else:
                yield from _differences(value, actual[key], path, closed)
        if closed:
            yield from (
                f"unasked field {where}.{k}".lstrip(".") for k in actual if k not in expected
            )
    elif isinstance(expected, list):
        if actual is None:
            return
        if not isinstance(actual, list):
            yield f"{where} is not a list"
            return
        for index, item in enumerate(actual if expected else []):
            yield from _differences(expected[0], item, f"{where}[{index}]", closed)
    elif isinstance(expected, int) and not isinstance(expected, bool):
        if isinstance(actual, bool) or not isinstance(actual, int) or actual <= 0:
            yield f"{where} is {_kind(actual)}, not a positive integer"
    elif expected == _ANY_STRING and not isinstance(actual, str):
        yield f"{where} is not a string"
    elif expected == _ANY_INT and (not isinstance(actual, int) or isinstance(actual, bool)):
        yield f"{where} is not an integer"
    elif expected in _NULLABLE and actual is not None:
        kind = bool if expected == "<bool?>" else str
        if not isinstance(actual, kind):
            yield f"{where} is not a {kind.__name__} or null"


def _kind(value: object) -> str:
    """What a value is, secret-free: its JSON type, and the number when it is one."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _shown(value: object) -> str:
    """A value the check may print: Capture's field values that name errors, never tokens."""
    return repr(value) if isinstance(value, (int, type(None))) or len(str(value)) <= 40 else "…"


def summary(status: int, body: object) -> str:
    """What an answer was, secret-free: HTTP status, ``stat``, ``code``, ``error``,
    ``argument_name`` and the top-level field names."""
    if not isinstance(body, dict):
        return f"HTTP {status}, {type(body).__name__}"
    parts = [f"HTTP {status}"]
    for key in ("stat", "code", "error", "sub_error", "argument_name", "attribute_name"):
        value = body.get(key)
        if isinstance(value, (str, int)) and len(str(value)) <= 40:
            parts.append(f"{key} {value}")
    parts.append("fields " + ", ".join(sorted(str(k) for k in body)))
    return "; ".join(parts)


@dataclass(frozen=True)
class Result:
    """The outcome of one call of the check."""

    call: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The line the check prints."""
        return f"contract: {self.call}: {'ok' if self.ok else 'DIFFERS'}: {self.detail}"


class Check:
    """The harmless calls of ``check --contract`` against one configured Capture.

    ``client_secret`` is the token client's secret (default the client's own); with one, the
    test account signs in for a code and the code is exchanged at ``/oauth/token``, as
    :meth:`CaptureClient.sign_in` does.
    """

    def __init__(self, client: CaptureClient, client_secret: str | None = None) -> None:
        self.client = client
        self.client_secret = client_secret or client.client_secret or None

    def run(self, email: str | None = None, password: str | None = None) -> list[Result]:
        """Every call in order; with ``email`` and ``password`` of a test account, the calls
        that need a signed-in user are made as that user."""
        results: list[Result] = []
        access_token = refresh_token = code = None
        if email and password:
            result, answer = self._sign_in(email, password)
            results.append(result)
            if result.ok:
                code = _text(answer.get("authorization_code"))
                access_token = _text(answer.get("access_token"))
            if self.client_secret is not None and code is None:
                results.append(_NO_CODE)
            elif self.client_secret is not None:
                result, answer = self._exchange(code)
                results.append(result)
                if result.ok:
                    access_token = _text(answer.get("access_token"))
                    refresh_token = _text(answer.get("refresh_token"))
        else:
            results.append(Result("sign in", True, "skipped (no --email/--password given)"))
            if self.client_secret is not None:
                results.append(self._exchange(None)[0])
        results.append(self._entity(access_token))
        results.append(self._social_sign_in())
        results.append(self._link(access_token))
        results.append(self._unlink(access_token))
        results.append(self._refresh(refresh_token, signed_in=bool(email and password)))
        # Only names and codes are printed; should Capture echo a secret in one, cut it out.
        secrets = [
            s for s in (password, access_token, refresh_token, code, self.client_secret) if s
        ]
        return [_redacted(result, secrets) for result in results]

    def _sign_in(self, email: str, password: str) -> tuple[Result, dict[str, Any]]:
        params = self._flow(redirect_uri=True)
        with_code = self.client_secret is not None
        params.update(
            response_type="code" if with_code else "token",
            form="signInForm",
            signInEmailAddress=email,
            currentPassword=password,
        )
        status, body = self._post("/oauth/auth_native_traditional", params)
        result = self._judge(
            "sign in with the test account",
            "auth_native_traditional",
            ["ok with code"] if with_code else ["ok"],
            status,
            body,
            refused="the test account could not sign in",
        )
        return result, body if isinstance(body, dict) else {}

    def _exchange(self, code: str | None) -> tuple[Result, dict[str, Any]]:
        """Exchange the code of the test account's sign-in; without one, a made-up code
        (the documented answer is then a refusal)."""
        params = {
            "grant_type": "authorization_code",
            "code": code or _MADE_UP_CODE,
            "redirect_uri": self.client.redirect_uri,
        }
        status, body = self._post("/oauth/token", params, auth=self._token_auth())
        if code is None:
            return self._token_refusal("exchange a made-up authorization code", status, body), {}
        call = "exchange the test account's code"
        result = self._judge(call, "oauth_token", ["ok"], status, body)
        return result, body if isinstance(body, dict) else {}

    def _token_refusal(self, call: str, status: int, body: object) -> Result:
        grant = _REFRESH_REFUSALS if "refresh" in call else _CODE_REFUSALS
        others = [name for name in DOCUMENTED["oauth_token"] if name not in ("ok", *grant)]
        result = self._judge(call, "oauth_token", [*grant, *others], status, body)
        if result.ok and _names_client(body):
            return Result(result.call, False, result.detail + "; it names the client credentials")
        return result

    def _token_auth(self) -> tuple[str, str] | None:
        if self.client_secret is None:
            return None
        return (self.client.token_client_id, self.client_secret)

    def _entity(self, access_token: str | None) -> Result:
        params = {
            "access_token": access_token or _MADE_UP_ACCESS_TOKEN,
            "type_name": "user",
            "attributes": json.dumps(list(ENTITY_ATTRIBUTES)),
        }
        names = (
            ["linked identities"]
            if access_token
            else ["invalid_access_token", "invalid_argument access_token"]
        )
        status, body = self._post("/entity", params)
        if access_token is not None and _is_error(body, "unknown_attribute"):
            return Result(
                "/entity with our attributes",
                False,
                "this tenant's schema lacks one of our attributes ("
                + summary(status, body)
                + "); linked identities will show without display names",
            )
        result = self._judge("/entity with our attributes", "entity", names, status, body)
        if result.ok and access_token is not None and not _profiles(body):
            return Result(
                result.call,
                False,
                "the test account has no linked identity, so the shape of one was not checked: "
                "link one to the test account and check again",
            )
        return result

    def _social_sign_in(self) -> Result:
        """A sign-in with a made-up Social Login token (``/oauth/auth_native``), which no
        account has: a refusal, and nothing signed in."""
        params = self._flow(redirect_uri=True)
        params.update(
            response_type="code" if self.client_secret is not None else "token",
            token=_MADE_UP_SOCIAL_TOKEN,
        )
        status, body = self._post("/oauth/auth_native", params)
        return self._judge(
            "sign in with a made-up Social Login token",
            "auth_native",
            ["engage_error"],
            status,
            body,
        )

    def _link(self, access_token: str | None) -> Result:
        params = self._flow(redirect_uri=True)
        params.update(
            token=_MADE_UP_SOCIAL_TOKEN, access_token=access_token or _MADE_UP_ACCESS_TOKEN
        )
        names = ["engage_error"]
        if access_token is None:  # Capture may look at either token first
            names += ["invalid_access_token", "invalid_argument access_token"]
        status, body = self._post(self.client.link_path, params)
        return self._judge(
            "link a made-up Social Login token", "link_account_native", names, status, body
        )

    def _unlink(self, access_token: str | None) -> Result:
        params = self._flow()
        params.update(
            access_token=access_token or _MADE_UP_ACCESS_TOKEN,
            identifier_to_remove=_IDENTIFIER_NOT_LINKED,
        )
        names = (
            ["invalid_argument identifier_to_remove", "record_not_found"]
            if access_token
            else ["invalid_access_token"]
        )
        status, body = self._post("/oauth/unlink_account_native", params)
        return self._judge(
            "unlink an identity the account lacks", "unlink_account_native", names, status, body
        )

    def _refresh(self, refresh_token: str | None, *, signed_in: bool) -> Result:
        if self.client_secret is None:
            return Result("refresh", True, "skipped (CAPTURE_LINK_CLIENT_SECRET is not set)")
        if signed_in and refresh_token is None:
            return Result(
                "refresh the test account",
                False,
                "the sign-in gave no refresh token although the site has a client secret",
            )
        params = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token or _MADE_UP_REFRESH_TOKEN,
        }
        status, body = self._post("/oauth/token", params, auth=self._token_auth())
        if refresh_token is not None:
            return self._judge("refresh the test account", "oauth_token", ["ok"], status, body)
        return self._token_refusal("refresh a made-up refresh token", status, body)

    def _judge(
        self,
        call: str,
        corpus: str,
        names: Sequence[str],
        status: int,
        body: object,
        refused: str | None = None,
    ) -> Result:
        def problems_of(name: str) -> list[str]:
            closed = (corpus, name) in CLOSED
            return shape_problems(DOCUMENTED[corpus][name], status, body, closed=closed)

        for name in names:
            if not problems_of(name):
                return Result(call, True, f"answered like '{name}' ({summary(status, body)})")
        nearest = min(names, key=lambda n: len(problems_of(n)))
        problems = "; ".join(problems_of(nearest))
        detail = f"{summary(status, body)}; documented '{nearest}': {problems}"
        return Result(call, False, f"{refused}: {detail}" if refused else detail)

    def _flow(self, *, redirect_uri: bool = False) -> dict[str, str]:
        params = {"client_id": self.client.client_id}
        if self.client.flow and self.client.flow_version:
            params.update(flow=self.client.flow, flow_version=self.client.flow_version)
        params["locale"] = self.client.locale
        if redirect_uri:
            params["redirect_uri"] = self.client.redirect_uri
        return params

    def _post(
        self,
        path: str,
        params: Mapping[str, str],
        auth: tuple[str, str] | None = None,
    ) -> tuple[int, object]:
        try:
            with self.client.session.post(
                self.client.domain + path,
                data=dict(params),
                auth=auth,
                timeout=self.client.timeout,
                verify=self.client.verify,
                allow_redirects=False,
            ) as response:
                try:
                    return response.status_code, response.json()
                except ValueError:
                    return response.status_code, None
        except requests.RequestException as exc:
            return 0, {"transport failure": type(exc).__name__}


def _redacted(result: Result, secrets: Sequence[str]) -> Result:
    detail = result.detail
    for secret in secrets:
        detail = detail.replace(secret, "[redacted]")
    return Result(result.call, result.ok, detail)


def _names_client(body: object) -> bool:
    """Whether a refusal of ``/oauth/token`` blames the client credentials."""
    if not isinstance(body, dict):
        return False
    words = {body.get("error"), body.get("sub_error"), body.get("argument_name")}
    return bool(words & CLIENT_CREDENTIAL_WORDS) or body.get("code") in CLIENT_CREDENTIAL_CODES


def _profiles(body: object) -> list[Any]:
    """The ``result.profiles`` of an ``/entity`` answer, or an empty list."""
    result = body.get("result") if isinstance(body, dict) else None
    profiles = result.get("profiles") if isinstance(result, dict) else None
    return profiles if isinstance(profiles, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_error(body: object, error: str) -> bool:
    return isinstance(body, dict) and body.get("error") == error


_NO_CODE = Result(
    "exchange the test account's code",
    False,
    "the sign-in gave no authorization_code, so the site would get no refresh token",
)

#: Values no Capture can know: the check's calls change nothing.
_MADE_UP_SOCIAL_TOKEN = "0123456789abcdef0123456789abcdef01234567"  # noqa: S105 - made up, refused
_MADE_UP_ACCESS_TOKEN = "capturelinkcheck0000000"  # noqa: S105
_MADE_UP_REFRESH_TOKEN = "capturelinkcheck00000000000000000"  # noqa: S105
_MADE_UP_CODE = "capturelinkck0"
_IDENTIFIER_NOT_LINKED = "https://capture-link-check.invalid/not-linked"
