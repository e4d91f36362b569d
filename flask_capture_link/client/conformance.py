"""``flask capture-link check --contract``: does this Capture answer as its documents say?

It makes only harmless calls (a sign-in with a test account if one is given, ``/entity`` with
the attributes the extension asks for, a link with a made-up Social Login token, an unlink of an
identifier the account does not have, and a refresh) and holds each answer against the shapes
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
from .errors import CLIENT_CREDENTIAL_WORDS

#: A documented answer: its HTTP status and body. In a body, ``"<string>"``, ``"<int>"`` and
#: ``"<bool?>"``/``"<string?>"`` (``null`` allowed) stand for any value of that type.
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


_TOKENS = {"stat": "ok", "access_token": _ANY_STRING, "expires_in": 3600}
_PROFILE = {
    "displayName": "<string?>",
    "preferredUsername": "<string?>",
    "name": {"formatted": "<string?>"},
    "emails": [{"primary": "<bool?>", "type": "<string?>", "value": _ANY_STRING}],
}

#: The documented answers the check compares against, by ``tests/contract/`` file and name.
DOCUMENTED: dict[str, dict[str, Documented]] = {
    "auth_native_traditional": {
        "ok": (200, {"stat": "ok", "access_token": _ANY_STRING, "capture_user": {}}),
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
        "oauth invalid_request refresh_token": _oauth(
            400, "invalid_request", sub_error=_ANY_STRING, argument_name="refresh_token"
        ),
        "oauth invalid_request client credentials": _oauth(
            400, "invalid_request", sub_error=_ANY_STRING, argument_name="client_secret"
        ),
        "rfc invalid_grant": _oauth(400, "invalid_grant"),
        "rfc invalid_client": _oauth(401, "invalid_client"),
        "capture invalid_argument refresh_token": _error(
            200, "invalid_argument", argument_name="refresh_token"
        ),
        "capture invalid_client_credentials": _error(402, "invalid_client_credentials"),
    },
}


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
    elif expected == _ANY_STRING and not isinstance(actual, str):
        yield f"{where} is not a string"
    elif expected == _ANY_INT and (not isinstance(actual, int) or isinstance(actual, bool)):
        yield f"{where} is not an integer"
    elif expected in _NULLABLE and actual is not None:
        kind = bool if expected == "<bool?>" else str
        if not isinstance(actual, kind):
            yield f"{where} is not a {kind.__name__} or null"


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
    """The harmless calls of ``check --contract`` against one configured Capture."""

    def __init__(self, client: CaptureClient, client_secret: str | None) -> None:
        self.client = client
        self.client_secret = client_secret or None

    def run(self, email: str | None = None, password: str | None = None) -> list[Result]:
        """Every call in order; with ``email`` and ``password`` of a test account, the calls
        that need a signed-in user are made as that user."""
        results: list[Result] = []
        access_token = refresh_token = None
        if email and password:
            result, answer = self._sign_in(email, password)
            results.append(result)
            if result.ok and isinstance(answer.get("access_token"), str):
                access_token = answer["access_token"]
                found = answer.get("refresh_token")
                refresh_token = found if isinstance(found, str) else None
        else:
            results.append(Result("sign in", True, "skipped (no --email/--password given)"))
        results.append(self._entity(access_token))
        results.append(self._link(access_token))
        results.append(self._unlink(access_token))
        results.append(self._refresh(refresh_token))
        # Only names and codes are printed; should Capture echo a secret in one, cut it out.
        secrets = [s for s in (password, access_token, refresh_token, self.client_secret) if s]
        return [_redacted(result, secrets) for result in results]

    def _sign_in(self, email: str, password: str) -> tuple[Result, dict[str, Any]]:
        params = self._flow(redirect_uri=True)
        params.update(
            response_type="token",
            form="signInForm",
            signInEmailAddress=email,
            currentPassword=password,
        )
        status, body = self._post("/oauth/auth_native_traditional", params)
        result = self._judge(
            "sign in with the test account",
            "auth_native_traditional",
            ["ok"],
            status,
            body,
            refused="the test account could not sign in",
        )
        return result, body if isinstance(body, dict) else {}

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
        return self._judge("/entity with our attributes", "entity", names, status, body)

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

    def _refresh(self, refresh_token: str | None) -> Result:
        if self.client_secret is None:
            return Result("refresh", True, "skipped (CAPTURE_LINK_CLIENT_SECRET is not set)")
        params = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token or _MADE_UP_REFRESH_TOKEN,
        }
        auth = (self.client.client_id, self.client_secret)
        status, body = self._post("/oauth/token", params, auth=auth)
        if refresh_token is not None:
            return self._judge("refresh the test account", "oauth_token", ["ok"], status, body)
        refusals = [name for name in DOCUMENTED["oauth_token"] if name != "ok"]
        result = self._judge(
            "refresh a made-up refresh token", "oauth_token", refusals, status, body
        )
        if result.ok and _names_client(body):
            return Result(result.call, False, result.detail + "; it names the client credentials")
        return result

    def _judge(
        self,
        call: str,
        corpus: str,
        names: Sequence[str],
        status: int,
        body: object,
        refused: str | None = None,
    ) -> Result:
        for name in names:
            if not shape_problems(DOCUMENTED[corpus][name], status, body):
                return Result(call, True, f"answered like '{name}' ({summary(status, body)})")
        nearest = min(
            names, key=lambda n: len(shape_problems(DOCUMENTED[corpus][n], status, body))
        )
        problems = "; ".join(shape_problems(DOCUMENTED[corpus][nearest], status, body))
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
    return bool(words & CLIENT_CREDENTIAL_WORDS) or body.get("code") in (402, 403)


def _is_error(body: object, error: str) -> bool:
    return isinstance(body, dict) and body.get("error") == error


#: Values no Capture can know: the check's calls change nothing.
_MADE_UP_SOCIAL_TOKEN = "0123456789abcdef0123456789abcdef01234567"  # noqa: S105 - made up, refused
_MADE_UP_ACCESS_TOKEN = "capturelinkcheck0000000"  # noqa: S105
_MADE_UP_REFRESH_TOKEN = "capturelinkcheck00000000000000000"  # noqa: S105
_IDENTIFIER_NOT_LINKED = "https://capture-link-check.invalid/not-linked"
