"""The ``capture_link`` blueprint, which every view module of this package adds its views to.

Its templates (the bounce page, the merge page, the macros) are the package's
``flask_capture_link/templates``.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("capture_link", "flask_capture_link", template_folder="templates")
