"""Start-up of the short commands, whole processes, each next to what it is compared with.

* ``btfdedup --version``, ``btfdedup --help`` and ``python -c "import btfdedup"``
  next to ``python -c pass``: the interpreter's own start-up (this environment's
  ``site`` included), so the ratio is what btfdedup adds to it;
* ``btfdedup kernel list`` next to ``bpftool btf show``, the same rows read through
  libbpf by a C program (skipped, saying why, where bpf(2) is refused or bpftool
  is missing).

Every round is a fresh process (fork and exec, interpreter start-up, imports, the
work, exit), timed by pytest-benchmark: the median of 5 rounds after one warm-up
round.  The medians and the ratios are printed at the end of the run, with issue 8's
targets for these commands beside them (no threshold is asserted: a loaded machine
would fail it).  That none of these commands imports numpy is checked by
tests/test_startup.py.  Run: ``pytest benchmarks/bench_startup.py --benchmark-enable``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._kernel_helpers import bpf_skip_reason
from tests.oracle.libbpf import find_bpftool

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 5


def btfdedup_command() -> list[str]:
    """The installed console script next to this interpreter, or ``python -m btfdedup``."""
    script = shutil.which("btfdedup", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "btfdedup"]


def bpftool() -> str:
    reason = bpf_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    path = find_bpftool()
    if path is None:
        pytest.skip("bpftool not installed: it is what kernel list is compared with")
    return path


#: group -> (btfdedup's command, the reference it is compared with, issue 8's target in seconds)
CASES: dict[str, tuple[list[str], str, float]] = {
    "start-up: --version": ([*btfdedup_command(), "--version"], "python -c pass", 0.10),
    "start-up: --help": ([*btfdedup_command(), "--help"], "python -c pass", 0.10),
    "start-up: import btfdedup": ([sys.executable, "-c", "import btfdedup"], "python -c pass", 0.15),
    "start-up: kernel list": ([*btfdedup_command(), "kernel", "list"], "bpftool btf show", 0.15),
}


def reference_command(group: str) -> list[str]:
    label = CASES[group][1]
    if label == "bpftool btf show":
        return [bpftool(), "btf", "show"]
    return [sys.executable, "-c", "pass"]


def run_process(argv: list[str]) -> None:
    """One whole process, its output discarded; a failure is an error, not a time."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, check=True)


@pytest.fixture(scope="module", autouse=True)
def ratios(report: Any) -> Iterator[None]:
    """After the module's benchmarks, one line per group: btfdedup's median over the
    reference's, and the target."""
    yield
    for group, (_, label, target) in CASES.items():
        mine = report.results.get(f"{group}[btfdedup]")
        other = report.results.get(f"{group}[{label}]")
        if mine is None or other is None:
            continue
        report.notes.append(
            f"{group}: btfdedup {mine:.3f} s / {label} {other:.3f} s = {mine / other:.1f}x (target <= {target:.2f} s)"
        )


@pytest.mark.parametrize("group", list(CASES))
def test_btfdedup(benchmark: Any, report: Any, group: str) -> None:
    argv = CASES[group][0]
    if "kernel" in argv:
        bpftool()  # the same skip as its reference: bpf(2) refused here
    benchmark.group = group
    benchmark.pedantic(run_process, args=(argv,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    report.record(f"{group}[btfdedup]", benchmark)


@pytest.mark.parametrize("group", list(CASES))
def test_reference(benchmark: Any, report: Any, group: str) -> None:
    benchmark.group = group
    benchmark.pedantic(run_process, args=(reference_command(group),), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    report.record(f"{group}[{CASES[group][1]}]", benchmark)
