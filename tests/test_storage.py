"""Token storage: the session default, and a site's own storage used end to end."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string, session
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin

from flask_capture_link import CaptureLink, NoAccessToken
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.client.models import Tokens
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.state import SESSION_RECORD
from flask_capture_link.storage import TOKENS_KEY, SessionStorage, TokenStorage
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import (
    LINK,
    REFRESH,
    UNLINK,
    last_flash,
    make_site,
    site_config,
    stored_tokens,
    unlink_forms,
)

ACCOUNTS = """
{% for identity in capture_link_identities() %}
<li>{{ identity.domain }} {{ capture_link_unlink_button(identity, next="/accounts") }}</li>
{% endfor %}
"""


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class ServerStorage(TokenStorage):
    """Tokens on the server, keyed by the Flask-Login user: as a site's database would."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str | None, float | None]] = {}
        self.forgotten = 0

    def load(self, user: str) -> Tokens | None:
        row = self.rows.get(user)
        return Tokens(*row) if row else None

    def save(self, user: str, tokens: Tokens) -> None:
        row = (tokens.access_token, tokens.refresh_token, tokens.expires_at)
        self.rows[user] = row

    def forget(self, user: str) -> None:
        self.forgotten += 1
        self.rows.pop(user, None)


@pytest.fixture
def storage() -> ServerStorage:
    return ServerStorage()


@pytest.fixture
def app(capture_emulator: EmulatorServer, storage: ServerStorage) -> Flask:
    return site(capture_emulator, storage)


def site(capture_emulator: EmulatorServer, storage: TokenStorage) -> Flask:
    """A site with Flask-Login users whose tokens ``storage`` keeps."""

    def with_login(app: Flask) -> None:
        manager = LoginManager(app)
        manager.user_loader(User)

    secret = capture_emulator.emulator.client_secret
    app = make_site(
        site_config(
            capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret, CAPTURE_LINK_LOGIN_URL="/sign-in"
        ),
        CaptureLink(token_storage=storage),
        before=with_login,
    )

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)

    @app.route("/sign-out")
    def sign_out() -> str:
        app.extensions["capture_link"].forget_tokens()
        return "signed out"

    return app


def session_keys(client: FlaskClient) -> set[str]:
    with client.session_transaction() as stored:
        return set(stored)


def session_value(client: Any, key: str) -> Any:
    with client.session_transaction() as stored:
        return stored.get(key)


def test_a_sites_storage_links_refreshes_unlinks_and_signs_out(
    client: FlaskClient, emulator: CaptureEmulator, storage: ServerStorage
) -> None:
    email = emulator.demo_email
    answer = sign_in(client, emulator, email, user=User(email))
    assert storage.rows[f"user:{email}"][0] == answer["access_token"]
    assert session_keys(client).isdisjoint({"capture_access_token", TOKENS_KEY})

    url = find_token_url(client.get("/account"), "google")
    deliver_token(client, url, emulator.issue_social_token("google", "ann"))
    assert last_flash(client) == ("success", ENGLISH["success"])
    assert len(emulator.identities(email)) == 1

    emulator.expire_access_tokens()  # Capture says 414: refreshed from the site's storage
    page = client.get("/accounts").get_data(as_text=True)
    assert "google.com" in page
    assert len(emulator.calls_to(REFRESH)) == 1
    assert storage.rows[f"user:{email}"][0] != answer["access_token"]
    assert storage.rows[f"user:{email}"][1] != answer["refresh_token"]

    response = client.post("/capture-link/unlink", data=unlink_forms(page)[0])
    assert response.headers["Location"] == "/accounts"
    assert last_flash(client) == ("success", ENGLISH["unlinked"])
    assert emulator.identities(email) == []
    assert [call.stat for call in emulator.calls_to(UNLINK)] == ["ok"]

    client.get("/sign-out")
    assert storage.rows == {}
    assert "id" not in (session_value(client, SESSION_RECORD) or {})  # no sign-in noted


def test_a_refused_refresh_forgets_the_tokens_once(
    app: Flask, client: FlaskClient, emulator: CaptureEmulator, storage: ServerStorage
) -> None:
    email = emulator.demo_email
    answer = sign_in(client, emulator, email, user=User(email))
    with app.test_request_context("/"):
        app.extensions["capture_link"].client.refresh(
            answer["refresh_token"], emulator.client_secret
        )  # someone else spent it
    url = find_token_url(client.get("/account"), "google")
    emulator.expire_access_tokens()
    response = deliver_token(client, url, emulator.issue_social_token("google", "bob"))
    assert response.headers["Location"] == "/sign-in"
    assert last_flash(client) == ("error", ENGLISH["access_token_expired"])
    assert storage.rows == {}
    assert storage.forgotten == 1  # by the refresh; the outcome finds them gone
    assert emulator.identities(email) == []


def test_no_tokens_in_the_storage_is_no_access_token(
    client: FlaskClient, emulator: CaptureEmulator, storage: ServerStorage
) -> None:
    email = emulator.demo_email
    sign_in(client, emulator, email, user=User(email))
    url = find_token_url(client.get("/account"), "google")
    storage.rows.clear()
    response = deliver_token(client, url, emulator.issue_social_token("google", "cy"))
    assert response.headers["Location"] == "/sign-in"
    assert last_flash(client) == ("error", ENGLISH["missing_access_token"])
    assert emulator.calls_to(LINK) == []


@pytest.fixture
def session_app(capture_emulator: EmulatorServer) -> Flask:
    return make_site(site_config(capture_emulator, CAPTURE_LINK_SESSION_KEY="my_access"))


def test_the_default_keeps_the_tokens_sealed_under_one_session_key(
    session_app: Flask, emulator: CaptureEmulator
) -> None:
    with session_app.test_client() as client:
        answer = sign_in(client, emulator, emulator.demo_email)
        with client.session_transaction() as stored:
            assert set(stored) == {TOKENS_KEY, SESSION_RECORD}  # tokens; sign-in and state key
            sealed = stored[TOKENS_KEY]
        assert answer["access_token"] not in sealed
        assert answer["refresh_token"] not in sealed
        kept = stored_tokens(client)
        assert kept is not None
        assert kept.access_token == answer["access_token"]
        assert kept.refresh_token == answer["refresh_token"]
        assert kept.expires_at == pytest.approx(time.time() + answer["expires_in"], abs=60)


def test_session_storage_replaces_and_forgets(session_app: Flask) -> None:
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        assert storage.load() is None
        storage.save("", Tokens("first", refresh_token="refresh", expires_at=123.0))
        assert storage.load() == Tokens("first", refresh_token="refresh", expires_at=123.0)
        storage.save("", Tokens("second"))  # nothing of the first survives
        assert storage.load() == Tokens("second")
        assert set(session) == {TOKENS_KEY}
        storage.forget()
        assert storage.load() is None
        assert dict(session) == {}
        storage.forget()  # nothing kept is no error


def test_a_request_opens_its_tokens_once_and_again_when_they_change(
    session_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask_capture_link import storage as storage_module

    opened: list[str] = []
    unseal = storage_module.unseal

    def counted(value: str, *args: Any, **kwargs: Any) -> tuple[bytes, int]:
        opened.append(value)
        return unseal(value, *args, **kwargs)

    monkeypatch.setattr(storage_module, "unseal", counted)
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        storage.save("", Tokens("first"))
        assert [storage.load(), storage.load()] == [Tokens("first")] * 2
        assert len(opened) == 1  # the binding, the lock and the call share one opening
        storage.save("", Tokens("second"))
        assert storage.load() == Tokens("second")
        storage.forget()
        assert storage.load() is None
        assert len(opened) == 2
    with session_app.test_request_context("/"):
        storage.save("", Tokens("first"))
        assert storage.load() == Tokens("first")
        assert len(opened) == 3  # another request opens its own


def test_each_save_seals_anew(session_app: Flask) -> None:
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        storage.save("", Tokens("same"))
        first = session[TOKENS_KEY]
        storage.save("", Tokens("same"))
        assert session[TOKENS_KEY] != first  # a fresh nonce
        assert storage.load() == Tokens("same")


def test_a_site_that_sets_the_session_key_itself_still_works(session_app: Flask) -> None:
    ext = session_app.extensions["capture_link"]
    assert isinstance(ext.token_storage, SessionStorage)
    with session_app.test_request_context("/"):
        session["my_access"] = "set by the site"
        assert ext.access_token() == "set by the site"
        assert ext.token_storage.load() == Tokens("set by the site")  # no refresh
        ext.store_tokens(Tokens("stored", refresh_token="r"))
        assert "my_access" not in session  # replaced by the sealed tokens
        assert ext.access_token() == "stored"
        ext.forget_tokens()
        assert dict(session).keys().isdisjoint({"my_access", TOKENS_KEY})


def test_sealed_tokens_win_over_the_sites_own_key(session_app: Flask) -> None:
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        storage.save("", Tokens("sealed"))
        session["my_access"] = "put there later by the site"
        assert storage.load() == Tokens("sealed")


def test_tokens_sealed_under_an_old_secret_key_open_with_it_as_a_fallback(
    session_app: Flask,
) -> None:
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        storage.save("", Tokens("before the rotation", refresh_token="r", expires_at=5.0))
        sealed = session[TOKENS_KEY]
    session_app.config.update(SECRET_KEY="the new key", SECRET_KEY_FALLBACKS=["test secret key"])
    with session_app.test_request_context("/"):
        session[TOKENS_KEY] = sealed
        assert storage.load() == Tokens("before the rotation", refresh_token="r", expires_at=5.0)
        resealed = session[TOKENS_KEY]
        assert resealed != sealed  # sealed again, with the new key
    session_app.config.update(SECRET_KEY_FALLBACKS=[])
    with session_app.test_request_context("/"):
        session[TOKENS_KEY] = resealed
        assert storage.load() == Tokens("before the rotation", refresh_token="r", expires_at=5.0)
        session[TOKENS_KEY] = sealed
        assert storage.load() is None  # the old key is gone: no tokens


@pytest.mark.parametrize(
    "kept",
    ["", "not sealed", 42, ["a", "list"], "AQ" + "A" * 60],
    ids=["empty", "text", "number", "list", "garbage"],
)
def test_what_does_not_open_is_no_tokens_and_is_dropped(
    session_app: Flask, caplog: pytest.LogCaptureFixture, kept: object
) -> None:
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        session[TOKENS_KEY] = kept
        assert storage.load() is None
        assert TOKENS_KEY not in session
        assert storage.load() is None
    warnings = [r for r in caplog.records if r.name == "flask_capture_link.storage"]
    assert [r.levelno for r in warnings] == [logging.WARNING]  # once
    assert "dropped" in warnings[0].getMessage()


def test_a_tampered_blob_is_no_tokens_and_not_logged(
    session_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SessionStorage()
    with session_app.test_request_context("/"):
        storage.save("", Tokens("secret-access-token-value"))
        sealed = session[TOKENS_KEY]
        flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
        session[TOKENS_KEY] = flipped
        assert storage.load() is None
    text = caplog.text
    assert "secret-access-token-value" not in text
    assert flipped not in text and sealed not in text


def test_without_a_secret_key_nothing_is_saved(session_app: Flask) -> None:
    with session_app.test_request_context("/"):
        session_app.config["SECRET_KEY"] = None
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            SessionStorage().save("", Tokens("never kept"))
        assert TOKENS_KEY not in session


def test_a_loader_wins_for_the_access_token(session_app: Flask) -> None:
    ext = session_app.extensions["capture_link"]
    ext.access_token_loader(lambda: "from the loader")
    with session_app.test_request_context("/"):
        ext.store_tokens(Tokens("stored"))
        assert ext.access_token() == "from the loader"
        assert ext.with_access_token(lambda access_token: access_token) == "from the loader"


def test_with_access_token_raises_no_access_token_without_one(session_app: Flask) -> None:
    ext = session_app.extensions["capture_link"]
    called: list[str] = []
    with session_app.test_request_context("/"), pytest.raises(NoAccessToken):
        ext.with_access_token(called.append)
    assert called == []


def docs_block(heading: str) -> str:
    """The first Python block under ``heading`` in docs/token-storage.md."""
    page = (Path(__file__).parent.parent / "docs" / "token-storage.md").read_text("utf-8")
    body = page.split(f"\n{heading}\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", body, re.S)
    assert code is not None
    return code.group(1)


class FormUser(UserMixin):
    def __init__(self, email: str) -> None:
        self.id = email


def recipe_site(capture_emulator: EmulatorServer, storage: TokenStorage) -> Flask:
    """A site whose sign-in and sign-out are the remember-me recipe of the docs, as a reader
    copies it, with ``storage`` keeping the tokens."""
    from flask import flash, redirect, request, url_for

    capture_link = CaptureLink()

    def with_login(app: Flask) -> None:
        LoginManager(app).user_loader(FormUser)

    secret = capture_emulator.emulator.client_secret
    app = make_site(
        site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret),
        capture_link,
        before=with_login,
    )
    capture_link.token_storage = storage  # outside an app context: every app's

    namespace: dict[str, Any] = {
        "app": app,
        "capture_link": capture_link,
        "User": FormUser,
        "request": request,
        "flash": flash,
        "redirect": redirect,
        "url_for": url_for,
    }
    exec(compile(docs_block("### Remember-me, the recipe"), "recipe", "exec"), namespace)  # noqa: S102

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(ACCOUNTS)

    return app


@pytest.fixture(params=["redis", "table"])
def shown_storage(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStorage:
    """The storages the docs show: the shipped Redis one (the docs' lines), and the table."""
    if request.param == "redis":
        namespace: dict[str, Any] = {}
        code = docs_block("### Redis, shipped").replace(
            "redis://localhost:6379/1", request.getfixturevalue("redis_url")
        )
        exec(compile(code, "redis example", "exec"), namespace)  # noqa: S102
        storage: TokenStorage = namespace["capture_link"].token_storage
        return storage
    from example_app.tokens import TableTokenStorage

    return TableTokenStorage(str(tmp_path / "tokens.sqlite3"))  # type: ignore[no-untyped-call]


def test_the_docs_storage_keeps_a_remembered_users_tokens(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, shown_storage: TokenStorage
) -> None:
    app = recipe_site(capture_emulator, shown_storage)
    email = emulator.demo_email
    emulator.add_identity(email, "google", "https://google.com/dee")
    owner = f"user:{email}"
    with app.test_client() as client:
        form = {"email": email, "password": emulator.demo_password, "remember": "y"}
        assert client.post("/login", data=form).headers["Location"] == "/account"
        answer_tokens = shown_storage.load(owner)
        assert answer_tokens is not None
        assert "google.com" in client.get("/accounts").get_data(as_text=True)
        # The browser drops its session; Flask-Login restores the user from remember-me.
        client.delete_cookie("session")
        assert "google.com" in client.get("/accounts").get_data(as_text=True)
        emulator.expire_access_tokens()  # a refresh saves the new tokens for the same user
        assert "google.com" in client.get("/accounts").get_data(as_text=True)
        refreshed = shown_storage.load(owner)
        assert refreshed is not None and refreshed != answer_tokens
        client.post("/logout")
        assert shown_storage.load(owner) is None


def test_the_docs_sign_in_says_wrong_password_or_unavailable(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, shown_storage: TokenStorage
) -> None:
    app = recipe_site(capture_emulator, shown_storage)
    with app.test_client() as client:
        form = {"email": emulator.demo_email, "password": "not it"}
        client.post("/login", data=form)
        assert last_flash(client) == ("error", "Wrong email or password.")
        emulator.set_fault("*", "html_502")
        form["password"] = emulator.demo_password
        client.post("/login", data=form)
        assert last_flash(client) == (
            "error",
            "Capture is unavailable; please try again in a few minutes.",
        )
    assert shown_storage.load(f"user:{emulator.demo_email}") is None


def test_no_visitor_gets_the_last_users_tokens(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, shown_storage: TokenStorage
) -> None:
    app = recipe_site(capture_emulator, shown_storage)
    with app.test_client() as user:
        form = {"email": emulator.demo_email, "password": emulator.demo_password}
        user.post("/login", data=form)
    with app.test_client() as visitor:
        token_url = find_token_url(visitor.get("/account"), "google")
        deliver_token(visitor, token_url, emulator.issue_social_token("google", "mallory"))
    assert emulator.calls_to("/oauth/link_account_native") == []
    assert emulator.identities(emulator.demo_email) == []


def test_store_tokens_refuses_before_login_user(
    capture_emulator: EmulatorServer, shown_storage: TokenStorage
) -> None:
    app = recipe_site(capture_emulator, shown_storage)
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="login_user"):
        app.extensions["capture_link"].store_tokens(Tokens("for nobody"))
    with app.test_request_context("/"):
        assert app.extensions["capture_link"].token_owner() is None


def test_redis_storage_seals_and_drops_what_does_not_open(
    session_app: Flask, redis_url: str
) -> None:
    import redis

    from flask_capture_link.storage import RedisTokenStorage

    client = redis.Redis.from_url(redis_url)
    storage = RedisTokenStorage(client, keep_for=60)
    tokens = Tokens("redis-access-token", refresh_token="redis-refresh-token", expires_at=9.0)
    with session_app.test_request_context("/"):
        storage.save("user:7", tokens)
        kept = client.get("capture_link:tokens:user:7")
        assert kept is not None and b"redis-access-token" not in kept  # sealed
        assert b"redis-refresh-token" not in kept
        assert 0 < client.ttl("capture_link:tokens:user:7") <= 60
        assert storage.load("user:7") == tokens
        assert storage.load("user:8") is None  # another user's: nothing
        client.set("capture_link:tokens:user:7", b"not sealed")
        assert storage.load("user:7") is None
        assert client.get("capture_link:tokens:user:7") is None  # dropped
        storage.forget("user:7")  # nothing kept is no error
    with pytest.raises(TypeError, match=r"redis\.Redis client"):
        RedisTokenStorage("redis://localhost")
