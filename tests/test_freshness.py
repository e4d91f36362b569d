"""Link and unlink need a fresh sign-in (freshness.py): Flask-Login's ``login_fresh()`` where a
Flask-Login user is signed in, else a sign-in stored with ``store_tokens`` less than
``CAPTURE_LINK_FRESH_FOR`` seconds ago."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, render_template_string, request
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin, login_user

from flask_capture_link import CaptureLink, Tokens
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url

from .helpers import LINK, REFRESH, last_flash, make_site, site_config, unlink_forms

REAUTHENTICATE = "/capture-link/reauthenticate"
NEEDS_REFRESH = "Confirm your password, please."

ACCOUNT = """
{% for category, message in get_flashed_messages(with_categories=true) %}
<p class="flash {{ category }}">{{ message }}</p>
{% endfor %}
{{ capture_link_button("google", next="/connected") }}
{% for identity in capture_link_identities() %}
{{ capture_link_unlink_button(identity, next="/connected") }}
{% endfor %}
"""

#: A page that issues a token URL whatever the session: what a stale session could get hold of.
RAW_TOKEN_URL = '<a id="raw" href="{{ capture_link_token_url(next="/connected") }}">raw</a>'


def unlink_form(page: str) -> dict[str, str]:
    forms = unlink_forms(page)
    assert forms, page
    return forms[0]


def raw_token_url(client: FlaskClient) -> str:
    page = client.get("/raw").get_data(as_text=True)
    href = re.search(r'id="raw" href="([^"]+)"', page)
    assert href is not None
    return href.group(1).replace("&amp;", "&")


def add_pages(app: Flask, ext: CaptureLink, emulator: CaptureEmulator) -> None:
    """``/connected`` (buttons), ``/raw`` (a bare token URL), and sign-in routes that store
    tokens as a site does: ``/password-sign-in``, ``/refresh``, ``/store-refreshed``."""

    @app.route("/connected")
    def connected() -> str:
        return render_template_string(ACCOUNT)

    @app.route("/raw")
    def raw() -> str:
        return render_template_string(RAW_TOKEN_URL)

    @app.route("/password-sign-in", methods=["POST"])
    def password_sign_in() -> str:
        ext.store_tokens(ext.client.sign_in(emulator.demo_email, emulator.demo_password))
        return "signed in"

    @app.route("/refresh", methods=["POST"])
    def refresh() -> str:
        ext.refresh_tokens()
        return "refreshed"

    @app.route("/store-refreshed", methods=["POST"])
    def store_refreshed() -> str:
        stored = ext.token_storage.load(ext.token_owner() or "")
        assert stored is not None
        refresh_token = stored.refresh_token
        assert refresh_token is not None
        secret = app.config["CAPTURE_LINK_CLIENT_SECRET"]
        ext.store_tokens(ext.client.refresh(refresh_token, secret))
        return "stored"


# Without Flask-Login -----------------------------------------------------------------------


@pytest.fixture
def app(capture_emulator: EmulatorServer) -> Flask:
    """A site without Flask-Login, fresh for one second after a password sign-in."""
    ext = CaptureLink()
    config = site_config(
        capture_emulator,
        CAPTURE_LINK_FRESH_FOR=1,
        CAPTURE_LINK_LOGIN_URL="/sign-in",
        CAPTURE_LINK_CLIENT_SECRET=capture_emulator.emulator.client_secret,
    )
    app = make_site(config, ext)
    add_pages(app, ext, capture_emulator.emulator)
    return app


def go_stale() -> None:
    time.sleep(1.1)  # CAPTURE_LINK_FRESH_FOR is one second


def test_fresh_after_a_password_sign_in(client: FlaskClient, emulator: CaptureEmulator) -> None:
    client.post("/password-sign-in")
    url = find_token_url(client.get("/connected").get_data(as_text=True))
    deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_stale_after_fresh_for(client: FlaskClient, emulator: CaptureEmulator) -> None:
    client.post("/password-sign-in")
    url = raw_token_url(client)  # issued while fresh
    go_stale()

    page = client.get("/connected").get_data(as_text=True)
    with pytest.raises(AssertionError):
        find_token_url(page)  # the button no longer carries a token URL...
    assert f'href="{REAUTHENTICATE}?next=/connected"' in page  # ...it leads to re-authenticate

    response = deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?next=%2Fconnected"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert emulator.calls_to(LINK) == []
    assert emulator.identities(emulator.demo_email) == []


def test_the_refused_state_is_spent(client: FlaskClient, emulator: CaptureEmulator) -> None:
    client.post("/password-sign-in")
    url = raw_token_url(client)
    go_stale()
    deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    client.post("/password-sign-in")  # fresh again: the old state still cannot be used
    deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("error", ENGLISH["invalid_state"])
    assert emulator.calls_to(LINK) == []


def test_a_refresh_does_not_make_a_session_fresh(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    client.post("/password-sign-in")
    go_stale()
    assert client.post("/refresh").status_code == 200
    grants = [c.param_names for c in emulator.calls_to(REFRESH)]  # the code exchange, then it
    assert len(grants) == 2 and "refresh_token" in grants[1]
    response = deliver_token(
        client, raw_token_url(client), emulator.issue_social_token("google", "ann")
    )
    assert response.headers["Location"] == "/sign-in?next=%2Fconnected"
    assert emulator.calls_to(LINK) == []


def test_tokens_of_a_refresh_stored_anew_are_not_fresh(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    client.post("/password-sign-in")
    client.post("/store-refreshed")  # straight away: only a sign-in makes a session fresh
    deliver_token(client, raw_token_url(client), emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert emulator.calls_to(LINK) == []


def test_a_new_sign_in_makes_it_fresh_again(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    client.post("/password-sign-in")
    go_stale()
    client.post("/password-sign-in")
    deliver_token(client, raw_token_url(client), emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])


def test_stale_unlink_is_refused_before_capture(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    client.post("/password-sign-in")
    emulator.add_identity(emulator.demo_email, "google", "ann")
    emulator.add_identity(emulator.demo_email, "facebook", "ann")
    form = unlink_form(client.get("/connected").get_data(as_text=True))
    go_stale()
    calls = len(emulator.calls)
    response = client.post("/capture-link/unlink", data=form)
    assert response.headers["Location"] == "/sign-in?next=%2Fconnected"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert len(emulator.calls) == calls  # not even the list of identities was asked for
    assert len(emulator.identities(emulator.demo_email)) == 2


def test_stale_unlink_button_leads_to_re_authentication(
    client: FlaskClient, emulator: CaptureEmulator
) -> None:
    client.post("/password-sign-in")
    emulator.add_identity(emulator.demo_email, "google", "ann")
    emulator.add_identity(emulator.demo_email, "facebook", "ann")
    go_stale()
    page = client.get("/connected").get_data(as_text=True)
    assert '<form class="capture-link-unlink" method="post"' not in page
    assert f'method="get" action="{REAUTHENTICATE}"' in page

    response = client.get(REAUTHENTICATE, query_string={"next": "/connected"})
    assert response.headers["Location"] == "/sign-in?next=%2Fconnected"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])


def test_reauthenticate_sends_a_fresh_session_straight_back(client: FlaskClient) -> None:
    client.post("/password-sign-in")
    response = client.get(REAUTHENTICATE, query_string={"next": "/connected"})
    assert response.headers["Location"] == "/connected"
    off_site = client.get(REAUTHENTICATE, query_string={"next": "https://evil.example/"})
    assert off_site.headers["Location"] == "/"


def test_tokens_handed_over_by_the_site_cannot_be_told(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    """A site that puts the access token in the session itself: the change is allowed."""
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_FRESH_FOR=1))
    add_pages(app, app.extensions["capture_link"], emulator)
    with app.test_client() as client:
        with client.session_transaction() as session:
            session["capture_access_token"] = emulator.sign_in(emulator.demo_email)["access_token"]
        go_stale()
        url = find_token_url(client.get("/connected").get_data(as_text=True))
        deliver_token(client, url, emulator.issue_social_token("google", "ann"))
        assert last_flash(client) == ("success", ENGLISH["success"])


def test_require_fresh_off(capture_emulator: EmulatorServer, emulator: CaptureEmulator) -> None:
    config = site_config(
        capture_emulator, CAPTURE_LINK_FRESH_FOR=1, CAPTURE_LINK_REQUIRE_FRESH=False
    )
    ext = CaptureLink()
    app = make_site(config, ext)
    add_pages(app, ext, emulator)
    with app.test_client() as client:
        client.post("/password-sign-in")
        url = raw_token_url(client)
        go_stale()
        deliver_token(client, url, emulator.issue_social_token("google", "ann"))
        assert last_flash(client) == ("success", ENGLISH["success"])


def test_without_a_login_url_the_user_goes_home(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    ext = CaptureLink()
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_FRESH_FOR=1), ext)
    add_pages(app, ext, emulator)
    with app.test_client() as client:
        client.post("/password-sign-in")
        url = raw_token_url(client)
        go_stale()
        response = deliver_token(client, url, emulator.issue_social_token("google", "ann"))
        assert response.headers["Location"] == "/"
        assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])


# With Flask-Login and remember-me ----------------------------------------------------------


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def flask_login_site(capture_emulator: EmulatorServer, **manager_settings: Any) -> Flask:
    """A Flask-Login site with remember-me; the access token comes from the site's own store
    (``access_token_loader``), so the remember cookie alone brings back a working session."""
    emulator = capture_emulator.emulator
    tokens: dict[str, str] = {}
    ext = CaptureLink()

    @ext.access_token_loader
    def load_access_token() -> str | None:
        from flask_login import current_user

        return tokens.get(current_user.get_id()) if current_user.is_authenticated else None

    def set_up(app: Flask) -> None:
        manager = LoginManager(app)
        manager.user_loader(User)
        manager.login_view = "login"
        manager.needs_refresh_message = NEEDS_REFRESH
        for name, value in manager_settings.items():
            setattr(manager, name, value)

    app = make_site(site_config(capture_emulator), ext, before=set_up)
    add_pages(app, ext, emulator)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        from flask import redirect

        if request.method == "GET":
            return "login page"
        email = emulator.demo_email
        signed_in = ext.client.sign_in(email, emulator.demo_password)
        tokens[email] = signed_in.access_token
        login_user(User(email), remember=True)
        return redirect(request.args.get("next") or "/connected", 303)

    return app


def restored_from_remember_cookie(client: FlaskClient) -> None:
    """The browser dropped its session cookie and kept the remember cookie."""
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")
    assert client.get_cookie("session") is None


@pytest.fixture
def login_site(capture_emulator: EmulatorServer) -> Flask:
    return flask_login_site(capture_emulator, refresh_view="login")


def test_remember_me_session_cannot_link_then_links_after_re_authenticating(
    login_site: Flask, emulator: CaptureEmulator
) -> None:
    client = login_site.test_client()
    client.post("/login")
    restored_from_remember_cookie(client)

    # A restored session gets a page whose link button leads to re-authentication...
    page = client.get("/connected").get_data(as_text=True)
    assert f'href="{REAUTHENTICATE}?next=/connected"' in page
    # ...and a token URL it got hold of is refused before any call to Capture.
    calls = len(emulator.calls)
    response = deliver_token(
        client, raw_token_url(client), emulator.issue_social_token("google", "ann")
    )
    assert response.headers["Location"] == "/login?next=%2Fconnected"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert [call.endpoint for call in emulator.calls[calls:]] == []
    assert emulator.identities(emulator.demo_email) == []

    # The button: Flask-Login's needs_refresh, with next back here through the extension.
    response = client.get(f"{REAUTHENTICATE}?next=/connected")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    back = parse_qs(location.query)["next"][0]
    assert urlsplit(back).path == REAUTHENTICATE
    assert parse_qs(urlsplit(back).query)["next"] == ["/connected"]
    assert last_flash(client) == ("message", NEEDS_REFRESH)

    # Re-authenticating lands back on the page, whose button now links in one more click.
    response = client.post("/login", query_string={"next": back}, follow_redirects=True)
    assert response.request.path == "/connected"
    url = find_token_url(response.get_data(as_text=True))
    deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_remember_me_session_cannot_unlink(login_site: Flask, emulator: CaptureEmulator) -> None:
    emulator.add_identity(emulator.demo_email, "google", "ann")
    emulator.add_identity(emulator.demo_email, "facebook", "ann")
    client = login_site.test_client()
    client.post("/login")
    restored_from_remember_cookie(client)
    page = client.get("/connected").get_data(as_text=True)
    assert '<form class="capture-link-unlink" method="post"' not in page
    assert f'method="get" action="{REAUTHENTICATE}"' in page
    assert len(emulator.identities(emulator.demo_email)) == 2


def test_state_issued_fresh_is_refused_once_the_session_went_stale(
    login_site: Flask, emulator: CaptureEmulator
) -> None:
    """Flask-Login's session protection marks a session stale when the browser changes: the
    states issued before are refused, for link and for unlink, before any call to Capture."""
    emulator.add_identity(emulator.demo_email, "google", "ann")
    emulator.add_identity(emulator.demo_email, "facebook", "ann")
    client = login_site.test_client()
    client.post("/login")
    page = client.get("/connected").get_data(as_text=True)
    url, form = find_token_url(page), unlink_form(page)

    client.environ_base["HTTP_USER_AGENT"] = "another browser"
    calls = len(emulator.calls)
    deliver_token(client, url, emulator.issue_social_token("google", "bob"))
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    response = client.post("/capture-link/unlink", data=form)
    assert response.headers["Location"] == "/login?next=%2Fconnected"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert emulator.calls[calls:] == []
    assert len(emulator.identities(emulator.demo_email)) == 2


def test_without_refresh_view_the_login_view_is_used(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    app = flask_login_site(capture_emulator)
    client = app.test_client()
    client.post("/login")
    restored_from_remember_cookie(client)
    response = client.get(f"{REAUTHENTICATE}?next=/connected")
    assert response.headers["Location"] == "/login?next=%2Fconnected"
    assert last_flash(client) == ("message", NEEDS_REFRESH)


def test_a_needs_refresh_handler_decides(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    def handler() -> Any:
        from flask import redirect

        return redirect("/confirm-it", 303)

    app = flask_login_site(capture_emulator, needs_refresh_callback=handler)
    client = app.test_client()
    client.post("/login")
    restored_from_remember_cookie(client)
    assert client.get(f"{REAUTHENTICATE}?next=/connected").headers["Location"] == "/confirm-it"


def test_tokens_expose_how_they_were_obtained(emulator: CaptureEmulator, app: Flask) -> None:
    with app.app_context():
        client = app.extensions["capture_link"].client
        signed_in = client.sign_in(emulator.demo_email, emulator.demo_password)
        refreshed = client.refresh(str(signed_in.refresh_token), emulator.client_secret)
    assert (signed_in.obtained_by, refreshed.obtained_by) == ("password", "refresh")
    assert Tokens("t").obtained_by is None


def test_a_flask_login_sign_in_stops_being_fresh_after_fresh_for(
    login_site: Flask, emulator: CaptureEmulator
) -> None:
    """The review linked with a copied session 20 s after sign-in with ``FRESH_FOR=5``:
    Flask-Login's ``_fresh`` never ends by itself."""
    login_site.config["CAPTURE_LINK_FRESH_FOR"] = 1
    client = login_site.test_client()
    client.post("/login")
    url = raw_token_url(client)  # issued while fresh
    go_stale()

    assert 'href="/capture-link/reauthenticate' in client.get("/connected").get_data(as_text=True)
    response = deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert response.headers["Location"] == "/login?next=%2Fconnected"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert emulator.calls_to(LINK) == []

    client.post("/login")  # the password again: fresh for another FRESH_FOR
    deliver_token(client, raw_token_url(client), emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])


def test_a_flask_login_session_fresh_with_no_moment_noted_is_stale(
    login_site: Flask, emulator: CaptureEmulator
) -> None:
    """``_fresh`` without the moment of a fresh ``login_user`` (a session of an older version,
    or one a site marked fresh itself): not fresh."""
    client = login_site.test_client()
    client.post("/login")
    with client.session_transaction() as session:
        assert session["_fresh"] is True
        record = dict(session["_capture_link"])
        record.pop("fl")
        session["_capture_link"] = record
    deliver_token(client, raw_token_url(client), emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
    assert emulator.calls_to(LINK) == []


@pytest.mark.parametrize("refresh_view", [None, "login"])
def test_flask_login_s_default_message_gives_way_to_one_that_says_why(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, refresh_view: str | None
) -> None:
    from flask_login.config import REFRESH_MESSAGE

    app = flask_login_site(
        capture_emulator, needs_refresh_message=REFRESH_MESSAGE, refresh_view=refresh_view
    )
    client = app.test_client()
    client.post("/login")
    restored_from_remember_cookie(client)
    response = client.get(f"{REAUTHENTICATE}?next=/connected")
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert last_flash(client) == ("info", ENGLISH["needs_fresh_sign_in"])
