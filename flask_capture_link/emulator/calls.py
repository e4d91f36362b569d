"""The emulator's record of the Capture calls it received, without any parameter values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    """One request to a Capture endpoint, as a test may assert on it.

    Only parameter *names* are kept: a record can be printed or logged without leaking a token,
    password or secret. ``stat``, ``code`` and ``error`` come from the JSON answer, and are
    ``None`` when the answer was not a Capture envelope (a fault such as ``html_502``).

    Example::

        [call] = emulator.calls_to("/oauth/link_account_native")
        assert "token" in call.param_names and call.query_param_names == ()
        assert call.stat == "ok"
    """

    endpoint: str
    method: str
    param_names: tuple[str, ...]
    query_param_names: tuple[str, ...]
    stat: str | None
    code: int | None
    error: str | None
    #: The scheme of the ``Authorization`` header (``"OAuth"``, ``"Basic"``...), never its value.
    auth_scheme: str | None = None

    @classmethod
    def of(
        cls,
        endpoint: str,
        method: str,
        form_names: Iterable[str],
        query_names: Iterable[str],
        body: object,
        authorization: str | None = None,
    ) -> Call:
        """The record of a call whose answer had the JSON ``body`` (any value)."""
        envelope = body if isinstance(body, dict) else {}
        stat = envelope.get("stat")
        code = envelope.get("code")
        error = envelope.get("error")
        return cls(
            endpoint=endpoint,
            method=method,
            param_names=tuple(sorted(set(form_names))),
            query_param_names=tuple(sorted(set(query_names))),
            stat=stat if isinstance(stat, str) else None,
            code=code if isinstance(code, int) else None,
            error=error if isinstance(error, str) else None,
            auth_scheme=(authorization or "").split(" ", 1)[0] or None,
        )
