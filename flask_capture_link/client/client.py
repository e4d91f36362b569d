"""``CaptureClient``: the calls to Capture, over one pooled HTTPS session.

One client serves one Capture application and is safe to share between threads and requests::

    client = CaptureClient(
        "https://example.us.janraincapture.com",
        "12345abcde12345abcde12345abcde12",
        flow_version="20190618143040022299",
        redirect_uri="https://www.example.com/",
    )
    client.link_account(token, access_token)

With a ``client_secret`` (the site's server side holds it), :meth:`CaptureClient.sign_in` asks
for an authorization code and exchanges it at ``/oauth/token`` for an access token and a
refresh token, as the vendor's API-based guide does; without one it asks for an access token
only. Every parameter goes in the form body, never the query string. Capture's answer is read as
JSON first and its HTTP status second, because Capture reports errors with HTTP 200. A failure
raises the matching :mod:`flask_capture_link.errors` exception.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import transport
from .errors import (
    CaptureAnswerLost,
    CaptureError,
    CaptureUnavailable,
    MergeRequired,
    NoAccountForIdentity,
    RecordNotFound,
    UnknownAttribute,
    code_refusal,
    error_from_body,
    refresh_refusal,
)
from .models import PASSWORD, REFRESH, SOCIAL, LinkedIdentity, Tokens

logger = logging.getLogger(__name__)

#: Seconds to wait for a connection, then for Capture's answer.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)

#: Connections kept open to Capture; more threads than this open extra, short-lived ones.
DEFAULT_POOL_SIZE = 32

#: Attributes of the user record that :meth:`CaptureClient.linked_identities` asks for: the
#: default schema's paths (display fields are under ``profiles.profile``). Never the whole
#: ``profiles`` plural, nor ``profiles.accessCredentials`` (the provider's tokens).
ENTITY_ATTRIBUTES = (
    "profiles.domain",
    "profiles.identifier",
    "profiles.verifiedEmail",
    "profiles.profile.displayName",
    "profiles.profile.preferredUsername",
    "profiles.profile.name.formatted",
    "profiles.profile.emails",
)

#: What the vendor's "Link or unlink accounts" page asks ``/entity`` for: asked instead when
#: a tenant's schema lacks one of :data:`ENTITY_ATTRIBUTES` (``unknown_attribute``).
MINIMAL_ENTITY_ATTRIBUTES = ("profiles.domain", "profiles.identifier")

_REDACTED = "[redacted]"

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}

Timeout = float | tuple[float, float]


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuse every cookie, so nothing one user's call sets travels with another's."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def new_session(pool_size: int = DEFAULT_POOL_SIZE) -> requests.Session:
    """A ``requests.Session`` set up as Capture calls need it.

    Connection failures (nothing was sent) are retried once; nothing that may have reached
    Capture is retried. Cookies are neither stored nor sent.
    """
    session = requests.Session()
    session.cookies.set_policy(_NoCookies())
    retry = Retry(total=1, connect=1, read=False, redirect=0, status=0, other=0)
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class CaptureClient:
    """Calls Capture's OAuth endpoints for one API client.

    :param domain: the Capture (Registration) domain, e.g. ``https://x.us.janraincapture.com``.
    :param client_id: an API client with the ``login_client`` feature.
    :param client_secret: the secret of ``token_client_id``; with it, :meth:`sign_in` ends
        with a refresh token and :meth:`refresh` needs no secret of its own. Never logged.
    :param token_client_id: the API client whose credentials go to ``/oauth/token`` (as HTTP
        Basic): the vendor's permission table names owner and access_issuer clients there,
        its guides the login client. Default: ``client_id``.
    :param flow: the flow name.
    :param flow_version: a concrete flow version (Capture refuses ``HEAD``); ``None`` omits
        both flow and version, for API clients with ``default_flow_name`` and
        ``default_flow_version`` settings.
    :param locale: the default locale; each call may pass its own.
    :param redirect_uri: required by Capture for legacy reasons; must start with http(s):.
    :param link_path: the link endpoint's path.
    :param timeout: seconds, or ``(connect, read)`` seconds, for every call.
    :param verify: a CA file or folder, which wins over any environment variable; or
        ``True``: ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) if set when the client is
        built, else the system's CA store, else the bundle requests ships (certifi).
    :param session: a ``requests.Session`` to use instead of :func:`new_session`'s.
    """

    def __init__(
        self,
        domain: str,
        client_id: str,
        *,
        flow: str | None = "standard",
        flow_version: str | None,
        locale: str = "en-US",
        redirect_uri: str,
        link_path: str = "/oauth/link_account_native",
        timeout: Timeout = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        session: requests.Session | None = None,
        client_secret: str | None = None,
        token_client_id: str | None = None,
    ) -> None:
        if flow_version is not None and flow_version.upper() == "HEAD":
            raise ValueError("flow_version must be a concrete version; Capture refuses HEAD")
        if not redirect_uri.startswith(("http:", "https:")):
            raise ValueError("redirect_uri must start with http: or https:")
        self.domain = domain.rstrip("/")
        #: ``scheme://host:port`` of Capture, for messages (never a user or password).
        self.origin = transport.origin(self.domain)
        self.client_id = client_id
        #: The client whose id and secret authenticate ``/oauth/token`` calls.
        self.token_client_id = token_client_id or client_id
        self.client_secret = client_secret or None
        self.flow = flow if flow_version is not None else None
        self.flow_version = flow_version
        self.locale = locale
        self.redirect_uri = redirect_uri
        self.link_path = link_path
        self.timeout = timeout
        self.verify = _ca_bundle_from_environment() if verify is True else verify
        self.session = session if session is not None else new_session()
        self._own_session = session is None
        if self._own_session:
            # requests would read proxy variables and .netrc on every call (a fifth of a pooled
            # call's time); read the environment once, here, instead.
            self.session.trust_env = False
            self.session.proxies.update(requests.utils.get_environ_proxies(self.domain))
        self._headers = {**self.session.headers, **_FORM}

    def __repr__(self) -> str:
        return f"CaptureClient({self.domain!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> CaptureClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def link_account(self, token: str, access_token: str, *, locale: str | None = None) -> None:
        """Link the social identity behind Social Login ``token`` to the user of
        ``access_token``. Returns on success; raises a :class:`CaptureError` otherwise, e.g.
        :class:`~flask_capture_link.errors.AccountAlreadyLinked`."""
        params = self._flow_params(locale, redirect_uri=True)
        params.update(token=token, access_token=access_token)
        self._post(self.link_path, params, secrets=(token, access_token))

    def unlink_account(
        self, access_token: str, identifier: str, *, locale: str | None = None
    ) -> None:
        """Remove the linked identity ``identifier`` (a :class:`LinkedIdentity` identifier)."""
        params = self._flow_params(locale)
        params.update(access_token=access_token, identifier_to_remove=identifier)
        self._post("/oauth/unlink_account_native", params, secrets=(access_token,))

    def linked_identities(self, access_token: str) -> list[LinkedIdentity]:
        """The social identities linked to the user of ``access_token``.

        Asks ``/entity`` for :data:`ENTITY_ATTRIBUTES`; a tenant whose schema lacks one of
        them (Capture answers ``unknown_attribute``) is asked again for the domain and
        identifier only, so the list still shows, without display names."""
        try:
            answer = self._entity(access_token, ENTITY_ATTRIBUTES)
        except UnknownAttribute as error:
            logger.warning("Capture /entity: %s; asking for domain and identifier only", error)
            answer = self._entity(access_token, MINIMAL_ENTITY_ATTRIBUTES)
        result = answer.get("result")
        profiles = result.get("profiles") if isinstance(result, dict) else None
        if not isinstance(profiles, list):
            return []
        return [LinkedIdentity.from_profile(p) for p in profiles if isinstance(p, dict)]

    def _entity(self, access_token: str, attributes: Iterable[str]) -> dict[str, Any]:
        params = {
            "access_token": access_token,
            "type_name": "user",
            "attributes": json.dumps(list(attributes)),
        }
        return self._post("/entity", params, secrets=(access_token,))

    def sign_in(
        self,
        email: str,
        password: str,
        *,
        merge_token: str | None = None,
        locale: str | None = None,
    ) -> Tokens:
        """Sign in with email and password (``/oauth/auth_native_traditional``).

        With a ``client_secret``, asks for an authorization code (``response_type=code``) and
        exchanges it (:meth:`exchange_code`): the tokens carry a refresh token. Without one,
        asks for an access token (``response_type=token``): no refresh token, which is a
        supported state (the user signs in again when the access token ends). The tokens'
        ``capture_user`` is the answer's, when it has one.

        :param merge_token: the token of a :class:`~flask_capture_link.errors.MergeRequired`
            whose ``existing_provider`` is ``"capture"``: once the password proves the
            account, Capture links that identity to it (the vendor's "Merge accounts" page).
            :class:`~flask_capture_link.errors.MergeTokenInvalid` when Capture refuses it.
        """
        params = self._flow_params(locale, redirect_uri=True)
        params.update(
            response_type=self._response_type(),
            form="signInForm",
            signInEmailAddress=email,
            currentPassword=password,
        )
        if merge_token:
            params["merge_token"] = merge_token
        return self._sign_in_call(
            "/oauth/auth_native_traditional", params, (password, merge_token or ""), PASSWORD
        )

    def sign_in_with_token(
        self, token: str, *, merge_token: str | None = None, locale: str | None = None
    ) -> Tokens:
        """Sign in with a social identity: the Social Login ``token`` the token URL received
        (``/oauth/auth_native``, the vendor's "Complete social login"). Tokens are obtained as
        :meth:`sign_in` obtains them (a code and its exchange with a ``client_secret``, else an
        access token), with ``obtained_by`` :data:`~flask_capture_link.models.SOCIAL` and the
        answer's ``capture_user``::

            try:
                tokens = client.sign_in_with_token(token)
            except MergeRequired as merge:
                ...  # prove merge.existing_provider, then pass merge.merge_token back
            except NoAccountForIdentity:
                ...  # sign in another way, then link the identity

        :param merge_token: a :class:`~flask_capture_link.errors.MergeRequired`'s token, when
            ``token`` is then the existing provider's: Capture links the new identity to the
            account that ``token`` proves.
        :raises NoAccountForIdentity: no account has the identity (310).
        :raises MergeRequired: the provider's verified email belongs to an existing account
            (380); it carries ``existing_provider`` and ``merge_token``.
        :raises SocialTokenInvalid: the token is invalid, used or expired (400);
            :class:`~flask_capture_link.errors.MergeTokenInvalid` when the merge token is.
        """
        params = self._flow_params(locale, redirect_uri=True)
        params.update(response_type=self._response_type(), token=token)
        if merge_token:
            params["merge_token"] = merge_token
        try:
            return self._sign_in_call(
                "/oauth/auth_native", params, (token, merge_token or ""), SOCIAL
            )
        except RecordNotFound as error:
            raise error.as_class(NoAccountForIdentity) from None
        except MergeRequired as error:
            # As Janrain's SDKs do: the token that met the 380 is the merge token to come.
            error.merge_token = token
            raise

    def _response_type(self) -> str:
        return "code" if self.client_secret else "token"

    def _sign_in_call(
        self, path: str, params: dict[str, str], secrets: tuple[str, ...], obtained_by: str
    ) -> Tokens:
        """A sign-in call, then the exchange of its code when the client has a secret."""
        started = time.time()
        answer = self._post(path, params, secrets=secrets)
        code = answer.get("authorization_code")
        if self.client_secret and isinstance(code, str) and code:
            tokens = self.exchange_code(code, obtained_by=obtained_by)
        else:
            tokens = self._tokens(answer, started, obtained_by)
        return tokens.with_user(answer)

    def exchange_code(
        self,
        code: str,
        *,
        redirect_uri: str | None = None,
        obtained_by: str | None = None,
    ) -> Tokens:
        """Trade an authorization code (from a sign-in with ``response_type=code``) for an
        access token and a refresh token (``/oauth/token``, ``grant_type=authorization_code``,
        the token client's credentials as HTTP Basic). Codes are single-use.

        :param redirect_uri: the one the code was issued with; default the client's.
        :param obtained_by: what the tokens' :attr:`~Tokens.obtained_by` says, e.g.
            :data:`~flask_capture_link.models.PASSWORD` for a password sign-in's code.
        :raises ValueError: when the client has no ``client_secret``.
        :raises AuthorizationCodeInvalid: Capture refused the code;
            :class:`~flask_capture_link.errors.ClientCredentialsRefused` when it refused the
            client credentials.
        :raises CaptureUnavailable: nothing was refused (a transport failure, a 5xx, an
            internal error, "try again later"): the sign-in may be tried again.
        """
        if not self.client_secret:
            raise ValueError("exchange_code needs the client's client_secret")
        params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uri,
        }
        return self._token_call(params, (code,), self.client_secret, code_refusal, obtained_by)

    def refresh(self, refresh_token: str, client_secret: str | None = None) -> Tokens:
        """Trade a refresh token for new tokens. Refresh tokens are single-use: the answer
        carries a new one, and the old one must never be sent again.

        :param client_secret: the token client's secret; default the client's own.
        :raises RefreshTokenInvalid: when Capture refused the refresh in any documented shape
            (its OAuth shape, its own envelope or RFC 6749's; HTTP 200 or 4xx): the refresh
            token is dead. :class:`~flask_capture_link.errors.ClientCredentialsRefused` (a
            subclass) when the refusal names the client credentials: the site is
            misconfigured.
        :raises CaptureUnavailable: on a transport failure, a 5xx, a 500 ``unexpected_error``
            (an internal error of Capture), 480, 510, or an answer no document shows: nothing
            was refused, and the refresh token may still be good.
        :raises ValueError: when there is no secret at all.
        """
        secret = client_secret or self.client_secret
        if not secret:
            raise ValueError("refresh needs a client_secret")
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_call(params, (refresh_token,), secret, refresh_refusal, REFRESH)

    def _token_call(
        self,
        params: dict[str, str],
        grant_secrets: tuple[str, ...],
        client_secret: str,
        refusal: Callable[[CaptureError], CaptureError],
        obtained_by: str | None,
    ) -> Tokens:
        credentials = f"{self.token_client_id}:{client_secret}".encode()
        basic = base64.b64encode(credentials).decode("ascii")
        started = time.time()
        try:
            answer = self._post(
                "/oauth/token",
                params,
                secrets=(*grant_secrets, client_secret, basic),
                authorization="Basic " + basic,
            )
        except CaptureError as error:
            converted = refusal(error)
            if converted is error:
                raise
            raise converted from None
        return self._tokens(answer, started, obtained_by)

    def _send(self, url: str, body: str, authorization: str | None = None) -> requests.Response:
        """POST a form body. On the client's own session the request is prepared here and
        sent as is: requests' per-call merging of session settings (proxies, headers, hooks,
        environment) is a third of a pooled call's CPU, and this session needs none of it.
        (A copy of a request prepared once per URL saved about 40 µs of a 1 ms call, within
        the benchmarks' noise: each call prepares its own.)"""
        if not self._own_session:
            headers = _FORM if authorization is None else {**_FORM, "Authorization": authorization}
            return self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        prepared = requests.PreparedRequest()
        prepared.prepare(method="POST", url=url, headers=self._headers)
        if authorization is not None:
            prepared.headers["Authorization"] = authorization
        prepared.prepare_body(data=body, files=None)
        return self.session.send(
            prepared,
            timeout=self.timeout,
            verify=self.verify,
            proxies=self.session.proxies,
            allow_redirects=False,
            stream=False,
            cert=None,
        )

    def _flow_params(self, locale: str | None, *, redirect_uri: bool = False) -> dict[str, str]:
        params = {"client_id": self.client_id}
        if self.flow is not None and self.flow_version is not None:
            params.update(flow=self.flow, flow_version=self.flow_version)
        params["locale"] = locale or self.locale
        if redirect_uri:
            params["redirect_uri"] = self.redirect_uri
        return params

    def _tokens(self, answer: dict[str, Any], started: float, obtained_by: str | None) -> Tokens:
        if not isinstance(answer.get("access_token"), str):
            raise CaptureUnavailable("Capture's answer carried no access_token")
        return Tokens.from_answer(answer, now=started, obtained_by=obtained_by)

    def _post(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        secrets: Iterable[str],
        authorization: str | None = None,
    ) -> dict[str, Any]:
        secrets = tuple(s for s in secrets if s)
        try:
            response = self._send(self.domain + path, urlencode(params), authorization)
        except requests.ConnectTimeout as exc:
            raise CaptureUnavailable(
                f"could not reach {self.origin}: no connection in time (calling {path})"
            ) from exc
        except requests.Timeout as exc:
            raise CaptureAnswerLost(f"{self.origin} did not answer {path} in time") from exc
        except requests.ConnectionError as exc:
            if _nothing_sent(exc):
                raise CaptureUnavailable(
                    f"could not reach {self.origin}: {_reason(exc)} (calling {path}; {_kind(exc)})"
                ) from exc
            raise CaptureAnswerLost(
                f"the connection to {self.origin} dropped during {path}: "
                f"{_reason(exc)} ({_kind(exc)})"
            ) from exc
        except (requests.RequestException, OSError) as exc:
            # OSError: e.g. a CA bundle path that does not exist.
            raise CaptureUnavailable(
                f"the call to {self.origin}{path} failed: {_reason(exc)} ({_kind(exc)})"
            ) from exc
        with response:
            return _read_answer(path, response, secrets)


def _ca_bundle_from_environment() -> bool | str:
    """What ``verify=True`` means here: the CA bundle variable if set, else the system's CA
    store, else the bundle requests ships (certifi)."""
    from_environment = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if from_environment:
        return from_environment
    system = ssl.get_default_verify_paths()
    for path in (system.cafile, system.capath):
        if path and os.path.exists(path):
            return path
    return True


def _read_answer(
    path: str, response: requests.Response, secrets: tuple[str, ...]
) -> dict[str, Any]:
    """Capture's JSON first, the HTTP status second."""
    status = response.status_code
    try:
        body = json.loads(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        what = "an empty body" if not response.content else f"a body that is not JSON ({kind})"
        unreadable = CaptureUnavailable(f"Capture answered {path} with HTTP {status} and {what}")
        unreadable.http_status = status
        raise unreadable from None
    if not isinstance(body, dict):
        unreadable = CaptureUnavailable(
            f"Capture answered {path} with HTTP {status} and JSON that is not an object"
        )
        unreadable.http_status = status
        raise unreadable
    stat = body.get("stat")
    if stat == "error" or (stat is None and "error" in body):
        # Only an error is scrubbed: a success carries tokens that may contain a short secret
        # (a password "pw" inside a new access token) and must reach the caller intact.
        error = error_from_body(_scrub(body, secrets))
        error.http_status = status
        logger.debug("Capture %s: %s", path, error)
        raise error
    if stat != "ok":
        unreadable = CaptureUnavailable(
            f"Capture answered {path} with HTTP {status} and no stat field",
            fields=_scrub(body, secrets),
        )
        unreadable.http_status = status
        raise unreadable
    if status >= 400:
        unreadable = CaptureUnavailable(
            f"Capture answered {path} with HTTP {status}", fields=_scrub(body, secrets)
        )
        unreadable.http_status = status
        raise unreadable
    logger.debug("Capture %s: ok", path)
    return body


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with every secret that this call sent replaced, should Capture echo one."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, _REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    return value


def _nothing_sent(exc: BaseException) -> bool:
    """Whether a connection error happened before the request could reach Capture: no
    connection, no name, or a TLS handshake that failed (e.g. an untrusted certificate)."""
    text = _kind(exc) + " " + str(exc)
    before = ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "CERTIFICATE")
    return any(marker in text for marker in before) or "handshake" in text.lower()


def _reason(exc: BaseException) -> str:
    """What went wrong in plain words (the exception's name when there are none)."""
    return transport.reason(exc) or type(exc).__name__


def _kind(exc: BaseException) -> str:
    """A short, secret-free name for what went wrong in transport."""
    names: list[str] = []
    current: object = exc
    while isinstance(current, BaseException) and len(names) < 4:
        names.append(type(current).__name__)
        # requests wraps urllib3's errors in args[0]; urllib3 keeps the cause in .reason.
        inner = getattr(current, "reason", None) or (current.args[0] if current.args else None)
        current = inner if inner is not current else None
    return " <- ".join(dict.fromkeys(names))
