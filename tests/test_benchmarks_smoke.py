"""Every benchmark runs end to end with tiny counts and prints its table and targets.

The figures of such short runs mean nothing, so nothing here checks them: only that each
benchmark measures, reports, and gives every target a verdict.
"""

from __future__ import annotations

import re

import pytest

from benchmarks.__main__ import NAMES, main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_prints_its_table(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--quick", name])

    out = capsys.readouterr().out
    assert status in (0, 1), out  # 2: the benchmark could not run
    section = out.split(f"== {name}:", 1)[1].split("== summary", 1)[0]
    assert re.search(r"^-+( +-+)+$", section, re.MULTILINE), section  # a table's rule
    targets = section.split("\ntarget ", 1)[1].splitlines()[2:]  # the table after its rule
    target_rows = [line for line in targets if line.strip() and not line.startswith("   (")]
    assert target_rows, section
    assert all(re.search(r"  (met|NOT MET)$", row) for row in target_rows), section
    summary = out.split("== summary", 1)[1]
    assert f"{name} " in summary


def test_exit_status_says_whether_targets_are_met(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--quick", "session"])

    out = capsys.readouterr().out
    assert status == (1 if "NOT MET" in out else 0)
