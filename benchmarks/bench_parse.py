"""Parsing the raw (undeduplicated) 6.1 vmlinux BTF: 3.4 M types, 133 MB.

btfdedup's ``parse_raw`` (every structural check libbpf's parser makes) against
system libbpf's ``btf__new`` on the same bytes, in the same run; plus the peak
resident memory of each side, measured in fresh subprocesses so the two cannot
share or inherit allocations.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from btfdedup.io.raw import parse_raw
from tests.oracle.libbpf import Libbpf

REPO = Path(__file__).resolve().parent.parent

GROUP = "parse vmlinux-raw (133 MB)"


@pytest.mark.benchmark(group=GROUP)
def test_parse_btfdedup(benchmark: Any, vmlinux_raw_bytes: bytes, report: Any) -> None:
    parse_raw(vmlinux_raw_bytes)  # warm numba's cache outside the timing
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


# A fresh interpreter reads the file, notes its peak RSS, parses, notes it again.
# VmHWM (not ru_maxrss, which Linux carries over from the forking parent across exec).
_RSS_SCRIPT = r"""
import json, sys
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
sys.path.insert(0, sys.argv[3])
side, path = sys.argv[1], sys.argv[2]
if side == "btfdedup":
    from btfdedup.io.raw import parse_raw
    import numpy as np
    parse_raw(open(sys.argv[4], "rb").read())  # compile/load numba caches on a small input
else:
    from tests.oracle.libbpf import Libbpf
    lib = Libbpf.system()
data = open(path, "rb").read()
before = hwm_kb()
if side == "btfdedup":
    btf = parse_raw(data)
    n = btf.nr_types
else:
    h = lib.parse(data)
    n = lib.type_cnt(h) - 1
after = hwm_kb()
print(json.dumps({"types": n, "before_kb": before, "peak_kb": after}))
"""


def peak_rss(side: str, path: Path) -> dict[str, int]:
    small = REPO / "corpora" / "cus" / "cu1412.btf"
    r = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, side, str(path), str(REPO), str(small)],
        capture_output=True, text=True, timeout=600, check=True,
    )
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def test_parse_peak_rss(benchmark: Any, vmlinux_raw_path: Path, libbpf_system: Libbpf, report: Any) -> None:
    """Peak RSS of parsing, each side in its own fresh process (reported, not asserted)."""
    ours = peak_rss("btfdedup", vmlinux_raw_path)
    theirs = peak_rss("libbpf", vmlinux_raw_path)
    assert ours["types"] == theirs["types"] == 3_408_970
    mb = 1024.0
    for side, m in (("btfdedup", ours), ("libbpf", theirs)):
        benchmark.extra_info[f"{side}_peak_rss_mb"] = round(m["peak_kb"] / mb, 1)
        benchmark.extra_info[f"{side}_parse_rss_mb"] = round((m["peak_kb"] - m["before_kb"]) / mb, 1)
        report.notes.append(
            f"parse vmlinux-raw peak RSS [{side}]: {m['peak_kb'] / mb:.0f} MB total, "
            f"+{(m['peak_kb'] - m['before_kb']) / mb:.0f} MB over the process with the file read"
        )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
