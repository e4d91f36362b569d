"""Fit with Flask-WTF's CSRFProtect, set up before or after the extension."""

from __future__ import annotations

from typing import Any

import pytest
from flask_wtf.csrf import CSRFProtect

from flask_capture_link.emulator import EmulatorServer
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from .helpers import last_flash, make_site, site_config


@pytest.mark.parametrize("csrf_first", [True, False])
def test_token_url_is_exempt_and_the_rest_protected(
    capture_emulator: EmulatorServer, csrf_first: bool
) -> None:
    emulator = capture_emulator.emulator
    config: dict[str, Any] = site_config(capture_emulator, TESTING=False)
    if csrf_first:
        app = make_site(config, before=CSRFProtect)
    else:
        app = make_site(config)
        CSRFProtect(app)

    @app.route("/protected", methods=["POST"])
    def protected() -> str:
        return "changed"

    with app.test_client() as client:
        sign_in(client, emulator, emulator.demo_email)
        assert client.post("/protected").status_code == 400
        url = find_token_url(client.get("/").get_data(as_text=True))
        response = deliver_token(client, url, emulator.issue_social_token("google", "csrf"))
        assert response.status_code == 303
        assert last_flash(client)[0] == "success"
