"""Dedup of the raw 6.1 vmlinux BTF (3,408,970 types -> 94,762), btfdedup vs libbpf.

Measured in the same run, on the same bytes:

* the dedup call alone (btfdedup ``dedup`` on a parsed :class:`Btf`; libbpf
  ``btf__dedup`` on a ``btf__new`` handle, parsing outside the timing);
* the full pipeline bytes -> parse -> dedup -> raw bytes (``parse_raw`` + ``dedup`` +
  ``to_bytes``; ``btf__new`` + ``btf__dedup`` + ``btf__raw_data``);
* peak resident memory of the full pipeline, each side in a fresh interpreter
  (``/proc/self/status`` VmHWM, which covers numpy and the compiled core's allocations).

The whole-process comparison (the ``btfdedup dedup`` command a user runs next to a C
process driving libbpf) is ``benchmarks/compare.py`` and ``bench_process.py``.

libbpf is the system ``libbpf.so.1`` (1.1.2; its dedup output equals v1.6's on this
input).  Ratios are printed at the end of the run (see benchmarks/conftest.py).
Run: ``pytest benchmarks/bench_dedup.py --benchmark-enable``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks._fresh import SMALL, run_fresh
from btfdedup.engine import dedup
from btfdedup.io.raw import parse_raw
from tests.oracle.libbpf import BtfHandle, Libbpf

TYPES_OUT = 94_762

G_DEDUP = "dedup vmlinux-raw (call alone)"
G_PIPE = "parse+dedup+write vmlinux-raw"


@pytest.fixture(scope="module")
def parsed(vmlinux_raw_bytes: bytes) -> Any:
    btf = parse_raw(vmlinux_raw_bytes)
    dedup(parse_raw(SMALL.read_bytes()))  # first-call imports outside the timing
    return btf


@pytest.mark.benchmark(group=G_DEDUP)
def test_dedup_btfdedup(benchmark: Any, parsed: Any, report: Any) -> None:
    res = benchmark.pedantic(dedup, args=(parsed,), rounds=3, iterations=1)
    assert res.btf.nr_types == TYPES_OUT
    benchmark.extra_info["phases_s"] = {k: round(v, 3) for k, v in res.stats["seconds"].items()}
    report.record(f"{G_DEDUP}[btfdedup]", benchmark)


@pytest.mark.benchmark(group=G_DEDUP)
def test_dedup_libbpf(benchmark: Any, vmlinux_raw_bytes: bytes, libbpf_system: Libbpf, report: Any) -> None:
    handles: list[BtfHandle] = []

    def setup() -> tuple[tuple[BtfHandle], dict[str, Any]]:
        while handles:
            handles.pop().free()
        h = libbpf_system.parse(vmlinux_raw_bytes)
        handles.append(h)
        return (h,), {}

    benchmark.pedantic(libbpf_system.dedup, setup=setup, rounds=3, iterations=1)
    assert libbpf_system.type_cnt(handles[0]) - 1 == TYPES_OUT
    while handles:
        handles.pop().free()
    report.record(f"{G_DEDUP}[libbpf]", benchmark)


@pytest.mark.benchmark(group=G_PIPE)
def test_pipeline_btfdedup(benchmark: Any, vmlinux_raw_bytes: bytes, parsed: Any, report: Any) -> None:
    def run() -> bytes:
        return dedup(parse_raw(vmlinux_raw_bytes)).btf.to_bytes()

    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(out) == 4_113_171
    report.record(f"{G_PIPE}[btfdedup]", benchmark)


@pytest.mark.benchmark(group=G_PIPE)
def test_pipeline_libbpf(benchmark: Any, vmlinux_raw_bytes: bytes, libbpf_system: Libbpf, report: Any) -> None:
    def run() -> bytes:
        with libbpf_system.parse(vmlinux_raw_bytes) as h:
            libbpf_system.dedup(h)
            return libbpf_system.raw_data(h)

    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(out) == 4_113_171
    report.record(f"{G_PIPE}[libbpf]", benchmark)


def test_pipeline_peak_rss(benchmark: Any, vmlinux_raw_path: Path, libbpf_system: Libbpf, report: Any) -> None:
    """Peak RSS of the whole pipeline, each side in its own fresh process."""
    ours = run_fresh("pipeline", "btfdedup", vmlinux_raw_path)
    theirs = run_fresh("pipeline", "libbpf", vmlinux_raw_path)
    assert ours["out"] == theirs["out"] == 4_113_171
    mb = 1024.0
    for side, m in (("btfdedup", ours), ("libbpf", theirs)):
        benchmark.extra_info[f"{side}_peak_rss_mb"] = round(m["peak_kb"] / mb, 1)
        report.notes.append(
            f"{G_PIPE} peak RSS [{side}]: {m['peak_kb'] / mb:.0f} MB "
            f"(+{(m['peak_kb'] - m['before_kb']) / mb:.0f} MB over the process holding the file bytes)"
        )
    report.notes.append(f"{G_PIPE} peak RSS btfdedup / libbpf = {ours['peak_kb'] / theirs['peak_kb']:.2f}x")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
