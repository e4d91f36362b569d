"""The ``capture_link`` blueprint's views, a module per concern:

* :mod:`.blueprint` -- the blueprint itself;
* :mod:`.flow` -- how every view reads its request and ends it (the state spent, refusals,
  the bounce of a cookieless POST, the outcome flashed and the redirect);
* :mod:`.link` -- the token URL, unlink and re-authentication;
* :mod:`.social` -- sign in with a linked identity, and merge on sign-in.

Importing the package registers every view on :data:`blueprint`, which
:meth:`CaptureLink.init_app <flask_capture_link.CaptureLink.init_app>` registers on the app.
"""

from __future__ import annotations

from . import link, social
from .blueprint import blueprint

__all__ = ["blueprint", "link", "social"]
