"""Provider names map to the profile domains and identifier URLs Capture stores."""

from __future__ import annotations

import pytest

from flask_capture_link.emulator.providers import provider


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("google", "google.com"),
        ("facebook", "facebook.com"),
        ("twitter", "twitter.com"),
        ("linkedin", "linkedin.com"),
        ("apple", "apple.com"),
        ("microsoft", "live.com"),
        ("github2", "github2.example"),
    ],
)
def test_profile_domains(name: str, domain: str) -> None:
    assert provider(name).domain == domain


def test_identifiers_are_urls_with_the_account_id_quoted() -> None:
    assert provider("google").identifier("alice") == "https://www.google.com/profiles/alice"
    assert provider("github").identifier("a b/c") == "https://github.example/a%20b%2Fc"


@pytest.mark.parametrize("name", ["", "Google", "open-id", "x/y"])
def test_names_are_lowercase_letters_and_digits(name: str) -> None:
    with pytest.raises(ValueError):
        provider(name)
