"""CaptureClient against the emulator over loopback: each outcome of each call."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests

from flask_capture_link.client import CaptureClient, errors
from flask_capture_link.client.models import PASSWORD, LinkedIdentity, Tokens
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

from ..helpers import ENTITY, LINK, REFRESH, SIGN_IN, UNLINK, race
from ..processes import free_port


def test_link_posts_seven_form_fields_and_nothing_in_the_query(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    capture.link_account(emulator.issue_social_token("google", "alice"), access_token)
    [call] = emulator.calls_to(LINK)
    assert call.method == "POST"
    assert len(call.param_names) == 7
    assert call.query_param_names == ()
    assert emulator.identities(emulator.demo_email)[0]["domain"] == "google.com"


def test_calls_to_one_url_each_send_their_own_body(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    # The POST to a URL is prepared once; each call adds its own body and its length.
    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    for provider, name in [("google", "a"), ("facebook", "someone else"), ("twitter", "bo")]:
        capture.link_account(emulator.issue_social_token(provider, name), access_token)
    identifiers = [found.identifier for found in capture.linked_identities(access_token)]
    assert len({len(identifier) for identifier in identifiers}) == 3  # three body lengths
    for identifier in identifiers:
        capture.unlink_account(access_token, identifier)
    assert capture.linked_identities(access_token) == []
    assert [call.stat for call in emulator.calls_to(UNLINK)] == ["ok"] * 3


def test_concurrent_calls_each_send_their_own_body(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    # One client serves every thread of a process: no call may send another call's body.
    users = [f"user{n}@example.com" for n in range(6)]
    access_tokens = []
    for email in users:
        emulator.add_user(email, "a password")
        access_tokens.append(str(emulator.sign_in(email)["access_token"]))
    calls = 24
    tokens = [emulator.issue_social_token("google", f"{n}-{'x' * n}") for n in range(calls)]

    def link(n: int) -> None:
        capture.link_account(tokens[n], access_tokens[n % len(users)])

    assert race(calls, link) == [None] * calls
    for u, email in enumerate(users):
        linked = sorted(str(found["identifier"]) for found in emulator.identities(email))
        expected = sorted(
            f"https://www.google.com/profiles/{n}-{'x' * n}" for n in range(u, calls, len(users))
        )
        assert linked == expected


def test_client_default_flow_omits_flow_and_version(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    emulator.set_client_default_flow(True)
    with CaptureClient(
        capture_emulator.url, emulator.client_id, flow_version=None, redirect_uri="http://x/"
    ) as client:
        access_token = emulator.sign_in(emulator.demo_email)["access_token"]
        client.link_account(emulator.issue_social_token("google", "a"), access_token)
    [call] = emulator.calls_to(LINK)
    assert "flow" not in call.param_names and "flow_version" not in call.param_names


@pytest.mark.parametrize(
    ("prepare", "cls", "code", "error", "description"),
    [
        ("used_token", errors.SocialTokenInvalid, 400, "engage_error",
         "Unexpected HTTP status code from server: 400"),
        ("bad_access", errors.AccessTokenInvalid, 413, "invalid_access_token",
         "invalid access token"),
        ("expired_access", errors.AccessTokenExpired, 414, "access_token_expired", None),
        ("taken", errors.AccountAlreadyLinked, 361, "unique_violation",
         "that account already exists"),
        ("head", errors.UnexpectedError, 500, "unexpected_error", None),
        ("unprivileged", errors.ClientPermissionError, 403, "permission_error",
         "This client does not support log in and registration."),
    ],
)  # fmt: skip
def test_each_error_of_the_specification(
    capture_emulator: EmulatorServer,
    emulator: CaptureEmulator,
    prepare: str,
    cls: type[errors.CaptureError],
    code: int,
    error: str,
    description: str | None,
) -> None:
    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    token = emulator.issue_social_token("google", "bob")
    client_id, version = emulator.client_id, emulator.flow_version
    if prepare == "used_token":
        CaptureClient(
            capture_emulator.url, client_id, flow_version=version, redirect_uri="http://x/"
        ).link_account(token, access_token)
        emulator.add_user("x@example.com", "pw")
        access_token = emulator.sign_in("x@example.com")["access_token"]
    elif prepare == "bad_access":
        access_token = "nope"
    elif prepare == "expired_access":
        emulator.advance_clock(3601)
    elif prepare == "taken":
        emulator.add_user("x@example.com", "pw")
        emulator.add_identity("x@example.com", "google", "bob")
    elif prepare == "head":
        version = "20000101000000000000"
    elif prepare == "unprivileged":
        client_id = emulator.unprivileged_client_id
    with (
        CaptureClient(
            capture_emulator.url, client_id, flow_version=version, redirect_uri="http://x/"
        ) as client,
        pytest.raises(cls) as raised,
    ):
        client.link_account(token, access_token)
    assert type(raised.value) is cls
    assert raised.value.code == code
    assert raised.value.error == error
    if description:
        assert raised.value.description == description
    assert raised.value.request_id and len(raised.value.request_id) == 16
    if prepare == "taken":
        assert raised.value.fields["message"] == "That account is already in use."


def test_missing_argument_names_it(capture_emulator: EmulatorServer, emulator: Any) -> None:
    with (
        CaptureClient(
            capture_emulator.url, emulator.client_id, flow_version=None, redirect_uri="http://x/"
        ) as client,
        pytest.raises(errors.MissingArgument) as raised,
    ):
        client.link_account("a" * 40, "b")
    assert raised.value.code == 100
    assert raised.value.description.startswith("missing arguments: flow")


def test_head_is_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="HEAD"):
        CaptureClient("https://x", "c", flow_version="HEAD", redirect_uri="https://x/")
    with pytest.raises(ValueError, match="redirect_uri"):
        CaptureClient("https://x", "c", flow_version="1", redirect_uri="ftp://x/")


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("html_502", "HTTP 502"),
        ("invalid_json", "not JSON"),
        ("json_list", "not an object"),
        ("missing_stat", "no stat"),
        ("drop", "dropped"),
        ("unavailable", "api_limit_error"),
    ],
)
def test_faults_raise_capture_unavailable(
    capture: CaptureClient, emulator: CaptureEmulator, kind: str, says: str
) -> None:
    emulator.set_fault(LINK, kind)
    with pytest.raises(errors.CaptureUnavailable) as raised:
        capture.link_account("a" * 40, "access")
    assert says in str(raised.value)
    assert len(emulator.calls_to(LINK)) == 1  # a call that may have reached Capture: no retry


def test_unknown_code_keeps_the_raw_body(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    emulator.set_fault(LINK, "unknown_code")
    with pytest.raises(errors.CaptureError) as raised:
        capture.link_account("a" * 40, "access")
    assert type(raised.value) is errors.CaptureError
    assert raised.value.code == 999
    assert raised.value.request_id


def test_timeout_raises_within_the_read_timeout(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    emulator.set_fault(LINK, "hang", seconds=60)
    with CaptureClient(
        capture_emulator.url,
        emulator.client_id,
        flow_version=emulator.flow_version,
        redirect_uri="http://x/",
        timeout=(1.0, 0.3),
    ) as client:
        started = time.monotonic()
        with pytest.raises(errors.CaptureAnswerLost, match="in time"):
            client.link_account("a" * 40, "access")
        # Under test: the read timeout ends it, not the 60 s hang; loosely, for a slow machine.
        assert time.monotonic() - started < 30
    emulator.clear_faults()
    assert len(emulator.calls_to(LINK)) == 1


def test_latency_under_the_timeout_succeeds(capture: CaptureClient, emulator: Any) -> None:
    emulator.set_fault(LINK, "latency", seconds=0.3)
    access_token = emulator.sign_in(emulator.demo_email)["access_token"]
    capture.link_account(emulator.issue_social_token("google", "slow"), access_token)
    assert emulator.identities(emulator.demo_email)


def test_pooled_connection_is_reused(capture_emulator: EmulatorServer, emulator: Any) -> None:
    before = capture_emulator.connections_accepted
    with CaptureClient(
        capture_emulator.url, emulator.client_id, flow_version=emulator.flow_version,
        redirect_uri="http://x/",
    ) as client:  # fmt: skip
        for _ in range(5):
            with pytest.raises(errors.AccessTokenInvalid):
                client.link_account("a" * 40, "bad")
    assert capture_emulator.connections_accepted - before == 1


def test_no_cookie_is_kept_between_calls(capture: CaptureClient) -> None:
    """A Set-Cookie in one user's answer must not travel with the next user's call."""
    import email
    from types import SimpleNamespace

    from requests.cookies import extract_cookies_to_jar

    message = email.message_from_string("Set-Cookie: sessionid=abc; Path=/\n\n")
    answer = SimpleNamespace(_original_response=SimpleNamespace(msg=message))
    request = requests.Request("POST", capture.domain + ENTITY).prepare()
    extract_cookies_to_jar(capture.session.cookies, request, answer)
    assert len(capture.session.cookies) == 0
    plain = requests.Session()
    extract_cookies_to_jar(plain.cookies, request, answer)
    assert len(plain.cookies) == 1  # what a plain session would have kept
    plain.close()


def test_sign_in_without_a_secret_gives_an_access_token_only(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    tokens = capture.sign_in(emulator.demo_email, emulator.demo_password)
    assert tokens.access_token and tokens.refresh_token is None and tokens.expires_at is None
    [call] = emulator.calls_to(SIGN_IN)
    assert call.stat == "ok"
    assert emulator.calls_to(REFRESH) == []
    with pytest.raises(ValueError, match="client_secret"):
        capture.exchange_code("36fczgm2uvks88")
    with pytest.raises(ValueError, match="client_secret"):
        capture.refresh("r" * 32)


def secret_client(
    server: EmulatorServer, *, token_client_id: str | None = None, secret: str | None = None
) -> CaptureClient:
    emulator = server.emulator
    return CaptureClient(
        server.url,
        emulator.client_id,
        flow_version=emulator.flow_version,
        redirect_uri="http://localhost/",
        client_secret=secret or emulator.client_secret,
        token_client_id=token_client_id,
    )


def test_sign_in_with_a_secret_exchanges_a_code_for_a_refresh_token(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with secret_client(capture_emulator) as client:
        started = time.time()
        tokens = client.sign_in(emulator.demo_email, emulator.demo_password)
        assert tokens.refresh_token and tokens.obtained_by == PASSWORD
        assert tokens.expires_at is not None and tokens.expires_at >= started + 3600
        assert client.linked_identities(tokens.access_token) == []
        fresh = client.refresh(tokens.refresh_token)  # the client's own secret
    [sign_in] = emulator.calls_to(SIGN_IN)
    exchange, refresh = emulator.calls_to(REFRESH)
    assert sign_in.stat == exchange.stat == refresh.stat == "ok"
    assert exchange.auth_scheme == refresh.auth_scheme == "Basic"
    assert exchange.param_names == ("code", "grant_type", "redirect_uri")  # no secret in it
    assert fresh.refresh_token != tokens.refresh_token
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert emulator.client_secret not in logged and emulator.demo_password not in logged


def test_a_separate_token_client_exchanges_the_code(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    with secret_client(
        capture_emulator,
        token_client_id=emulator.owner_client_id,
        secret=emulator.owner_client_secret,
    ) as client:
        tokens = client.sign_in(emulator.demo_email, emulator.demo_password)
        assert tokens.refresh_token
        assert client.refresh(tokens.refresh_token).refresh_token


def test_a_code_is_exchanged_once(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    with secret_client(capture_emulator) as client:
        emulator.answer_next(SIGN_IN, {"stat": "ok", "authorization_code": "36fczgm2uvks88"})
        with pytest.raises(errors.AuthorizationCodeInvalid) as raised:
            client.sign_in(emulator.demo_email, emulator.demo_password)  # a made-up code
    assert "36fczgm2uvks88" not in str(raised.value) + repr(raised.value)
    assert raised.value.http_status == 400


@pytest.mark.parametrize(
    ("token_client_id", "secret"), [("nosuchclient", None), (None, "not-the-secret")]
)
def test_wrong_token_client_credentials_are_refused_as_such(
    capture_emulator: EmulatorServer,
    emulator: CaptureEmulator,
    token_client_id: str | None,
    secret: str | None,
) -> None:
    with secret_client(
        capture_emulator, token_client_id=token_client_id, secret=secret
    ) as client, pytest.raises(errors.ClientCredentialsRefused) as raised:  # fmt: skip
        client.sign_in(emulator.demo_email, emulator.demo_password)
    assert raised.value.code == 402
    assert "not-the-secret" not in str(raised.value)


@pytest.mark.parametrize("expires_in", ["3600", 0, -5, True, None, "soon"])
def test_an_expires_in_that_is_not_a_positive_number_leaves_the_expiry_unknown(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator, expires_in: object
) -> None:
    body = {"stat": "ok", "access_token": "a" * 24, "refresh_token": "r" * 32}
    emulator.answer_next(REFRESH, {**body, "expires_in": expires_in})
    with secret_client(capture_emulator) as client:
        tokens = client.refresh("x" * 32)
    assert tokens.refresh_token == "r" * 32 and tokens.expires_at is None


def test_an_expiry_reported_as_invalid_argument_is_an_expiry(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    body = {"stat": "error", "code": 200, "error": "invalid_argument"}
    emulator.answer_next(ENTITY, {**body, "argument_name": "access_token"})
    with pytest.raises(errors.AccessTokenExpired):
        capture.linked_identities("access-token")
    emulator.answer_next(LINK, {"stat": "error", "code": 413, "error": "invalid_access_token"})
    with pytest.raises(errors.AccessTokenInvalid) as raised:
        capture.link_account("t" * 40, "access-token")
    assert type(raised.value) is errors.AccessTokenInvalid  # not an expiry: not refreshed


def test_sign_in_unlink_and_list(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    capture = secret_client(capture_emulator)
    tokens = capture.sign_in(emulator.demo_email, emulator.demo_password)
    assert isinstance(tokens, Tokens)
    assert tokens.refresh_token and tokens.expires_at and tokens.expires_at > time.time()
    assert tokens.access_token not in repr(tokens)
    capture.link_account(emulator.issue_social_token("google", "liz"), tokens.access_token)
    [identity] = capture.linked_identities(tokens.access_token)
    assert isinstance(identity, LinkedIdentity)
    assert identity.domain == "google.com"
    capture.unlink_account(tokens.access_token, identity.identifier)
    assert capture.linked_identities(tokens.access_token) == []
    with pytest.raises(errors.InvalidArgument):
        capture.unlink_account(tokens.access_token, identity.identifier)
    capture.close()


def test_wrong_password(capture: CaptureClient, emulator: CaptureEmulator) -> None:
    with pytest.raises(errors.InvalidCredentials) as raised:
        capture.sign_in(emulator.demo_email, "wrong")
    assert "wrong" not in str(raised.value) + repr(raised.value)


def test_refresh_tokens_are_single_use(capture: CaptureClient, emulator: CaptureEmulator) -> None:
    tokens = Tokens.from_answer(emulator.sign_in(emulator.demo_email))
    assert tokens.refresh_token
    fresh = capture.refresh(tokens.refresh_token, emulator.client_secret)
    assert fresh.refresh_token and fresh.refresh_token != tokens.refresh_token
    with pytest.raises(errors.RefreshTokenInvalid) as raised:
        capture.refresh(tokens.refresh_token, emulator.client_secret)
    assert tokens.refresh_token not in str(raised.value)
    assert emulator.client_secret not in str(raised.value)


def test_linked_identities_asks_for_attributes_the_default_schema_has(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    tokens = capture.sign_in(emulator.demo_email, emulator.demo_password)
    token = emulator.issue_social_token("google", "liz", display_name="Liz L", email="l@x.org")
    capture.link_account(token, tokens.access_token)

    [identity] = capture.linked_identities(tokens.access_token)

    assert (identity.display_name, identity.email, identity.name) == ("Liz L", "l@x.org", "Liz L")
    assert (identity.preferred_username, identity.label) == ("liz", "Liz L")
    # One /entity call, answered ok: no attribute was unknown to the schema.
    assert [call.stat for call in emulator.calls_to(ENTITY)] == ["ok"]


def test_linked_identities_never_asks_for_provider_secrets_or_the_whole_plural() -> None:
    from flask_capture_link.client.client import ENTITY_ATTRIBUTES

    assert "profiles" not in ENTITY_ATTRIBUTES
    assert not [name for name in ENTITY_ATTRIBUTES if "accessCredentials" in name]
    assert {"profiles.domain", "profiles.identifier"} <= set(ENTITY_ATTRIBUTES)
    assert "profiles.profile.displayName" in ENTITY_ATTRIBUTES
    assert "profiles.displayName" not in ENTITY_ATTRIBUTES


def test_linked_identity_reads_the_nested_profile_of_the_default_schema() -> None:
    element = {
        "id": 7,
        "domain": "facebook.com",
        "identifier": "http://www.facebook.com/profile.php?id=1",
        "verifiedEmail": None,
        "profile": {
            "displayName": None,
            "preferredUsername": "ann1",
            "name": {"formatted": "Ann Example"},
            "emails": [
                {"primary": False, "type": "other", "value": "old@example.com"},
                {"primary": True, "type": "home", "value": "ann@example.com"},
            ],
        },
    }
    identity = LinkedIdentity.from_profile(element)
    assert (identity.name, identity.preferred_username) == ("Ann Example", "ann1")
    assert identity.email == "ann@example.com"  # the primary address
    assert identity.label == "Ann Example"  # a person's name before a user name
    bare = LinkedIdentity.from_profile({"domain": "google.com", "identifier": "https://g/1"})
    assert bare.label == "google.com"
    only_user = LinkedIdentity.from_profile(
        {"domain": "x.com", "identifier": "i", "profile": {"preferredUsername": "ann"}}
    )
    assert only_user.label == "ann"


def test_linked_identities_falls_back_to_the_vendor_attributes(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    tokens = capture.sign_in(emulator.demo_email, emulator.demo_password)
    emulator.add_identity(emulator.demo_email, "google", "liz")
    body = {"stat": "error", "code": 223, "error": "unknown_attribute", "error_description": "x"}
    emulator.answer_next(ENTITY, {**body, "attribute_name": "profiles.profile.emails"})

    [identity] = capture.linked_identities(tokens.access_token)

    assert identity.domain == "google.com" and identity.display_name is None
    assert [call.code for call in emulator.calls_to(ENTITY)] == [223, None]


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"error": "invalid_request", "sub_error": "x", "argument_name": "refresh_token"},
         errors.RefreshTokenInvalid),
        (400, {"error": "invalid_grant"}, errors.RefreshTokenInvalid),
        (401, {"error": "invalid_client"}, errors.ClientCredentialsRefused),
        (200, {"stat": "error", "code": 402, "error": "invalid_client_credentials"},
         errors.ClientCredentialsRefused),
        (502, {"stat": "error", "code": 500, "error": "unexpected_error"},
         errors.CaptureUnavailable),  # a 5xx refuses nothing: the refresh token may be good
        (200, {"stat": "error", "code": 500, "error": "unexpected_error"},
         errors.CaptureUnavailable),  # an internal error (jump.ios), no verdict either
        (200, {"stat": "error", "code": 510, "error": "api_limit_error"},
         errors.CaptureUnavailable),
    ],
)  # fmt: skip
def test_refresh_refusals_in_every_documented_shape(
    capture: CaptureClient,
    emulator: CaptureEmulator,
    status: int,
    body: dict[str, Any],
    cls: type[errors.CaptureError],
) -> None:
    emulator.answer_next(REFRESH, body, status=status)
    with pytest.raises(errors.CaptureError) as raised:
        capture.refresh("r" * 32, "secret")
    assert type(raised.value) is cls
    assert "secret" not in str(raised.value)


def test_ca_bundle_setting_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, emulator: CaptureEmulator
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    with EmulatorServer(emulator, tls=True) as server:
        assert server.url.startswith("https://")
        with CaptureClient(
            server.url, emulator.client_id, flow_version=emulator.flow_version,
            redirect_uri="https://x/", verify=str(server.ca_bundle),
        ) as client, pytest.raises(errors.AccessTokenInvalid):  # fmt: skip
            client.link_account("a" * 40, "bad")
        with CaptureClient(
            server.url, emulator.client_id, flow_version=emulator.flow_version,
            redirect_uri="https://x/",
        ) as client, pytest.raises(errors.CaptureUnavailable):  # fmt: skip
            client.link_account("a" * 40, "bad")  # the system store does not trust it


def test_secrets_never_in_errors_or_logs(
    capture: CaptureClient, emulator: CaptureEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_token, secret_access = "f" * 40, "secret-access-token"
    raised: list[BaseException] = []
    for fault in (None, "html_502", "drop", "unknown_code"):
        emulator.clear_faults()
        if fault:
            emulator.set_fault(LINK, fault)
        try:
            capture.link_account(secret_token, secret_access)
        except errors.CaptureError as exc:
            raised.append(exc)
    text = " ".join(f"{e} {e!r} {e.fields}" for e in raised)
    text += " ".join(r.getMessage() for r in caplog.records)
    assert len(raised) == 4
    assert secret_token not in text and secret_access not in text


def test_echoed_secrets_are_scrubbed(capture_emulator: EmulatorServer) -> None:
    """Should Capture ever echo a parameter, the error still holds no secret."""
    from flask_capture_link.client.client import _read_answer

    response = requests.Response()
    response.status_code = 200
    response._content = b'{"stat":"error","code":200,"error_description":"bad token abc123"}'
    with pytest.raises(errors.InvalidArgument) as raised:
        _read_answer("/x", response, ("abc123",))
    assert "abc123" not in raised.value.description


def test_a_short_password_does_not_mangle_the_tokens(
    capture: CaptureClient, emulator: CaptureEmulator
) -> None:
    """Scrubbing secrets from answers once cut "pw" out of a new access token."""
    emulator.add_user("short@example.com", "a")
    for _ in range(5):  # 24 random characters hold an "a" most times
        tokens = capture.sign_in("short@example.com", "a")
        assert capture.linked_identities(tokens.access_token) == []


def test_environment_proxies_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    with CaptureClient(
        "https://capture.example", "c", flow_version="1", redirect_uri="https://x/"
    ) as client:
        assert client.session.trust_env is False  # not read again on every call
        assert client.session.proxies.get("https") == "http://proxy.example:3128"
    with CaptureClient(
        "https://internal.example", "c", flow_version="1", redirect_uri="https://x/"
    ) as client:
        assert "https" not in client.session.proxies


def test_a_session_of_the_site_is_used_as_given(
    capture_emulator: EmulatorServer, emulator: CaptureEmulator
) -> None:
    session = requests.Session()
    session.headers["User-Agent"] = "example-site/1.0"
    with CaptureClient(
        capture_emulator.url,
        emulator.client_id,
        flow_version=emulator.flow_version,
        redirect_uri="http://x/",
        session=session,
    ) as client:
        access_token = emulator.sign_in(emulator.demo_email)["access_token"]
        client.link_account(emulator.issue_social_token("google", "own"), access_token)
    [call] = emulator.calls_to(LINK)
    assert len(call.param_names) == 7 and call.query_param_names == ()
    assert client.session is session


@pytest.mark.parametrize(
    ("domain", "named"),
    [
        ("https://capture.invalid", "could not reach https://capture.invalid:443: name not found"),
        (
            "https://user:secret-pw@capture.invalid:8443/",
            "could not reach https://capture.invalid:8443: name not found",
        ),
    ],
)
def test_transport_errors_name_host_and_port_never_a_secret(domain: str, named: str) -> None:
    with (
        CaptureClient(domain, "c", flow_version="1", redirect_uri="http://x/") as client,
        pytest.raises(errors.CaptureUnavailable) as raised,
    ):
        client.link_account("a" * 40, "the-access-token")
    assert str(raised.value).startswith(named)
    assert LINK in str(raised.value)
    for secret in ("secret-pw", "the-access-token", "a" * 40):
        assert secret not in str(raised.value)
        assert secret not in repr(raised.value)


def test_connection_refused_names_the_port() -> None:
    port = free_port()
    with (
        CaptureClient(
            f"http://127.0.0.1:{port}", "c", flow_version="1", redirect_uri="http://x/"
        ) as client,
        pytest.raises(errors.CaptureUnavailable) as raised,
    ):
        client.link_account("a" * 40, "access")
    assert str(raised.value).startswith(
        f"could not reach http://127.0.0.1:{port}: connection refused"
    )
