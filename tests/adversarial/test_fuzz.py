"""Hypothesis fuzzing of the token URL and the unlink URL with whatever a client can send: any
method, any fields in the query and the body, repeated fields, bodies up to 1 MB, bytes that are
not UTF-8, and wrong or broken content types.

Whatever comes in: no 500; the token URL answers a 303 redirect or the 200 bounce page (405 for
a method it does not take, 200 to OPTIONS); the unlink URL answers 303 (405 for other methods,
200 to OPTIONS); and Capture is called only when the request carried a state the site issued to
this session and the session holds an access token.

The social sign-in views get the same: the token URL with a sign-in or a merge state, and the
merge page's password and cancel forms, each with a merge kept in the session; Capture is
called only with a state the site issued to this session for that purpose.
"""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass, replace
from itertools import count
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote_from_bytes, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flask_capture_link import state
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.emulator.seed import SOCIAL_DEMO_EMAIL
from flask_capture_link.freshness import sign_in_id as recorded_sign_in
from flask_capture_link.testing import deliver_token, sign_in

from ..helpers import ENTITY, LINK, UNLINK, last_flash
from ..views.test_social import (
    AUTH_NATIVE,
    AUTH_TRADITIONAL,
    Site,
    merge_page_forms,
    sign_in_url,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

TOKEN_URL = "/capture-link/token"
UNLINK_URL = "/capture-link/unlink"

#: Placeholders the test replaces, per example, with values valid for that example's session.
REAL_STATE = b"\x00REAL-STATE\x00"
REAL_TOKEN = b"\x00REAL-TOKEN\x00"
REAL_IDENTIFIER = b"\x00REAL-IDENTIFIER\x00"

FUZZ = settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

_accounts = count()

_names = st.one_of(
    st.sampled_from(
        [b"token", b"state", b"identifier", b"capture_link_bounced", b"next", b"state[]"]
    ),
    st.binary(max_size=12),
)
_values = st.one_of(
    st.sampled_from([REAL_STATE, REAL_TOKEN, REAL_IDENTIFIER, b"", b"1", b"a" * 40]),
    st.from_regex(rb"\A[A-Za-z0-9_\-.~]{8,64}\Z"),  # token-shaped
    st.binary(max_size=64),  # not UTF-8, NULs, controls
    st.text(max_size=32).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
Pairs = list[tuple[bytes, bytes]]


@dataclass
class Big:
    """One large field: ``chunk`` repeated ``times`` (encoded once, so 1 MB costs little)."""

    name: bytes
    chunk: bytes
    times: int


_big = st.one_of(
    st.none(),
    st.builds(
        Big,
        name=_names,
        chunk=st.sampled_from([b"a", b"%", b"\xff\xfe", b"\x00&=", b"token=", b"\r\n--x"]),
        times=st.sampled_from([1_000, 100_000, 1_000_000 // 6]),  # up to 1 MB
    ),
)


@dataclass
class Attempt:
    method: str
    query: Pairs
    body: Pairs
    big: Big | None
    encoding: str
    has_access_token: bool
    has_session_record: bool


def well_formed_first(attempt: Attempt, where: str | None) -> Attempt:
    """Put a real state (in the query or the body) and a real token and identifier (in the
    body) before the fuzzed fields, so that fuzzing also explores requests that get far."""
    if where is None:
        return attempt
    real = [(b"token", REAL_TOKEN), (b"identifier", REAL_IDENTIFIER)]
    query = attempt.query
    if where == "query":
        query = [(b"state", REAL_STATE), *query]
    else:
        real.append((b"state", REAL_STATE))
    return replace(attempt, query=query, body=[*real, *attempt.body])


attempts = st.builds(
    Attempt,
    method=st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "HEAD", "OPTIONS", "DELETE"]),
    query=st.lists(st.tuples(_names, _values), max_size=3),
    body=st.lists(st.tuples(_names, _values), max_size=6),
    big=_big,
    encoding=st.sampled_from(
        ["form", "form", "raw", "multipart", "multipart-bad", "json", "text", "none"]
    ),
    has_access_token=st.booleans(),
    has_session_record=st.booleans(),
)
attempts = st.builds(well_formed_first, attempts, st.sampled_from([None, None, "query", "body"]))


def quoted(value: bytes) -> bytes:
    return quote_from_bytes(value).encode()


def encode(pairs: Pairs, big: Big | None = None) -> bytes:
    """``pairs`` (and ``big``) as an urlencoded query or body."""
    fields = [quoted(k) + b"=" + quoted(v) for k, v in pairs]
    if big is not None:
        fields.append(quoted(big.name) + b"=" + quoted(big.chunk) * big.times)
    return b"&".join(fields)


def body_of(attempt: Attempt) -> tuple[bytes, str | None]:
    """The request body and its content type, as the attempt says to encode them."""
    pairs, big = attempt.body, attempt.big
    raw_pairs = pairs + ([] if big is None else [(big.name, big.chunk * big.times)])
    if attempt.encoding == "form":
        return encode(pairs, big), "application/x-www-form-urlencoded"
    if attempt.encoding == "raw":  # no percent-encoding at all: bytes as they come
        body = b"&".join(k + b"=" + v for k, v in raw_pairs)
        return body, "application/x-www-form-urlencoded"
    if attempt.encoding.startswith("multipart"):
        boundary = b"fuzzboundary"
        parts = [
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + k + b'"\r\n\r\n' + v
            for k, v in raw_pairs
        ]
        body = b"\r\n".join([*parts, b"--" + boundary + b"--\r\n"])
        declared = "multipart/form-data; boundary=" + (
            "fuzzboundary" if attempt.encoding == "multipart" else "not-the-one\x01\x7f"
        )
        return body, declared
    if attempt.encoding == "json":
        as_text = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_pairs}
        return json.dumps(as_text).encode(), "application/json"
    if attempt.encoding == "text":
        return encode(pairs, big), "text/plain"
    return encode(pairs, big), None


@dataclass
class Browser:
    client: FlaskClient
    access_token: str | None


def browser_for(app: Flask, emulator: CaptureEmulator, attempt: Attempt) -> Browser:
    client = app.test_client()
    access_token = None
    if attempt.has_access_token:
        access_token = str(sign_in(client, emulator, emulator.demo_email)["access_token"])
    return Browser(client, access_token)


def real_values(
    app: Flask, emulator: CaptureEmulator, browser: Browser, purpose: str
) -> dict[bytes, bytes]:
    """A state issued to this session for ``purpose``, a real Social Login token, and the
    identifier of an identity the user has."""
    account = f"fuzz{next(_accounts)}"
    identifier = emulator.add_identity(emulator.demo_email, "google", account)
    token = emulator.issue_social_token("facebook", account)
    subject = identifier if purpose == state.UNLINK else None
    with browser.client.session_transaction() as session, app.test_request_context("/"):
        sign_in_id = recorded_sign_in(session)  # what the extension binds states to
        binding = f"sign-in:{sign_in_id}" if sign_in_id else None
        issued = state.issue(session, purpose, binding, None, subject=subject)
    return {
        REAL_STATE: issued.encode(),
        REAL_TOKEN: token.encode(),
        REAL_IDENTIFIER: identifier.encode(),
    }


def substitute(pairs: Pairs, real: dict[bytes, bytes]) -> Pairs:
    return [(k, real.get(v, v)) for k, v in pairs]


def send(
    app: Flask, emulator: CaptureEmulator, path: str, attempt: Attempt
) -> tuple[Any, int, bool]:
    """Send the attempt; the response, how many Capture calls it made, and whether it carried
    a real state at all."""
    browser = browser_for(app, emulator, attempt)
    purpose = state.LINK if path == TOKEN_URL else state.UNLINK
    real = real_values(app, emulator, browser, purpose)
    if not attempt.has_session_record:  # as on a cross-site POST: the state's session is gone
        with browser.client.session_transaction() as session:
            session.pop(state.SESSION_RECORD, None)
    query = substitute(attempt.query, real)
    filled = replace(attempt, body=substitute(attempt.body, real))
    body, content_type = body_of(filled)
    carried_state = any(v == REAL_STATE for _, v in attempt.query + attempt.body)
    headers = {} if content_type is None else {"Content-Type": content_type}
    before = len(emulator.calls)
    response = browser.client.open(
        path + "?" + encode(query).decode(),
        method=attempt.method,
        data=body,
        headers=headers,
    )
    valid = carried_state and attempt.has_session_record and browser.access_token is not None
    return response, len(emulator.calls) - before, valid


@pytest.fixture
def fuzz_app(app: Flask) -> Flask:
    app.config["TESTING"] = False  # errors become 500s, as in production, instead of raising
    return app


@FUZZ
@given(attempt=attempts)
def test_token_url_never_fails(
    fuzz_app: Flask, emulator: CaptureEmulator, attempt: Attempt
) -> None:
    response, calls, may_call = send(fuzz_app, emulator, TOKEN_URL, attempt)
    status = response.status_code
    event(f"{attempt.method} -> {status}, Capture calls: {calls}")
    assert status < 500, response.get_data(as_text=True)[:500]
    if attempt.method in ("GET", "POST", "HEAD"):
        assert status in (303, 200), status
        if status == 200:
            assert attempt.method == "POST"
            assert 'id="capture-link-continue"' in response.get_data(as_text=True)
        else:
            assert response.headers["Location"].startswith("/")
            assert not response.headers["Location"].startswith("//")
    elif attempt.method == "OPTIONS":
        assert status == 200 and response.get_data() == b""
    else:
        assert status == 405
    assert calls <= (1 if may_call else 0), (calls, attempt)
    if calls:
        assert {c.endpoint for c in emulator.calls[-calls:]} == {LINK}


@FUZZ
@given(attempt=attempts)
def test_unlink_url_never_fails(
    fuzz_app: Flask, emulator: CaptureEmulator, attempt: Attempt
) -> None:
    response, calls, may_call = send(fuzz_app, emulator, UNLINK_URL, attempt)
    status = response.status_code
    event(f"{attempt.method} -> {status}, Capture calls: {calls}")
    assert status < 500, response.get_data(as_text=True)[:500]
    if attempt.method == "POST":
        assert status == 303
        assert response.headers["Location"].startswith("/")
    elif attempt.method == "OPTIONS":
        assert status == 200 and response.get_data() == b""
    else:
        assert status == 405
    # A valid request reads the user's identities (to keep a way in), then unlinks once.
    assert calls <= (2 if may_call else 0), (calls, attempt)
    if calls:
        endpoints = [c.endpoint for c in emulator.calls[-calls:]]
        assert endpoints in ([ENTITY], [ENTITY, UNLINK]), endpoints


# The social sign-in views ----------------------------------------------------------------------

MERGE_URL = "/capture-link/merge"
MERGE_CANCEL_URL = "/capture-link/merge/cancel"

REAL_EMAIL = b"\x00REAL-EMAIL\x00"
REAL_PASSWORD = b"\x00REAL-PASSWORD\x00"

#: Fewer examples than link and unlink: the four targets share one parser and one state check,
#: fuzzed above at length; these explore what is new (purposes, the kept merge).
SOCIAL_FUZZ = settings(FUZZ, max_examples=200)

#: The targets: where the request goes, and what a valid request may call at Capture.
SOCIAL_TARGETS = {
    "sign_in": (TOKEN_URL, {AUTH_NATIVE}),
    "merge": (TOKEN_URL, {AUTH_NATIVE}),
    "merge_password": (MERGE_URL, {AUTH_TRADITIONAL}),
    "merge_cancel": (MERGE_CANCEL_URL, set()),
}

_social_names = st.one_of(
    st.sampled_from([b"token", b"state", b"email", b"password", b"capture_link_bounced"]),
    st.binary(max_size=12),
)
_social_values = st.one_of(
    st.sampled_from([REAL_STATE, REAL_TOKEN, REAL_EMAIL, REAL_PASSWORD, b"", b"a" * 40]),
    st.from_regex(rb"\A[A-Za-z0-9_\-.~]{8,64}\Z"),
    st.binary(max_size=64),
    st.text(max_size=32).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@dataclass
class SocialAttempt:
    target: str
    attempt: Attempt


def social_well_formed(target: str, attempt: Attempt, where: str | None) -> SocialAttempt:
    """As :func:`well_formed_first`, with the fields the target reads."""
    if where is not None:
        real = [(b"token", REAL_TOKEN)]
        if target == "merge_password":
            real = [(b"email", REAL_EMAIL), (b"password", REAL_PASSWORD)]
        query = attempt.query
        if where == "query":
            query = [(b"state", REAL_STATE), *query]
        else:
            real.append((b"state", REAL_STATE))
        attempt = replace(attempt, query=query, body=[*real, *attempt.body])
    return SocialAttempt(target, attempt)


social_attempts = st.builds(
    social_well_formed,
    st.sampled_from(sorted(SOCIAL_TARGETS)),
    st.builds(
        Attempt,
        method=st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "HEAD", "OPTIONS"]),
        query=st.lists(st.tuples(_social_names, _social_values), max_size=3),
        body=st.lists(st.tuples(_social_names, _social_values), max_size=5),
        big=_big,
        encoding=st.sampled_from(["form", "form", "raw", "multipart", "multipart-bad", "json"]),
        has_access_token=st.just(False),  # nobody is signed in yet
        has_session_record=st.booleans(),
    ),
    st.sampled_from([None, "query", "body", "body"]),
)


def state_in(url: str) -> bytes:
    return parse_qs(urlsplit(html.unescape(url)).query)["state"][0].encode()


def social_real_values(
    site: Site, emulator: CaptureEmulator, client: FlaskClient, target: str
) -> dict[bytes, bytes]:
    """Real values for ``target`` in ``client``'s session: for a merge target, a merge kept
    (started by a sign-in through the token URL that met 380)."""
    account = f"fuzz{next(_accounts)}"
    login = client.get("/login").get_data(as_text=True)
    if target == "sign_in":
        emulator.add_identity(emulator.demo_email, "google", account)
        token = emulator.issue_social_token("google", account)
        return {REAL_STATE: state_in(sign_in_url(login, "google")), REAL_TOKEN: token.encode()}
    # Google's verified email is Sam's (he proves it with Facebook) or the demo user's (with
    # the password).
    email = SOCIAL_DEMO_EMAIL if target == "merge" else emulator.demo_email
    started = deliver_token(
        client,
        sign_in_url(login, "google"),
        emulator.issue_social_token("google", account, email=email),
    )
    assert started.headers["Location"] == MERGE_URL, started.headers
    page = client.get(MERGE_URL).get_data(as_text=True)
    forms = merge_page_forms(page)
    if target == "merge":
        real_state = state_in(sign_in_url(page, "facebook"))
    else:
        real_state = forms[MERGE_URL if target == "merge_password" else MERGE_CANCEL_URL][
            "state"
        ].encode()
    return {
        REAL_STATE: real_state,
        REAL_TOKEN: emulator.issue_social_token("facebook", "sam-facebook").encode(),
        REAL_EMAIL: emulator.demo_email.encode(),
        REAL_PASSWORD: emulator.demo_password.encode(),
    }


@pytest.fixture
def social_site(capture_emulator: EmulatorServer) -> Site:
    site = Site(capture_emulator)
    site.app.config["TESTING"] = False  # as fuzz_app: errors become 500s
    return site


@SOCIAL_FUZZ
@given(social=social_attempts)
def test_social_sign_in_views_never_fail(
    social_site: Site, emulator: CaptureEmulator, social: SocialAttempt
) -> None:
    target, attempt = social.target, social.attempt
    path, may_call_at = SOCIAL_TARGETS[target]
    client = social_site.client()
    real = social_real_values(social_site, emulator, client, target)
    if not attempt.has_session_record:  # the state's session, and its merge, are gone
        with client.session_transaction() as session:
            session.pop(state.SESSION_RECORD, None)
    filled = replace(attempt, body=substitute(attempt.body, real))
    body, content_type = body_of(filled)
    carried_state = any(v == REAL_STATE for _, v in attempt.query + attempt.body)
    before = len(emulator.calls)
    response = client.open(
        path + "?" + encode(substitute(attempt.query, real)).decode(),
        method=attempt.method,
        data=body,
        headers={} if content_type is None else {"Content-Type": content_type},
    )
    calls = emulator.calls[before:]
    status = response.status_code
    event(f"{target}: {attempt.method} -> {status}, Capture calls: {len(calls)}")
    assert status < 500, response.get_data(as_text=True)[:500]
    if attempt.method == "OPTIONS":
        assert status == 200 and response.get_data() == b""
    elif attempt.method == "PUT" or (path == MERGE_CANCEL_URL and attempt.method != "POST"):
        assert status == 405
    elif path == MERGE_URL and attempt.method in ("GET", "HEAD"):
        assert status in (200, 303), status  # the merge page, or away when it is gone
    else:
        assert status in (200, 303), status
        if status == 200:  # only the token URL's bounce page
            assert (path, attempt.method) == (TOKEN_URL, "POST")
            assert 'id="capture-link-continue"' in response.get_data(as_text=True)
        else:
            assert response.headers["Location"].startswith("/")
            assert not response.headers["Location"].startswith("//")
    valid = carried_state and attempt.has_session_record
    if path == MERGE_URL and attempt.method != "POST":
        valid = False  # showing the merge page calls nothing, whatever the request carries
    assert len(calls) <= (1 if valid else 0), (calls, attempt)
    assert {c.endpoint for c in calls} <= may_call_at, calls


@pytest.mark.parametrize("target", sorted(SOCIAL_TARGETS))
def test_social_fuzz_reaches_capture_sometimes(
    social_site: Site, emulator: CaptureEmulator, target: str
) -> None:
    """The social oracle is not vacuous: the real values sign in, merge, or cancel."""
    client = social_site.client()
    real = social_real_values(social_site, emulator, client, target)
    path, may_call_at = SOCIAL_TARGETS[target]
    fields = {"state": real[REAL_STATE], "token": real[REAL_TOKEN]}
    if target == "merge_password":
        fields = {"state": real[REAL_STATE], "email": real[REAL_EMAIL]}
        fields["password"] = real[REAL_PASSWORD]
    before = len(emulator.calls)
    response = client.post(path, data=fields)
    calls = emulator.calls[before:]
    assert response.status_code == 303
    assert [(c.endpoint, c.stat) for c in calls] == [(e, "ok") for e in may_call_at]
    expected = "merge_cancelled" if target == "merge_cancel" else "signed_in"
    if target in ("merge", "merge_password"):
        expected = "merged"
    assert last_flash(client)[1] == ENGLISH[expected]


def test_fuzz_reaches_capture_sometimes(fuzz_app: Flask, emulator: CaptureEmulator) -> None:
    """The oracle is not vacuous: a well-formed attempt with the real values does link."""
    attempt = Attempt(
        method="POST",
        query=[(b"state", REAL_STATE)],
        body=[(b"token", REAL_TOKEN)],
        big=None,
        encoding="form",
        has_access_token=True,
        has_session_record=True,
    )
    response, calls, may_call = send(fuzz_app, emulator, TOKEN_URL, attempt)
    assert (response.status_code, calls, may_call) == (303, 1, True)
    assert emulator.calls[-1].stat == "ok"


class CountingBody(io.RawIOBase):
    """A request body (``wsgi.input``) that counts the bytes the application read from it."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self._body = io.BytesIO(body)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures the body by seeking to its end and back

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._body.seek(offset, whence)

    def tell(self) -> int:
        return self._body.tell()

    def readinto(self, buffer: WriteableBuffer) -> int:
        count = self._body.readinto(buffer)
        self.bytes_read += count
        return count


@pytest.mark.parametrize("path", [TOKEN_URL, UNLINK_URL])
@pytest.mark.parametrize("chunk", [b"%FF", b"a", b"%00"])
def test_a_megabyte_body_is_refused_unread(
    app: Flask, emulator: CaptureEmulator, path: str, chunk: bytes
) -> None:
    """Decoding a megabyte of invalid UTF-8 escapes takes werkzeug over a second of CPU: an
    unauthenticated URL must not let anyone spend that per request. Its Content-Length is
    enough to refuse it: not one byte of it is read."""
    client = app.test_client()
    sign_in(client, emulator, emulator.demo_email)
    body = CountingBody(b"token=" + chunk * (1_000_000 // len(chunk)))
    response = client.post(
        path,
        input_stream=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert body.bytes_read == 0
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert emulator.calls == []
