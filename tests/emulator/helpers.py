"""What the emulator's tests share: a Capture API caller, envelope checks (the endpoint paths
are in ``tests/helpers.py``)."""

from __future__ import annotations

import re
from typing import Any

import requests

from flask_capture_link.emulator import EmulatorServer

from ..helpers import LINK

REQUEST_ID = re.compile(r"[a-z0-9]{16}")


class CaptureAPI:
    """Posts forms to the emulator the way a Capture client does, and reads the JSON."""

    def __init__(self, server: EmulatorServer, session: requests.Session) -> None:
        self.server = server
        self.emulator = server.emulator
        self.session = session

    def post(
        self, endpoint: str, data: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """POST ``data`` as a form; Capture answers HTTP 200 JSON even for errors."""
        with self.session.post(self.server.url + endpoint, data=data, **kwargs) as response:
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/json"
            body: dict[str, Any] = response.json()
        return body

    def flow_form(self, **fields: str | None) -> dict[str, str]:
        """The client and flow parameters, plus ``fields``; a ``None`` field is left out."""
        form: dict[str, str | None] = {
            "client_id": self.emulator.client_id,
            "flow": self.emulator.flow,
            "flow_version": self.emulator.flow_version,
            "locale": "en-US",
            **fields,
        }
        return {key: value for key, value in form.items() if value is not None}

    def link_form(self, access_token: str, token: str, **fields: str | None) -> dict[str, str]:
        """A complete ``link_account_native`` form; ``fields`` override or (None) remove."""
        base = {"redirect_uri": "http://localhost", "token": token, "access_token": access_token}
        return self.flow_form(**{**base, **fields})

    def link(self, access_token: str, token: str, **fields: str | None) -> dict[str, Any]:
        """Call ``link_account_native``."""
        return self.post(LINK, self.link_form(access_token, token, **fields))

    def access_token(self, email: str | None = None) -> str:
        """A fresh access token of that user (the demo user by default)."""
        tokens = self.emulator.sign_in(email or self.emulator.demo_email)
        return str(tokens["access_token"])


def assert_error(body: dict[str, Any], code: int, error: str, description: str) -> None:
    """``body`` is Capture's error envelope with exactly these values and a request id."""
    assert body["stat"] == "error"
    assert (body["code"], body["error"], body["error_description"]) == (code, error, description)
    assert REQUEST_ID.fullmatch(body["request_id"])
