"""``flask capture-link check``."""

from __future__ import annotations

from flask import Flask

from flask_capture_link import CaptureLink
from flask_capture_link.emulator import EmulatorServer

from .conftest import make_site, site_config


def test_check_prints_config_masks_secrets_and_pings(capture_emulator: EmulatorServer) -> None:
    secret = capture_emulator.emulator.client_secret
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_CLIENT_SECRET=secret))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 0, result.output
    assert "CAPTURE_LINK_DOMAIN = 'http://127.0.0.1:" in result.output
    assert secret not in result.output
    assert "CAPTURE_LINK_CLIENT_SECRET = ****** (set)" in result.output
    assert "token URL: http://localhost/capture-link/token?state=..." in result.output
    assert "ping: Capture accepted" in result.output
    assert capture_emulator.emulator.calls_to("/oauth/link_account_native")[0].code == 413


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


def test_check_says_where_freshness_is_not_enforced(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: 900 s after a sign-in stored with store_tokens" in result.output
    assert "NOT enforced where the site puts the access token in" in result.output
    assert "capture_link.store_tokens(capture_link.client.sign_in(" in result.output

    ext = CaptureLink()
    ext.access_token_loader(lambda: None)
    app = make_site(site_config(capture_emulator), ext)
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: NOT enforced where the access token comes from access_token_loader" in (
        result.output
    )
    assert "sign users in with Flask-Login" in result.output


def test_check_names_flask_login_freshness(capture_emulator: EmulatorServer) -> None:
    from flask_login import LoginManager

    app = make_site(site_config(capture_emulator), before=LoginManager)
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: Flask-Login's login_fresh()" in result.output
    assert "login_manager.refresh_view is not set" in result.output


def test_check_says_require_fresh_is_off(capture_emulator: EmulatorServer) -> None:
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_REQUIRE_FRESH=False))
    result = app.test_cli_runner().invoke(args=["capture-link", "check"])
    assert "freshness: NOT enforced (CAPTURE_LINK_REQUIRE_FRESH = False)" in result.output
    assert result.exit_code == 0  # a choice, not a fault
