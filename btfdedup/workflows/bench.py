"""The ``bench`` workflow: one input set, merged once, deduplicated by each strategy.

The INPUTs are read and merged exactly as ``btfdedup dedup`` does
(:func:`btfdedup.workflows.inputs.expand` / :func:`~btfdedup.workflows.inputs.load_all`,
then :func:`btfdedup.append.merge`, or the input itself when one standalone input
needs no merge; with a base, modules are read as split BTF on it and the result is
split).  The merged BTF is written once, as raw bytes, to a temporary directory, and
every measurement reads it there in a fresh interpreter
(:mod:`btfdedup.workflows.bench_worker`, which explains why and how memory is
measured): each strategy ``repeat`` times (the median is reported), and with
``against_libbpf`` libbpf's own ``btf__dedup`` on the same bytes
(:mod:`btfdedup.workflows.libbpf_ref`).

A strategy that fails, crashes or runs past ``timeout`` seconds is a result, not an
error of the run: its row carries the ``error`` and the others go on.

Scaling: the same measurement (median of ``repeat`` runs: on a shared machine one
run is too noisy to fit) on growing prefixes of the input file list (1/8, 1/4, 1/2
of the files, and all of them, which is the main measurement),
and the slope of log(time) against log(types in) fitted by least squares: 1 is
linear, 2 quadratic.  An input set of one file has no prefixes and no slope.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from btfdedup.errors import BtfUsageError, CommandLineError
from btfdedup.model.btf import Btf

#: progress(what, done, total)
Progress = Callable[[str, int, int], None]

#: Name of libbpf's C dedup in the results (not a strategy: the reference).
LIBBPF_C = "libbpf-c"
#: Fractions of the input files the scaling points take.
SCALING_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)
#: Format version of ``bench.json``.
JSON_VERSION = 1

MEMORY_METHOD = (
    "each measurement runs in a fresh Python process; peak_rss is that process's resident-set high-water "
    "mark (VmHWM, reset through /proc/self/clear_refs just before the first timed run) while the dedup ran, "
    "input included; added_rss = peak_rss - resident set just before the run. tracemalloc is not used: it "
    "misses the compiled core's and libbpf's C allocations"
)


def parse_strategies(text: str, known: Sequence[str]) -> list[str]:
    """The strategy names ``--strategy`` gives: ``all`` (every registered one, in
    registry order) or a comma-separated list of names, each once.  Anything else is
    a :class:`CommandLineError` (exit 2)."""
    if text.strip() == "all":
        return list(known)
    names = [n.strip() for n in text.split(",")]
    if not names or any(not n for n in names):
        raise CommandLineError(f"--strategy {text!r}: give 'all' or comma-separated names ({', '.join(known)})")
    for n in names:
        if n not in known:
            raise CommandLineError(f"--strategy: unknown dedup strategy {n!r} (known: {', '.join(known)}, or all)")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CommandLineError(f"--strategy: {', '.join(dup)} given twice")
    return names


def scaling_sizes(n_files: int) -> list[int]:
    """How many input files each scaling point takes: the prefixes of
    :data:`SCALING_FRACTIONS`, at least one file each, without repeats, ascending."""
    return sorted({max(1, math.ceil(n_files * f)) for f in SCALING_FRACTIONS})


def fit_slope(sizes: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Least-squares slope of log(seconds) against log(sizes) (the exponent k of
    time ∝ size^k); None with fewer than two distinct positive sizes."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(sizes, seconds, strict=True) if x > 0 and y > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    return sxy / sxx


@dataclass
class Measurement:
    """One strategy (or libbpf's C dedup) on one input: what the worker reported."""

    name: str
    types_in: int
    types_out: int | None = None
    bytes_out: int | None = None
    runs: list[float] = field(default_factory=list)
    peak_rss: int | None = None
    added_rss: int | None = None
    peak_method: str | None = None
    error: str | None = None
    guarantee: str = ""
    #: this time / libbpf's C dedup time (``against_libbpf``)
    time_vs_libbpf_c: float | None = None
    #: types out / libbpf's types out
    types_vs_libbpf_c: float | None = None

    @property
    def seconds(self) -> float | None:
        """Median wall time of the runs."""
        return statistics.median(self.runs) if self.runs else None

    def to_json(self) -> dict[str, Any]:
        s = self.seconds
        return {
            "name": self.name,
            "guarantee": self.guarantee,
            "types_in": self.types_in,
            "types_out": self.types_out,
            "bytes_out": self.bytes_out,
            "seconds": round(s, 6) if s is not None else None,
            "runs": [round(r, 6) for r in self.runs],
            "peak_rss_bytes": self.peak_rss,
            "added_rss_bytes": self.added_rss,
            "peak_method": self.peak_method,
            "time_vs_libbpf_c": _round(self.time_vs_libbpf_c),
            "types_vs_libbpf_c": _round(self.types_vs_libbpf_c),
            "error": self.error,
        }


def _round(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


@dataclass
class ScalingPoint:
    """One prefix of the input files and each measurement's time on it."""

    files: int
    types_in: int
    bytes_in: int
    seconds: dict[str, float | None]
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "types_in": self.types_in, "bytes_in": self.bytes_in,
                "seconds": {k: (round(v, 6) if v is not None else None) for k, v in self.seconds.items()},
                "errors": self.errors}


@dataclass
class BenchReport:
    """Everything one ``bench`` run measured (``bench.json``)."""

    inputs: list[str]
    files: int
    skipped: list[tuple[str, str]]
    base: str | None
    types_in: int
    bytes_in: int
    merged_bytes: int
    merge_seconds: float
    repeat: int
    results: list[Measurement]
    libbpf_c: Measurement | None = None
    libbpf_c_note: str | None = None
    libbpf_c_path: str | None = None
    libbpf_c_version: str | None = None
    scaling: list[ScalingPoint] = field(default_factory=list)
    slopes: dict[str, float | None] = field(default_factory=dict)
    scaling_note: str | None = None
    plots: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "input": {
                "paths": self.inputs,
                "files": self.files,
                "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
                "base": self.base,
                "split": self.base is not None,
                "types_in": self.types_in,
                "bytes_in": self.bytes_in,
                "merged_bytes": self.merged_bytes,
                "merge_seconds": round(self.merge_seconds, 6),
            },
            "repeat": self.repeat,
            "memory_method": MEMORY_METHOD,
            "strategies": [m.to_json() for m in self.results],
            "libbpf_c": None if self.libbpf_c is None else {
                **self.libbpf_c.to_json(), "path": self.libbpf_c_path, "version": self.libbpf_c_version},
            "libbpf_c_note": self.libbpf_c_note,
            "scaling": {
                "fractions": list(SCALING_FRACTIONS),
                "points": [p.to_json() for p in self.scaling],
                "slopes": {k: _round(v) for k, v in self.slopes.items()},
                "note": self.scaling_note,
            },
            "plots": self.plots,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count()},
        }


@dataclass
class _Input:
    """A merged input written where the workers read it."""

    path: str
    base_path: str | None
    files: int
    types_in: int
    bytes_in: int
    merged_bytes: int
    merge_seconds: float


def _write_merged(loaded: list[tuple[str, Btf]], base: Btf | None, base_raw: str | None, tmp: str,
                  tag: str) -> _Input:
    """Merge ``loaded`` as ``dedup`` does and write the raw bytes to ``tmp``."""
    from btfdedup.append import merge
    from btfdedup.io.writer import btf_to_bytes
    from btfdedup.workflows.dedup import unmerged_input
    from btfdedup.workflows.inputs import btf_size

    btfs = [b for _, b in loaded]
    t0 = time.perf_counter()
    merged = unmerged_input(btfs, base)
    if merged is None:
        merged = merge(btfs, base)
    data = btf_to_bytes(merged)
    secs = time.perf_counter() - t0
    path = os.path.join(tmp, f"merged-{tag}.btf")
    with open(path, "wb") as f:
        f.write(data)
    return _Input(path, base_raw, len(loaded), int(merged.nr_types), sum(btf_size(b) for b in btfs), len(data), secs)


def _run_worker(spec: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Run :mod:`~btfdedup.workflows.bench_worker` on ``spec`` in a fresh interpreter."""
    cmd = [sys.executable, "-m", "btfdedup.workflows.bench_worker", json.dumps(spec)]
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or None, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    lines = r.stdout.strip().splitlines()
    if r.returncode == 0 and lines:
        try:
            out: dict[str, Any] = json.loads(lines[-1])
            return out
        except json.JSONDecodeError:
            pass
    if r.returncode < 0:
        why = f"killed by signal {-r.returncode}" + (" (out of memory?)" if r.returncode == -9 else "")
    else:
        err = r.stderr.strip().splitlines()
        why = f"exit {r.returncode}: {err[-1] if err else 'no output'}"
    return {"error": f"worker {why}"}


def _measure(name: str, kind: str, inp: _Input, repeat: int, timeout: float | None,
             libbpf: str | None) -> Measurement:
    spec = {"kind": kind, "name": name, "btf": inp.path, "base": inp.base_path, "repeat": repeat,
            "libbpf": libbpf}
    got = _run_worker(spec, timeout)
    m = Measurement(name, inp.types_in)
    if "error" in got:
        m.error = str(got["error"])
        return m
    m.types_out, m.bytes_out = got["types_out"], got["bytes_out"]
    m.runs = [float(x) for x in got["runs"]]
    m.peak_rss, m.added_rss, m.peak_method = got["peak_rss"], got["added_rss"], got["peak_method"]
    return m


def run_bench(
    paths: Sequence[str],
    *,
    strategy_names: Sequence[str],
    base_path: str | None = None,
    repeat: int = 3,
    against_libbpf: bool = False,
    scaling: bool = True,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> BenchReport:
    """Measure ``strategy_names`` on the merge of ``paths`` (see the module docstring)."""
    from btfdedup.io.load import load
    from btfdedup.io.writer import btf_to_bytes
    from btfdedup.strategies import available
    from btfdedup.workflows.inputs import expand, load_all

    if repeat < 1:
        raise CommandLineError(f"--repeat {repeat}: give at least 1")
    guarantees = {e.name: e.guarantee for e in available()}
    found = expand(paths)
    found.require_some("input")
    base = load(base_path) if base_path else None

    libbpf_path: str | None = None
    libbpf_note: str | None = None
    libbpf_version: str | None = None
    if against_libbpf:
        from btfdedup.workflows.libbpf_ref import LibbpfMissing, LibbpfRef

        try:
            ref = LibbpfRef()
            libbpf_path, libbpf_version = ref.path, ref.version
        except LibbpfMissing as e:
            libbpf_note = f"libbpf comparison skipped: {e}"
    measured = [*strategy_names, *([LIBBPF_C] if libbpf_path else [])]

    files = found.files
    sizes = scaling_sizes(len(files)) if scaling and len(files) > 1 else [len(files)]
    total = 1 + len(measured) * len(sizes)
    done = 0

    def step(what: str) -> None:
        if progress is not None:
            progress(what, done, total)

    with tempfile.TemporaryDirectory(prefix="btfdedup-bench-") as tmp:
        step("reading and merging inputs")
        loaded = load_all(files, base)
        base_raw = None
        if base is not None:
            base_raw = os.path.join(tmp, "base.btf")
            with open(base_raw, "wb") as f:
                f.write(btf_to_bytes(base))
        full = _write_merged(loaded, base, base_raw, tmp, "all")
        done += 1

        def measure_all(inp: _Input, n_repeat: int, label: str) -> list[Measurement]:
            nonlocal done
            out = []
            for name in measured:
                step(f"{name} on {label}")
                kind = "libbpf_c" if name == LIBBPF_C else "strategy"
                out.append(_measure(name, kind, inp, n_repeat, timeout, libbpf_path))
                done += 1
            return out

        results = measure_all(full, repeat, f"{full.types_in:,} types")
        by_name = {m.name: m for m in results}
        ref_m = by_name.pop(LIBBPF_C, None)
        rows = [by_name[n] for n in strategy_names]
        for m in rows:
            m.guarantee = guarantees.get(m.name, "")
            if ref_m is not None and ref_m.seconds and m.seconds is not None:
                m.time_vs_libbpf_c = m.seconds / ref_m.seconds
            if ref_m is not None and ref_m.types_out and m.types_out is not None:
                m.types_vs_libbpf_c = m.types_out / ref_m.types_out
        if ref_m is not None:
            ref_m.guarantee = f"libbpf {libbpf_version} btf__dedup (C), the reference"

        points: list[ScalingPoint] = []
        note = None
        if not scaling:
            note = "scaling not measured (--no-scaling)"
        elif len(files) < 2:
            note = "one input file: no prefixes to measure scaling on"
        else:
            for k in sizes[:-1]:
                inp = _write_merged(loaded[:k], base, base_raw, tmp, str(k))
                ms = measure_all(inp, repeat, f"{k}/{len(files)} files")
                os.unlink(inp.path)
                points.append(_point(inp, ms))
            points.append(_point(full, results))
    slopes = {}
    for name in measured if points else []:
        good = [(p.types_in, s) for p in points if (s := p.seconds.get(name))]
        slopes[name] = fit_slope([x for x, _ in good], [y for _, y in good])
    return BenchReport(
        inputs=list(paths), files=len(files), skipped=found.skipped, base=base_path,
        types_in=full.types_in, bytes_in=full.bytes_in, merged_bytes=full.merged_bytes,
        merge_seconds=full.merge_seconds, repeat=repeat, results=rows, libbpf_c=ref_m,
        libbpf_c_note=libbpf_note, libbpf_c_path=libbpf_path, libbpf_c_version=libbpf_version,
        scaling=points, slopes=slopes, scaling_note=note,
    )


def _point(inp: _Input, ms: list[Measurement]) -> ScalingPoint:
    return ScalingPoint(inp.files, inp.types_in, inp.bytes_in, {m.name: m.seconds for m in ms},
                        {m.name: m.error for m in ms if m.error})


def check_output_dir(path: str) -> None:
    """Refuse an output directory that exists as something else (before any work)."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise BtfUsageError(f"{path}: exists and is not a directory")
