"""An access token that expires while the user is at the provider's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..helpers import ENTITY, LINK, REFRESH

pytestmark = pytest.mark.browser

ONE_HOUR_AND_A_BIT = 3601


def test_with_client_secret_the_token_is_refreshed_and_the_link_succeeds(visit, site, emulator):
    visitor = visit(site)
    visitor.sign_in(emulator.demo_email, emulator.demo_password)
    visitor.start_link("Google")
    emulator.advance_clock(ONE_HOUR_AND_A_BIT)
    calls_before = len(emulator.calls)

    visitor.sign_in_at_provider("alice")
    visitor.wait_for("/account")

    expect(visitor.flash("status")).to_contain_text("Your account is now linked")
    assert visitor.identities() == ["alice"]
    # The site sends a notice, so its first call after the provider is the list of identities
    # (to tell which one the link adds): that call meets the expired token, which is refreshed
    # once; the link itself is made once, with the new token.
    first = next(c for c in emulator.calls[calls_before:] if c.endpoint in (LINK, ENTITY))
    assert (first.endpoint, first.stat, first.error) == (ENTITY, "error", "access_token_expired")
    assert [(c.stat, c.error) for c in emulator.calls_to(LINK)] == [("ok", None)]
    # The sign-in's code exchange, then the one refresh.
    grants = [c for c in emulator.calls_to(REFRESH) if "refresh_token" in c.param_names]
    assert [c.stat for c in grants] == ["ok"]
    assert len(emulator.identities(emulator.demo_email)) == 1


def test_without_client_secret_the_user_is_sent_to_sign_in(visit, site_without_secret, emulator):
    visitor = visit(site_without_secret)
    visitor.sign_in(emulator.demo_email, emulator.demo_password)
    visitor.start_link("Google")
    emulator.advance_clock(ONE_HOUR_AND_A_BIT)

    visitor.sign_in_at_provider("alice")
    visitor.wait_for("/login?next=%2Faccount")

    expect(visitor.flash("alert")).to_contain_text("Your sign-in has timed out")
    expect(visitor.page.get_by_label("Email address")).to_have_value(emulator.demo_email)
    assert [(c.stat, c.code) for c in emulator.calls_to(LINK)] == [("error", 414)]
    assert emulator.calls_to(REFRESH) == []
    assert emulator.identities(emulator.demo_email) == []

    # Signing in again, still signed in to the site, gets fresh tokens and goes back.
    visitor.page.get_by_label("Password").fill(emulator.demo_password)
    visitor.page.get_by_role("button", name="Sign in").click()
    visitor.wait_for("/account")
    expect(visitor.page.get_by_role("heading", level=1)).to_have_text("Connected accounts")
