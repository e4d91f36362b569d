"""CaptureLink as a site uses it: factory, several apps, hooks, buttons, proxies, locales."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, render_template_string, session
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_capture_link import CaptureLink, ConfigError
from flask_capture_link.catalog import CATALOG, ENGLISH, SPANISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.storage import TOKENS_KEY
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import last_flash, make_site, site_config


def test_one_instance_serves_two_apps(capture_emulator: EmulatorServer) -> None:
    emulator = capture_emulator.emulator
    ext = CaptureLink()
    first = make_site(site_config(capture_emulator), ext)
    second = make_site(
        site_config(capture_emulator, CAPTURE_LINK_URL_PREFIX="/accounts/link"), ext
    )
    assert first.extensions["capture_link"] is second.extensions["capture_link"] is ext
    with first.app_context():
        first_client = ext.client
    with second.app_context():
        assert ext.client is not first_client
    for app, prefix in ((first, "/capture-link"), (second, "/accounts/link")):
        with app.test_client() as client:
            sign_in(client, emulator, emulator.demo_email)
            url = find_token_url(client.get("/").get_data(as_text=True))
            assert urlsplit(url).path == f"{prefix}/token"
            deliver_token(client, url, emulator.issue_social_token("google", prefix))
            assert last_flash(client)[0] == "success"
    assert len(emulator.identities(emulator.demo_email)) == 2


def test_client_outside_an_app_is_a_clear_error() -> None:
    ext = CaptureLink()
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="init_app"):
        ext.client  # noqa: B018


def test_access_token_loader_replaces_the_session_lookup(
    capture_emulator: EmulatorServer,
) -> None:
    emulator = capture_emulator.emulator
    ext = CaptureLink()
    store = {"token": emulator.sign_in(emulator.demo_email)["access_token"]}

    @ext.access_token_loader
    def load() -> str | None:
        return store["token"]

    app = make_site(site_config(capture_emulator), ext)
    with app.test_client() as client:
        url = find_token_url(client.get("/").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "loader"))
        assert last_flash(client) == ("success", ENGLISH["success"])
    assert load is ext._access_token_loader


def test_locale_selector_picks_capture_locale_and_language(
    capture_emulator: EmulatorServer,
) -> None:
    emulator = capture_emulator.emulator
    ext = CaptureLink()
    ext.locale_selector(lambda: "es-ES")
    app = make_site(site_config(capture_emulator), ext)
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        page = client.get("/").get_data(as_text=True)
        assert "Vincular tu cuenta de Google" in page
        deliver_token(client, find_token_url(page), emulator.issue_social_token("google", "es"))
        assert last_flash(client) == ("success", SPANISH["success"])

    ext.locale_selector(lambda: "es_ES")  # as a babel Locale prints: sent as es-ES
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "es_ES"))
        assert last_flash(client) == ("success", SPANISH["success"])

    ext.locale_selector(lambda: "fr-FR")  # not a locale of this flow: en-US goes to Capture
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "fr"))
        assert last_flash(client) == ("success", CATALOG["fr"]["success"])

    app.config["CAPTURE_LINK_FLOW_LOCALES"] = ["fr-FR"]  # a site that says so wrongly
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "fr2"))
        assert "problème de notre côté" in last_flash(client)[1]


def test_button_markup(app: Flask, capture_emulator: EmulatorServer) -> None:
    with app.test_request_context("/account"):
        html = render_template_string('{{ capture_link_button("google", next="/account") }}')
        custom = render_template_string('{{ capture_link_button("acme", label="<Acme>") }}')
    assert html.startswith('<a class="capture-link-button capture-link-google" href="')
    assert ">Link your Google account</a>" in html
    href = html.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert href.startswith(capture_emulator.settings()["CAPTURE_LINK_SOCIAL_LOGIN_URL"])
    assert urlsplit(href).path == "/google/start"
    token_url = parse_qs(urlsplit(href).query)["token_url"][0]
    assert token_url.startswith("http://localhost/capture-link/token?state=")
    assert "&lt;Acme&gt;" in custom


def test_button_refuses_odd_provider_names(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="provider"):
        render_template_string('{{ capture_link_button("../evil") }}')


def test_button_without_social_login_url_names_the_key(capture_emulator: Any) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_SOCIAL_LOGIN_URL=None))
    with app.test_request_context("/"), pytest.raises(ConfigError, match="SOCIAL_LOGIN_URL"):
        render_template_string('{{ capture_link_button("google") }}')


def test_token_url_global_for_the_widget(app: Flask) -> None:
    with app.test_request_context("/"):
        url = render_template_string("{{ capture_link_token_url(next='/a') }}")
    assert url.startswith("http://localhost/capture-link/token?state=")


def test_token_url_behind_a_proxy_uses_the_public_scheme_and_host(app: Flask) -> None:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.route("/url")
    def url() -> str:
        return str(app.extensions["capture_link"].token_url())

    with app.test_client() as client:
        response = client.get(
            "/url", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.com"}
        )
    assert response.get_data(as_text=True).startswith(
        "https://www.example.com/capture-link/token?state="
    )


def test_application_factory(capture_emulator: EmulatorServer) -> None:
    ext = CaptureLink()

    def create_app() -> Flask:
        app = Flask(__name__)
        app.config.update(site_config(capture_emulator))
        ext.init_app(app)
        return app

    app = create_app()
    assert "capture_link" in app.blueprints
    assert "capture_link_button" in app.jinja_env.globals


def test_flask_login_user_binds_the_state(capture_emulator: EmulatorServer) -> None:
    from flask_login import LoginManager, UserMixin, login_user, logout_user

    class User(UserMixin):
        def __init__(self, id: str) -> None:
            self.id = id

    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator))
    manager = LoginManager(app)
    manager.login_view = "sign_in_page"
    manager.user_loader(User)

    @app.route("/login/<name>")
    def login(name: str) -> str:
        login_user(User(name))
        return "ok"

    @app.route("/logout")
    def logout() -> str:
        logout_user()
        return "ok"

    with app.test_client() as client:
        client.get("/login/alice")
        sign_in(client, emulator, emulator.demo_email)
        url = find_token_url(client.get("/").get_data(as_text=True))
        client.get("/logout")
        client.get("/login/mallory")
        deliver_token(client, url, emulator.issue_social_token("google", "fl"))
        assert last_flash(client) == ("error", ENGLISH["invalid_state"])

        url = find_token_url(client.get("/").get_data(as_text=True))
        with client.session_transaction() as stored:
            stored.pop(TOKENS_KEY)
        response = deliver_token(client, url, emulator.issue_social_token("google", "fl2"))
        assert response.headers["Location"].startswith("/sign-in")
        assert last_flash(client) == ("error", ENGLISH["missing_access_token"])


def test_store_and_forget_tokens(app: Flask, emulator: CaptureEmulator) -> None:
    ext: CaptureLink = app.extensions["capture_link"]
    with app.test_request_context("/"):
        tokens = ext.client.sign_in(emulator.demo_email, emulator.demo_password)
        ext.store_tokens(tokens)
        assert tokens.access_token not in str(dict(session))  # sealed
        assert ext.access_token() == tokens.access_token
        ext.forget_tokens()
        assert ext.access_token() is None
