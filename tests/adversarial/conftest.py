"""What every adversarial test holds besides its own assertions: no request ended in the
extension's catch-all. Its sites run with ``TESTING`` off (as in production, so that a 500
would show), where ``never_fails`` turns a bug into the ``unknown`` outcome and logs
"unexpected failure": such a record fails the test (it would otherwise pass on a bug)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

#: How ``never_fails`` begins the record of a bug it caught.
UNEXPECTED = "unexpected failure"


@pytest.fixture(autouse=True)
def no_unexpected_failure(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test when a view logged an unexpected failure while it ran."""
    yield
    caught = [
        record
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)  # type: ignore[arg-type]
        if record.getMessage().startswith(UNEXPECTED)
    ]
    if caught:
        pytest.fail(f"a view failed unexpectedly: {caught[0].getMessage()}\n{caught[0].exc_text}")
