"""Linking and unlinking identities through Social Login, as a user does it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Response, expect

from ..helpers import LINK, UNLINK

pytestmark = pytest.mark.browser


def test_link_google_through_the_cross_site_post_and_the_bounce(visit, site, emulator):
    visitor = visit(site)
    visitor.sign_in(emulator.demo_email, emulator.demo_password)
    seen: list[Response] = []
    visitor.page.on("response", lambda response: seen.append(response))

    visitor.start_link("Google")
    visitor.sign_in_at_provider("alice")
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("Your account is now linked")
    assert visitor.identities() == ["alice"]
    expect(visitor.page.locator(".identity-domain")).to_have_text("google.com")
    [call] = emulator.calls_to(LINK)
    assert call.stat == "ok"
    assert {"token", "access_token", "flow", "flow_version"} <= set(call.param_names)
    assert call.query_param_names == ()
    assert [p["identifier"] for p in emulator.identities(emulator.demo_email)] == [
        "https://www.google.com/profiles/alice"
    ]

    # Social Login's POST came without the session cookie and got the bounce page; its
    # same-site POST, with the cookie, linked and redirected.
    token_posts = [r for r in seen if urlsplit(r.url).path == "/capture-link/token"]
    assert [(r.request.method, r.status) for r in token_posts] == [("POST", 200), ("POST", 303)]
    first, second = (parse_qs(r.request.post_data or "") for r in token_posts)
    assert set(first) == {"token"}
    assert set(second) == {"token", "state", "capture_link_bounced"}
    assert "form-action 'self'" in token_posts[0].headers["content-security-policy"]
    assert urlsplit(token_posts[0].request.headers["referer"]).hostname == "localhost"
    # The social token travelled in form bodies only, never in a URL.
    assert not [r.url for r in seen if "token" in parse_qs(urlsplit(r.url).query)]


def test_link_identity_already_linked_to_another_user(visit, site, emulator):
    emulator.add_identity(emulator.demo_email, "google", "shared")
    emulator.add_user("bob@example.com", "bob-password", display_name="Bob")
    visitor = visit(site)
    visitor.sign_in("bob@example.com", "bob-password")

    visitor.start_link("Google")
    visitor.sign_in_at_provider("shared")
    visitor.wait_for("/account")

    expect(visitor.flash("alert")).to_contain_text("already linked to a profile (yours or another")
    assert visitor.identities() == []
    [call] = emulator.calls_to(LINK)
    assert (call.stat, call.code, call.error) == ("error", 361, "unique_violation")
    assert emulator.identities("bob@example.com") == []
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_cancel_at_the_provider(visit, site, emulator):
    visitor = visit(site)
    visitor.sign_in(emulator.demo_email, emulator.demo_password)

    visitor.start_link("Facebook")
    visitor.page.get_by_role("button", name="Cancel").click()
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("Linking was cancelled")  # info, no alert
    expect(visitor.page.locator(".flash-info")).to_have_count(1)
    assert visitor.identities() == []
    assert emulator.calls_to(LINK) == []
    assert emulator.identities(emulator.demo_email) == []


def test_unlink(visit, site, emulator):
    emulator.add_identity(emulator.demo_email, "google", "alice")
    emulator.add_identity(emulator.demo_email, "linkedin", "alice-li")
    visitor = visit(site)
    visitor.sign_in(emulator.demo_email, emulator.demo_password)
    assert visitor.identities() == ["alice", "alice-li"]

    visitor.page.get_by_role("button", name="Unlink alice-li").click()
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("The account was unlinked")
    assert visitor.identities() == ["alice"]
    [call] = emulator.calls_to(UNLINK)
    assert call.stat == "ok"
    assert [p["domain"] for p in emulator.identities(emulator.demo_email)] == ["google.com"]
