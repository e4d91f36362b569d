"""``ruff format --check`` for the Python blocks of README.md and docs/*.md.

The docs' code is read and copied more than any file: it must look like the project's own code.
Run by ``make lint`` (so by ``make test`` and CI) and by the pre-commit hook. Exit status 1, with
the file and line of each block ruff would change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: A fenced ```python block, indented or not (inside a list item); group 1 is the indent.
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


def blocks(path: Path) -> list[tuple[int, str]]:
    """``(line, code)`` of every Python block in ``path``, the code dedented to column 0."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        indent = len(match.group(1))
        code = "".join(line[indent:] + "\n" for line in match.group(2).splitlines())
        found.append((text.count("\n", 0, match.start()) + 1, code))
    return found


def main() -> int:
    ruff = Path(sys.executable).with_name("ruff")
    failed = 0
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line, code in blocks(path):
            result = subprocess.run(  # noqa: S603 - our own ruff on our own docs
                [str(ruff), "format", "--diff", "--stdin-filename", f"{path.name}.py", "-"],
                input=code,
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            if result.returncode != 0:
                failed += 1
                where = path.relative_to(ROOT)
                print(f"{where}:{line}: ruff format would change this block\n{result.stdout}")
                print(result.stderr, end="")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
