"""One table from error class to outcome (outcomes.OUTCOME_OF_CLASS); the classes know none."""

from __future__ import annotations

import inspect

import pytest

from flask_capture_link.client import errors
from flask_capture_link.outcomes import OUTCOME_OF_CLASS, OUTCOMES, class_outcome, outcome_for

CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.CaptureError)
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_each_class_has_an_outcome_that_exists(cls: type[errors.CaptureError]) -> None:
    assert cls in OUTCOME_OF_CLASS  # every public class listed, none left to a base by chance
    assert class_outcome(cls) in OUTCOMES
    assert outcome_for(cls("no error string")) == OUTCOMES[class_outcome(cls)]
    assert not hasattr(cls, "outcome")  # the client layer knows nothing of the web's outcomes


@pytest.mark.parametrize(
    ("cls", "outcome"),
    [
        (errors.RefreshTokenInvalid, "access_token_expired"),
        (errors.ClientCredentialsRefused, "access_token_expired"),
        (errors.IdentityNotLinked, "not_linked"),
        (errors.RecordNotFound, "not_linked"),
        (errors.CaptureAnswerLost, "unconfirmed"),
        (errors.CaptureUnavailable, "unavailable"),
        (errors.UnknownAttribute, "unknown"),
        (errors.CaptureError, "unknown"),
    ],
)
def test_finer_classes_have_their_own(cls: type[errors.CaptureError], outcome: str) -> None:
    assert class_outcome(cls) == outcome


def test_an_error_string_with_its_own_message_keeps_it() -> None:
    error = errors.error_from_body({"stat": "error", "code": 413, "error": "no_access_grant"})
    assert type(error) is errors.AccessTokenInvalid
    assert outcome_for(error).message_key == "no_access_grant"


def test_a_finer_class_wins_over_its_error_string() -> None:
    body = {"stat": "error", "code": 200, "error": "invalid_argument"}
    error = errors.error_from_body({**body, "argument_name": "identifier_to_remove"})
    assert type(error) is errors.IdentityNotLinked
    assert outcome_for(error).message_key == "not_linked"


@pytest.mark.parametrize(
    "name", ["success", "unlinked", "missing_token", "unique_violation_listed"]
)
def test_an_unknown_error_named_like_one_of_our_results_is_still_an_error(name: str) -> None:
    error = errors.error_from_body({"stat": "error", "code": 999, "error": name})
    outcome = outcome_for(error)
    assert outcome.message_key == "unknown"
    assert outcome.category == "error"


def test_own_results_are_outcomes() -> None:
    from flask_capture_link.outcomes import OWN_RESULTS

    assert OWN_RESULTS.issubset(OUTCOMES)
