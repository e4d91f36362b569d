"""A small site with its own users (Flask-Login) and Flask-Capture-Link."""

from flask import Flask, flash, redirect, render_template_string, request, url_for
from flask_login import LoginManager, UserMixin, login_required, login_user

from flask_capture_link import CaptureError, CaptureLink
from flask_capture_link.errors import InvalidCredentials

capture_link = CaptureLink()
login_manager = LoginManager()
login_manager.login_view = "login"

ACCOUNT = """
{% for category, message in get_flashed_messages(with_categories=true) %}
  <p class="flash {{ category }}">{{ message }}</p>
{% endfor %}
{% for identity in capture_link_identities() %}<p>{{ identity.label }}</p>{% endfor %}
{{ capture_link_button("google", next=request.path) }}
"""


class User(UserMixin):
    def __init__(self, email):
        self.id = email


@login_manager.user_loader
def load_user(user_id):
    return User(user_id)


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY="dev")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    login_manager.init_app(app)
    capture_link.init_app(app)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            email, password = request.form["email"], request.form["password"]
            try:
                tokens = capture_link.client.sign_in(email, password)
            except InvalidCredentials:
                flash("Wrong email or password.", "error")
            except CaptureError:  # Capture is down or refused the site: not the user's fault
                flash("Capture is unavailable; please try again in a few minutes.", "error")
            else:
                login_user(User(email))
                capture_link.store_tokens(tokens)  # after login_user: the user's tokens
                return redirect(url_for("account"))
        return "<form method=post><input name=email><input name=password></form>"

    @app.route("/account")
    @login_required
    def account():
        return render_template_string(ACCOUNT)

    return app
