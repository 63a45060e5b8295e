"""One measurement of ``btfdedup bench``, in a fresh interpreter of its own.

``python -m btfdedup.workflows.bench_worker SPEC`` (SPEC: a JSON object) reads the
merged input the parent wrote as raw BTF (``btf``, split on ``base`` when given), runs
one dedup ``repeat`` times and prints one JSON object on stdout: the wall time of
each run, the output's type count and size, and the peak memory of the first run.

Why a process per measurement: peak memory must be that of the dedup alone, not of
whatever the parent (or an earlier strategy) left allocated, and numpy's buffers
and the C libraries' heaps are all counted only by the kernel's resident-set
high-water mark.  Before the first run the worker resets that mark
(``/proc/self/clear_refs`` ← 5, Linux ≥ 4.0) and records the resident set then
(the interpreter, numpy and the parsed input); after the run it reads ``VmHWM``.
``peak_rss`` is therefore the most memory the process held while the dedup ran
(its input included) and ``added_rss`` = peak - before, the dedup's own.  Where the
mark cannot be reset, ``ru_maxrss`` is used (covering the parse too) and
``peak_method`` says so.

Each run gets a freshly parsed input (parsing is outside the timing): no run sees
what an earlier one may have cached on the :class:`~btfdedup.model.btf.Btf`.  Both
our strategies and libbpf (``kind: "libbpf_c"``) start from the same raw bytes, so
both run their string-deduplication phase.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback
from typing import Any


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (VmRSS, VmHWM), None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the resident-set high-water mark; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


class _Peak:
    """The peak memory of the code run between :meth:`start` and :meth:`stop`."""

    def start(self) -> None:
        gc.collect()
        self.resettable = _reset_peak()
        rss = _status_kib("VmRSS")
        self.before = (rss or 0) * 1024

    def stop(self) -> dict[str, Any]:
        if self.resettable:
            peak = (_status_kib("VmHWM") or 0) * 1024
            method = "VmHWM after clear_refs reset"
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            method = "ru_maxrss (whole process, parse included)"
        return {"peak_rss": peak, "rss_before": self.before, "added_rss": max(0, peak - self.before),
                "peak_method": method}


def warmup_btf() -> bytes:
    """A one-type raw BTF (``int``, 4 bytes, signed) for the untimed warm-up run: a
    strategy's first call imports its phases' modules, which would otherwise count
    in the first timed run (and be all of a one-run scaling point on a small input)."""
    import struct

    from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC, BTF_MAGIC, BTF_VERSION, Kind

    strings = b"\0int\0"
    int_signed, bits = 1 << 24, 32  # BTF_INT_SIGNED, nr_bits
    types = struct.pack("<IIII", 1, int(Kind.INT) << 24, 4, int_signed | bits)
    hdr = struct.pack("<HBBIIIII", BTF_MAGIC, BTF_VERSION, 0, BTF_HDR_LEN_CLASSIC, 0, len(types), len(types),
                      len(strings))
    return hdr + types + strings


def _measure_strategy(spec: dict[str, Any]) -> dict[str, Any]:
    from btfdedup.io.load import load_data
    from btfdedup.io.writer import btf_to_bytes
    from btfdedup.strategies import StrategyOptions, get

    with open(spec["btf"], "rb") as f:
        data = f.read()
    base = None
    if spec.get("base"):
        with open(spec["base"], "rb") as f:
            base = load_data(f.read(), spec["base"])
    strategy = get(spec["name"])
    strategy.run(load_data(warmup_btf(), "<warm-up>"), StrategyOptions())  # imports outside the timing
    runs: list[float] = []
    out: dict[str, Any] = {}
    peak = _Peak()
    for i in range(int(spec["repeat"])):
        btf = load_data(data, spec["btf"], base)
        if i == 0:
            peak.start()
        t0 = time.perf_counter()
        res = strategy.run(btf, StrategyOptions())
        runs.append(time.perf_counter() - t0)
        if i == 0:
            out.update(peak.stop())
            out["types_out"] = int(res.btf.nr_types)
            out["bytes_out"] = len(btf_to_bytes(res.btf))
        del res, btf
    out["runs"] = runs
    return out


def _measure_libbpf(spec: dict[str, Any]) -> dict[str, Any]:
    from btfdedup.workflows.libbpf_ref import LibbpfRef

    lib = LibbpfRef(spec.get("libbpf"))
    with open(spec["btf"], "rb") as f:
        data = f.read()
    base = None
    if spec.get("base"):
        with open(spec["base"], "rb") as f:
            base = lib.parse(f.read())
    base_cnt = lib.type_cnt(base) if base is not None else 1
    runs: list[float] = []
    out: dict[str, Any] = {"path": lib.path, "version": lib.version}
    peak = _Peak()
    try:
        for i in range(int(spec["repeat"])):
            h = lib.parse(data, base)
            try:
                if i == 0:
                    peak.start()
                t0 = time.perf_counter()
                lib.dedup(h)
                runs.append(time.perf_counter() - t0)
                if i == 0:
                    out.update(peak.stop())
                    out["types_out"] = lib.type_cnt(h) - base_cnt
                    out["bytes_out"] = lib.raw_size(h)
            finally:
                lib.free(h)
    finally:
        if base is not None:
            lib.free(base)
    out["runs"] = runs
    return out


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """The measurement ``spec`` asks for; an exception becomes ``{"error": ...}``."""
    try:
        if spec["kind"] == "libbpf_c":
            return _measure_libbpf(spec)
        return _measure_strategy(spec)
    except MemoryError:
        return {"error": "out of memory"}
    except Exception as e:  # noqa: BLE001  (any failure of a strategy is a result of the benchmark)
        last = traceback.extract_tb(e.__traceback__)[-1]
        return {"error": f"{type(e).__name__}: {e} (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(args[0])
    sys.stdout.write(json.dumps(measure(spec)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
