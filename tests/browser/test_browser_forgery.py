"""Link CSRF: an attacker's page makes the victim's browser deliver the attacker's Social Login
token to the victim's token URL. Nothing may be linked, and the victim is told."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from ..helpers import LINK, UNLINK

pytestmark = pytest.mark.browser

INVALID_STATE = "did not start on this page"


def token_url_of(visitor, provider="Google"):
    """The token URL (with its state) that a link button on the visitor's page carries."""
    href = visitor.link_button(provider).get_attribute("href")
    return parse_qs(urlsplit(href).query)["token_url"][0]


def linked_to_victim(emulator):
    return [p["identifier"] for p in emulator.identities(emulator.demo_email)]


def test_forged_token_post_without_state(visit, site, emulator, attacker_site):
    victim = visit(site)
    victim.sign_in(emulator.demo_email, emulator.demo_password)
    token = emulator.issue_social_token("google", "mallory")

    victim.page.goto(attacker_site.auto_post(site.url + "/capture-link/token", {"token": token}))

    expect(victim.flash("alert")).to_contain_text(INVALID_STATE)
    assert emulator.calls_to(LINK) == []
    assert linked_to_victim(emulator) == []


def test_forged_unlink_post(visit, site, emulator, attacker_site):
    identifier = emulator.add_identity(emulator.demo_email, "google", "victim")
    victim = visit(site)
    victim.sign_in(emulator.demo_email, emulator.demo_password)

    victim.page.goto(
        attacker_site.auto_post(site.url + "/capture-link/unlink", {"identifier": identifier})
    )
    victim.wait_for("/account")

    # Unlinking is never cross-site: the forged POST is refused without a word, and without
    # touching the victim's session (they stay signed in).
    expect(victim.page.locator(".flash")).to_have_count(0)
    assert emulator.calls_to(UNLINK) == []
    assert linked_to_victim(emulator) == [identifier]


@pytest.mark.parametrize("path", ["/capture-link/token", "/capture-link/unlink"])
def test_forged_post_leaves_the_victim_signed_in(path, visit, site, emulator, attacker_site):
    victim = visit(site)
    victim.sign_in(emulator.demo_email, emulator.demo_password)
    token = emulator.issue_social_token("google", "mallory")

    victim.page.goto(attacker_site.auto_post(site.url + path, {"token": token}))
    victim.wait_for("/account")

    if path.endswith("/token"):  # bounced, then refused with the victim's own session
        expect(victim.flash("alert")).to_contain_text(INVALID_STATE)
    else:  # unlinking is never cross-site: refused silently
        expect(victim.page.locator(".flash")).to_have_count(0)
    assert urlsplit(victim.page.url).path == "/account"
    expect(victim.page.get_by_role("button", name="Sign out")).to_be_visible()


def test_forged_token_post_with_a_used_state(visit, site, emulator, attacker_site):
    victim = visit(site)
    victim.sign_in(emulator.demo_email, emulator.demo_password)
    used_token_url = token_url_of(victim)
    victim.start_link("Google")
    victim.sign_in_at_provider("victim")
    victim.wait_for("/account")
    expect(victim.flash("status")).to_contain_text("now linked")
    token = emulator.issue_social_token("google", "mallory")

    victim.page.goto(attacker_site.auto_post(used_token_url, {"token": token}))
    victim.wait_for("/account")

    expect(victim.flash("alert")).to_contain_text(INVALID_STATE)
    assert victim.identities() == ["victim"]
    assert [c.stat for c in emulator.calls_to(LINK)] == ["ok"]  # the victim's own link only
    assert linked_to_victim(emulator) == ["https://www.google.com/profiles/victim"]


def test_forged_token_post_with_the_attackers_own_state(visit, site, emulator, attacker_site):
    emulator.add_user("mallory@example.com", "mallory-password")
    attacker = visit(site)
    attacker.sign_in("mallory@example.com", "mallory-password")
    attackers_token_url = token_url_of(attacker)
    token = emulator.issue_social_token("google", "mallory")
    victim = visit(site)
    victim.sign_in(emulator.demo_email, emulator.demo_password)

    victim.page.goto(attacker_site.auto_post(attackers_token_url, {"token": token}))
    victim.wait_for("/account")

    expect(victim.flash("alert")).to_contain_text(INVALID_STATE)
    assert victim.identities() == []
    assert emulator.calls_to(LINK) == []
    assert linked_to_victim(emulator) == []
    assert emulator.identities("mallory@example.com") == []
