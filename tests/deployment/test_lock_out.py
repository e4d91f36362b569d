"""The lock-out race where the review found it: concurrent unlinks of an account's last two
identities, through gunicorn worker processes of two masters (two "machines") sharing one
redis-server (sessions and link states in it), on a site whose accounts may have no password.

Each pair of unlinks goes one to each machine at the same moment. Without the account's lock
both listed two identities and both went through (8 of 14 pairs left no way in); with it, the
second lists after the first changed the account, sees one, and refuses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from requests.cookies import RequestsCookieJar

from flask_capture_link.emulator import EmulatorServer

from ..helpers import UNLINK, race, unlink_forms
from .helpers import GunicornSite, serve_example, sign_in

#: Pairs of simultaneous unlinks, each of a new account's last two identities.
PAIRS = 10

SITE = "tests.deployment.no_password_site:create_app()"


@pytest.fixture(scope="module")
def machines(
    redis_url: str,
    capture_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GunicornSite, GunicornSite]]:
    """Two gunicorn masters (3 and 2 workers) of the site, sessions in one Redis."""
    first, second = (tmp_path_factory.mktemp(name) for name in ("lock-a", "lock-b"))
    with (
        serve_example(first, capture_emulator_server, 3, SITE, EXAMPLE_REDIS_URL=redis_url) as a,
        serve_example(second, capture_emulator_server, 2, SITE, EXAMPLE_REDIS_URL=redis_url) as b,
    ):
        yield a, b


def unlink(
    site: GunicornSite, form: dict[str, str], cookies: RequestsCookieJar
) -> requests.Response:
    """The unlink button's POST, with the browser's session cookie."""
    return requests.post(
        site.url + "/capture-link/unlink",
        data=form,
        cookies=cookies,
        allow_redirects=False,
        timeout=60,
    )


def test_concurrent_unlinks_across_machines_never_remove_the_last_way_in(
    machines: tuple[GunicornSite, GunicornSite], capture_emulator: EmulatorServer
) -> None:
    emulator = capture_emulator.emulator
    for pair in range(PAIRS):
        email = f"lock-{pair}-{time.monotonic_ns()}@example.com"
        emulator.add_user(email, "pw")
        for provider, identifier in (("google", "ann"), ("facebook", "bob")):
            emulator.add_identity(email, provider, f"{identifier}-{pair}")
        browser = sign_in(machines[0], email, "pw")
        page = browser.get(machines[0].url + "/account", timeout=10).text
        forms = unlink_forms(page)
        assert len(forms) == 2, page
        unlinks_before = len(emulator.calls_to(UNLINK))

        answers = race(
            2, lambda i, forms=forms, jar=browser.cookies: unlink(machines[i], forms[i], jar)
        )

        assert [answer.status_code for answer in answers] == [303, 303], answers
        assert len(emulator.identities(email)) == 1, f"pair {pair}: no way in left"
        assert len(emulator.calls_to(UNLINK)) - unlinks_before == 1
    served = [site.pids_by_path().get("/capture-link/unlink", set()) for site in machines]
    assert all(served), served  # both machines took part, each pair in two processes
