"""Sign in with a linked identity and merge on sign-in, end to end against the emulator: the
token URL with a sign-in state, the merge page, and every outcome."""

from __future__ import annotations

import html
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from flask_capture_link import CaptureLink, ConfigError, Tokens, signals
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from ..helpers import last_flash, make_site, site_config

AUTH_NATIVE = "/oauth/auth_native"
AUTH_TRADITIONAL = "/oauth/auth_native_traditional"

LOGIN_PAGE = """
{% for category, message in get_flashed_messages(with_categories=true) %}
<p class="flash {{ category }}">{{ message }}</p>
{% endfor %}
{{ capture_link_sign_in_button("google", next="/account") }}
{{ capture_link_sign_in_button("facebook") }}
"""

_SIGN_IN_HREF = re.compile(
    r'class="capture-link-button capture-link-sign-in capture-link-([a-z0-9_]+)" href="([^"]+)"'
)


def sign_in_url(page: str, provider: str) -> str:
    """The token URL of ``provider``'s sign-in button in ``page``."""
    for found, href in _SIGN_IN_HREF.findall(page):
        if found == provider:
            return parse_qs(urlsplit(html.unescape(href)).query)["token_url"][0]
    raise AssertionError(f"no sign-in button for {provider} in {page!r}")


class Site:
    """A site with a sign-in page, and a ``signed_in`` function that notes its calls."""

    def __init__(self, server: EmulatorServer, *, hook: bool = True, **config: Any) -> None:
        self.ext = CaptureLink()
        self.app: Flask = make_site(site_config(server, **config), self.ext)
        self.calls: list[tuple[Tokens, dict[str, Any] | None]] = []

        @self.app.route("/login")
        def login() -> str:
            return render_template_string(LOGIN_PAGE)

        @self.app.route("/how")
        def how() -> str:
            ext = self.ext
            return (
                f"{ext.is_fresh()} {ext.signed_in_with_password()} {len(ext.linked_identities())}"
            )

        if hook:
            with self.app.app_context():
                self.ext.signed_in(lambda tokens, user: self.calls.append((tokens, user)))

    def client(self) -> FlaskClient:
        return self.app.test_client()


@pytest.fixture
def site(capture_emulator: EmulatorServer) -> Site:
    return Site(capture_emulator)


def link_google(site: Site, emulator: CaptureEmulator, account: str = "alice") -> None:
    """The demo user links ``google/<account>`` (through the token URL), in a client of its own."""
    client = site.client()
    sign_in(client, emulator, emulator.demo_email)
    url = find_token_url(client.get("/account").get_data(as_text=True), "google")
    response = deliver_token(client, url, emulator.issue_social_token("google", account))
    assert last_flash(client)[0] == "success", response.headers


def test_sign_in_with_a_linked_identity(site: Site, emulator: CaptureEmulator) -> None:
    link_google(site, emulator)
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")

    response = deliver_token(client, url, emulator.issue_social_token("google", "alice"))

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert last_flash(client) == ("success", ENGLISH["signed_in"])
    [(tokens, user)] = site.calls
    assert tokens.obtained_by == "social"
    assert user is not None and user["email"] == emulator.demo_email
    [call] = emulator.calls_to(AUTH_NATIVE)
    assert call.stat == "ok" and "merge_token" not in call.param_names
    page = client.get("/account").get_data(as_text=True)
    assert "capture-link-reauthenticate" not in page  # fresh: the link buttons are live


def test_the_sign_in_is_fresh_and_not_by_password(site: Site, emulator: CaptureEmulator) -> None:
    link_google(site, emulator)
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    deliver_token(client, url, emulator.issue_social_token("google", "alice"))

    assert client.get("/how").get_data(as_text=True) == "True False 1"


def test_a_sign_in_state_is_spent_once(site: Site, emulator: CaptureEmulator) -> None:
    link_google(site, emulator)
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    deliver_token(client, url, emulator.issue_social_token("google", "alice"))

    deliver_token(client, url, emulator.issue_social_token("google", "alice"))

    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert len(site.calls) == 1
    assert len(emulator.calls_to(AUTH_NATIVE)) == 1


def test_a_sign_in_state_of_another_session_signs_no_one_in(
    site: Site, emulator: CaptureEmulator
) -> None:
    link_google(site, emulator)
    attacker = site.client()
    url = sign_in_url(attacker.get("/login").get_data(as_text=True), "google")
    victim = site.client()
    victim.get("/login")

    response = deliver_token(victim, url, emulator.issue_social_token("google", "alice"))

    assert last_flash(victim) == ("error", ENGLISH["invalid_state"])
    assert site.calls == []
    assert emulator.calls_to(AUTH_NATIVE) == []
    assert response.headers["Location"].startswith("/")


def test_a_link_state_does_not_sign_in_and_a_sign_in_state_does_not_link(
    site: Site, emulator: CaptureEmulator
) -> None:
    client = site.client()
    sign_in(client, emulator, emulator.demo_email)
    link_url = find_token_url(client.get("/account").get_data(as_text=True), "google")
    sign_in_token_url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    # A link URL's state with the sign-in URL's: the purpose is signed, so swapping fails.
    forged = link_url.split("state=")[0] + "state=" + sign_in_token_url.split("state=")[1] + "x"

    deliver_token(client, forged, emulator.issue_social_token("google", "bob"))

    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert emulator.calls_to(AUTH_NATIVE) == []
    assert site.calls == []


def test_cancel_at_the_provider(site: Site, emulator: CaptureEmulator) -> None:
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    response = deliver_token(client, url, None)
    assert last_flash(client) == ("info", ENGLISH["sign_in_cancelled"])
    assert response.headers["Location"] == "/sign-in" or response.headers["Location"] == "/"
    assert emulator.calls_to(AUTH_NATIVE) == []


def test_no_account_for_the_identity(site: Site, emulator: CaptureEmulator) -> None:
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "facebook")
    deliver_token(client, url, emulator.issue_social_token("facebook", "newcomer"))
    assert last_flash(client) == ("error", ENGLISH["no_account_for_identity"])
    assert site.calls == []


def test_no_account_goes_to_registration_when_the_site_has_it(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    site = Site(capture_emulator, CAPTURE_LINK_REGISTER_URL="/register")
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "facebook")
    response = deliver_token(client, url, emulator.issue_social_token("facebook", "newcomer"))
    assert response.headers["Location"] == "/register"
    assert last_flash(client) == ("info", ENGLISH["no_account_register"])


def test_an_unverified_email_is_no_merge(site: Site, emulator: CaptureEmulator) -> None:
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    deliver_token(client, url, emulator.issue_social_token("google", "demo-unverified"))
    assert last_flash(client) == ("error", ENGLISH["no_account_for_identity"])


def test_without_a_signed_in_function(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    site = Site(capture_emulator, hook=False)
    client = site.client()
    with pytest.raises(ConfigError, match="signed_in"):
        client.get("/login")
    # Render a button as if the hook were there, then take it away.
    with site.app.app_context():
        site.ext.signed_in(lambda tokens, user: None)
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    with site.app.app_context():
        site.app.extensions["capture_link"]._current_app_state().hooks.pop("signed_in")
    with caplog.at_level(logging.ERROR):
        response = deliver_token(client, url, emulator.issue_social_token("google", "alice"))
    assert response.status_code == 303
    assert last_flash(client) == ("error", ENGLISH["sign_in_not_set_up"])
    assert "signed_in" in caplog.text
    assert emulator.calls_to(AUTH_NATIVE) == []


def start_merge(site: Site, emulator: CaptureEmulator, provider: str, account: str) -> FlaskClient:
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), provider)
    response = deliver_token(client, url, emulator.issue_social_token(provider, account))
    assert response.headers["Location"] == "/capture-link/merge", response.headers
    return client


def merge_page_forms(page: str) -> dict[str, dict[str, str]]:
    forms: dict[str, dict[str, str]] = {}
    for action, body in re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page, re.S):
        forms[action] = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', body))
    return forms


def password_form(forms: dict[str, dict[str, str]], email: str, password: str) -> dict[str, str]:
    """The merge page's password form, filled in."""
    return {"state": forms["/capture-link/merge"]["state"], "email": email, "password": password}


def test_merge_by_password(site: Site, emulator: CaptureEmulator) -> None:
    received: list[dict[str, Any]] = []

    def note(sender: object, **data: Any) -> None:
        received.append(data)

    client = start_merge(site, emulator, "google", "demo-google")
    page = client.get("/capture-link/merge")
    text = page.get_data(as_text=True)
    assert ENGLISH["email_address_in_use"] in text  # the flash, on the merge page
    assert page.headers["Cache-Control"] == "no-store"
    forms = merge_page_forms(text)

    with signals.account_linked.connected_to(note, site.app):
        response = client.post(
            "/capture-link/merge",
            data=password_form(forms, emulator.demo_email, emulator.demo_password),
        )

    assert response.headers["Location"] == "/account"
    assert last_flash(client) == ("success", ENGLISH["merged"])
    [call] = emulator.calls_to(AUTH_TRADITIONAL)
    assert "merge_token" in call.param_names and call.stat == "ok"
    assert [p["domain"] for p in emulator.identities(emulator.demo_email)] == ["google.com"]
    [(tokens, user)] = site.calls
    assert tokens.obtained_by == "password" and user is not None
    [notice] = received
    assert notice["provider"] == "google.com"


def test_a_head_request_to_the_merge_page_merges_nothing(
    site: Site, emulator: CaptureEmulator
) -> None:
    # Flask answers HEAD with the GET view: it only shows, whatever fields it carries.
    client = start_merge(site, emulator, "google", "demo-google")
    forms = merge_page_forms(client.get("/capture-link/merge").get_data(as_text=True))
    fields = password_form(forms, emulator.demo_email, emulator.demo_password)

    response = client.open("/capture-link/merge", method="HEAD", data=fields)

    assert response.status_code == 200
    assert emulator.calls_to(AUTH_TRADITIONAL) == []
    assert site.calls == []
    assert client.post("/capture-link/merge", data=fields).headers["Location"] == "/account"


def test_merge_by_password_with_a_wrong_password_may_try_again(
    site: Site, emulator: CaptureEmulator
) -> None:
    client = start_merge(site, emulator, "google", "demo-google")
    forms = merge_page_forms(client.get("/capture-link/merge").get_data(as_text=True))
    response = client.post(
        "/capture-link/merge",
        data=password_form(forms, emulator.demo_email, "wrong"),
    )
    assert response.headers["Location"] == "/capture-link/merge"
    assert last_flash(client) == ("error", ENGLISH["invalid_credentials"])
    forms = merge_page_forms(client.get("/capture-link/merge").get_data(as_text=True))
    client.post(
        "/capture-link/merge",
        data=password_form(forms, emulator.demo_email, emulator.demo_password),
    )
    assert last_flash(client) == ("success", ENGLISH["merged"])


def test_merge_form_state_is_spent_once(site: Site, emulator: CaptureEmulator) -> None:
    client = start_merge(site, emulator, "google", "demo-google")
    forms = merge_page_forms(client.get("/capture-link/merge").get_data(as_text=True))
    data = password_form(forms, emulator.demo_email, "wrong")
    client.post("/capture-link/merge", data=data)
    client.post("/capture-link/merge", data={**data, "password": emulator.demo_password})
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert len(emulator.calls_to(AUTH_TRADITIONAL)) == 1


def test_merge_by_the_existing_provider(site: Site, emulator: CaptureEmulator) -> None:
    client = start_merge(site, emulator, "google", "sam-google")
    text = client.get("/capture-link/merge").get_data(as_text=True)
    assert "Facebook" in text
    url = sign_in_url(text, "facebook")

    response = deliver_token(client, url, emulator.issue_social_token("facebook", "sam-facebook"))

    assert response.headers["Location"] == "/account"
    assert last_flash(client) == ("success", ENGLISH["merged"])
    merge_call = emulator.calls_to(AUTH_NATIVE)[-1]
    assert "merge_token" in merge_call.param_names and merge_call.stat == "ok"
    domains = sorted(p["domain"] for p in emulator.identities("sam@example.com"))
    assert domains == ["facebook.com", "google.com"]
    [(tokens, user)] = site.calls
    assert tokens.obtained_by == "social" and user is not None


def test_cancel_the_merge_links_nothing(site: Site, emulator: CaptureEmulator) -> None:
    client = start_merge(site, emulator, "google", "demo-google")
    forms = merge_page_forms(client.get("/capture-link/merge").get_data(as_text=True))

    client.post("/capture-link/merge/cancel", data=forms["/capture-link/merge/cancel"])

    assert last_flash(client) == ("info", ENGLISH["merge_cancelled"])
    assert emulator.identities(emulator.demo_email) == []
    # The kept merge token is gone: the page says so, and the old form does nothing.
    response = client.post(
        "/capture-link/merge",
        data=password_form(forms, emulator.demo_email, emulator.demo_password),
    )
    assert last_flash(client) == ("error", ENGLISH["merge_expired"])
    assert emulator.calls_to(AUTH_TRADITIONAL) == []
    assert response.status_code == 303


def test_the_merge_token_is_single_use_and_bound_to_the_session(
    site: Site, emulator: CaptureEmulator
) -> None:
    client = start_merge(site, emulator, "google", "demo-google")
    forms = merge_page_forms(client.get("/capture-link/merge").get_data(as_text=True))
    other = site.client()
    other.get("/login")

    response = other.post(
        "/capture-link/merge",
        data={
            **forms["/capture-link/merge"],
            "email": emulator.demo_email,
            "password": emulator.demo_password,
        },
    )

    assert response.headers["Location"] == "/"  # this site has no sign-in page to send to
    assert emulator.calls_to(AUTH_TRADITIONAL) == []
    assert site.calls == []


def test_the_merge_token_is_in_no_url_page_log_or_flash(
    site: Site, emulator: CaptureEmulator, all_logs: pytest.LogCaptureFixture
) -> None:
    token = emulator.issue_social_token("google", "demo-google")
    client = site.client()
    url = sign_in_url(client.get("/login").get_data(as_text=True), "google")
    first = deliver_token(client, url, token)
    page = client.get("/capture-link/merge")
    forms = merge_page_forms(page.get_data(as_text=True))
    last = client.post(
        "/capture-link/merge",
        data={
            **forms["/capture-link/merge"],
            "email": emulator.demo_email,
            "password": emulator.demo_password,
        },
    )
    assert last_flash(client)[0] == "success"
    seen = [
        first.headers["Location"],
        page.get_data(as_text=True),
        last.headers["Location"],
        all_logs.text,
    ]
    with client.session_transaction() as stored:
        seen.append(repr(dict(stored)))
    assert not any(token in text for text in seen)
    assert emulator.demo_password not in all_logs.text
