"""Reads the contract corpus: the documented Capture requests and answers in this folder.

Each ``<call>.json`` holds ``requests`` (what a client may send, with ``{placeholders}`` a test
fills) and ``answers`` (what Capture may answer: HTTP status, body, and what the client and the
extension must make of it). ``sources.json`` lists every public page or SDK file they cite.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

#: The corpus files of the Capture calls the package makes, and of Social Login's delivery.
CALLS = (
    "link_account_native",
    "unlink_account_native",
    "entity",
    "auth_native_traditional",
    "auth_native",
    "oauth_token",
)
ALL = (*CALLS, "social_login_token")

#: What stands for "any value" in a documented body, and the value a replay puts there.
FILLERS: dict[str, object] = {
    "<string>": "text",
    "<string?>": "text",
    "<int>": 7,
    "<bool?>": True,
}


@cache
def load(name: str) -> dict[str, Any]:
    """One corpus file."""
    data: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text())
    return data


def sources() -> dict[str, Any]:
    """The cited pages and files, by key."""
    return load("sources")


def answers(name: str) -> list[dict[str, Any]]:
    """The documented answers of one call."""
    return list(load(name)["answers"])


def answer(name: str, answer_name: str) -> dict[str, Any]:
    """One documented answer, by its name."""
    for entry in answers(name):
        if entry["name"] == answer_name:
            return entry
    raise KeyError(f"{name}: no answer named {answer_name!r}")


def requests_of(name: str) -> list[dict[str, Any]]:
    """The documented requests of one call."""
    return list(load(name)["requests"])


def each_answer(*names: str) -> list[tuple[str, dict[str, Any]]]:
    """``(call, answer)`` for every documented answer of these calls, for parametrize."""
    return [(name, entry) for name in names for entry in answers(name)]


def each_request(*names: str) -> list[tuple[str, dict[str, Any]]]:
    """``(call, request)`` for every documented request of these calls, for parametrize."""
    return [(name, entry) for name in names for entry in requests_of(name)]


def filled(value: Any) -> Any:
    """A documented body with a concrete value in place of each "any value" marker."""
    if isinstance(value, dict):
        return {key: filled(item) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item) for item in value]
    if isinstance(value, str) and value in FILLERS:
        return FILLERS[value]
    return value


def substitute(value: Any, values: dict[str, str]) -> Any:
    """A documented request with each ``{placeholder}`` replaced from ``values``."""
    if isinstance(value, dict):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if isinstance(value, str):
        return value.format_map(values) if "{" in value else value
    return value


def ids(entries: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Readable test ids: ``call: name``."""
    return [f"{call}: {entry['name']}" for call, entry in entries]
