"""Whole processes as a user runs them, next to their references: the rows of
``benchmarks/compare.py`` inside a pytest-benchmark run.

Each row is its own test so ``-k`` picks rows; the rendered table lines are added to the
run's closing report (see ``conftest.py``), with the ratios.  Run:
``pytest benchmarks/bench_process.py --benchmark-enable`` (3 runs per side per row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import compare

RUNS = 3


@pytest.mark.parametrize("row", sorted(compare.ROWS))
def test_whole_process(row: str, benchmark: Any, report: Any, tmp_path: Path) -> None:
    if not benchmark.enabled:
        pytest.skip("whole-process rows run only with --benchmark-enable")
    try:
        result = compare.ROWS[row](RUNS, tmp_path)
    except compare.Skip as e:
        pytest.skip(str(e))
    line = compare.render([result]).splitlines()[-1]
    report.notes.append(line)
    assert result.ours is not None
    benchmark.extra_info["btfdedup_s"] = round(result.ours.secs, 4)
    benchmark.extra_info["btfdedup_peak_mib"] = round(result.ours.peak_mib, 1)
    if result.ref is not None:
        benchmark.extra_info["reference_s"] = round(result.ref.secs, 4)
        benchmark.extra_info["reference_peak_mib"] = round(result.ref.peak_mib, 1)
    assert "DIFFER" not in result.note, result.note
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
