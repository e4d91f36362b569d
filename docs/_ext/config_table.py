"""``.. capture-link-config::``: the table of every ``CAPTURE_LINK_*`` key, made from
``flask_capture_link/config.py`` (its ``#:`` comments and defaults) at build time, so the docs
cannot drift from the code."""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.nodes import nested_parse_with_titles


def config_rows() -> list[tuple[str, str, str]]:
    """``(key, default, description)`` for every key in ``config.DEFAULTS``, in source order."""
    from flask_capture_link import config

    analyzer = ModuleAnalyzer.for_module(config.__name__)
    docs = analyzer.find_attr_docs()
    order = analyzer.tagorder
    rows = []
    for name in sorted(config.DEFAULTS, key=lambda n: order.get(n, 0)):
        comment = " ".join(line.strip() for line in docs.get(("", name), [])).strip()
        rows.append((config.PREFIX + name, _shown(config.DEFAULTS[name]), comment))
    return rows


def _shown(value: Any) -> str:
    if value is None:
        return "``None`` (required or unset)"
    return f"``{value!r}``"


class ConfigTable(Directive):
    """Emit a list-table of the configuration keys."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = config_rows()
        for key, _default, comment in rows:
            if not comment:
                raise self.error(f"{key} has no #: comment in flask_capture_link/config.py")
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 20 55", ""]
        lines += ["   * - Key", "     - Default", "     - Meaning"]
        for key, default, comment in rows:
            lines += [f"   * - ``{key}``", f"     - {default}", f"     - {comment}"]
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, "config_table"), node)
        if not any(isinstance(child, nodes.table) for child in node.children):
            # MyST parses nested content as Markdown: the directive must be used from reST
            # (a .rst page, or an eval-rst block in a Markdown page).
            raise self.error("the config table did not parse: use this directive from reST")
        return node.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("capture-link-config", ConfigTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
