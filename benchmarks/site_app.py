"""The site the benchmarks serve with gunicorn: the extension, and the views it is compared with.

* ``/capture-link/token`` -- the extension's token URL (state, session, Capture call, flash,
  redirect);
* ``/bare/token`` -- a hand-written minimal view that does only the same pooled POST to
  Capture and redirects: the floor the extension's overhead is measured from;
* ``/naive/token`` -- the flow as public sample code writes it: ``requests.post`` per call
  (a new connection and TLS handshake each time), no timeout, no state check;
* ``/bare/sign-in`` -- a hand-written minimal view that makes only the Capture call of a
  social sign-in (the same pooled POST to ``/oauth/auth_native``, as ``/bare/token`` makes the
  link call), signs the user in with the site's own function (``session["user_id"]``, the
  extension's ``signed_in`` function too) and redirects: the floor of the sign-in through the
  token URL. No state check, no tokens kept, no message;
* ``/bare/sign-in-client`` -- the same view making the call through the extension's own
  client (``client.sign_in_with_token``), to show what the client saves;
* ``/`` -- a page with three link buttons (an "other page" of the site).

gunicorn loads ``benchmarks.site_app:create_app()``, which reads its config from the
``BENCH_SITE_CONFIG`` environment variable (JSON); the benchmarks build the same app in
process, with the same ``SECRET_KEY``, to sign session cookies and states ahead of time.
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests
from flask import Flask, flash, redirect, render_template, request, session
from jinja2 import DictLoader

from flask_capture_link import CaptureError, CaptureLink, Tokens

#: Shared by the gunicorn site and the benchmark process, which signs cookies for it.
SECRET_KEY = "benchmark secret key, loopback only"

#: Environment variable holding the site's config as JSON.
CONFIG_ENV = "BENCH_SITE_CONFIG"

#: Where the sample-code view reads the access token in the clear (the extension's
#: ``CAPTURE_LINK_SESSION_KEY``; the extension keeps its own tokens sealed elsewhere).
ACCESS_TOKEN_KEY = "capture_access_token"

PAGE = """<!doctype html><title>Account</title>
{% for category, message in get_flashed_messages(with_categories=true) %}
<p class="flash {{ category }}">{{ message }}</p>
{% endfor %}
<h1>Linked accounts</h1>
<ul>
<li>{{ capture_link_button("google") }}</li>
<li>{{ capture_link_button("facebook") }}</li>
<li>{{ capture_link_button("twitter") }}</li>
</ul>
"""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The benchmark site; ``config`` defaults to the JSON in ``BENCH_SITE_CONFIG``."""
    if config is None:
        config = json.loads(os.environ[CONFIG_ENV])
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET_KEY, **config)
    app.jinja_loader = DictLoader({"page.html": PAGE})  # compiled once, as a site's files are
    ext = CaptureLink(app)

    def log_in(tokens: Tokens, capture_user: dict[str, Any] | None) -> None:
        # The site's own sign-in, as a site without Flask-Login has it: the same for the
        # extension (its ``signed_in`` function) and the bare sign-in view.
        session["user_id"] = (capture_user or {}).get("uuid")

    ext.signed_in(log_in)

    domain = str(app.config["CAPTURE_LINK_DOMAIN"]).rstrip("/")
    link_url = domain + str(app.config["CAPTURE_LINK_LINK_PATH"])
    verify: str | bool = app.config.get("CAPTURE_LINK_CA_BUNDLE") or True
    timeout = tuple(app.config["CAPTURE_LINK_TIMEOUT"])
    fixed = {
        "client_id": app.config["CAPTURE_LINK_CLIENT_ID"],
        "flow": app.config["CAPTURE_LINK_FLOW"],
        "flow_version": app.config["CAPTURE_LINK_FLOW_VERSION"],
        "locale": app.config["CAPTURE_LINK_LOCALE"],
        "redirect_uri": app.config["CAPTURE_LINK_REDIRECT_URI"],
    }
    pooled = requests.Session()  # the bare view's pool: one per process, as the extension's

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.get("/")
    def index() -> str:
        return render_template("page.html")

    @app.post("/bare/token")
    def bare_token() -> Any:
        data = {**fixed, "token": request.form["token"], "access_token": request.form["at"]}
        answer = pooled.post(link_url, data=data, timeout=timeout, verify=verify)
        ok = answer.json().get("stat") == "ok"
        return redirect("/", 303) if ok else ("Capture refused", 502)

    sign_in_url = domain + "/oauth/auth_native"
    sign_in_fixed = {**fixed, "response_type": "token"}

    @app.post("/bare/sign-in")
    def bare_sign_in() -> Any:
        data = {**sign_in_fixed, "token": request.form["token"]}
        answer = pooled.post(sign_in_url, data=data, timeout=timeout, verify=verify).json()
        if answer.get("stat") != "ok":
            return "Capture refused", 502
        log_in(Tokens(answer["access_token"]), answer.get("capture_user"))
        return redirect("/", 303)

    @app.post("/bare/sign-in-client")
    def bare_sign_in_client() -> Any:
        try:
            tokens = ext.client.sign_in_with_token(request.form["token"])
        except CaptureError:
            return "Capture refused", 502
        log_in(tokens, tokens.capture_user)
        return redirect("/", 303)

    @app.post("/naive/token")
    def naive_token() -> Any:
        data = {
            **fixed,
            "token": request.form["token"],
            "access_token": session.get(ACCESS_TOKEN_KEY),
        }
        # A new connection per call and no timeout, as the samples have it.
        answer = requests.post(link_url, data=data, verify=verify)
        if answer.json().get("stat") == "ok":
            flash("Your account is linked.", "success")
            return redirect("/")
        flash("Linking failed.", "error")
        return redirect("/"), 502

    return app
