"""Messages: overrides, languages, fallback, and the outcome table."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from flask_capture_link import catalog
from flask_capture_link.client import errors
from flask_capture_link.messages import language_of, lookup
from flask_capture_link.outcomes import OUTCOMES, outcome_for

DESIGN_KEYS = {
    "unique_violation", "engage_error", "invalid_access_token", "access_token_expired",
    "no_access_grant", "missing_argument", "invalid_argument", "permission_error",
    "client_permission_error", "api_feature_disabled", "unexpected_error", "api_limit_error",
    "success", "invalid_state", "missing_token", "missing_access_token", "unavailable",
    "unknown", "unlinked", "not_linked",
}  # fmt: skip


@pytest.fixture
def app() -> Flask:
    return Flask(__name__)


def test_every_outcome_has_a_message_in_every_language() -> None:
    for language in ("en", "es", "fr", "de"):
        messages = catalog.CATALOG[language]
        assert set(messages) >= DESIGN_KEYS, language
        assert set(OUTCOMES) <= set(messages), language
        assert set(messages) == set(catalog.ENGLISH), language
        assert all(text.strip() and text != key for key, text in messages.items())


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_each_language_is_translated(language: str) -> None:
    messages = catalog.CATALOG[language]
    same = [key for key in messages if messages[key] == catalog.ENGLISH[key]]
    assert same == []


@pytest.mark.parametrize(
    ("locale", "language"), [("es-ES", "es"), ("pt_BR", "pt"), ("DE", "de"), ("fr", "fr")]
)
def test_language_of(locale: str, language: str) -> None:
    assert language_of(locale) == language


def test_lookup_order(app: Flask) -> None:
    overrides = {
        "success": "Linked!",
        "es": {"success": "¡Vinculada!"},
        "es-MX": {"unknown": "Ups"},
    }
    with app.app_context():
        assert lookup("success", "en-US", overrides) == "Linked!"
        assert lookup("success", "es-ES", overrides) == "¡Vinculada!"
        assert lookup("unknown", "es-MX", overrides) == "Ups"
        assert lookup("unknown", "es-ES", overrides) == catalog.SPANISH["unknown"]
        assert lookup("missing_token", "fr-FR", {}) == catalog.FRENCH["missing_token"]
        assert lookup("missing_token", "ja-JP", {}) == catalog.ENGLISH["missing_token"]
        assert lookup("no_such_key", "en-US", {}) == catalog.ENGLISH["unknown"]


def test_flask_babel_translates_overrides_and_english_fallback(app: Flask) -> None:
    from flask_babel import Babel

    Babel(app)
    with app.test_request_context("/"):
        assert lookup("success", "en-US", {"success": "Linked"}) == "Linked"
        assert lookup("success", "ja-JP", {}) == catalog.ENGLISH["success"]


@pytest.mark.parametrize(
    ("body", "key", "level", "sign_in"),
    [
        ({"code": 361, "error": "unique_violation"}, "unique_violation", logging.INFO, False),
        ({"code": 400, "error": "engage_error"}, "engage_error", logging.WARNING, False),
        ({"code": 413, "error": "invalid_access_token"}, "invalid_access_token", logging.INFO,
         True),
        ({"code": 413, "error": "no_access_grant"}, "no_access_grant", logging.INFO, True),
        ({"code": 414, "error": "access_token_expired"}, "access_token_expired", logging.INFO,
         True),
        ({"code": 200, "error": "invalid_argument", "argument_name": "access_token"},
         "access_token_expired", logging.INFO, True),
        ({"code": 200, "error": "invalid_argument", "argument_name": "flow"}, "invalid_argument",
         logging.ERROR, False),
        ({"code": 100, "error": "missing_argument"}, "missing_argument", logging.ERROR, False),
        ({"code": 403, "error": "client_permission_error"}, "client_permission_error",
         logging.ERROR, False),
        ({"code": 500, "error": "unexpected_error"}, "unexpected_error", logging.ERROR, False),
        ({"code": 510, "error": "api_limit_error"}, "api_limit_error", logging.WARNING, False),
        ({"code": 480, "error": "api_feature_disabled"}, "api_feature_disabled",
         logging.WARNING, False),
        ({"code": 414}, "access_token_expired", logging.INFO, True),
        ({"code": 363, "error": "brand_new"}, "unknown", logging.ERROR, False),
    ],
)  # fmt: skip
def test_outcome_table(body: dict[str, object], key: str, level: int, sign_in: bool) -> None:
    outcome = outcome_for(errors.error_from_body({"stat": "error", **body}))
    assert (outcome.message_key, outcome.log_level, outcome.sign_in_again) == (
        key,
        level,
        sign_in,
    )


def test_unavailable_is_an_outcome() -> None:
    outcome = outcome_for(errors.CaptureUnavailable("timed out"))
    assert outcome.message_key == "unavailable"
