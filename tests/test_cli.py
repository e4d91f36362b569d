"""``flask capture-link check``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from flask_capture_link import CaptureLink, Tokens
from flask_capture_link.emulator import EmulatorServer
from flask_capture_link.emulator.capture import SOCIAL_SIGN_IN
from flask_capture_link.storage import TokenStorage
from flask_capture_link.store import StateStoreUnavailable

from .helpers import ENTITY, LINK, REFRESH, SIGN_IN, make_site, site_config
from .processes import free_port, redis_server


def test_check_prints_config_masks_secrets_and_pings(capture_emulator: EmulatorServer) -> None:
    secret = capture_emulator.emulator.client_secret
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 0, result.output
    assert "CAPTURE_LINK_DOMAIN = 'http://127.0.0.1:" in result.output
    assert secret not in result.output
    assert "CAPTURE_LINK_CLIENT_SECRET = ****** (set)" in result.output
    assert (
        "token URL: <scheme and host of each request>/capture-link/token?state=... "
        "(SERVER_NAME is not set;" in result.output
    )
    assert "warning: the token URL's host comes from each request's Host header" in result.output
    assert "ping: Capture accepted" in result.output
    assert capture_emulator.emulator.calls_to(LINK)[0].code == 413


def test_check_says_how_long_a_sign_in_lasts_without_a_client_secret(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 0, result.output
    assert "tokens: sign-ins get an access token only (response_type=token)" in result.output
    assert "set CAPTURE_LINK_CLIENT_SECRET" in result.output
    assert capture_emulator.emulator.calls_to(REFRESH) == []  # nothing to check it with


def test_check_ping_proves_the_token_client_s_credentials(
    capture_emulator: EmulatorServer,
) -> None:
    emulator = capture_emulator.emulator
    app = make_site(
        site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=emulator.client_secret)
    )
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 0, result.output
    assert "tokens: sign-ins get an authorization code (response_type=code)" in result.output
    assert f"by API client {emulator.client_id!r}" in result.output
    assert "ping: Capture accepted the token client's credentials" in result.output
    assert len(emulator.calls_to(REFRESH)) == 1


def test_check_ping_names_a_wrong_token_client_secret(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET="not-the-secret"))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1, result.output
    assert "problem: Capture refused the token client's credentials" in result.output
    assert "check CAPTURE_LINK_CLIENT_SECRET (and CAPTURE_LINK_TOKEN_CLIENT_ID)" in result.output
    assert "not-the-secret" not in result.output


def test_check_ping_asks_the_state_store_s_redis_how_it_keeps_states(
    capture_emulator: EmulatorServer, redis_url: str
) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=redis_url))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 0, result.output
    assert "ping: the state store's Redis answers" in result.output
    # The test's redis-server keeps nothing on disk: said, as advice, not as a problem.
    assert "note: Redis keeps spent states only in memory (appendonly no)" in result.output
    assert "set appendonly yes" in result.output


def flood(url: str, prefix: str) -> None:
    """What every anonymous page view does to a Redis shared with Flask-Session: a session
    (here 4 KiB, 31 days); 20,000 of them, more than an 8 MB Redis holds."""
    client = redis.Redis.from_url(url)
    try:
        for number in range(20_000):
            client.set(f"{prefix}{number}", b"x" * 4096, ex=31 * 86400)
    finally:
        client.close()


def redis_session_site(capture_emulator: EmulatorServer, url: str, **config: Any) -> Flask:
    """The site with Flask-Session in the Redis at ``url``: its states are spent there."""

    def sessions_in_redis(app: Flask) -> None:
        from flask_session import Session

        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(url))
        Session(app)

    return make_site(site_config(capture_emulator, **config), before=sessions_in_redis)


def test_check_ping_reports_a_shared_redis_that_evicts_spent_states(
    capture_emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The review: a session flood evicted a spent state, and one read from an access log
    linked the attacker's identity; ``check --ping`` said ok."""
    with redis_server(tmp_path, "--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru") as url:
        app = redis_session_site(capture_emulator, url)
        with app.test_request_context("/"):
            store = app.extensions["capture_link"].state_store()
            assert store.spend("spent-state", 600) is True
        flood(url, "session:")
        assert store.client.exists("capture_link:state:spent-state") == 0  # forgotten
        with app.test_request_context("/"):
            assert store.spend("spent-state", 600) is True  # usable once more

        result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1, result.output
    assert "problem: state store: Redis evicts keys when full (maxmemory-policy allkeys-lru)" in (
        result.output
    )
    assert "give link states a Redis of their own (CAPTURE_LINK_REDIS_URL" in result.output


def test_check_ping_reports_a_shared_redis_that_sessions_can_fill(
    capture_emulator: EmulatorServer, tmp_path: Path
) -> None:
    """With noeviction, a full Redis refuses every write: no state can be spent."""
    with redis_server(tmp_path, "--maxmemory-policy", "noeviction") as url:
        app = redis_session_site(capture_emulator, url)
        sessions = redis.Redis.from_url(url)
        try:
            for number in range(1000):  # 4 MB of sessions, then a limit below that: full
                sessions.set(f"session:{number}", b"x" * 4096, ex=31 * 86400)
            sessions.config_set("maxmemory", "2mb")
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                sessions.set("session:one-more", b"x", ex=31 * 86400)
        finally:
            sessions.close()
        with (
            app.test_request_context("/"),
            pytest.raises(StateStoreUnavailable, match="maxmemory"),
        ):
            app.extensions["capture_link"].state_store().spend("a-state", 600)

        result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1, result.output
    assert "problem: state store: it shares Flask-Session's Redis, which has a memory limit" in (
        result.output
    )


def test_check_ping_accepts_a_redis_of_the_states_own_with_noeviction(
    capture_emulator: EmulatorServer, tmp_path: Path
) -> None:
    sessions_folder, states_folder = tmp_path / "sessions", tmp_path / "states"
    sessions_folder.mkdir()
    states_folder.mkdir()
    with (
        redis_server(sessions_folder, "--maxmemory", "8mb") as sessions,
        redis_server(
            states_folder, "--maxmemory", "8mb", "--maxmemory-policy", "noeviction"
        ) as states,
    ):
        app = redis_session_site(capture_emulator, sessions, CAPTURE_LINK_REDIS_URL=states)
        result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 0, result.output
    assert "state store: Redis (CAPTURE_LINK_REDIS_URL)" in result.output


def test_check_ping_takes_a_refused_ping_as_an_answer(
    capture_emulator: EmulatorServer, client_of: Callable[[], redis.Redis]
) -> None:
    admin = client_of()  # a least-privilege user: SET and CONFIG, no PING
    admin.acl_setuser(
        "no-ping", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-ping"]
    )
    try:
        settings = admin.connection_pool.connection_kwargs
        url = f"redis://no-ping:pw@{settings['host']}:{settings['port']}/0"
        app = make_site(site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=url))
        result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    finally:
        admin.acl_deluser("no-ping")
    assert result.exit_code == 0, result.output
    assert "ping: the state store's Redis answers (NoPermissionError to PING)" in result.output


def test_check_ping_says_when_the_state_store_s_redis_is_down(
    capture_emulator: EmulatorServer,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=url))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1
    assert "problem: state store: Redis cannot be reached (ConnectionError" in result.output
    assert "no link or unlink can go through until it can" in result.output


def test_check_prints_the_token_url_of_the_server_name(capture_emulator: EmulatorServer) -> None:
    config = site_config(capture_emulator, SERVER_NAME="www.example.com")
    app = make_site({**config, "PREFERRED_URL_SCHEME": "https"})
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "token URL: https://www.example.com/capture-link/token?state=...\n" in result.output
    assert "Host header" not in result.output


def test_check_reports_problems_with_status_1(capture_emulator: EmulatorServer) -> None:
    app: Flask = make_site(site_config(capture_emulator))
    app.config["CAPTURE_LINK_FLOW_VERSION"] = "HEAD"
    app.config["CAPTURE_LINK_SOCIAL_LOGIN_URL"] = None
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert result.exit_code == 1
    assert "problem: CAPTURE_LINK_FLOW_VERSION: Capture refuses HEAD" in result.output
    assert "problem: CAPTURE_LINK_SOCIAL_LOGIN_URL" in result.output


def test_ping_names_a_wrong_flow_version(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_FLOW_VERSION="1999"))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1
    assert "could not find a flow named 'standard' with version '1999'" in result.output


def test_check_says_where_states_are_spent(
    capture_emulator: EmulatorServer, redis_url: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    app = make_site(site_config(capture_emulator))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert result.exit_code == 1
    assert "state store: this process's memory" in result.output
    assert (
        "problem: CAPTURE_LINK_REDIS_URL: more than one worker process is likely "
        "(WEB_CONCURRENCY=3)"
    ) in result.output

    url = redis_url.replace("redis://", "redis://:hunter2@")
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=url))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert result.exit_code == 0, result.output
    assert "state store: Redis (CAPTURE_LINK_REDIS_URL)" in result.output
    assert "hunter2" not in result.output
    assert "CAPTURE_LINK_REDIS_URL = 'redis://:******@127.0.0.1:" in result.output

    url = redis_url + "?password=hunter2&socket_timeout=5"  # redis-py reads this one too
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_REDIS_URL=url))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "hunter2" not in result.output
    assert "/0?password=******&socket_timeout=5'" in result.output


def test_ping_says_in_plain_words_that_the_host_was_not_found(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator))
    app.config["CAPTURE_LINK_DOMAIN"] = "https://capture.invalid"  # after init_app: used too
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1
    assert "problem: could not reach https://capture.invalid:443: name not found" in (
        result.output
    )
    assert "problem: check the host name in CAPTURE_LINK_DOMAIN" in result.output
    assert "Capture answered" not in result.output


def test_ping_says_when_nothing_listens_on_the_port(capture_emulator: EmulatorServer) -> None:
    port = free_port()
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_DOMAIN=f"http://127.0.0.1:{port}"))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1
    assert f"problem: could not reach http://127.0.0.1:{port}: connection refused" in (
        result.output
    )
    assert "check the port in CAPTURE_LINK_DOMAIN" in result.output


def test_check_says_where_freshness_is_not_enforced(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert (
        "freshness: link and unlink need a sign-in stored with store_tokens less than 900 s ago"
        in result.output
    )
    assert (
        "tokens the site puts in session['capture_access_token'] itself carry no sign-in time "
        "and are not checked" in result.output
    )
    assert "capture_link.store_tokens(capture_link.client.sign_in(" in result.output

    ext = CaptureLink()
    ext.access_token_loader(lambda: None)
    app = make_site(site_config(capture_emulator), ext)
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: NOT enforced where the access token comes from access_token_loader" in (
        result.output
    )
    assert "sign users in with Flask-Login" in result.output


def test_check_names_the_site_s_own_token_storage(capture_emulator: EmulatorServer) -> None:
    class UserTableStorage(TokenStorage):
        def load(self, user: str) -> Tokens | None:
            return None

        def save(self, user: str, tokens: Tokens) -> None:
            pass

        def forget(self, user: str) -> None:
            pass

    app = make_site(site_config(capture_emulator), CaptureLink(token_storage=UserTableStorage()))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert (
        "tokens that reach the site's UserTableStorage other than by store_tokens carry no "
        "sign-in time" in result.output
    )
    assert "session[" not in result.output


def test_check_names_flask_login_freshness(capture_emulator: EmulatorServer) -> None:
    from flask_login import LoginManager

    app = make_site(site_config(capture_emulator), before=LoginManager)
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: Flask-Login's login_fresh()" in result.output
    assert "login_manager.refresh_view is not set" in result.output
    # store_tokens's sign-in time decides only for a session without a Flask-Login user.
    assert (
        "freshness: without a Flask-Login user, link and unlink need a sign-in stored with "
        "store_tokens" in result.output
    )
    assert "sign users in with Flask-Login" not in result.output


def test_check_says_require_fresh_is_off(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_REQUIRE_FRESH=False))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: NOT enforced (CAPTURE_LINK_REQUIRE_FRESH = False)" in result.output
    assert result.exit_code == 0  # a choice, not a fault


def test_contract_check_passes_against_the_emulator(capture_emulator: EmulatorServer) -> None:
    emulator = capture_emulator.emulator
    secret = emulator.client_secret
    # The shape of a linked identity is checked only when the test account has one.
    identifier = emulator.add_identity(emulator.demo_email, "google", "ann")
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret))
    args = ["capture-link", "check", "--contract", "--email", emulator.demo_email]
    result = app.test_cli_runner().invoke(args=[*args, "--password", emulator.demo_password])

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("contract:")]
    assert [line.split(":")[1].strip() for line in lines] == [
        "sign in with the test account",
        "exchange the test account's code",
        "/entity with our attributes",
        "sign in with a made-up Social Login token",
        "link a made-up Social Login token",
        "unlink an identity the account lacks",
        "refresh the test account",
    ]
    assert all(": ok: answered like" in line for line in lines), result.output
    assert "answered like 'engage_error'" in result.output
    [social] = emulator.calls_to(SOCIAL_SIGN_IN)
    assert (social.stat, social.error) == ("error", "engage_error")
    # Only harmless calls: nothing was linked or unlinked.
    assert [i["identifier"] for i in emulator.identities(emulator.demo_email)] == [identifier]
    for secret_value in (secret, emulator.demo_password):
        assert secret_value not in result.output
    # No token the check was given either (the emulator's are 24 and 32 letters and digits).
    assert not re.search(r"\b[a-z0-9]{24,}\b", "\n".join(lines))
    [sign_in] = emulator.calls_to(SIGN_IN)
    assert sign_in.stat == "ok"
    exchange, refresh = emulator.calls_to(REFRESH)
    assert "code" in exchange.param_names and "refresh_token" in refresh.param_names
    assert all(c.auth_scheme == "Basic" and c.stat == "ok" for c in (exchange, refresh))


def test_contract_check_without_an_account_checks_the_refusals(
    capture_emulator: EmulatorServer,
) -> None:
    secret = capture_emulator.emulator.client_secret
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--contract"])
    assert result.exit_code == 0, result.output
    assert "contract: sign in: ok: skipped" in result.output
    assert "contract: refresh a made-up refresh token: ok: answered like" in result.output
    assert capture_emulator.emulator.calls_to(REFRESH)[0].error == "invalid_request"


def test_contract_check_reports_answers_that_differ(capture_emulator: EmulatorServer) -> None:
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator))
    # A Capture that answered a made-up Social Login token with success would break the contract.
    emulator.answer_next(LINK, {"stat": "ok"})
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--contract"])
    assert result.exit_code == 1
    assert "contract: link a made-up Social Login token: DIFFERS: HTTP 200; stat ok" in (
        result.output
    )
    assert "contract: refresh: ok: skipped (CAPTURE_LINK_CLIENT_SECRET is not set)" in (
        result.output
    )
    assert "problem: Capture's answers differ from its documents" in result.output


def test_contract_check_names_a_wrong_client_secret(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET="not-the-secret"))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--contract"])
    assert result.exit_code == 1
    assert "it names the client credentials" in result.output
    assert "not-the-secret" not in result.output


def test_contract_check_never_prints_a_secret_capture_echoes(
    capture_emulator: EmulatorServer,
) -> None:
    emulator = capture_emulator.emulator
    app = make_site(site_config(capture_emulator))
    token = "echoedaccesstoken0001"
    emulator.answer_next(
        SIGN_IN,
        {"stat": "ok", "access_token": token, "capture_user": {}},
    )
    emulator.answer_next(ENTITY, {"stat": "error", "code": 413, "error": token})
    args = ["capture-link", "check", "--contract", "--email", "a@example.com"]
    result = app.test_cli_runner().invoke(args=[*args, "--password", "pw-in-output"])
    assert result.exit_code == 1
    assert "contract: /entity with our attributes: DIFFERS" in result.output
    assert "[redacted]" in result.output
    assert token not in result.output
    assert "pw-in-output" not in result.output


_ELEMENT = {"domain": "google.com", "identifier": "https://www.google.com/profiles/ann"}


@pytest.mark.parametrize(
    ("endpoint", "answer", "call", "problem"),
    [
        (ENTITY,
         {"stat": "ok", "result": {"profiles": [
             {**_ELEMENT, "displayName": "Ann", "verifiedEmail": None, "profile": None}]}},
         "/entity with our attributes", "unasked field result.profiles[0].displayName"),
        (ENTITY, {"stat": "ok", "result": {"profiles": []}},
         "/entity with our attributes", "the test account has no linked identity"),
        (ENTITY,
         {"stat": "ok", "result": {"profiles": [
             {**_ELEMENT, "verifiedEmail": None, "profile": None,
              "accessCredentials": {"accessToken": "x"}}]}},
         "/entity with our attributes", "documented 'linked identities': unasked field "
         "result.profiles[0].accessCredentials"),
        (REFRESH,
         {"stat": "ok", "access_token": "a" * 24, "refresh_token": "r" * 32, "expires_in": "3600"},
         "exchange the test account's code", "expires_in is a string, not a positive integer"),
        (REFRESH, {"stat": "ok", "access_token": "a" * 24, "expires_in": 3600},
         "exchange the test account's code", "no field refresh_token"),
        (SIGN_IN, {"stat": "ok", "access_token": "a" * 24, "capture_user": {}},
         "sign in with the test account", "no field authorization_code"),
    ],
    ids=["display fields beside profile null", "nothing linked", "accessCredentials",
         "expires_in a string", "no refresh token", "no code"],
)  # fmt: skip
def test_contract_check_reports_each_deviation_of_a_tenant(
    capture_emulator: EmulatorServer,
    endpoint: str,
    answer: dict[str, object],
    call: str,
    problem: str,
) -> None:
    emulator = capture_emulator.emulator
    if "nothing linked" not in problem and "no linked identity" not in problem:
        emulator.add_identity(emulator.demo_email, "google", "ann")
    emulator.answer_next(endpoint, answer)  # the tenant's answer, over real HTTP
    secret = emulator.client_secret
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret))
    args = ["capture-link", "check", "--contract", "--email", emulator.demo_email]
    result = app.test_cli_runner().invoke(args=[*args, "--password", emulator.demo_password])

    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith(f"contract: {call}:")]
    assert ": DIFFERS: " in line and problem in line, line
    assert "problem: Capture's answers differ from its documents" in result.output
    if endpoint == SIGN_IN:
        assert "no authorization_code, so the site would get no refresh token" in result.output
    if "refresh_token" in problem:
        assert "the sign-in gave no refresh token although the site has a client secret" in (
            result.output
        )


def test_check_help_names_nothing_an_installed_site_lacks(
    capture_emulator: EmulatorServer,
) -> None:
    app = make_site(site_config(capture_emulator))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--help"])
    assert result.exit_code == 0
    assert "tests/contract" not in result.output
    assert "docs/conformance.md" in result.output
