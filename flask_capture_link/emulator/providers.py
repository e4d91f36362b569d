"""Social Login providers as Capture records them: a profile domain and an identifier URL.

Capture stores a linked identity as a ``profiles`` entry whose ``domain`` names the provider and
whose ``identifier`` is a URL built from the provider's account id. The emulator builds them the
same way so that a site sees realistic values in ``/entity`` and passes them back to
``/oauth/unlink_account_native``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

#: A provider name as it appears in Social Login start URLs (``/{provider}/start``).
PROVIDER_NAME = re.compile(r"[a-z0-9]+")

# provider: (label shown on pages, profile domain, identifier URL template)
_KNOWN: dict[str, tuple[str, str, str]] = {
    "google": ("Google", "google.com", "https://www.google.com/profiles/{id}"),
    "facebook": ("Facebook", "facebook.com", "http://www.facebook.com/profile.php?id={id}"),
    "twitter": ("Twitter", "twitter.com", "http://twitter.com/account/profile?user_id={id}"),
    "linkedin": ("LinkedIn", "linkedin.com", "http://www.linkedin.com/profile?id={id}"),
    "apple": ("Apple", "apple.com", "https://appleid.apple.com/{id}"),
    "microsoft": ("Microsoft", "live.com", "https://login.live.com/{id}"),
}


@dataclass(frozen=True)
class Provider:
    """One Social Login provider: its name, a label for pages and its Capture profile domain."""

    name: str
    label: str
    domain: str
    identifier_template: str

    def identifier(self, account_id: str) -> str:
        """The Capture profile ``identifier`` of the provider account ``account_id``.

        >>> provider("google").identifier("alice")
        'https://www.google.com/profiles/alice'
        """
        return self.identifier_template.format(id=quote(account_id, safe=""))


def provider(name: str) -> Provider:
    """Look up a provider by name; any other ``[a-z0-9]+`` name gets domain ``<name>.example``.

    Raises :class:`ValueError` for a name Social Login could not have in its URLs.
    """
    if not PROVIDER_NAME.fullmatch(name):
        raise ValueError(f"provider names are lowercase letters and digits, not {name!r}")
    label, domain, template = _KNOWN.get(
        name, (name.capitalize(), f"{name}.example", f"https://{name}.example/{{id}}")
    )
    return Provider(name, label, domain, template)


def provider_of_domain(domain: str) -> str:
    """The provider name whose profiles have ``domain`` (the inverse of :func:`provider`), as
    a 380's ``existing_provider`` names it.

    >>> provider_of_domain("google.com"), provider_of_domain("github.example")
    ('google', 'github')
    """
    for name, (_, known_domain, _) in _KNOWN.items():
        if known_domain == domain:
            return name
    return domain.removesuffix(".example")
