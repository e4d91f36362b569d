"""``flask_capture_link.testing``: the helpers a site's own tests use."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, redirect, render_template_string, session
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin, login_fresh, login_required

from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.storage import TOKENS_KEY
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import last_flash, make_site, site_config, stored_tokens


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def login_site(server: EmulatorServer) -> Flask:
    """A site whose account page needs a Flask-Login user."""

    def add_login(app: Flask) -> None:
        manager = LoginManager(app)
        manager.login_view = "sign_in_page"
        manager.user_loader(User)

    app = make_site(site_config(server), before=add_login)

    @app.route("/private")
    @login_required  # type: ignore[untyped-decorator]
    def private() -> str:
        page = '{{ capture_link_button("google") }} fresh={{ fresh }}'
        return render_template_string(page, fresh=login_fresh())

    return app


def test_sign_in_keeps_the_tokens_sealed_as_store_tokens_does(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_SESSION_KEY="at"))
    with app.test_client() as client:
        answer = sign_in(client, emulator, emulator.demo_email)
        kept = stored_tokens(client)
        assert kept is not None
        assert (kept.access_token, kept.refresh_token) == (
            answer["access_token"],
            answer["refresh_token"],
        )
        assert isinstance(kept.expires_at, float)
        with client.session_transaction() as stored:
            assert TOKENS_KEY in stored
            assert "at" not in stored
            assert answer["access_token"] not in str(dict(stored))
        url = find_token_url(client.get("/account"), "google")
        deliver_token(client, url, emulator.issue_social_token("google", "keys"))
        assert last_flash(client) == ("success", ENGLISH["success"])


def test_sign_in_signs_in_the_sites_own_user(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    app = login_site(capture_emulator)
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email, user=User(emulator.demo_email))
        page = client.get("/private")
        assert page.status_code == 200
        assert "fresh=True" in page.get_data(as_text=True)  # session protection sees no change
        deliver_token(
            client, find_token_url(page, "google"), emulator.issue_social_token("google", "u")
        )
        assert last_flash(client) == ("success", ENGLISH["success"])
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email, user="by-id@example.com", fresh=False)
        assert "fresh=False" in client.get("/private").get_data(as_text=True)
        with client.session_transaction() as stored:
            assert stored["_user_id"] == "by-id@example.com"


def test_a_site_without_flask_login_marks_its_own_user_as_the_docs_say(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    app = make_site(site_config(capture_emulator))

    @app.route("/mine")
    def mine() -> Any:
        if "email" not in session:  # the site's own idea of who is signed in
            return redirect("/sign-in")
        return render_template_string('{{ capture_link_button("google") }}')

    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        assert client.get("/mine").status_code == 302  # the site's own user is not there yet
        with client.session_transaction() as stored:  # docs/testing.md, as printed
            stored["email"] = emulator.demo_email
        token_url = find_token_url(client.get("/mine"), "google")
        deliver_token(client, token_url, emulator.issue_social_token("google", "mine"))
        assert last_flash(client) == ("success", ENGLISH["success"])


def test_a_missing_button_says_what_page_came_back(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    app = login_site(capture_emulator)
    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)  # Capture tokens only
        with pytest.raises(AssertionError) as raised:
            find_token_url(client.get("/private"), "google")
    message = str(raised.value)
    assert message.startswith("no capture_link_button for google in the page that came back: 302")
    assert "Location: /sign-in?next=%2Fprivate" in message
    assert "user=" in message
    with pytest.raises(AssertionError, match="in the page given"):
        find_token_url("<p>nothing</p>")


def test_sign_in_with_a_user_needs_flask_login(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    with pytest.raises(ValueError, match="no LoginManager"):
        sign_in(client, emulator, emulator.demo_email, user="someone")


def test_session_key_stores_the_access_token_there_too(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator
) -> None:
    answer = sign_in(client, emulator, emulator.demo_email, session_key="mine")
    kept = stored_tokens(client)
    assert kept is not None
    with client.session_transaction() as stored:
        assert stored["mine"] == kept.access_token == answer["access_token"]


# unlink, a sign-in not by password, hooks per app ---------------------------------------------

ACCOUNTS = """
{% for identity in capture_link_identities() %}
<li>{{ identity.label }} {{ capture_link_unlink_button(identity, next="/accounts") }}</li>
{% endfor %}
"""


def accounts_site(server: EmulatorServer, ext: Any = None) -> Flask:
    from flask_capture_link import CaptureLink

    app = make_site(site_config(server), ext or CaptureLink())
    app.add_url_rule("/accounts", "accounts", lambda: render_template_string(ACCOUNTS))
    return app


def test_unlink_presses_the_button_of_one_identity(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    from flask_capture_link.testing import flashes, unlink

    email = emulator.demo_email
    google = emulator.add_identity(email, "google", "alice")
    emulator.add_identity(email, "facebook", "alice-fb")
    app = accounts_site(capture_emulator)
    with app.test_client() as client:
        sign_in(client, emulator, email)
        response = unlink(client, client.get("/accounts"), google)
        assert response.status_code == 303
        assert flashes(client)[-1][0] == "success"
    assert [identity["identifier"] for identity in emulator.identities(email)] != [google]
    assert len(emulator.identities(email)) == 1


def test_a_sign_in_not_by_password_keeps_the_last_identity(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    from flask_capture_link.testing import unlink

    email = emulator.demo_email
    only = emulator.add_identity(email, "google", "alice")
    app = accounts_site(capture_emulator)
    with app.test_client() as client:
        sign_in(client, emulator, email, by_password=False)
        with pytest.raises(AssertionError, match="that can be pressed"):
            unlink(client, client.get("/accounts"), only)
        sign_in(client, emulator, email)  # by password: the account has another way in
        unlink(client, client.get("/accounts"), only)
    assert emulator.identities(email) == []


def test_hooks_decorated_in_a_test_belong_to_its_app(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    from flask_capture_link import CaptureLink

    shared = CaptureLink()  # a site's module-level extension, two apps of its factory

    @shared.locale_selector  # at import: every app's
    def spanish() -> str:
        return "es-ES"

    first = accounts_site(capture_emulator, shared)
    second = accounts_site(capture_emulator, shared)
    with first.app_context():  # as in a test of the first app (pytest-flask pushes it)
        shared.locale_selector(lambda: "fr-FR")
        shared.unlink_allowed(lambda identity, identities: False)
    with first.test_request_context():
        assert shared.locale() == "fr-FR"
    with second.test_request_context():
        assert shared.locale() == "es-ES"  # the first test's hooks did not reach it
        assert shared._unlink_allowed is None
