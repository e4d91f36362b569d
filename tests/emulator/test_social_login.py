"""The Social Login stand-in: a sign-in page, then the token POSTed to the token URL."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import requests

from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from .helpers import CaptureAPI

TOKEN_URL = "http://127.0.0.1:5000/capture-link/token?state=abc&next=%2Faccount"


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def start(browser: requests.Session, server: EmulatorServer, token_url: str) -> requests.Response:
    url = server.social_login_url + "/google/start"
    with browser.get(url, params={"token_url": token_url}) as page:
        return page


def sign_in(browser: requests.Session, server: EmulatorServer, **form: str) -> requests.Response:
    fields = {"token_url": TOKEN_URL, "identifier": "alice", **form}
    with browser.post(server.social_login_url + "/google/signin", data=fields) as page:
        return page


def test_start_page_has_the_sign_in_form(
    browser: requests.Session, server: EmulatorServer
) -> None:
    page = start(browser, server, TOKEN_URL)

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Sign in with Google (emulator)</title>" in page.text
    assert 'action="/google/signin"' in page.text
    assert re.search(r'<label for="identifier">', page.text)
    assert 'name="identifier" type="text" value="alice"' in page.text
    assert f'name="token_url" value="{html.escape(TOKEN_URL)}"' in page.text
    assert ">Sign in</button>" in page.text
    assert ">Cancel</button>" in page.text
    assert "http" not in page.text.replace(html.escape(TOKEN_URL), "")  # nothing external


@pytest.mark.parametrize("token_url", ["", "javascript:alert(1)", "/relative", "ftp://x/"])
def test_start_page_needs_an_http_token_url(
    browser: requests.Session, server: EmulatorServer, token_url: str
) -> None:
    assert start(browser, server, token_url).status_code == 400


def test_other_providers_get_their_own_label(
    browser: requests.Session, server: EmulatorServer
) -> None:
    url = server.social_login_url + "/linkedin/start"
    with browser.get(url, params={"token_url": TOKEN_URL}) as page:
        assert "Sign in with LinkedIn (emulator)" in page.text


def test_sign_in_delivers_the_token_like_social_login(
    browser: requests.Session, server: EmulatorServer, api: CaptureAPI, emu: CaptureEmulator
) -> None:
    page = sign_in(browser, server, display_name="Alice A")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    form = re.search(
        r'<form id="token-form" method="post" action="([^"]*)">(.*?)</form>', page.text, re.S
    )
    assert form is not None
    assert html.unescape(form.group(1)) == TOKEN_URL
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    [(name, token)] = fields
    assert name == "token"
    assert re.fullmatch(r"[0-9a-f]{40}", token)
    assert ">Continue</button>" in form.group(2)
    assert 'document.getElementById("token-form").submit()' in page.text

    assert api.link(api.access_token(), token) == {"stat": "ok"}
    [profile] = emu.identities(emu.demo_email)
    assert profile["identifier"] == "https://www.google.com/profiles/alice"
    assert profile["profile"]["displayName"] == "Alice A"


def test_sign_in_needs_an_account_name(browser: requests.Session, server: EmulatorServer) -> None:
    assert sign_in(browser, server, identifier=" ").status_code == 400


def test_sign_in_is_a_post(browser: requests.Session, server: EmulatorServer) -> None:
    url = server.social_login_url + "/google/signin"
    with browser.get(url, params={"token_url": TOKEN_URL}) as page:
        assert page.status_code == 405


def test_cancel_goes_to_the_token_url_without_a_token(
    browser: requests.Session, server: EmulatorServer
) -> None:
    url = server.social_login_url + "/google/cancel"
    with browser.get(url, params={"token_url": TOKEN_URL}, allow_redirects=False) as answer:
        assert answer.status_code == 302
        assert answer.headers["Location"] == TOKEN_URL


def test_social_login_pages_are_not_capture_calls(
    browser: requests.Session, server: EmulatorServer, emu: CaptureEmulator
) -> None:
    start(browser, server, TOKEN_URL)
    sign_in(browser, server)
    assert emu.calls == []
