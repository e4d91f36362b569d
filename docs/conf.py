"""Sphinx configuration. Builds offline: no intersphinx, no remote theme or assets."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

import flask_capture_link  # noqa: E402

project = "Flask-Capture-Link"
copyright = "the Flask-Capture-Link authors"
release = flask_capture_link.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "config_table",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Types from other projects are shown by name; without intersphinx there is nothing to link.
nitpicky = False

html_theme = "alabaster"
html_theme_options = {
    "description": "Link social identities to Capture accounts",
    "fixed_sidebar": True,
    "page_width": "1240px",
}
# Local CSS (no remote theme): the pages fit a 1280 px screen (tests/browser/test_browser_docs.py).
html_static_path = ["_static"]
html_css_files = ["fit.css"]
