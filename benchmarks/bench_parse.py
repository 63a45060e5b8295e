"""Parsing the raw (undeduplicated) 6.1 vmlinux BTF: 3.4 M types, 133 MB.

btfdedup's ``parse_raw`` (every structural check libbpf's parser makes) against
system libbpf's ``btf__new`` on the same bytes, in the same run; plus the peak
resident memory of each side, measured in fresh subprocesses so the two cannot
share or inherit allocations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks._fresh import run_fresh
from btfdedup.io.raw import parse_raw
from tests.oracle.libbpf import Libbpf

GROUP = "parse vmlinux-raw (133 MB)"


@pytest.mark.benchmark(group=GROUP)
def test_parse_btfdedup(benchmark: Any, vmlinux_raw_bytes: bytes, report: Any) -> None:
    parse_raw(vmlinux_raw_bytes)  # first-call imports outside the timing
    btf = benchmark.pedantic(parse_raw, args=(vmlinux_raw_bytes,), rounds=5, iterations=1)
    assert btf.nr_types == 3_408_970
    report.record(f"{GROUP}[btfdedup]", benchmark)


@pytest.mark.benchmark(group=GROUP)
def test_parse_libbpf(benchmark: Any, vmlinux_raw_bytes: bytes, libbpf_system: Libbpf, report: Any) -> None:
    def parse() -> int:
        h = libbpf_system.parse(vmlinux_raw_bytes)
        try:
            return libbpf_system.type_cnt(h)
        finally:
            h.free()

    cnt = benchmark.pedantic(parse, rounds=5, iterations=1)
    assert cnt == 3_408_971
    report.record(f"{GROUP}[libbpf]", benchmark)


def test_parse_peak_rss(benchmark: Any, vmlinux_raw_path: Path, libbpf_system: Libbpf, report: Any) -> None:
    """Peak RSS of parsing, each side in its own fresh process (reported, not asserted)."""
    ours = run_fresh("parse", "btfdedup", vmlinux_raw_path)
    theirs = run_fresh("parse", "libbpf", vmlinux_raw_path)
    assert ours["out"] == theirs["out"] == 3_408_970
    mb = 1024.0
    for side, m in (("btfdedup", ours), ("libbpf", theirs)):
        benchmark.extra_info[f"{side}_peak_rss_mb"] = round(m["peak_kb"] / mb, 1)
        benchmark.extra_info[f"{side}_parse_rss_mb"] = round((m["peak_kb"] - m["before_kb"]) / mb, 1)
        report.notes.append(
            f"parse vmlinux-raw peak RSS [{side}]: {m['peak_kb'] / mb:.0f} MB total, "
            f"+{(m['peak_kb'] - m['before_kb']) / mb:.0f} MB over the process with the file read"
        )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
