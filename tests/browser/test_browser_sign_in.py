"""Signing in and out of the example site with an Identity Cloud email and password."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..helpers import LINK, SIGN_IN

pytestmark = pytest.mark.browser


def test_sign_in_shows_connected_accounts_and_sign_out_ends_it(visit, site, emulator):
    visitor = visit(site)
    page = visitor.page

    visitor.goto("/")
    visitor.wait_for("/login?next=%2Faccount")
    expect(visitor.flash("status")).to_contain_text("Please sign in")
    demo = page.get_by_role("complementary", name="Demo account")
    expect(demo).to_contain_text(emulator.demo_email)
    expect(demo).to_contain_text(emulator.demo_password)

    visitor.submit_sign_in(emulator.demo_email, "not-the-password")
    expect(visitor.flash("alert")).to_contain_text("email address and password do not match")
    expect(page.get_by_label("Email address")).to_have_value(emulator.demo_email)

    visitor.submit_sign_in(emulator.demo_email, emulator.demo_password)
    visitor.wait_for("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connected accounts")
    expect(page.get_by_text("No social accounts are linked yet.")).to_be_visible()
    for provider in ("Google", "Facebook", "LinkedIn"):
        expect(visitor.link_button(provider)).to_be_visible()
    assert [(c.stat, c.error) for c in emulator.calls_to(SIGN_IN)] == [
        ("error", "invalid_credentials"),
        ("ok", None),
    ]

    page.get_by_role("button", name="Sign out").click()
    visitor.wait_for("/login")
    expect(visitor.flash("status")).to_have_text("You are signed out.")
    visitor.goto("/account")
    visitor.wait_for("/login?next=%2Faccount")
    assert emulator.calls_to(LINK) == []
