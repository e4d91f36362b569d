"""The built docs fit a laptop screen: at 1280 px no page scrolls sideways, no code block hides
its end, and no table reaches past the text (docs/_static/fit.css)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

#: What overflows sideways on the page now: the page itself, code blocks, tables.
MEASURE = """() => {
  const doc = document.documentElement;
  const body = document.querySelector("div.body").getBoundingClientRect();
  const label = (el) => (el.textContent || "").trim().slice(0, 60);
  return {
    page: doc.scrollWidth - doc.clientWidth,
    code: [...document.querySelectorAll("pre")]
      .filter((el) => el.scrollWidth > el.clientWidth + 1).map(label),
    tables: [...document.querySelectorAll("div.body table")]
      .filter((el) => el.getBoundingClientRect().right > body.right + 1
                      || el.scrollWidth > el.clientWidth + 1).map(label),
  };
}"""


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The docs built as ``make docs`` builds them (Sphinx is in requirements/test.txt)."""
    out = tmp_path_factory.mktemp("docs-html")
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(ROOT / "docs"), str(out)],
        check=True,
        cwd=ROOT,
    )
    yield out


def test_every_page_fits_1280_px(browser: Browser, built_docs: Path) -> None:
    pages = sorted(built_docs.glob("*.html"))
    assert len(pages) >= 15
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        wide: dict[str, object] = {}
        for html in pages:
            page.goto(html.as_uri())
            found = page.evaluate(MEASURE)
            if found["page"] > 0 or found["code"] or found["tables"]:
                wide[html.name] = found
        assert wide == {}, f"too wide at 1280 px: {wide}"
        # The local stylesheet is what makes it so, not a remote theme.
        page.goto((built_docs / "configuration.html").as_uri())
        sheets = page.evaluate("[...document.styleSheets].map((s) => s.href || '')")
        assert any("/_static/fit.css" in href for href in sheets)
        assert all(href.startswith("file:") for href in sheets if href)
    finally:
        context.close()
