"""safe_next: only paths on this site."""

from __future__ import annotations

import pytest

from flask_capture_link.redirects import safe_next


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example", "///evil.example", "////evil.example", "/\\evil.example",
        "\\\\evil.example", "\\/evil.example", "/\\/evil.example", "http://evil.example",
        "https://evil.example/", "HTTP://evil.example", "javascript:alert(1)",
        "JaVaScRiPt:alert(1)", "\t//evil.example", " //evil.example", "/%5Cevil.example",
        "/%2F/evil.example", "/%2f%2fevil.example", "/%252F%252Fevil.example",
        "ftp://evil.example", "data:text/html,x", "//testserver@evil.example",
        "http://testserver@evil.example/", "/\x00//evil.example", "/\r\n//evil.example",
        "/\uff0f/evil.example", "\uff0f\uff0fevil.example", "/\u2215\u2215evil.example",
        "http:evil.example", "https:/evil.example", "", None, 42, "/" + "a" * 3000,
    ],
)  # fmt: skip
def test_refused(value: object) -> None:
    assert safe_next(value, "testserver") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/", "/"),
        ("/account?tab=2#top", "/account?tab=2#top"),
        ("/view/?param=http://example.com", "/view/?param=http://example.com"),
        ("/url%20with%20spaces/", "/url%20with%20spaces/"),
        ("view/?param=//example.com", "/view/?param=//example.com"),
        ("https://testserver/x", "/x"),
        ("//testserver/y", "/y"),
        ("/caf\u00e9", "/caf\u00e9"),
    ],
)
def test_kept(value: str, expected: str) -> None:
    assert safe_next(value, "testserver") == expected
