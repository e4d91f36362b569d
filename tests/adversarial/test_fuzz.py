"""Hypothesis fuzzing of the token URL and the unlink URL with whatever a client can send: any
method, any fields in the query and the body, repeated fields, bodies up to 1 MB, bytes that are
not UTF-8, and wrong or broken content types.

Whatever comes in: no 500; the token URL answers a 303 redirect or the 200 bounce page (405 for
a method it does not take, 200 to OPTIONS); the unlink URL answers 303 (405 for other methods,
200 to OPTIONS); and Capture is called only when the request carried a state the site issued to
this session and the session holds an access token.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from itertools import count
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flask_capture_link import state
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator
from flask_capture_link.freshness import sign_in_id as recorded_sign_in
from flask_capture_link.testing import sign_in

from ..helpers import ENTITY, LINK, UNLINK, last_flash

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
