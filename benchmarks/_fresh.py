"""Run one benchmark job in a fresh interpreter and report its peak memory.

Peak RSS must be measured per side in its own process: numpy, the compiled core and libbpf
allocations all count, and nothing of the other side may linger.  The figure is
``/proc/self/status`` VmHWM, not ``ru_maxrss``, which Linux carries over from the
forking parent across exec.  Each run warms up on a small input first (imports and
first-call set-up), reads the big file, notes VmHWM, runs the job
and notes VmHWM again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SMALL = REPO / "corpora" / "cus" / "cu1412.btf"

_SCRIPT = r"""
import json, sys, time
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
job, side, path, repo, small = sys.argv[1:6]
sys.path.insert(0, repo)
t0 = time.perf_counter()
if side == "btfdedup":
    from btfdedup.io.raw import parse_raw
    from btfdedup.engine import dedup
    warm_btf = parse_raw(open(small, "rb").read())
    if job == "pipeline":
        dedup(warm_btf)
else:
    from tests.oracle.libbpf import Libbpf
    lib = Libbpf.system()
    with lib.parse(open(small, "rb").read()) as h:
        if job == "pipeline":
            lib.dedup(h)
warm = time.perf_counter() - t0
data = open(path, "rb").read()
before = hwm_kb()
t0 = time.perf_counter()
if side == "btfdedup":
    btf = parse_raw(data)
    out = len(dedup(btf).btf.to_bytes()) if job == "pipeline" else btf.nr_types
else:
    h = lib.parse(data)
    if job == "pipeline":
        lib.dedup(h)
        out = len(lib.raw_data(h))
    else:
        out = lib.type_cnt(h) - 1
secs = time.perf_counter() - t0
print(json.dumps({"out": out, "before_kb": before, "peak_kb": hwm_kb(), "warmup_s": warm, "secs": secs}))
"""


def run_fresh(job: str, side: str, path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``job`` ("parse" or "pipeline") for ``side`` ("btfdedup" or "libbpf") on ``path``.

    Returns ``out`` (type count for parse, output bytes for the pipeline),
    ``before_kb``/``peak_kb`` (VmHWM with the file read / after the job),
    ``warmup_s`` and ``secs``.
    """
    r = subprocess.run(
        [sys.executable, "-c", _SCRIPT, job, side, str(path), str(REPO), str(SMALL)],
        capture_output=True, text=True, timeout=900, check=True, env=env,
    )
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))
