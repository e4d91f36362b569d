"""Open redirects through ``next``: the lists that trusted libraries test their own checks with,
against :func:`flask_capture_link.redirects.safe_next` and through the views (the button made on
a page with ``?next=``, then the token URL's redirect after the outcome).

A bad value must never become a ``Location`` that a browser follows off this site; a good one is
kept, as a path on this site.
"""

from __future__ import annotations

import html
import re
from itertools import count
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_login import LoginManager
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_capture_link import state
from flask_capture_link.catalog import ENGLISH
from flask_capture_link.emulator import CaptureEmulator, EmulatorServer
from flask_capture_link.freshness import sign_in_id as recorded_sign_in
from flask_capture_link.redirects import LOOKALIKES, safe_next
from flask_capture_link.testing import deliver_token, find_token_url, sign_in

from ..helpers import LINK, form_fields, last_flash, make_site, site_config

#: What the WHATWG URL parser drops before parsing: ASCII tab and newlines anywhere, and C0
#: controls and spaces at either end.
_STRIPPED_INSIDE = re.compile(r"[\t\n\r]")


def browser_target(location: str, base: str = "http://localhost/capture-link/token") -> str:
    """The absolute URL a browser goes to for ``Location: location`` on a response to
    ``base``: the quirks that make ``/\\evil.example`` or ``\\t//evil.example`` leave the site
    (backslash read as slash, tab and newlines removed, ends trimmed), then RFC 3986 joining."""
    cleaned = _STRIPPED_INSIDE.sub("", location).strip("".join(map(chr, range(0x21))))
    return urljoin(base, cleaned.replace("\\", "/"))


def stays_on_site(location: str, host: str = "localhost") -> bool:
    """Whether a browser following ``location`` stays on ``http://host``."""
    target = urlsplit(browser_target(location, f"http://{host}/capture-link/token"))
    return target.scheme == "http" and target.netloc == host and location.startswith("/")


# Django, tests/utils_tests/test_http.py, URLHasAllowedHostAndSchemeTests.test_bad_urls
# (django/django @ 01e85f309fe6fc224a9b0cb36db71a34eb04fe1e), allowed hosts {"testserver"}.
DJANGO_BAD = [
    "http://example.com",
    "http:///example.com",
    "https://example.com",
    "ftp://example.com",
    r"\\example.com",
    r"\\\example.com",
    r"/\\/example.com",
    r"\\//example.com",
    r"/\/example.com",
    r"\/example.com",
    r"/\example.com",
    r"http:/\//example.com",
    r"http:\/example.com",
    r"http:/\example.com",
    'javascript:alert("XSS")',
    "\njavascript:alert(x)",
    "java\nscript:alert(x)",
    "\x08//example.com",
    r"http://otherserver\@example.com",
    r"http:\\testserver\@example.com",
    r"http://testserver\me:pass@example.com",
    r"http://testserver\@example.com",
    r"http:\\testserver\confirm\me@example.com",
    "http:999999999",
    "ftp:9999999999",
    "\n",
    "http://[2001:cdba:0000:0000:0000:0000:3257:9652/",
    "http://2001:cdba:0000:0000:0000:0000:3257:9652]/",
    # test_secure_param_non_https_urls and test_no_allowed_hosts
    "//example.com/p",
]

# Django, same file, test_good_urls and test_no_allowed_hosts: (value, the path we keep).
DJANGO_GOOD = [
    ("/view/?param=http://example.com", "/view/?param=http://example.com"),
    ("/view/?param=https://example.com", "/view/?param=https://example.com"),
    ("/view?param=ftp://example.com", "/view?param=ftp://example.com"),
    ("view/?param=//example.com", "/view/?param=//example.com"),
    ("https://testserver/", "/"),
    ("HTTPS://testserver/", "/"),
    ("//testserver/", "/"),
    ("http://testserver/confirm?email=me@example.com", "/confirm?email=me@example.com"),
    ("/url%20with%20spaces/", "/url%20with%20spaces/"),
    ("path/http:2222222222", "/path/http:2222222222"),
    ("/confirm/me@example.com", "/confirm/me@example.com"),
]

# Flask-Security: tests/test_common.py (pallets-eco/flask-security
# @ 251c0eb8b80d0f0aadd6e222643f636d49c81466: test_authenticate_with_invalid_next,
# _invalid_malformed_next, _subdomain_next_default_config, _invalid_subdomain_next, and
# test_logout_with_next_invalid), the bypasses of CVE-2021-32618 and CVE-2023-49438
# (GHSA-672h-6x89-76m5: "\\\github.com", "/\github.com", "\/github.com"), and what its
# SECURITY_REDIRECT_VALIDATE_RE (r"^/{4,}|\\{3,}|[\s\000-\037][/\\]{2,}") exists to refuse.
FLASK_SECURITY_BAD = [
    "http://google.com",
    "http:///google.com",
    "http://sub.lp.com",
    "http://sub.lp.net",
    r"\\\github.com",
    r"/\github.com",
    r"\/github.com",
    " //github.com",
    "\t//github.com",
    "\x00//github.com",
    "\r\n//github.com",
    "////github.com",
    "//github.com",
]
FLASK_SECURITY_GOOD = [("/page1", "/page1")]

# social-core: social_core/tests/test_utils.py, SanitizeRedirectTest (python-social-auth/
# social-core @ 0744ba819ac87a540b89106ab5065ba50e629a77), allowed host "myapp.com".
SOCIAL_CORE_BAD: list[Any] = [
    None,
    "",
    {},
    {"foo": "bar"},
    "http://notmyapp.com/path/",
    "///evil.com",
]
SOCIAL_CORE_GOOD = [("http://myapp.com/path/", "/path/"), ("/path/", "/path/")]

# Ours: the same tricks, encoded, folded or dressed up further.
OWN_BAD = [
    "/%5Cevil.example",
    "/%5cevil.example",
    "%5C%5Cevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%09/evil.example",
    "/%0d%0aLocation:%20//evil.example",
    "/\t/evil.example",
    "/\x7f/evil.example",
    "\u2028//evil.example",
    "/\u200b/evil.example",
    "/\ufeff/evil.example",
    "\uff0f\uff0fevil.example",  # fullwidth solidus, folds to "/"
    "/\uff0fevil.example",
    "/\u2215evil.example",  # division slash
    "/\u2044evil.example",  # fraction slash
    "/\uff3cevil.example",  # fullwidth reverse solidus
    "/\ufe68evil.example",  # small reverse solidus
    "\u3033\u3033evil.example",
    "//evil\u3002example",  # ideographic full stop as the dot of a host
    "\u2100evil.example",  # "a/c" folds into a slash
    "http://localhost@evil.example/",
    "http://localhost:80@evil.example",
    "//localhost@evil.example",
    "http://localhost%40evil.example/",
    "https://localhost.evil.example/",
    "https://evil.example#@localhost/",
    "https://evil.example?@localhost/",
    "http://[::1]@evil.example",
    "https:evil.example",
    "http:/evil.example",
    "//evil.example:80",
    "JaVaScRiPt:alert(1)",
    "javascript://%0aalert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "/\ud800",  # a lone surrogate cannot go into a state or a header
    "x" * 5000,
]

# Values that look odd but stay on this site as paths: kept or refused, either is fine.
STAYS = ["/.//evil.example", "/..//evil.example", "/\u3002evil.example", "/a?next=//evil.example"]

ALL_BAD = DJANGO_BAD + FLASK_SECURITY_BAD + SOCIAL_CORE_BAD + OWN_BAD
STRING_BAD = [value for value in ALL_BAD if isinstance(value, str) and value]
HOSTS = ["testserver", "testserver2", "lp.com", "myapp.com", "localhost", None]


def test_the_lists_are_long_enough() -> None:
    assert len(STRING_BAD) >= 40
    assert len(set(STRING_BAD)) == len(STRING_BAD)


# safe_next itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ALL_BAD, ids=repr)
def test_bad_next_is_refused(value: Any) -> None:
    for host in HOSTS:
        assert safe_next(value, host) is None, host


@pytest.mark.parametrize(("value", "kept"), DJANGO_GOOD, ids=repr)
def test_django_good_next_is_kept(value: str, kept: str) -> None:
    assert safe_next(value, "testserver") == kept


@pytest.mark.parametrize(("value", "kept"), FLASK_SECURITY_GOOD, ids=repr)
def test_flask_security_good_next_is_kept(value: str, kept: str) -> None:
    assert safe_next(value, "lp.com") == kept


@pytest.mark.parametrize(("value", "kept"), SOCIAL_CORE_GOOD, ids=repr)
def test_social_core_good_next_is_kept(value: str, kept: str) -> None:
    assert safe_next(value, "myapp.com") == kept


def test_absolute_url_of_this_site_needs_the_host() -> None:
    assert safe_next("https://testserver/account", None) is None
    assert safe_next("https://testserver/account", "otherserver") is None
    assert safe_next("https://TestServer/account", "testserver") == "/account"


@pytest.mark.parametrize("value", STAYS, ids=repr)
def test_odd_paths_stay_on_this_site(value: str) -> None:
    kept = safe_next(value, "localhost")
    assert kept is None or stays_on_site(kept)


_URLISH = st.text(
    alphabet=st.sampled_from(
        list("/\\:@.%?#&=; \t\n\r\x00\x08\x7f")
        + list("25CcFf0aAdD")
        + list("evilxmplhtpsjavcrilocs")
        + sorted(LOOKALIKES)
        + ["\u3002", "\uff0f", "\u2100", "\u200b", "\u2028", "\ufeff", "\u00a0", "[", "]"]
    ),
    max_size=40,
)


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(prefix=st.sampled_from(["", "/", "//", "http://", "https://localhost", "\\"]), rest=_URLISH)
def test_whatever_is_kept_stays_on_this_site(prefix: str, rest: str) -> None:
    value = prefix + rest
    for host in ("localhost", None):
        kept = safe_next(value, host)
        if kept is None:
            continue
        assert stays_on_site(kept), (value, kept)
        assert not kept.startswith("//")
        assert all(char.isprintable() and char not in "\\\t\r\n " for char in kept), kept
        kept.encode("utf-8")  # goes into a signed state and a header


# Through the views --------------------------------------------------------------------------

VIEW_BAD = [
    value.replace("testserver", "localhost")  # as if the trick worked, it would be this site
    for value in STRING_BAD
    if len(value) <= 2048 and "\ud800" not in value  # a query string cannot carry these
]

_identities = count()


def link_with_next(
    client: FlaskClient,
    emulator: CaptureEmulator,
    next_value: str | None,
    *,
    page: str = "/account",
) -> Any:
    """Render the page with ``?next=``, take its button's token URL, and deliver a token."""
    query = {} if next_value is None else {"next": next_value}
    response = client.get(page, query_string=query)
    assert response.status_code == 200, next_value
    url = find_token_url(response.get_data(as_text=True), "google")
    return deliver_token(
        client, url, emulator.issue_social_token("google", f"n{next(_identities)}")
    )


@pytest.mark.parametrize("value", VIEW_BAD, ids=repr)
def test_bad_next_through_the_views_goes_home(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any, value: str
) -> None:
    response = link_with_next(client, emulator, value)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert last_flash(client) == ("success", ENGLISH["success"])


@pytest.mark.parametrize(
    ("value", "kept"),
    [(value.replace("testserver", "localhost"), kept) for value, kept in DJANGO_GOOD]
    + FLASK_SECURITY_GOOD
    + [("http://localhost/path/", "/path/"), ("/path/", "/path/"), ("/account?tab=2", None)],
    ids=repr,
)
def test_good_next_through_the_views_is_kept(
    client: FlaskClient, emulator: CaptureEmulator, signed_in: Any, value: str, kept: str | None
) -> None:
    response = link_with_next(client, emulator, value)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert stays_on_site(location)
    assert urlsplit(location).path == urlsplit(kept or value).path
    assert urlsplit(location).query == urlsplit(kept or value).query


NASTIEST = [r"/\github.com", "\t//github.com", "//localhost@evil.example", "/%5Cevil.example"]


@pytest.fixture
def site_with_login_view(capture_emulator: EmulatorServer) -> Flask:
    """A site whose sign-in page is Flask-Login's ``login_view`` (which takes a ``next``)."""

    def with_login(app: Flask) -> None:
        manager = LoginManager(app)
        manager.login_view = "sign_in_page"
        manager.user_loader(lambda user_id: None)  # nobody signs in with Flask-Login here

    app = make_site(site_config(capture_emulator), before=with_login)

    @app.route("/accounts")
    def accounts() -> str:
        return render_template_string(
            "{% for i in capture_link_identities() %}"
            "{{ capture_link_unlink_button(i, next=request.args.get('next')) }}{% endfor %}"
        )

    return app


@pytest.mark.parametrize("value", NASTIEST, ids=repr)
def test_every_exit_of_the_views_refuses_a_bad_next(
    site_with_login_view: Flask, capture_emulator: EmulatorServer, value: str
) -> None:
    """Not only success: cancel, a Capture error, an ended session and unlink redirect too."""
    emulator = capture_emulator.emulator
    client = site_with_login_view.test_client()
    locations = []

    sign_in(client, emulator, emulator.demo_email)
    page = client.get("/account", query_string={"next": value}).get_data(as_text=True)
    locations.append(deliver_token(client, find_token_url(page), None, method="GET"))  # cancel

    page = client.get("/account", query_string={"next": value}).get_data(as_text=True)
    emulator.set_fault(LINK, "unknown_code", times=1)
    locations.append(deliver_token(client, find_token_url(page), "c" * 40))  # Capture error

    identifier = emulator.add_identity(emulator.demo_email, "facebook", "fb")
    page = client.get("/accounts", query_string={"next": value}).get_data(as_text=True)
    assert identifier in page
    form = form_fields(page)
    locations.append(
        client.post("/capture-link/unlink", data={k: html.unescape(v) for k, v in form.items()})
    )

    page = client.get("/account", query_string={"next": value}).get_data(as_text=True)
    emulator.expire_access_tokens()
    locations.append(deliver_token(client, find_token_url(page), "d" * 40))  # sign in again

    for response in locations:
        assert response.status_code == 303
        location = response.headers["Location"]
        assert stays_on_site(location), location
        assert "github" not in location and "evil" not in location, location
    assert urlsplit(locations[-1].headers["Location"]).path == "/sign-in"


def test_browser_model_agrees_with_the_known_bypasses() -> None:
    # The model the assertions rely on must itself see these as leaving the site.
    for location in [r"/\github.com", "\t//github.com", r"\/github.com", "//github.com"]:
        assert urlsplit(browser_target(location)).netloc == "github.com", location
    assert not stays_on_site("https:evil.example")
    assert stays_on_site("/.//evil.example")


@pytest.mark.parametrize("value", [*NASTIEST, "https://evil.example/", "//evil.example"], ids=repr)
@pytest.mark.parametrize("outcome", ["success", "cancel"])
def test_a_state_carrying_a_bad_next_still_redirects_home(
    app: Flask,
    client: FlaskClient,
    emulator: CaptureEmulator,
    signed_in: dict[str, Any],
    value: str,
    outcome: str,
) -> None:
    """``next`` is checked again before the redirect, should a state ever carry a bad one."""
    with client.session_transaction() as session, app.test_request_context("/"):
        made = state.issue(session, state.LINK, f"sign-in:{recorded_sign_in(session)}", value)
    url = f"http://localhost/capture-link/token?state={made}"
    token = emulator.issue_social_token("google", "layered") if outcome == "success" else None
    response = deliver_token(client, url, token, method="GET")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
