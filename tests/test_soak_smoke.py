"""``make soak`` runs end to end in a few seconds and prints consistent counts and targets.

The figures of so short a run mean nothing (each fault turn lasts about a second): only that the
run drives the site, counts what it saw consistently, and gives every target a verdict.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from benchmarks.soak import main

pytestmark = pytest.mark.slow


def test_a_short_soak_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    status = main(["--seconds", "8", "--users", "3"])

    out = capsys.readouterr().out
    assert status in (0, 1), out  # 2: the soak could not run
    counts = {
        name: int(value)
        for name, value in re.findall(r"\b(attempted|done|mismatches|500s|sign-outs) (\d+)", out)
    }
    assert counts["attempted"] > 0, out
    assert counts["done"] <= counts["attempted"], out
    rows = out.split("\nturn ", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert len(rows) == 11, out  # one row per fault turn
    per_turn = [[int(cell) for cell in row.split()[1:]] for row in rows]
    assert sum(row[0] for row in per_turn) == counts["attempted"]
    assert all(row[1] <= row[0] for row in per_turn), out
    targets = out.split("\ntarget ", 1)[1].splitlines()[2:]
    targets = [line for line in targets if line.strip()]
    assert len(targets) == 6, out
    assert all(re.search(r"  (met|NOT MET)$", row) for row in targets), out
    assert status == (1 if "NOT MET" in out else 0)
