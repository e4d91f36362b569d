"""The exceptions of Capture's answers, under the name the documentation gives them.

They live with the Flask-free client (:mod:`flask_capture_link.client.errors`); this module is
their public address for sites: ``from flask_capture_link.errors import AccountAlreadyLinked``.
"""

from .client.errors import *  # noqa: F403 - every public name, as listed there
from .client.errors import __all__ as __all__
