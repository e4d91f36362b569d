"""Why the extension's views end a request without calling Capture (or without calling it
again): one exception family, each carrying its outcome, as Flask-WTF's ``CSRFError`` carries
its reason. The views raise them; one place turns them into the flash and the redirect.
"""

from __future__ import annotations


class Refusal(Exception):
    """The request ends with outcome ``outcome`` (a key of
    :data:`~flask_capture_link.outcomes.OUTCOMES`). ``reason`` is logged (never a token);
    ``next`` is where the user goes, when the request's state cannot say."""

    def __init__(self, outcome: str, *, reason: str | None = None, next: str | None = None):
        super().__init__(reason or outcome)
        self.outcome = outcome
        self.reason = reason or outcome
        self.next = next


class NoAccessToken(Refusal):
    """The user has no Registration access token: they must sign in."""

    def __init__(self) -> None:
        super().__init__("missing_access_token")
