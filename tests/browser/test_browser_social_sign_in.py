"""Signing in with a linked identity, and the merge on sign-in, as a user does it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from flask_capture_link.emulator.capture import SOCIAL_SIGN_IN
from flask_capture_link.emulator.seed import SOCIAL_DEMO_EMAIL

from ..helpers import LINK, SIGN_IN

pytestmark = pytest.mark.browser


def sign_in_button(visitor, provider):
    return visitor.page.get_by_role("link", name=f"Sign in with {provider}")


def sign_in_with(visitor, site, provider, account):
    """Click the page's "Sign in with <provider>" button and sign in at Social Login as
    ``account``."""
    sign_in_button(visitor, provider).click()
    visitor.page.wait_for_url(site.social_login_url + "/**")
    visitor.sign_in_at_provider(account)


def test_link_google_sign_out_and_sign_in_with_google(visit, site, emulator):
    visitor = visit(site)
    visitor.sign_in(emulator.demo_email, emulator.demo_password)
    visitor.start_link("Google")
    visitor.sign_in_at_provider("alice")
    visitor.wait_for("/account")
    assert visitor.identities() == ["alice"]

    visitor.page.get_by_role("button", name="Sign out").click()
    visitor.wait_for("/login")
    sign_in_with(visitor, site, "Google", "alice")
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("You are signed in.")
    expect(visitor.page.locator(".who")).to_have_text(emulator.demo_email)
    assert visitor.identities() == ["alice"]
    [call] = emulator.calls_to(SOCIAL_SIGN_IN)
    assert call.stat == "ok"
    assert "merge_token" not in call.param_names
    assert [c.stat for c in emulator.calls_to(SIGN_IN)] == ["ok"]  # the first, by password


def test_sign_in_with_an_unlinked_identity_says_how_to_link_it(visit, site, emulator):
    visitor = visit(site)
    visitor.goto("/login")
    sign_in_with(visitor, site, "Facebook", "newcomer")
    visitor.page.wait_for_url(f"{site.url}/login**")

    expect(visitor.flash("alert")).to_contain_text("not linked to a profile here yet")
    [call] = emulator.calls_to(SOCIAL_SIGN_IN)
    assert (call.stat, call.code, call.error) == ("error", 310, "record_not_found")
    visitor.goto("/account")
    visitor.wait_for("/login?next=%2Faccount")  # nobody signed in


def test_demo_user_merges_google_by_password(visit, site, emulator):
    visitor = visit(site)
    visitor.goto("/login")
    sign_in_with(visitor, site, "Google", "demo-google")
    visitor.wait_for("/capture-link/merge")

    expect(visitor.flash("status")).to_contain_text("You already have an account")
    expect(visitor.page.get_by_role("heading", level=1)).to_have_text("Link your accounts")
    assert emulator.identities(emulator.demo_email) == []
    # The merge token stays on the server: not in the page.
    [first] = emulator.calls_to(SOCIAL_SIGN_IN)
    assert (first.stat, first.code, first.error) == ("error", 380, "email_address_in_use")

    visitor.page.get_by_label("Email address").fill(emulator.demo_email)
    visitor.page.get_by_label("Password").fill("not-the-password")
    visitor.page.get_by_role("button", name="Link and sign in").click()
    visitor.wait_for("/capture-link/merge")  # a wrong password keeps the merge
    expect(visitor.flash("alert")).to_be_visible()
    assert emulator.identities(emulator.demo_email) == []

    visitor.page.get_by_label("Email address").fill(emulator.demo_email)
    visitor.page.get_by_label("Password").fill(emulator.demo_password)
    visitor.page.get_by_role("button", name="Link and sign in").click()
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("Your accounts are now linked")
    expect(visitor.page.locator(".who")).to_have_text(emulator.demo_email)
    expect(visitor.page.locator(".identity-domain")).to_have_text("google.com")
    assert len(visitor.identities()) == 1
    assert [p["domain"] for p in emulator.identities(emulator.demo_email)] == ["google.com"]
    calls = emulator.calls_to(SIGN_IN)
    assert [c.stat for c in calls] == ["error", "ok"]
    assert all("merge_token" in c.param_names for c in calls)
    assert emulator.calls_to(LINK) == []  # linked by the merge, not by a link call


def test_sam_merges_google_by_signing_in_with_facebook(visit, site, emulator):
    visitor = visit(site)
    visitor.goto("/login")
    sign_in_with(visitor, site, "Google", "sam-google")
    visitor.wait_for("/capture-link/merge")
    expect(visitor.page.locator(".lead")).to_contain_text("you sign in to it with Facebook")

    sign_in_with(visitor, site, "Facebook", "sam-facebook")
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("Your accounts are now linked")
    expect(visitor.page.locator(".who")).to_have_text(SOCIAL_DEMO_EMAIL)
    assert sorted(p["domain"] for p in emulator.identities(SOCIAL_DEMO_EMAIL)) == [
        "facebook.com",
        "google.com",
    ]
    first, second = emulator.calls_to(SOCIAL_SIGN_IN)
    assert (first.code, first.error) == (380, "email_address_in_use")
    assert "merge_token" not in first.param_names
    assert second.stat == "ok"
    assert "merge_token" in second.param_names


def test_cancel_the_merge_links_nothing(visit, site, emulator):
    visitor = visit(site)
    visitor.goto("/login")
    sign_in_with(visitor, site, "Google", "demo-google")
    visitor.wait_for("/capture-link/merge")

    visitor.page.get_by_role("button", name="Cancel and link nothing").click()
    visitor.page.wait_for_url(f"{site.url}/login**")

    expect(visitor.flash("status")).to_contain_text("Nothing was linked")
    assert emulator.identities(emulator.demo_email) == []
    assert emulator.calls_to(SIGN_IN) == []
    visitor.goto("/capture-link/merge")  # the merge is gone
    visitor.page.wait_for_url(f"{site.url}/login**")
    expect(visitor.flash("alert")).to_contain_text("expired or was already used")
