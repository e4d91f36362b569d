"""The README's examples are real files that the suite runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: ``<!-- file: PATH -->`` right before a fenced block: the block is that file, whole.
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```\n", re.DOTALL)

PRINTED = dict(FILE_BLOCK.findall(README))


def test_the_testing_example_is_printed_whole() -> None:
    assert set(PRINTED) == {"tests/docs/yoursite.py", "tests/docs/test_yoursite.py"}


@pytest.mark.parametrize("path", sorted(PRINTED))
def test_readme_block_equals_the_file(path: str) -> None:
    assert PRINTED[path] == (ROOT / path).read_text(encoding="utf-8"), (
        f"README.md's block for {path} differs from the file; copy one onto the other"
    )


def test_every_file_of_the_example_is_printed() -> None:
    files = {f"tests/docs/{p.name}" for p in (ROOT / "tests" / "docs").glob("*.py")}
    assert files == set(PRINTED)


def test_install_today_and_the_future_command_is_marked() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "pip install Flask-Capture-Link" not in quick_start.split("not published yet")[0]
    assert "python -m build" in quick_start


def test_the_outcomes_table_shows_each_flash_category() -> None:
    from flask_capture_link.outcomes import OUTCOMES

    section = README.split("## Outcomes and messages", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ")]
    checked = 0
    for row in rows[1:]:
        key, category = row[1].strip("`"), row[2].strip("`")
        if key in OUTCOMES:
            assert OUTCOMES[key].category == category, key
            checked += 1
    assert checked >= 12
