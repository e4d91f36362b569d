import pytest
from yoursite import User, create_app

from flask_capture_link.testing import deliver_token, find_token_url, flashes, sign_in


@pytest.fixture
def app(capture_emulator):
    return create_app({"TESTING": True, **capture_emulator.settings()})


@pytest.fixture
def client(app):
    return app.test_client()


def test_user_links_google(client, capture_emulator):
    emulator = capture_emulator.emulator
    sign_in(client, emulator, emulator.demo_email, user=User(emulator.demo_email))
    token_url = find_token_url(client.get("/account"), "google")
    response = deliver_token(client, token_url, emulator.issue_social_token("google", "alice"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert flashes(client)[-1][0] == "success"
    assert emulator.identities(emulator.demo_email)[0]["domain"] == "google.com"


def test_sign_in_page_then_cancel(client, capture_emulator):
    emulator = capture_emulator.emulator
    form = {"email": emulator.demo_email, "password": emulator.demo_password}
    assert client.post("/login", data=form).headers["Location"] == "/account"
    token_url = find_token_url(client.get("/account"), "google")
    deliver_token(client, token_url, None)  # the user cancelled at Google
    assert flashes(client)[-1][0] == "info"
    assert emulator.identities(emulator.demo_email) == []


def test_sign_in_page_says_what_went_wrong(client, capture_emulator):
    emulator = capture_emulator.emulator
    form = {"email": emulator.demo_email, "password": "not the password"}
    client.post("/login", data=form)
    assert flashes(client)[-1] == ("error", "Wrong email or password.")
    emulator.set_fault("*", "unavailable")  # Capture is down
    form["password"] = emulator.demo_password
    client.post("/login", data=form)
    assert flashes(client)[-1][1].startswith("Capture is unavailable")


def test_existing_tests_pass_without_capture_settings():
    app = create_app({"TESTING": True})  # no Capture settings: only their first use fails
    assert app.test_client().get("/account").status_code == 302  # to the sign-in page
