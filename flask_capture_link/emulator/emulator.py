"""CaptureEmulator: an offline Capture application and Social Login, as one WSGI application.

It answers the Capture endpoints the extension calls exactly as the vendor specification shows,
serves the Social Login pages a browser test clicks through, records every Capture call (names
only, never values) and lets tests move its clock and switch faults on.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from . import capture, faults, social_login
from .calls import Call
from .data import (
    FLOW,
    FLOW_VERSION,
    LOCALES,
    Client,
    Clock,
    Store,
    social_profile,
)
from .providers import provider as find_provider
from .seed import (
    DEFAULT_SEED,
    SOCIAL_DEMO_DISPLAY_NAME,
    SOCIAL_DEMO_EMAIL,
    derived,
    derived_uuid,
    social_account,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: The user every fresh or reset emulator has.
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the emulator's published demo account
DEMO_DISPLAY_NAME = "Demo User"


class CaptureEmulator:
    """An in-memory Capture application with a login client, a demo user and Social Login.

    Call it as a WSGI application, or serve it with
    :class:`~flask_capture_link.emulator.EmulatorServer`. Example::

        emulator = CaptureEmulator()
        tokens = emulator.sign_in(emulator.demo_email)
        token = emulator.issue_social_token("google", "alice")
        # POST both to /oauth/link_account_native, then:
        assert emulator.identities(emulator.demo_email)[0]["domain"] == "google.com"

    Every method is thread-safe: one lock guards all the data.

    The client ids, the secret and the demo user's uuid are derived from ``seed``: the same at
    every start unless another seed is given.
    """

    flow = FLOW
    flow_version = FLOW_VERSION
    demo_email = DEMO_EMAIL
    demo_password = DEMO_PASSWORD

    def __init__(
        self,
        access_token_lifetime: float = 3600,
        social_token_lifetime: float = 300,
        *,
        seed: str = DEFAULT_SEED,
        keep_calls: int | None = None,
        locales: Sequence[str] = LOCALES,
    ) -> None:
        if not locales or not all(isinstance(locale, str) and locale for locale in locales):
            raise ValueError("locales: give the flow at least one locale, such as en-US")
        self._lock = threading.Lock()
        self._clock = Clock()
        self._store = Store(self._clock, access_token_lifetime, social_token_lifetime)
        #: The locales the flow has, the first the default (``--locales``); a call with
        #: another gets Capture's "could not find a flow" error.
        self.locales: tuple[str, ...] = tuple(locales)
        self._store.locales = self.locales
        self._faults = faults.FaultTable()
        #: The calls recorded: the last ``keep_calls`` of them (``None``: all), so that a long
        #: run's memory stays bounded.
        self._calls: deque[Call] = deque(maxlen=keep_calls)
        self._canned: dict[str, deque[tuple[int, object]]] = {}
        self._release = threading.Event()
        #: What the ids are derived from (``--seed``).
        self.seed = seed
        login = Client(
            derived(seed, "login client id"),
            derived(seed, "login client secret"),
            frozenset({"login_client"}),
        )
        other = Client(
            derived(seed, "other client id"),
            derived(seed, "other client secret"),
            frozenset({"direct_read_access"}),
        )
        owner = Client(
            derived(seed, "owner client id"),
            derived(seed, "owner client secret"),
            frozenset({"owner"}),
        )
        self._demo_uuid = derived_uuid(seed, "demo user")
        self._login_client = login
        self._store.clients.update({client.client_id: client for client in (login, other, owner)})
        #: The API client with the ``login_client`` feature, and its secret.
        self.client_id = login.client_id
        self.client_secret = login.client_secret
        #: An API client without ``login_client`` (``direct_read_access``): the login
        #: endpoints answer it 403, and so does ``/oauth/token``.
        self.unprivileged_client_id = other.client_id
        self.unprivileged_client_secret = other.client_secret
        #: An ``owner`` API client: it may call ``/oauth/token`` with codes and refresh tokens
        #: issued to the login client (``CAPTURE_LINK_TOKEN_CLIENT_ID``), not the login calls.
        self.owner_client_id = owner.client_id
        self.owner_client_secret = owner.client_secret
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state: only the demo user, no tokens, faults or calls."""
        with self._lock:
            self._store.clear()
            self._store.add_user(
                DEMO_EMAIL, DEMO_PASSWORD, DEMO_DISPLAY_NAME, user_uuid=self._demo_uuid
            )
            self._add_social_demo_user()
            self._login_client.default_flow = False
            self._faults.clear()
            self._canned.clear()
            self._calls.clear()
            self._clock.reset()
            self._release_and_rearm()

    def _add_social_demo_user(self) -> None:
        """The password-less account of the social merge story (see ``seed.SOCIAL_ACCOUNTS``):
        it signs in with its Facebook identity only."""
        sam = self._store.add_user(
            SOCIAL_DEMO_EMAIL,
            "",
            SOCIAL_DEMO_DISPLAY_NAME,
            user_uuid=derived_uuid(self.seed, "social demo user"),
        )
        facebook = find_provider("facebook")
        self._store.link(
            sam,
            social_profile(facebook, "sam-facebook", SOCIAL_DEMO_DISPLAY_NAME, SOCIAL_DEMO_EMAIL),
        )

    def set_client_default_flow(self, enabled: bool) -> None:
        """Give the login client default flow settings, so calls may omit flow and version."""
        with self._lock:
            self._login_client.default_flow = enabled

    def add_user(self, email: str, password: str, *, display_name: str | None = None) -> str:
        """Create a user who can sign in with ``email`` and ``password``; returns the uuid."""
        with self._lock:
            return self._store.add_user(email, password, display_name).uuid

    def sign_in(self, email: str) -> dict[str, object]:
        """Issue tokens for that user as a sign-in with ``response_type=code`` and the
        exchange of its code at ``/oauth/token`` would.

        Returns ``{"access_token", "refresh_token", "expires_in"}``.
        """
        with self._lock:
            return self._store.issue_tokens(self._store.user(email), self.client_id)

    def issue_social_token(
        self,
        provider: str,
        identifier: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        email_verified: bool = True,
    ) -> str:
        """A one-time Social Login token for account ``identifier`` at ``provider``.

        ``identifier`` is the provider's account id (``"alice"``); the linked profile gets the
        identifier URL Capture would store, e.g. ``https://www.google.com/profiles/alice``.
        ``email_verified`` says whether the provider vouches for ``email`` (only a verified
        email leads to a merge). A demo account of ``seed.SOCIAL_ACCOUNTS`` (such as
        ``google``/``demo-google``) given no email has its own name and email.
        """
        known = social_account(provider, identifier)
        if known is not None and email is None:
            display_name = display_name or known.display_name
            email, email_verified = known.email, known.email_verified
        profile = social_profile(
            find_provider(provider),
            identifier,
            display_name,
            email,
            email_verified=email_verified,
        )
        with self._lock:
            return self._store.issue_social_token(profile)

    def identities(self, email: str) -> list[dict[str, object]]:
        """The user's linked identities, as ``/entity`` returns them in ``profiles``: the
        default schema's elements, display fields under ``profile``."""
        with self._lock:
            return [profile.to_json() for profile in self._store.user(email).profiles]

    def add_identity(self, email: str, provider: str, identifier: str) -> str:
        """Link an identity to the user directly; returns its profile ``identifier`` URL."""
        profile = social_profile(find_provider(provider), identifier)
        with self._lock:
            user = self._store.user(email)
            if self._store.owner(profile) is not None:
                raise ValueError(f"{profile.identifier} is already linked to an account")
            self._store.link(user, profile)
            return profile.identifier

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward; tokens expire by this clock."""
        with self._lock:
            self._clock.advance(seconds)

    def expire_access_tokens(self, email: str | None = None) -> None:
        """Expire now the access tokens of that user, or of every user."""
        with self._lock:
            user_uuid = None if email is None else self._store.user(email).uuid
            self._store.expire_access_tokens(user_uuid)

    def set_fault(
        self,
        endpoint: str,
        kind: str,
        *,
        seconds: float | None = None,
        times: int | None = None,
    ) -> None:
        """Make calls to ``endpoint`` (a path, or ``"*"`` for all) fail as ``kind`` says.

        ``seconds`` sets how long ``latency`` and ``hang`` wait (defaults 1 and 60); ``times``
        how many calls meet the fault (``None``: until cleared). Example::

            emulator.set_fault("/oauth/link_account_native", "html_502", times=1)
        """
        with self._lock:
            self._faults.set(endpoint, kind, seconds, times)
            if self._release.is_set():  # released by a server stop: hold requests again
                self._release = threading.Event()

    def answer_next(self, endpoint: str, body: object, *, status: int = 200) -> None:
        """Answer the next call to ``endpoint`` with ``body`` (JSON) and ``status`` instead of
        acting on it: for a test of how a site takes an answer Capture documents but the
        emulator would not give in that moment, e.g. one of ``/oauth/token``'s refusal shapes::

            emulator.answer_next("/oauth/token", {"error": "invalid_grant"}, status=400)

        Calls queue their answers in order; :meth:`reset` forgets them.
        """
        with self._lock:
            self._canned.setdefault(endpoint, deque()).append((status, body))

    def clear_faults(self) -> None:
        """Switch every fault off and release the requests a fault holds."""
        with self._lock:
            self._faults.clear()
            self._release_and_rearm()

    def release_waiting(self) -> None:
        """Let requests held by ``latency`` or ``hang`` go, and hold none until the next
        :meth:`set_fault` or :meth:`reset` (a server calls it when it stops)."""
        with self._lock:
            self._release.set()

    def token_counts(self) -> dict[str, int]:
        """How many access tokens, refresh tokens, authorization codes and Social Login tokens
        the emulator keeps: the live ones, and expired access tokens for an hour (expired ones
        are dropped as new ones are issued, at most once a minute by its clock)."""
        with self._lock:
            return self._store.token_counts()

    @property
    def calls(self) -> list[Call]:
        """The Capture calls received, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, endpoint: str) -> list[Call]:
        """The calls received by one endpoint, in order."""
        return [call for call in self.calls if call.endpoint == endpoint]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one HTTP request (the WSGI interface)."""
        request = Request(environ)
        if request.path in capture.ENDPOINTS:
            response = self._capture_call(request)
        else:
            # No source shows what Capture answers an unknown path: a plain 404, not one of
            # Capture's envelopes (an assumption, listed in docs/conformance.md).
            page = social_login.route(request, self.issue_social_token)
            response = page if page is not None else NotFound().get_response()
        return response(environ, start_response)

    def _capture_call(self, request: Request) -> Response:
        endpoint = request.path
        # A POST's parameters come from its body only: a query-string parameter is not one
        # (the /oauth pages); /entity by GET takes them from the query.
        form = request.args if request.method == "GET" else request.form
        with self._lock:
            fault = self._faults.take(endpoint)
        if fault is not None and fault.kind == "latency":
            self._pause(fault.seconds)
        elif fault is not None and fault.kind not in faults.ACTED:
            body = faults.error_body(fault.kind)
            self._record(request, form, body)
            return faults.respond(fault, body, request.environ, self._pause)
        allowed = capture.METHODS[endpoint]
        if request.method not in allowed:
            # No source shows Capture's answer to another method: a plain 405 with Allow,
            # not one of Capture's envelopes (an assumption, listed in docs/conformance.md).
            self._record(request, (), None)
            return MethodNotAllowed(valid_methods=sorted(allowed)).get_response()
        authorization = request.headers.get("Authorization")
        params = capture.with_authorization(endpoint, form, authorization)
        with self._lock:
            canned = self._canned.get(endpoint)
            status, answer = (
                canned.popleft() if canned else capture.answer(self._store, endpoint, params)
            )
            query = () if request.method == "GET" else request.args
            self._calls.append(
                Call.of(endpoint, request.method, form, query, answer, authorization)
            )
        if fault is not None and fault.kind in faults.ACTED:
            # Capture acted (the record above has its real answer); the answer is lost.
            return faults.respond(faults.after_acting(fault), None, request.environ, self._pause)
        return capture.json_response(answer, status)

    def _record(self, request: Request, form: Iterable[str], body: object) -> None:
        call = Call.of(
            request.path,
            request.method,
            form,
            request.args,
            body,
            request.headers.get("Authorization"),
        )
        with self._lock:
            self._calls.append(call)

    def _pause(self, seconds: float) -> None:
        with self._lock:
            release = self._release
        release.wait(seconds)

    def _release_and_rearm(self) -> None:
        self._release.set()
        self._release = threading.Event()
