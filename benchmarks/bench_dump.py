"""Time ``btfdedup dump`` against ``bpftool btf dump`` on one input.

Usage: ``python benchmarks/bench_dump.py FILE [--base BASE] [--repeat N]``
(or FILE from ``$BTFDEDUP_BENCH_INPUT``).  Prints, per format, bpftool's wall
time (its output to /dev/null), ours in-process (load excluded and included),
and whether the bytes are identical.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import btfdedup
from btfdedup.render.json import dump_json_bytes
from btfdedup.render.raw import dump_raw_bytes


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=os.environ.get("BTFDEDUP_BENCH_INPUT"))
    ap.add_argument("--base")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if not a.file:
        ap.error("give FILE or set BTFDEDUP_BENCH_INPUT")
    base = btfdedup.load(a.base) if a.base else None
    t_load = best(lambda: btfdedup.load(a.file, base=base), a.repeat)
    btf = btfdedup.load(a.file, base=base)
    dump_raw_bytes(btf), dump_json_bytes(btf)  # first-call imports outside the timing
    bpftool = shutil.which("bpftool")
    pre = ["-B", a.base] if a.base else []
    print(f"{a.file}: {btf.nr_types:,} types; load {t_load:.3f} s")
    for fmt, ours_fn, args in (
        ("raw", lambda: dump_raw_bytes(btf), [*pre, "btf", "dump", "file", a.file, "format", "raw"]),
        ("json", lambda: dump_json_bytes(btf), [*pre, "-j", "btf", "dump", "file", a.file]),
    ):
        ours = best(ours_fn, a.repeat)
        line = f"  {fmt:<5} ours {ours:.3f} s (+load {ours + t_load:.3f} s)"
        if bpftool:
            ref_t = best(
                lambda args=args: subprocess.run([bpftool, *args], stdout=subprocess.DEVNULL, check=True), a.repeat
            )
            same = subprocess.run([bpftool, *args], capture_output=True, check=True).stdout == ours_fn()
            line += f"   bpftool {ref_t:.3f} s   identical={same}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
