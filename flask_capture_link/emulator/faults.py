"""Faults a test switches on per endpoint: slow, hung, broken or unexpected Capture answers.

``latency`` delays a normal answer. ``hang`` holds the request, then closes the connection
without answering. ``drop`` sends the start of a response and resets the connection. The other
kinds answer something a client must not take for success: an HTML 502 page, JSON that does not
parse, JSON that is not an envelope, an error code no table lists, or Capture's own "too many
calls" error.

The ``acted_*`` kinds let Capture act first (the link, unlink or refresh is made) and then lose
the answer on the way back: ``acted_502`` answers a gateway's HTML 502, ``acted_drop`` resets
the connection mid-answer, ``acted_garbage`` answers JSON that does not parse. They model
failures for tests, not anything a vendor page documents.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from werkzeug.wrappers import Response

from .capture import Body, ErrorAnswer, json_response

#: The endpoint name that makes a fault apply to every Capture endpoint.
ANY_ENDPOINT = "*"

#: Every fault kind ``CaptureEmulator.set_fault`` accepts.
KINDS = (
    "latency",
    "hang",
    "html_502",
    "invalid_json",
    "json_list",
    "missing_stat",
    "unknown_code",
    "drop",
    "unavailable",
    "acted_502",
    "acted_drop",
    "acted_garbage",
)

#: The ``acted_*`` kinds, and the kind of the answer each sends after Capture acted.
ACTED = {"acted_502": "html_502", "acted_drop": "drop", "acted_garbage": "invalid_json"}

#: Seconds a ``latency`` or ``hang`` fault waits when ``seconds`` is not given.
DEFAULT_SECONDS = {"latency": 1.0, "hang": 60.0}

_BAD_GATEWAY_PAGE = (
    b"<!doctype html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer.</p></body></html>"
)

# kind: (HTTP status, content type, body) of the answers that are not Capture envelopes
_RAW_ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "html_502": (502, "text/html; charset=utf-8", _BAD_GATEWAY_PAGE),
    "invalid_json": (200, "application/json", b'{"stat": "ok"'),
    "json_list": (200, "application/json", b"[]"),
    "missing_stat": (200, "application/json", b'{"ok": true}'),
}

# kind: (code, error, description) of the answers that are Capture error envelopes
_ERROR_ANSWERS: dict[str, tuple[int, str, str]] = {
    "unknown_code": (999, "mystery_error", "an error no table of the client lists"),
    "unavailable": (510, "api_limit_error", "too many simultaneous calls; try again later"),
}

# A status line and a header, but never the blank line that would end the head.
_PARTIAL_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"

# A TLS application-data record that fails its integrity check (header, then 32 junk bytes).
_CORRUPT_TLS_RECORD = b"\x17\x03\x03\x00\x20" + bytes(32)


@dataclass
class Fault:
    """A fault switched on for an endpoint; ``times`` left, or ``None`` until cleared."""

    kind: str
    seconds: float
    times: int | None


class FaultTable:
    """The faults switched on, by endpoint path or :data:`ANY_ENDPOINT`."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}

    def set(
        self, endpoint: str, kind: str, seconds: float | None = None, times: int | None = None
    ) -> None:
        """Switch a fault on for ``endpoint``, replacing the one it had."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of: {', '.join(KINDS)}")
        if endpoint != ANY_ENDPOINT and not endpoint.startswith("/"):
            raise ValueError(f"endpoint is a path like /entity, or {ANY_ENDPOINT!r}")
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must not be negative")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for until cleared")
        wait = DEFAULT_SECONDS.get(kind, 0.0) if seconds is None else seconds
        self._faults[endpoint] = Fault(kind, wait, times)

    def clear(self) -> None:
        """Switch every fault off."""
        self._faults.clear()

    def take(self, endpoint: str) -> Fault | None:
        """The fault a call to ``endpoint`` meets now, counting it as used once."""
        key = endpoint if endpoint in self._faults else ANY_ENDPOINT
        fault = self._faults.get(key)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times == 0:
                del self._faults[key]
        return fault


def after_acting(fault: Fault) -> Fault:
    """The fault whose answer an ``acted_*`` fault sends once the endpoint has acted."""
    return Fault(ACTED[fault.kind], fault.seconds, None)


def error_body(kind: str) -> Body | None:
    """The Capture envelope a fault answers, or ``None`` when it answers none."""
    if kind not in _ERROR_ANSWERS:
        return None
    return ErrorAnswer(*_ERROR_ANSWERS[kind]).body()


def respond(
    fault: Fault,
    body: Body | None,
    environ: Mapping[str, object],
    pause: Callable[[float], None],
) -> Response:
    """The faulty answer; raises :class:`ConnectionAbortedError` when there is none to send.

    ``body`` is :func:`error_body` of the fault's kind. ``pause`` waits up to the given seconds
    and returns early when the emulator releases waiting requests.
    """
    if fault.kind == "hang":
        pause(fault.seconds)
        raise ConnectionAbortedError("emulated hang: closing the connection without an answer")
    if fault.kind == "drop":
        _send_partial_and_reset(environ)
        raise ConnectionAbortedError("emulated drop: the connection was reset mid-answer")
    if body is not None:
        return json_response(body)
    status, content_type, payload = _RAW_ANSWERS[fault.kind]
    return Response(payload, status, content_type=content_type)


def _send_partial_and_reset(environ: Mapping[str, object]) -> None:
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return
    # http.client takes the end of the stream for the end of the headers, so the connection must
    # break, not end: linger 0 makes the final close send RST. Over TLS a reset reaches Python
    # as a "ragged EOF", which clients ignore; a record that fails its check breaks it instead.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(_PARTIAL_RESPONSE)
    if isinstance(sock, ssl.SSLSocket):
        socket.socket.sendall(sock, _CORRUPT_TLS_RECORD)
