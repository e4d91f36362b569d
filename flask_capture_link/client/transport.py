"""Transport failures in plain words, naming where the client tried to go.

``could not reach https://capture.invalid:443: name not found`` tells a site owner what to fix;
``NameResolutionError`` does not. Only the scheme, host and port are named: never a user or
password of the URL, never a parameter of the call.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: Words for what went wrong, by a marker found in the exception chain's names and texts.
#: The first marker found wins.
REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "NameResolutionError",
            "Name or service not known",
            "nodename nor servname",
            "Temporary failure in name resolution",
            "getaddrinfo failed",
            "No address associated with hostname",
        ),
        "name not found",
    ),
    (("Connection refused", "ConnectionRefusedError"), "connection refused"),
    (("Network is unreachable", "No route to host"), "network unreachable"),
    (("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"), "its certificate is not trusted"),
    (("doesn't match", "Hostname mismatch"), "its certificate is for another name"),
    (("SSLError", "SSL:", "handshake", "wrong version number"), "the TLS handshake failed"),
    (
        ("reset by peer", "RemoteDisconnected", "Connection aborted"),
        "the server closed the connection",
    ),
    (("timed out", "Timeout"), "no answer in time"),
)


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, the port always shown (443 and 80 included)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}:{port}"


def reason(exc: BaseException) -> str | None:
    """What went wrong, in words, or ``None`` when no marker is found."""
    text = " ".join(_chain(exc))
    lowered = text.lower()
    for markers, words in REASONS:
        if any(marker.lower() in lowered for marker in markers):
            return words
    return None


def _chain(exc: BaseException) -> list[str]:
    """Names and texts of ``exc`` and what it wraps (requests keeps urllib3's in ``args[0]``,
    urllib3 keeps the cause in ``reason``)."""
    found: list[str] = []
    current: object = exc
    seen = 0
    while isinstance(current, BaseException) and seen < 6:
        found += [type(current).__name__, str(current)]
        inner = (
            getattr(current, "reason", None)
            or current.__cause__
            or (current.args[0] if current.args else None)
        )
        current = inner if inner is not current else None
        seen += 1
    return found
