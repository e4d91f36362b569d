"""The extension objects, created once and bound to each app in :func:`example_app.create_app`."""

from __future__ import annotations

from flask_login import LoginManager

from flask_capture_link import CaptureLink

#: Links social identities to the signed-in user's Capture account.
capture_link = CaptureLink()

#: Keeps who is signed in; the user is their email address, kept in the session.
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see your connected accounts."
login_manager.login_message_category = "info"
# A session restored from the remember-me cookie confirms the password before changing sign-in
# methods: the extension sends it here, and back to the page after.
login_manager.refresh_view = "auth.login"
login_manager.needs_refresh_message = "Please enter your password again to continue."
login_manager.needs_refresh_message_category = "info"
