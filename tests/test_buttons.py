"""The buttons' markup: the macros and template globals refuse a wrong call, loudly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import sign_in

from .helpers import make_site, site_config

ROOT = Path(__file__).resolve().parents[1]
MACROS = ROOT / "flask_capture_link" / "templates" / "capture_link" / "macros.html"


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    return make_site(site_config(capture_emulator))


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        ('link_button("https://sl.example/google/start", "", "google", "Link")', "token_url"),
        ('link_button(token_url="https://site/t", provider="google", label="x")', "start_url"),
        ('unlink_button("/capture-link/unlink", "state", "id")', "label"),
        ('reauthenticate_link_button("/re", "google")', "label"),
        ('reauthenticate_unlink_button(action="/re", label="x")', "next"),
        ('disabled_unlink_button("why-1", "Unlink")', "reason"),
    ],
)
def test_a_macro_called_without_a_parameter_says_which(
    app: Flask, call: str, missing: str
) -> None:
    names = re.search(r"^(\w+)\(", call)
    assert names is not None
    template = f'{{% from "capture_link/macros.html" import {names.group(1)} %}}{{{{ {call} }}}}'
    with app.test_request_context("/"), pytest.raises(TypeError) as raised:
        render_template_string(template)
    assert f"without {missing}" in str(raised.value)
    assert f"{names.group(1)}(" in str(raised.value)


def test_a_macro_called_whole_renders(app: Flask) -> None:
    template = (
        '{% from "capture_link/macros.html" import link_button %}'
        '{{ link_button("https://sl.example/google/start", "https://site/t", "google", "Link") }}'
    )
    with app.test_request_context("/"):
        page = render_template_string(template)
    assert page.startswith('<a class="capture-link-button capture-link-google"')


def test_every_macro_checks_every_parameter() -> None:
    source = MACROS.read_text(encoding="utf-8")
    for name, params in re.findall(r"\{% macro (\w+)\(([^)]*)\) -%\}", source):
        expected = ", ".join(f"{p.strip()}={p.strip()}" for p in params.split(","))
        assert f'capture_link_require("{name}", {expected})' in source, name


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ('{{ capture_link_button("google", "/account") }}', "give it as next='/account'"),
        ("{{ capture_link_button(provder) }}", "provider must be a Social Login provider"),
        ('{{ capture_link_unlink_button("google") }}', "an identity of capture_link_identities"),
    ],
)
def test_a_wrong_call_of_a_template_global_says_what_to_give(
    app: Flask, emulator: CaptureEmulator, template: str, says: str
) -> None:
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        with client.session_transaction() as session:
            stored = dict(session)
    with app.test_request_context("/"), pytest.raises((TypeError, ValueError)) as raised:
        from flask import session as request_session

        request_session.update(stored)
        render_template_string(template)
    assert says in str(raised.value)


def test_templates_md_lists_every_macro_with_its_parameters() -> None:
    page = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    rows = {
        row.split(" | ")[0].strip("| `"): row.split(" | ")[1]
        for row in page.splitlines()
        if row.startswith("| `")
    }
    source = MACROS.read_text(encoding="utf-8")
    macros = re.findall(r"\{% macro (\w+)\(([^)]*)\) -%\}", source)
    assert set(rows) == {name for name, _ in macros}
    for name, params in macros:
        documented = re.findall(r"(?:^|, )`(\w+)`", rows[name])
        assert documented == [p.strip() for p in params.split(",")], name
