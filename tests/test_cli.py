"""``flask capture-link check``."""

from __future__ import annotations

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
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_site(site_config(capture_emulator, CAPTURE_LINK_DOMAIN=f"http://127.0.0.1:{port}"))
    result = app.test_cli_runner().invoke(args=["capture-link", "check", "--ping"])
    assert result.exit_code == 1
    assert f"problem: could not reach http://127.0.0.1:{port}: connection refused" in (
        result.output
    )
    assert "check the port in CAPTURE_LINK_DOMAIN" in result.output
