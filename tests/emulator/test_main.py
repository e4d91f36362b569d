"""``python -m flask_capture_link.emulator`` prints its settings, serves, and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import flask_capture_link
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.emulator.__main__ import main, parse_fault

REPO = Path(flask_capture_link.__file__).resolve().parents[1]


def run_cli(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start the command line; returns the process and the settings it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flask_capture_link.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    settings: dict[str, str] = {}
    for line in process.stdout:
        key, _, value = line.rstrip("\n").partition("=")
        settings[key] = value
        if key.endswith("UNPRIVILEGED_CLIENT_ID"):
            break
    return process, settings


@pytest.fixture
def cli() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; killed if the test left them running."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


def stop(process: subprocess.Popen[str], signum: int) -> str:
    """Send ``signum``; returns stderr once the process exited 0."""
    process.send_signal(signum)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    return err


def test_prints_the_settings_serves_and_stops_on_ctrl_c(cli: list[subprocess.Popen[str]]) -> None:
    process, settings = run_cli("--fault", "/entity=html_502", "--fault", "*=latency:0")
    cli.append(process)

    assert list(settings) == [
        "CAPTURE_LINK_DOMAIN",
        "CAPTURE_LINK_CLIENT_ID",
        "CAPTURE_LINK_CLIENT_SECRET",
        "CAPTURE_LINK_FLOW",
        "CAPTURE_LINK_FLOW_VERSION",
        "CAPTURE_LINK_LOCALE",
        "CAPTURE_LINK_FLOW_LOCALES",
        "CAPTURE_LINK_SOCIAL_LOGIN_URL",
        "CAPTURE_LINK_REDIRECT_URI",
        "DEMO_EMAIL",
        "DEMO_PASSWORD",
        "UNPRIVILEGED_CLIENT_ID",
    ]
    assert settings["CAPTURE_LINK_DOMAIN"].startswith("http://127.0.0.1:")
    with requests.post(settings["CAPTURE_LINK_DOMAIN"] + "/entity", timeout=5) as answer:
        assert answer.status_code == 502
    with requests.post(settings["CAPTURE_LINK_DOMAIN"] + "/oauth/token", timeout=5) as answer:
        assert (answer.status_code, answer.json()["sub_error"]) == (400, "missing_argument")

    assert "Emulator running, its flow in en-US, es-ES; press Ctrl-C to stop" in stop(
        process, signal.SIGINT
    )


def test_serves_tls_and_stops_on_sigterm(cli: list[subprocess.Popen[str]]) -> None:
    process, settings = run_cli("--tls")
    cli.append(process)

    bundle = settings["CAPTURE_LINK_CA_BUNDLE"]
    url = settings["CAPTURE_LINK_DOMAIN"] + "/entity"
    assert url.startswith("https://127.0.0.1:")
    with requests.post(url, timeout=5, verify=bundle) as answer:
        assert answer.json()["code"] == 100

    stop(process, signal.SIGTERM)
    assert not Path(bundle).exists()


def test_tls_dir_keeps_the_ca_across_restarts(
    cli: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    kept = tmp_path / "emulator-tls"
    bundles = []
    for _ in range(2):
        process, settings = run_cli("--tls-dir", str(kept))
        cli.append(process)
        bundle = settings["CAPTURE_LINK_CA_BUNDLE"]
        bundles.append((bundle, Path(bundle).read_bytes()))
        url = settings["CAPTURE_LINK_DOMAIN"] + "/entity"
        with requests.post(url, timeout=5, verify=bundle) as answer:
            assert answer.json()["code"] == 100
        stop(process, signal.SIGTERM)
        assert Path(bundle).exists()  # kept for the next start
    assert bundles[0] == bundles[1]
    assert bundles[0][0] == str(kept / "ca.pem")


def test_a_relative_tls_dir_gives_an_absolute_ca_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with EmulatorServer(CaptureEmulator(), tls_dir="relative") as server:
        assert server.ca_bundle == str(tmp_path / "relative" / "ca.pem")


def test_an_empty_tls_dir_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--tls-dir", ""])  # not the current directory
    assert exited.value.code == 2
    assert "--tls-dir: give a directory" in capsys.readouterr().err


def test_a_bad_fault_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--fault", "/entity=explode"])
    assert exited.value.code == 2
    assert "unknown fault kind 'explode'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("/entity=hang", ("/entity", "hang", None)),
        ("*=latency:0.5", ("*", "latency", 0.5)),
    ],
)
def test_parse_fault(spec: str, parsed: tuple[str, str, float | None]) -> None:
    assert parse_fault(spec) == parsed


@pytest.mark.parametrize("spec", ["/entity", "=hang", "/entity=", "/entity=hang:soon"])
def test_parse_fault_refuses(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_fault(spec)


def test_a_taken_port_is_a_clear_message(capture_emulator_server: Any) -> None:
    taken = str(capture_emulator_server.port)
    result = subprocess.run(
        [sys.executable, "-m", "flask_capture_link.emulator", "--port", taken],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{taken}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_start_prints_the_same_client_and_seed_varies_it(
    cli: list[subprocess.Popen[str]],
) -> None:
    runs = []
    for args in ((), (), ("--seed", "another")):
        process, settings = run_cli(*args)
        cli.append(process)
        runs.append(settings)
        stop(process, signal.SIGTERM)
    keys = ("CAPTURE_LINK_CLIENT_ID", "CAPTURE_LINK_CLIENT_SECRET", "UNPRIVILEGED_CLIENT_ID")
    first, again, seeded = ([run[key] for key in keys] for run in runs)
    assert first == again
    assert all(a != b for a, b in zip(first, seeded, strict=True))
    assert first[0] == CaptureEmulator().client_id
    assert seeded[0] == CaptureEmulator(seed="another").client_id


def test_flask_prefixed_lines_and_an_env_file_configure_a_site(
    cli: list[subprocess.Popen[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask import Flask

    from flask_capture_link import CaptureLink

    env_file = tmp_path / "emulator.env"
    process, settings = run_cli(
        "--prefix", "FLASK_", "--env-file", str(env_file), "--locales", "en-US,fr-FR"
    )
    cli.append(process)
    assert all(key.startswith("FLASK_") for key in settings)
    assert settings["FLASK_CAPTURE_LINK_FLOW_LOCALES"] == "en-US,fr-FR"
    assert env_file.stat().st_mode & 0o777 == 0o600  # the client secret is in it
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        monkeypatch.setenv(key, value)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    app.config.from_prefixed_env()  # what the docs recommend
    ext = CaptureLink(app)
    with app.test_request_context(headers={"Accept-Language": "fr-CA"}):
        ext.locale_selector(lambda: "fr-CA")
        assert ext.flow_locale() == "fr-FR"
        email, password = settings["FLASK_DEMO_EMAIL"], settings["FLASK_DEMO_PASSWORD"]
        assert ext.client.sign_in(email, password, locale=ext.flow_locale()).access_token
    assert "its flow in en-US, fr-FR" in stop(process, signal.SIGTERM)


def test_locales_must_name_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--locales", " , "])
    assert "--locales: give at least one locale" in capsys.readouterr().err


def test_a_tls_dir_that_cannot_be_written_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--tls-dir", "/proc/no-such-folder"]) == 2
    err = capsys.readouterr().err
    assert "cannot keep the TLS files in /proc/no-such-folder" in err
    assert "cannot serve on" not in err
