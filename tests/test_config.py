"""Config checks at init_app: each wrong setting is a ConfigError naming its key."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_capture_link import CaptureLink, ConfigError
from flask_capture_link.config import is_loopback

GOOD: dict[str, Any] = {
    "SECRET_KEY": "k",
    "CAPTURE_LINK_DOMAIN": "https://example.us.janraincapture.com",
    "CAPTURE_LINK_CLIENT_ID": "12345abcde12345abcde12345abcde12",
    "CAPTURE_LINK_FLOW_VERSION": "20190618143040022299",
    "CAPTURE_LINK_REDIRECT_URI": "https://www.example.com/",
}


def init(**overrides: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({**GOOD, **overrides})
    CaptureLink(app)
    return app


def test_good_config_gets_the_defaults() -> None:
    app = init()
    assert app.config["CAPTURE_LINK_FLOW"] == "standard"
    assert app.config["CAPTURE_LINK_LOCALE"] == "en-US"
    assert app.config["CAPTURE_LINK_STATE_MAX_AGE"] == 600
    assert app.config["CAPTURE_LINK_REQUIRE_FRESH"] is True
    assert app.config["CAPTURE_LINK_FRESH_FOR"] == 900
    assert app.url_map.bind("x").match("/capture-link/token", "POST")[0] == "capture_link.token"


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY", "required"),
        ({"CAPTURE_LINK_DOMAIN": None}, "CAPTURE_LINK_DOMAIN", "required"),
        ({"CAPTURE_LINK_DOMAIN": "http://capture.example.com"}, "CAPTURE_LINK_DOMAIN", "https"),
        ({"CAPTURE_LINK_DOMAIN": "capture.example.com"}, "CAPTURE_LINK_DOMAIN", "URL"),
        ({"CAPTURE_LINK_CLIENT_ID": ""}, "CAPTURE_LINK_CLIENT_ID", "required"),
        ({"CAPTURE_LINK_FLOW_VERSION": None}, "CAPTURE_LINK_FLOW_VERSION", "required"),
        ({"CAPTURE_LINK_FLOW_VERSION": "HEAD"}, "CAPTURE_LINK_FLOW_VERSION", "HEAD"),
        ({"CAPTURE_LINK_FLOW_VERSION": "head"}, "CAPTURE_LINK_FLOW_VERSION", "HEAD"),
        ({"CAPTURE_LINK_REDIRECT_URI": "www.example.com"}, "CAPTURE_LINK_REDIRECT_URI", "http:"),
        ({"CAPTURE_LINK_REDIRECT_URI": None}, "CAPTURE_LINK_REDIRECT_URI", "required"),
        ({"CAPTURE_LINK_TIMEOUT": 0}, "CAPTURE_LINK_TIMEOUT", "seconds"),
        ({"CAPTURE_LINK_TIMEOUT": (1, 2, 3)}, "CAPTURE_LINK_TIMEOUT", "seconds"),
        ({"CAPTURE_LINK_STATE_MAX_AGE": "600"}, "CAPTURE_LINK_STATE_MAX_AGE", "seconds"),
        ({"CAPTURE_LINK_URL_PREFIX": "capture"}, "CAPTURE_LINK_URL_PREFIX", "/"),
        ({"CAPTURE_LINK_SOCIAL_LOGIN_URL": "http://x.rpxnow.com"}, "CAPTURE_LINK_SOCIAL_LOGIN_URL",
         "https"),
        ({"CAPTURE_LINK_MESSAGES": ["x"]}, "CAPTURE_LINK_MESSAGES", "dict"),
        ({"CAPTURE_LINK_LINK_PATH": ".evil.example/x"}, "CAPTURE_LINK_LINK_PATH", "/"),
        ({"CAPTURE_LINK_DOMAIN": "https://u@capture.example"}, "CAPTURE_LINK_DOMAIN", "base"),
        ({"CAPTURE_LINK_DOMAIN": "https://capture.example:x"}, "CAPTURE_LINK_DOMAIN", "URL"),
        ({"CAPTURE_LINK_CA_BUNDLE": "/nowhere/ca.pem"}, "CAPTURE_LINK_CA_BUNDLE", "no CA"),
        ({"CAPTURE_LINK_REFRESH_LEEWAY": "60"}, "CAPTURE_LINK_REFRESH_LEEWAY", "seconds"),
        ({"CAPTURE_LINK_REQUIRE_FRESH": "yes"}, "CAPTURE_LINK_REQUIRE_FRESH", "True or False"),
        ({"CAPTURE_LINK_FRESH_FOR": 0}, "CAPTURE_LINK_FRESH_FOR", "seconds"),
        ({"CAPTURE_LINK_FRESH_FOR": "900"}, "CAPTURE_LINK_FRESH_FOR", "seconds"),
        ({"CAPTURE_LINK_DEFAULT_NEXT": "//evil.example"}, "CAPTURE_LINK_DEFAULT_NEXT", "path"),
        ({"CAPTURE_LINK_CLIENT_SECRET": 42}, "CAPTURE_LINK_CLIENT_SECRET", "string"),
        # A name under .localhost goes to DNS like any other: no plain http for it.
        ({"CAPTURE_LINK_DOMAIN": "http://capture.localhost"}, "CAPTURE_LINK_DOMAIN", "https"),
        ({"CAPTURE_LINK_DOMAIN": "http://localhost.evil.example"}, "CAPTURE_LINK_DOMAIN",
         "https"),
        ({"CAPTURE_LINK_DOMAIN": "http://[::ffff:7f00:1]"}, "CAPTURE_LINK_DOMAIN", "https"),
        ({"CAPTURE_LINK_REDIS_URL": "http://redis:6379"}, "CAPTURE_LINK_REDIS_URL", "redis://"),
        ({"CAPTURE_LINK_REDIS": "redis://x"}, "CAPTURE_LINK_REDIS", "redis.Redis"),
        ({"CAPTURE_LINK_REDIS_PREFIX": ""}, "CAPTURE_LINK_REDIS_PREFIX", "non-empty"),
    ],
)  # fmt: skip
def test_each_wrong_setting_is_named(overrides: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        init(**overrides)
    assert raised.value.key == key
    assert str(raised.value).startswith(key)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CAPTURE_LINK_TIMEOUT", "5"),
        ("CAPTURE_LINK_STATE_MAX_AGE", "600"),
        ("CAPTURE_LINK_FRESH_FOR", "900"),
        ("CAPTURE_LINK_REFRESH_LEEWAY", "60"),
        ("CAPTURE_LINK_REQUIRE_FRESH", "False"),
    ],
)
def test_a_number_or_flag_given_as_a_string_says_so(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        init(**{key: value})
    assert f"not the string {value!r}" in str(raised.value)
    assert f"name the variable FLASK_{key} and load it with" in str(raised.value)


def test_the_named_way_from_the_environment_works(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in [("TIMEOUT", "[3.05, 10]"), ("STATE_MAX_AGE", "600"), ("FRESH_FOR", "900"),
                        ("REFRESH_LEEWAY", "60"), ("REQUIRE_FRESH", "true"),
                        # digits only: JSON makes them numbers, taken back as their digits
                        ("FLOW_VERSION", "20190618143040022299"),
                        ("CLIENT_ID", "12345678901234567890123456789012")]:  # fmt: skip
        monkeypatch.setenv(f"FLASK_CAPTURE_LINK_{name}", value)
    app = Flask(__name__)
    app.config.update(GOOD)
    app.config.from_prefixed_env()
    CaptureLink(app)  # no ConfigError
    assert app.config["CAPTURE_LINK_TIMEOUT"] == [3.05, 10]
    assert app.config["CAPTURE_LINK_REQUIRE_FRESH"] is True
    assert app.config["CAPTURE_LINK_FLOW_VERSION"] == "20190618143040022299"
    with app.app_context():
        client = app.extensions["capture_link"].client
        assert client.client_id == "12345678901234567890123456789012"


def test_client_default_flow_needs_no_version() -> None:
    app = init(CAPTURE_LINK_FLOW_VERSION=None, CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW=True)
    with app.app_context():
        client = app.extensions["capture_link"].client
        assert client.flow is None and client.flow_version is None


def test_plain_http_is_fine_on_loopback() -> None:
    init(
        CAPTURE_LINK_DOMAIN="http://127.0.0.1:8765",
        CAPTURE_LINK_SOCIAL_LOGIN_URL="http://localhost:1",
    )
    init(CAPTURE_LINK_DOMAIN="http://127.3.2.1", CAPTURE_LINK_SOCIAL_LOGIN_URL="http://[::1]:8")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("LOCALHOST", True), ("127.0.0.2", True), ("127.255.255.254", True),
     ("::1", True), ("10.0.0.1", False), ("localhost.evil.com", False), ("example.com", False),
     ("capture.localhost", False), ("128.0.0.1", False), ("::2", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_client_is_built_from_config(tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    app = init(CAPTURE_LINK_TIMEOUT=[2, 7], CAPTURE_LINK_CA_BUNDLE=str(bundle))
    with app.app_context():
        client = app.extensions["capture_link"].client
    assert client.timeout == (2, 7)
    assert client.verify == str(bundle)


def test_messages_default_is_not_shared_between_apps() -> None:
    first, second = init(), init()
    first.config["CAPTURE_LINK_MESSAGES"]["success"] = "only the first app's"
    assert second.config["CAPTURE_LINK_MESSAGES"] == {}


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        ("https://capture.example/oauth/", "remove the path '/oauth/'"),
        ("https://capture.example:8443/entity", "such as https://capture.example:8443;"),
        ("https://capture.example/?x=1", "remove the query '?x=1'"),
        ("https://capture.example/#top", "remove the fragment '#top'"),
    ],
)
def test_domain_with_a_path_query_or_fragment_is_refused(domain: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        init(CAPTURE_LINK_DOMAIN=domain)
    assert raised.value.key == "CAPTURE_LINK_DOMAIN"
    assert "must be the Capture domain alone" in str(raised.value)
    assert says in str(raised.value)


@pytest.mark.parametrize("domain", ["https://capture.example/", "https://capture.example:8443"])
def test_domain_with_a_slash_or_port_is_fine(domain: str) -> None:
    init(CAPTURE_LINK_DOMAIN=domain)


# A site's own suite and commands, before the Capture settings are there --------------------


def test_every_missing_setting_in_one_error_with_what_to_set() -> None:
    app = Flask(__name__)
    with pytest.raises(ConfigError) as raised:
        CaptureLink(app)
    keys = [problem.key for problem in raised.value.problems]
    assert keys == [
        "SECRET_KEY",
        "CAPTURE_LINK_DOMAIN",
        "CAPTURE_LINK_CLIENT_ID",
        "CAPTURE_LINK_FLOW_VERSION",
        "CAPTURE_LINK_REDIRECT_URI",
    ]
    message = str(raised.value)
    for problem in raised.value.problems:
        assert f"{problem.key}: is required: " in message
    assert "https://example.us.janraincapture.com" in message  # what to set
    assert "TESTING = True" in message
    assert raised.value.key == "SECRET_KEY"


def test_under_testing_the_error_waits_for_the_first_use_of_capture() -> None:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="k")
    ext = CaptureLink(app)  # no error: the site's own tests run

    @app.route("/")
    def home() -> str:
        return "home"

    assert app.test_client().get("/").get_data(as_text=True) == "home"
    with app.test_request_context("/"), pytest.raises(ConfigError) as raised:
        ext.client  # noqa: B018 - the first use
    assert {problem.key for problem in raised.value.problems} >= {
        "CAPTURE_LINK_DOMAIN",
        "CAPTURE_LINK_CLIENT_ID",
    }
    app.config.update({**GOOD})  # the emulator's settings, in a test that links
    with app.app_context():
        assert ext.client.client_id == GOOD["CAPTURE_LINK_CLIENT_ID"]


def test_flask_commands_run_and_check_lists_every_missing_setting() -> None:
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    def create_app() -> Flask:
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "k"
        CaptureLink(app)
        return app

    cli = FlaskGroup(create_app=create_app)
    routes = CliRunner().invoke(cli, ["routes"])
    assert routes.exit_code == 0, routes.output
    assert "capture_link.token" in routes.output
    check = CliRunner().invoke(cli, ["capture-link", "check"])
    assert check.exit_code == 1
    for key in ("DOMAIN", "CLIENT_ID", "FLOW_VERSION", "REDIRECT_URI"):
        assert f"problem: CAPTURE_LINK_{key}: is required" in check.output


def test_a_flag_given_as_0_says_to_write_false() -> None:
    with pytest.raises(ConfigError) as raised:
        init(CAPTURE_LINK_REQUIRE_FRESH=0)
    assert "write true or false" in str(raised.value)
