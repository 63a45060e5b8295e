"""Whole-process speed and memory of btfdedup next to its references, as one table.

``python -m benchmarks.compare`` runs each job the way a user runs it (a fresh process:
start-up, parse, work, write) and, in the same run, the reference job: libbpf 1.1.2 (the
system ``libbpf.so.1``, driven by the small C program ``benchmarks/libbpf_driver.c``,
compiled on first use), ``bpftool`` or a bare ``python``.  Every row is the median of
``--runs`` runs per side; peak memory is the child's maxrss as GNU ``time`` reports it
(``/usr/bin/time -f %M``: a fork of a small process, so the figure is the job's own).
Rows whose inputs or references are missing are printed as skipped, with the reason.

The big inputs come from ``$BTFDEDUP_CORPORA`` or ``../shared/corpora`` (see
``benchmarks/conftest.py``); decompressed copies are cached.  This is a measuring
tool, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.conftest import REPO, cache_dir, decompressed, find_corpora

TIME = "/usr/bin/time"
PY = sys.executable
_SCRIPT = Path(PY).with_name("btfdedup")
#: the console script a user runs (``python -m btfdedup`` when the venv has none)
BTFDEDUP = [str(_SCRIPT)] if _SCRIPT.exists() else [PY, "-m", "btfdedup"]


@dataclass
class Measure:
    """Medians of one side of a row."""

    secs: float
    peak_mib: float
    inner_secs: float | None = None  # the library call alone, when the job reports it


@dataclass
class Row:
    name: str
    ours: Measure | None = None
    ref: Measure | None = None
    ref_name: str = ""
    target: str = ""
    note: str = ""
    skipped: str = ""
    extra: dict[str, float] = field(default_factory=dict)


class Skip(Exception):
    """A row cannot run here (missing input or reference tool)."""


def run_once(argv: Sequence[str], *, env: dict[str, str] | None = None, stdout: int | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one process."""
    fd, tfile = tempfile.mkstemp(prefix="btfdedup-time-")
    os.close(fd)
    try:
        import time

        t0 = time.perf_counter()
        proc = subprocess.run([TIME, "-o", tfile, "-f", "%M", *argv], env=env,
                              stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE)
        secs = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-400:]}")
        kb = int(Path(tfile).read_text().split()[-1])
        out = proc.stdout.decode(errors="replace") if proc.stdout is not None else ""
        return secs, kb / 1024, out
    finally:
        os.unlink(tfile)


def median_of(runs: int, job: Callable[[], tuple[float, float, str]]) -> Measure:
    secs, peaks, inner = [], [], []
    for _ in range(runs):
        s, p, out = job()
        secs.append(s)
        peaks.append(p)
        for line in out.splitlines()[::-1]:
            if line.startswith("{") and '"secs"' in line:
                inner.append(float(json.loads(line)["secs"]))
                break
    return Measure(statistics.median(secs), statistics.median(peaks), statistics.median(inner) if inner else None)


def driver() -> Path:
    """The compiled libbpf driver (built into the bench cache on first use)."""
    src = REPO / "benchmarks" / "libbpf_driver.c"
    exe = cache_dir() / "libbpf_driver"
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise Skip("no C compiler for the libbpf driver")
    proc = subprocess.run([cc, "-O2", "-o", str(exe), str(src), "-l:libbpf.so.1"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Skip(f"cannot build the libbpf driver against libbpf.so.1: {proc.stderr.strip()[-200:]}")
    return exe


def corpora() -> Path:
    d = find_corpora()
    if d is None:
        raise Skip("big corpora not found (set BTFDEDUP_CORPORA)")
    return d


def vmlinux_raw() -> Path:
    src = corpora() / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz"
    if not src.exists():
        raise Skip(f"{src} not found")
    return decompressed(src)


def modules() -> tuple[Path, list[Path]]:
    d = corpora() / "modules-6.1"
    if not (d / "split.tar.xz").exists():
        raise Skip(f"{d}/split.tar.xz not found")
    out = cache_dir() / "modules-6.1-split"
    if not (out / "split").is_dir():
        with tarfile.open(d / "split.tar.xz") as tar:
            tar.extractall(out, filter="data")
    mods = sorted((out / "split").glob("*.btf"))
    return d / "vmlinux.btf", mods


def tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        raise Skip(f"{name} not installed")
    return path


# -- rows -------------------------------------------------------------------------------


def row_dedup(runs: int, tmp: Path) -> Row:
    raw = vmlinux_raw()
    drv = driver()
    r = Row("dedup vmlinux-raw (3.4 M types)", ref_name="libbpf 1.1.2 parse+add_btf+dedup+write",
            target="≤ 1.0× time, ≤ 1.5× memory")
    r.ours = median_of(runs, lambda: run_once([*BTFDEDUP, "dedup", str(raw), "-o", str(tmp / "ours.btf")]))
    r.ref = median_of(runs, lambda: run_once([str(drv), "dedup", str(raw), str(tmp / "ref.btf")]))
    if (tmp / "ours.btf").read_bytes() != (tmp / "ref.btf").read_bytes():
        r.note = "OUTPUTS DIFFER"
    return r


def row_split(runs: int, tmp: Path) -> Row:
    base, mods = modules()
    drv = driver()
    r = Row(f"split of {len(mods)} modules on vmlinux", ref_name="libbpf 1.1.2 per-module dedup, base parsed once",
            target="≤ 1.0× time, ≤ 2× memory")
    (tmp / "o").mkdir(exist_ok=True)
    (tmp / "r").mkdir(exist_ok=True)
    r.ours = median_of(runs, lambda: run_once([*BTFDEDUP, "split", "--base", str(base), "-o", str(tmp / "o"),
                                               *map(str, mods)]))
    r.ref = median_of(runs, lambda: run_once([str(drv), "split", str(base), str(tmp / "r"), *map(str, mods)]))
    differ = [m.name for m in mods if (tmp / "o" / m.name).read_bytes() != (tmp / "r" / m.name).read_bytes()]
    if differ:
        r.note = f"{len(differ)} OUTPUTS DIFFER (first {differ[0]})"
    return r


def row_split_python(runs: int, tmp: Path) -> Row:
    """The split row against libbpf driven from a Python process (ctypes), the reference
    kind the compiled-core issue measured; ``split`` has the bare C driver."""
    base, mods = modules()
    r = Row(f"split of {len(mods)} modules on vmlinux", ref_name="libbpf 1.1.2 per-module dedup from Python (ctypes)",
            target="≤ 1.0× time, ≤ 2× memory")
    (tmp / "o").mkdir(exist_ok=True)
    (tmp / "r").mkdir(exist_ok=True)
    r.ours = median_of(runs, lambda: run_once([*BTFDEDUP, "split", "--base", str(base), "-o", str(tmp / "o"),
                                               *map(str, mods)]))
    drv = REPO / "benchmarks" / "libbpf_ctypes_driver.py"
    r.ref = median_of(runs, lambda: run_once([PY, str(drv), str(base), str(tmp / "r"), *map(str, mods)]))
    differ = [m.name for m in mods if (tmp / "o" / m.name).read_bytes() != (tmp / "r" / m.name).read_bytes()]
    if differ:
        r.note = f"{len(differ)} OUTPUTS DIFFER (first {differ[0]})"
    return r


def _dump_row(runs: int, tmp: Path, fmt: str) -> Row:
    src = Path("/sys/kernel/btf/vmlinux")
    if not src.exists():
        raise Skip("no /sys/kernel/btf/vmlinux")
    bpftool = tool("bpftool")
    json_flag = ["-j"] if fmt == "json" else []
    r = Row(f"dump /sys/kernel/btf/vmlinux ({'raw text' if fmt == 'raw' else 'JSON'})",
            ref_name=f"bpftool {'-j ' if json_flag else ''}btf dump file", target="≤ 1.0× time")
    with open(tmp / "ours.txt", "wb") as o:
        ours_argv = [*BTFDEDUP, "dump", *(["--format", "json"] if json_flag else []), str(src)]
        r.ours = median_of(runs, lambda: run_once(ours_argv, stdout=o.fileno()))
    with open(tmp / "ref.txt", "wb") as o:
        r.ref = median_of(runs, lambda: run_once([bpftool, *json_flag, "btf", "dump", "file", str(src)],
                                                 stdout=o.fileno()))
    # each side appended its runs to its file: equal files mean every run printed the same
    if (tmp / "ours.txt").read_bytes() != (tmp / "ref.txt").read_bytes():
        r.note = "OUTPUTS DIFFER"
    return r


def row_dump(runs: int, tmp: Path) -> Row:
    return _dump_row(runs, tmp, "raw")


def row_dump_json(runs: int, tmp: Path) -> Row:
    return _dump_row(runs, tmp, "json")


def row_version(runs: int, tmp: Path) -> Row:
    r = Row("btfdedup --version", ref_name="python -c pass", target="≤ 0.1 s")
    r.ours = median_of(runs, lambda: run_once([*BTFDEDUP, "--version"]))
    r.ref = median_of(runs, lambda: run_once([PY, "-c", "pass"]))
    return r


def row_kernel_list(runs: int, tmp: Path) -> Row:
    bpftool = tool("bpftool")
    r = Row("btfdedup kernel list", ref_name="bpftool btf show", target="≤ 0.15 s")
    try:
        r.ours = median_of(runs, lambda: run_once([*BTFDEDUP, "kernel", "list"]))
    except RuntimeError as e:
        raise Skip(f"bpf(2) refused here: {e}") from None
    r.ref = median_of(runs, lambda: run_once([bpftool, "btf", "show"]))
    return r


def row_import(runs: int, tmp: Path) -> Row:
    r = Row("python -c 'import btfdedup'", ref_name="python -c pass", target="≤ 0.15 s")
    r.ours = median_of(runs, lambda: run_once([PY, "-c", "import btfdedup"]))
    r.ref = median_of(runs, lambda: run_once([PY, "-c", "pass"]))
    return r


def row_first_run(runs: int, tmp: Path) -> Row:
    """A first run with no bytecode cache at all (as after a fresh install) next to a second run."""
    r = Row("first run of `dedup corpora/cus` vs the second", ref_name="second run",
            target="first within 10 % of second")
    firsts, seconds = [], []
    for i in range(runs):
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(tmp / f"pyc{i}"))
        argv = [*BTFDEDUP, "dedup", str(REPO / "corpora" / "cus"), "-o", str(tmp / "cus.btf")]
        firsts.append(run_once(argv, env=env))
        seconds.append(run_once(argv, env=env))
    r.ours = Measure(statistics.median(s for s, _, _ in firsts), statistics.median(p for _, p, _ in firsts))
    r.ref = Measure(statistics.median(s for s, _, _ in seconds), statistics.median(p for _, p, _ in seconds))
    return r


def row_validate(runs: int, tmp: Path) -> Row:
    raw = vmlinux_raw()
    r = Row("validate vmlinux-raw", ref_name="(no reference)", target="≤ 5 s, ≤ 1 GB")

    def job() -> tuple[float, float, str]:
        fd, tfile = tempfile.mkstemp(prefix="btfdedup-time-")
        os.close(fd)
        import time

        try:
            t0 = time.perf_counter()
            proc = subprocess.run([TIME, "-o", tfile, "-f", "%M", *BTFDEDUP, "validate", str(raw)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            secs = time.perf_counter() - t0
            if proc.returncode not in (0, 1):  # 1: problems found, still a finished run
                raise RuntimeError(proc.stderr.decode(errors="replace")[-400:])
            return secs, int(Path(tfile).read_text().split()[-1]) / 1024, ""
        finally:
            os.unlink(tfile)

    r.ours = median_of(runs, job)
    return r


def row_parse(runs: int, tmp: Path) -> Row:
    raw = vmlinux_raw()
    drv = driver()
    r = Row("parse vmlinux-raw (library call)", ref_name="libbpf 1.1.2 btf__new", target="≤ 1.0× time")
    code = ("import json, sys, time; import btfdedup.io.raw as r; d = open(sys.argv[1], 'rb').read(); "
            "t0 = time.perf_counter(); b = r.parse_raw(d); "
            "print(json.dumps({'secs': time.perf_counter() - t0, 'types': int(b.nr_types)}))")
    r.ours = median_of(runs, lambda: run_once([PY, "-c", code, str(raw)]))
    r.ref = median_of(runs, lambda: run_once([str(drv), "parse", str(raw)]))
    return r


ROWS: dict[str, Callable[[int, Path], Row]] = {
    "dedup": row_dedup,
    "split": row_split,
    "split-python": row_split_python,
    "dump": row_dump,
    "dump-json": row_dump_json,
    "version": row_version,
    "kernel-list": row_kernel_list,
    "import": row_import,
    "first-run": row_first_run,
    "validate": row_validate,
    "parse": row_parse,
}


def render(rows: list[Row]) -> str:
    lines = ["| what | btfdedup | reference | ratio | target | note |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.name} | skipped | | | {r.target} | {r.skipped} |")
            continue
        assert r.ours is not None
        ours = f"{r.ours.secs:.3f} s, {r.ours.peak_mib:.0f} MiB"
        if r.ours.inner_secs is not None:
            ours = f"{r.ours.inner_secs:.3f} s in the call ({r.ours.secs:.2f} s, {r.ours.peak_mib:.0f} MiB process)"
        ref = ratio = ""
        if r.ref is not None:
            ref = f"{r.ref_name}: {r.ref.secs:.3f} s, {r.ref.peak_mib:.0f} MiB"
            a, b = r.ours.secs, r.ref.secs
            if r.ours.inner_secs is not None and r.ref.inner_secs is not None:
                ref = f"{r.ref_name}: {r.ref.inner_secs:.3f} s in the call"
                a, b = r.ours.inner_secs, r.ref.inner_secs
            ratio = f"{a / b:.2f}× time, {r.ours.peak_mib / r.ref.peak_mib:.2f}× memory"
        lines.append(f"| {r.name} | {ours} | {ref} | {ratio} | {r.target} | {r.note} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per side (median; default 3)")
    ap.add_argument("--only", nargs="+", choices=sorted(ROWS), help="just these rows")
    ap.add_argument("--json", type=Path, help="also write the measurements as JSON here")
    args = ap.parse_args(argv)
    if not Path(TIME).exists():
        print(f"{TIME} (GNU time) is needed to measure peak memory", file=sys.stderr)
        return 2
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="btfdedup-compare-") as tmpd:
        for name in args.only or list(ROWS):
            tmp = Path(tmpd) / name
            tmp.mkdir()
            try:
                row = ROWS[name](args.runs, tmp)
            except Skip as e:
                row = Row(name, skipped=str(e))
            rows.append(row)
            print(render([row]).splitlines()[-1], file=sys.stderr, flush=True)
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"ours": r.ours and r.ours.__dict__,
                                                        "ref": r.ref and r.ref.__dict__} for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
