"""A session restored from the remember-me cookie confirms its password before linking or
unlinking; signing out ends remember-me, a copied cookie too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..helpers import LINK, UNLINK

pytestmark = pytest.mark.browser


def test_remembered_session_confirms_the_password_then_links(visit, site, emulator):
    visitor = visit(site)
    visitor.goto("/login")
    visitor.page.get_by_label("Remember me").check()
    visitor.submit_sign_in(emulator.demo_email, emulator.demo_password)
    visitor.wait_for("/account")

    # The browser closes: its session cookie goes, the remember-me cookie stays.
    context = visitor.page.context
    assert {c["name"] for c in context.cookies()} >= {"session", "remember_token"}
    context.clear_cookies(name="session")
    visitor.goto("/account")
    visitor.wait_for("/account")  # still signed in, from the remember-me cookie
    expect(visitor.page.locator(".who")).to_have_text(emulator.demo_email)

    visitor.link_button("Google").click()  # not fresh: to the password, not to Social Login
    visitor.page.wait_for_url(f"{site.url}/login?next=**")
    expect(visitor.flash("status")).to_contain_text("Please enter your password again")
    expect(visitor.page.locator(".lead")).to_contain_text(f"Signed in as {emulator.demo_email}")
    assert emulator.calls_to(LINK) == []

    visitor.page.get_by_label("Password").fill(emulator.demo_password)
    visitor.page.get_by_role("button", name="Sign in").click()
    visitor.wait_for("/account")  # back where they were

    visitor.start_link("Google")  # one more click, and the link goes through
    visitor.sign_in_at_provider("alice")
    visitor.wait_for("/account")
    expect(visitor.flash("status")).to_contain_text("Your account is now linked")
    assert visitor.identities() == ["alice"]
    assert [call.stat for call in emulator.calls_to(LINK)] == ["ok"]


def test_remembered_session_confirms_the_password_then_unlinks(visit, site, emulator):
    emulator.add_identity(emulator.demo_email, "google", "alice")
    visitor = visit(site)
    visitor.goto("/login")
    visitor.page.get_by_label("Remember me").check()
    visitor.submit_sign_in(emulator.demo_email, emulator.demo_password)
    visitor.wait_for("/account")
    visitor.page.context.clear_cookies(name="session")

    visitor.goto("/account")
    visitor.page.get_by_role("button", name="Unlink alice").click()
    visitor.page.wait_for_url(f"{site.url}/login?next=**")
    expect(visitor.flash("status")).to_contain_text("Please enter your password again")
    assert emulator.calls_to(UNLINK) == []

    visitor.page.get_by_label("Password").fill(emulator.demo_password)
    visitor.page.get_by_role("button", name="Sign in").click()
    visitor.wait_for("/account")
    visitor.page.get_by_role("button", name="Unlink alice").click()
    visitor.wait_for("/account")
    expect(visitor.flash("status")).to_contain_text("The account was unlinked")
    assert visitor.identities() == []
    assert [call.stat for call in emulator.calls_to(UNLINK)] == ["ok"]


def sign_in_remembered(visitor, emulator):
    visitor.goto("/login")
    visitor.page.get_by_label("Remember me").check()
    visitor.submit_sign_in(emulator.demo_email, emulator.demo_password)
    visitor.wait_for("/account")


def test_sign_out_ends_remember_me_and_a_copied_cookie_dies(visit, site, emulator):
    """A shared computer: the review found the remember cookie still there after sign-out,
    its value the same at every sign-in, so the next person (or a copy) was the user."""
    visitor = visit(site)
    sign_in_remembered(visitor, emulator)
    context = visitor.page.context
    copied = [c for c in context.cookies() if c["name"] == "remember_token"]
    assert len(copied) == 1

    visitor.page.get_by_role("button", name="Sign out").click()
    visitor.wait_for("/login")
    expect(visitor.flash("status")).to_contain_text("You are signed out")
    assert [c for c in context.cookies() if c["name"] == "remember_token"] == []

    # The next person at this browser, after it dropped its session: nobody is signed in.
    context.clear_cookies(name="session")
    visitor.goto("/account")
    visitor.page.wait_for_url(f"{site.url}/login?next=**")
    expect(visitor.page.locator(".lead")).to_contain_text("Use your account's email address")

    # A copy of the cookie, taken before the sign-out, in another browser: dead too.
    thief = visit(site)
    thief.page.context.add_cookies(copied)
    thief.goto("/account")
    thief.page.wait_for_url(f"{site.url}/login?next=**")
    expect(thief.page.locator(".lead")).to_contain_text("Use your account's email address")

    # Signing in again makes a new value: the old copy stays dead.
    sign_in_remembered(visitor, emulator)
    fresh = [c for c in context.cookies() if c["name"] == "remember_token"]
    assert len(fresh) == 1 and fresh[0]["value"] != copied[0]["value"]
    thief.goto("/account")
    thief.page.wait_for_url(f"{site.url}/login?next=**")
