"""The text of each outcome, in the user's language.

Lookup for a key in a locale such as ``es-MX``: ``CAPTURE_LINK_MESSAGES["es-MX"]``, then
``["es"]``, then a plain ``CAPTURE_LINK_MESSAGES[key]`` string, then the shipped catalog in
``es``, then English. A key never falls through to its own name.

Plain string overrides, and English shown for a language the catalog lacks, pass through
Flask-Babel's ``gettext`` when the app uses Flask-Babel, so a site can translate them in its own
message catalogs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .catalog import CATALOG, FALLBACK
from .integrations import gettext


def language_of(locale: str) -> str:
    """``"es-MX"`` -> ``"es"``; ``"pt_BR"`` -> ``"pt"``."""
    return locale.replace("_", "-").split("-")[0].lower()


def lookup(key: str, locale: str, overrides: Mapping[str, Any]) -> str:
    """The message for ``key`` in ``locale``, with the site's ``overrides`` applied."""
    language = language_of(locale)
    for scope in (locale, locale.replace("_", "-"), language):
        per_language = overrides.get(scope)
        if isinstance(per_language, Mapping) and isinstance(per_language.get(key), str):
            return str(per_language[key])
    plain = overrides.get(key)
    if isinstance(plain, str):
        return gettext(plain)
    shipped = CATALOG.get(language, {}).get(key)
    if shipped is not None:
        return shipped
    english = CATALOG[FALLBACK].get(key) or CATALOG[FALLBACK]["unknown"]
    return gettext(english)
