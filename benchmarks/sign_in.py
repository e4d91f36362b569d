"""H. A social sign-in through the token URL against a bare view making the same Capture call.

The extension's token URL, given a sign-in state, checks the state, calls Capture's
``/oauth/auth_native``, calls the site's ``signed_in`` function (which logs the user in),
stores the tokens sealed in the session, flashes and redirects. The bare view (``/bare/sign-in``
in :mod:`benchmarks.site_app`) is written by hand as the link benchmark's is: the same pooled
POST, then the same site function signs the user in, and a redirect; what no social sign-in
can skip. A third variant is that view calling through the extension's own client instead,
printed for what the client saves (no target). All carry the same browser session, run in one
gunicorn process with the same threads, driven by the same load generator, against the
emulator over TLS; every request is a real sign-in with its own session, sign-in state and
Social Login token (for an identity linked to one of the benchmark's users), all made before
the clock starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flask

from flask_capture_link import state

from . import overhead, site_app
from .capture_process import CaptureProcess
from .common import (
    Job,
    Report,
    Run,
    SiteServer,
    _form_post,
    paired_ratio,
    site_config,
)

TITLE = "social sign-in through the token URL vs a bare view making the same Capture call"

PROVIDER = "google"


@dataclass(frozen=True)
class Counts:
    server_threads: int = 4
    clients: int = 8
    rounds: int = 15
    requests: int = 500  # per round and variant, at most
    seconds: float = 0.8  # per round and variant, at most
    warmup: int = 60
    users: int = 8


FULL = Counts()
QUICK = Counts(rounds=1, requests=12, seconds=1.0, warmup=4, users=2)

#: Target: the extension's sign-in throughput as a share of the bare view's.
SHARE = 0.95

VARIANTS = {
    "extension": "extension token URL (sign-in)",
    "bare": "bare view (pooled POST)",
    "client": "bare view (extension's client)",
}

#: The path of each bare variant's view in :mod:`benchmarks.site_app`.
BARE_PATHS = {"bare": "/bare/sign-in", "client": "/bare/sign-in-client"}


class SignInFactory:
    """Makes sign-in requests: users at the emulator with a linked ``google`` identity each,
    and per request a session of nobody holding a sign-in state (signed as the site signs it)
    and a Social Login token of one of those identities."""

    def __init__(self, capture: CaptureProcess, config: dict[str, Any], users: int) -> None:
        self.capture = capture
        self.app = site_app.create_app(config)
        self._serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        self._cookie_name = self.app.config["SESSION_COOKIE_NAME"]
        emails, _, _ = capture.sign_in_users(users)
        self.accounts = [f"{email.split('@')[0]}-google" for email in emails]
        for email, account in zip(emails, self.accounts, strict=True):
            capture.add_identity(email, PROVIDER, account)

    def jobs(self, variant: str, count: int) -> list[Job]:
        """``count`` requests of ``variant``, each with its own token and its own browser
        session (the same for both variants: the one that holds the sign-in state's key); the
        extension's also carries its sign-in state."""
        identifiers = [self.accounts[n % len(self.accounts)] for n in range(count)]
        tokens = self.capture.social_tokens_of(PROVIDER, identifiers)
        ext = self.app.extensions["capture_link"]
        made: list[Job] = []
        with self.app.test_request_context("/"):
            session = flask.session
            for token in tokens:
                session.clear()
                url = urlsplit(ext.sign_in_token_url(state.SIGN_IN, None, PROVIDER))
                cookie = f"{self._cookie_name}={self._serializer.dumps(dict(session))}"
                if variant in BARE_PATHS:
                    made.append(_form_post(BARE_PATHS[variant], {"token": token}, cookie))
                else:
                    made.append(_form_post(f"{url.path}?{url.query}", {"token": token}, cookie))
        return made

    def signed_in(self) -> int:
        """Access tokens Capture issued so far (one per sign-in; none expire during a run)."""
        return self.capture.token_counts()["access_tokens"]


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    with CaptureProcess(tls=True) as capture:
        config = site_config(capture)
        factory = SignInFactory(capture, config, counts.users)
        with SiteServer(config, counts.server_threads) as site:
            runs, signed_in = measure(site, factory, counts)
    return report(counts, runs, signed_in)


def measure(
    site: SiteServer, factory: SignInFactory, counts: Counts
) -> tuple[dict[str, list[Run]], dict[str, int]]:
    """Warm up, then interleaved rounds of every variant; also how many sign-ins Capture made."""
    return overhead.side_by_side(site, counts, VARIANTS, factory.jobs, factory.signed_in)


def report(
    counts: Counts,
    runs: dict[str, list[Run]],
    signed_in: dict[str, int],
    share_goal: float = SHARE,
) -> Report:
    result = Report(
        "sign_in",
        TITLE,
        notes=[
            f"site: gunicorn, 1 worker, gthread {counts.server_threads} threads; load: "
            f"{counts.clients} keep-alive clients; Capture: the emulator over TLS, own process",
            "no client secret: /oauth/auth_native answers an access token (one Capture call "
            "per sign-in in every variant); the site's sign-in function logs the user in "
            "(session['user_id']) in every variant; the extension then stores the tokens "
            "sealed in the session and flashes",
            f"{counts.rounds} rounds per variant, each up to {counts.requests} requests or "
            f"{counts.seconds:g} s, after {counts.warmup} warm-up requests; every request a "
            f"real sign-in (fresh session, sign-in state and Social Login token) as one of "
            f"{counts.users} users with a linked {PROVIDER} identity",
        ],
        headers=[],
    )
    overhead.compare(
        result,
        runs,
        VARIANTS,
        signed_in,
        share_goal,
        "signed in",
        "requests that signed in at Capture",
    )
    share = paired_ratio(runs["extension"], runs["client"])
    result.findings.append(
        f"extension / bare view on the extension's own client: {share:.2f} (the client "
        "prepares its requests once, where requests merges session settings and reads the "
        "environment's proxies on every call)"
    )
    return result
