"""The docs' examples are real files that the suite runs, and the README leads to every page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The body of the section under ``heading`` (a whole heading line), to the next heading."""
    return re.split(r"\n#+ ", text.split(f"\n{heading}\n", 1)[1], maxsplit=1)[0]


#: ``<!-- file: PATH -->`` right before a fenced block: the block is that file, whole.
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```\n", re.DOTALL)

PRINTED = dict(FILE_BLOCK.findall(page("testing.md")))
PRINTED.update(FILE_BLOCK.findall(page("token-storage.md")))


def test_the_testing_example_is_printed_whole() -> None:
    assert set(FILE_BLOCK.findall(page("testing.md"))) >= {
        ("tests/docs/yoursite.py", (ROOT / "tests/docs/yoursite.py").read_text("utf-8")),
    }
    assert {"tests/docs/yoursite.py", "tests/docs/test_yoursite.py"} <= set(PRINTED)


def test_the_token_table_of_the_example_site_is_printed_whole() -> None:
    assert "example_app/tokens.py" in PRINTED


@pytest.mark.parametrize("path", sorted(PRINTED))
def test_docs_block_equals_the_file(path: str) -> None:
    assert PRINTED[path] == (ROOT / path).read_text(encoding="utf-8"), (
        f"docs/testing.md's block for {path} differs from the file; copy one onto the other"
    )


def test_every_file_of_the_example_is_printed() -> None:
    files = {f"tests/docs/{p.name}" for p in (ROOT / "tests" / "docs").glob("*.py")}
    assert files == {path for path in PRINTED if path.startswith("tests/docs/")}


def test_install_today_and_the_future_command_is_marked() -> None:
    install = section(page("quickstart.md"), "## Install")
    assert "pip install Flask-Capture-Link" not in install.split("not published yet")[0]
    assert "python -m build" in install
    assert "not on a package index yet" in README.lower()


def test_the_outcomes_table_shows_each_flash_category() -> None:
    from flask_capture_link.outcomes import OUTCOMES

    lines = page("outcomes.md").splitlines()
    rows = [line.split(" | ") for line in lines if line.startswith("| ")]
    checked = 0
    for row in rows[1:]:
        key, category = row[1].strip("`"), row[2].strip("`")
        if key in OUTCOMES:
            assert OUTCOMES[key].category == category, key
            checked += 1
    assert checked >= 12


# The README is short and leads to every page ----------------------------------------------

#: Pages of the docs, but the root that holds the toctrees.
PAGE_TYPES = (".md", ".rst")
PAGES = sorted(p.name for p in DOCS.iterdir() if p.suffix in PAGE_TYPES and p.stem != "index")

#: ``[text](target)`` in Markdown, the target without its ``#anchor``.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 150


#: The README's links are absolute (a registry shows it as the package's description): the
#: built docs' pages, and the repository's files.
DOCS_URL = "https://flask-capture-link.readthedocs.io/en/latest/"
REPO_URL = "https://github.com/flask-capture-link/flask-capture-link/blob/main/"


def linked_pages() -> list[str]:
    """The docs pages the README links, by name (``quickstart``)."""
    return [
        t.removeprefix(DOCS_URL).removesuffix(".html")
        for t in LINK.findall(README)
        if t.startswith(DOCS_URL) and t != DOCS_URL
    ]


def test_every_page_the_readme_links_exists() -> None:
    pages = linked_pages()
    files = [t.removeprefix(REPO_URL) for t in LINK.findall(README) if t.startswith(REPO_URL)]
    assert pages and files, "the README links no page"
    missing = [p for p in pages if not any((DOCS / p).with_suffix(s).exists() for s in PAGE_TYPES)]
    missing += [f for f in files if not (ROOT / f).exists()]
    assert missing == []


def test_the_readme_links_every_docs_page() -> None:
    # changes.md only includes CHANGES.md, which the README links itself.
    assert {Path(p).stem for p in PAGES} - {"changes"} <= set(linked_pages())


def test_every_docs_page_is_in_the_toctree() -> None:
    index = page("index.md")
    listed = [
        line.strip()
        for block in re.findall(r"```\{toctree\}\n(.*?)```", index, re.DOTALL)
        for line in block.splitlines()
        if line.strip() and not line.startswith(":")
    ]
    assert sorted(listed) == sorted(Path(p).stem for p in PAGES)
    assert len(listed) == len(set(listed))


# The configuration table ------------------------------------------------------------------


def test_every_config_key_has_the_comment_its_table_row_is_made_from() -> None:
    from flask_capture_link import config

    source = Path(config.__file__).read_text(encoding="utf-8").splitlines()
    for name in config.DEFAULTS:
        [line] = [i for i, text in enumerate(source) if re.match(rf"{name}\b.*=", text)]
        assert source[line - 1].startswith("#: "), f"{name} has no #: comment in config.py"


def test_the_configuration_page_makes_the_table_in_rest() -> None:
    # MyST would read the directive's table as Markdown: it must run inside eval-rst.
    assert "```{eval-rst}\n.. capture-link-config::\n```" in page("configuration.md")
