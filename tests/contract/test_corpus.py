"""The corpus itself: every entry cites a listed source, and the check's shapes are its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flask_capture_link.client import conformance

from . import corpus


@pytest.mark.parametrize("name", corpus.ALL)
def test_every_entry_cites_a_listed_source(name: str) -> None:
    data = corpus.load(name)
    known = corpus.sources()
    entries = data["requests"] + data["answers"]
    assert data["requests"] and data["answers"]
    for entry in entries:
        assert entry["source"], entry["name"]
        assert set(entry["source"]) <= set(known), entry["name"]


def test_every_source_says_what_was_read_and_where() -> None:
    for key, source in corpus.sources().items():
        if key.startswith("_"):
            continue
        assert source["read"], key
        assert source.get("url") or source.get("path") or source.get("copy"), key
        if "path" in source:
            assert source["repo"] in (
                "janrain/jump.ios",
                "janrain/jump.android",
                "janrain/janrain-python-api",
                "janrain/Janrain-Sample-Code",
            ), key


@pytest.mark.parametrize("name", corpus.ALL)
def test_every_request_expects_a_documented_answer(name: str) -> None:
    documented = {entry["name"] for entry in corpus.answers(name)}
    for request in corpus.requests_of(name):
        assert request["expect"] in documented, request["name"]


@pytest.mark.parametrize("name", corpus.CALLS)
def test_answers_say_what_client_and_extension_make_of_them(name: str) -> None:
    for entry in corpus.answers(name):
        assert entry["status"] in (200, 400, 401, 500), entry["name"]
        client = entry["client"]
        assert ("returns" in client) ^ ("raises" in client) ^ ("retries_with" in client)
        assert "outcome" in entry


def test_every_assumption_says_why_and_is_listed_in_the_docs() -> None:
    listed = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    entries = [
        (f"{name}: {entry['name']}", entry)
        for name in corpus.ALL
        for entry in corpus.requests_of(name) + corpus.answers(name)
    ]
    entries += [(key, source) for key, source in corpus.sources().items() if key[0] != "_"]
    marked = [(where, entry["assumption"]) for where, entry in entries if "assumption" in entry]
    assert marked  # the corpus does rest on some reasoning of ours
    for where, why in marked:
        assert len(why) > 20, where
        assert f"`{where}`" in listed, f"{where} is not listed in docs/conformance.md"


@pytest.mark.parametrize(
    ("name", "answer_name"),
    [(name, answer) for name, shapes in conformance.DOCUMENTED.items() for answer in shapes],
)
def test_the_check_holds_answers_against_the_corpus_shapes(name: str, answer_name: str) -> None:
    entry: dict[str, Any] = corpus.answer(name, answer_name)
    status, body = conformance.DOCUMENTED[name][answer_name]
    assert (status, body) == (entry["status"], entry["body"])
    assert ((name, answer_name) in conformance.CLOSED) == entry.get("closed", False)


@pytest.mark.parametrize(("call", "entry"), corpus.each_answer(*corpus.CALLS))
def test_each_documented_answer_has_its_own_shape(call: str, entry: dict[str, Any]) -> None:
    documented = (entry["status"], entry["body"])
    filled = corpus.filled(entry["body"])
    assert conformance.shape_problems(documented, entry["status"], filled) == []
    # and the shape is not vacuous: an empty answer does not have it
    assert conformance.shape_problems(documented, entry["status"], {}) != []
