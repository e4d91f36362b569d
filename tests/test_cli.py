"""``flask capture-link check``."""

from __future__ import annotations

from typing import Any

from flask import Flask

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
