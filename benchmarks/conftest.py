"""Shared fixtures for the benchmarks: where the big corpora are, decompressed
inputs cached across runs, and the libbpf builds measured alongside btfdedup.

Run with ``pytest benchmarks --benchmark-enable`` (the project's default options
disable benchmarking so the unit-test run stays fast).  The corpora are found
through ``$BTFDEDUP_CORPORA`` or ``../shared/corpora`` beside the checkout; every
benchmark skips when they are absent.  Decompressed copies go to
``$BTFDEDUP_BENCH_CACHE`` (default ``$XDG_CACHE_HOME/btfdedup-bench`` or
``~/.cache/btfdedup-bench``).
"""

from __future__ import annotations

import lzma
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.libbpf import Libbpf, OracleUnavailable

REPO = Path(__file__).resolve().parent.parent



class Report:
    """Medians (seconds) and notes the benchmarks record, printed at the end of the
    run as btfdedup/libbpf ratios.  Kept on the pytest config (not in module
    globals: benchmark modules import helpers from here under another module name)."""

    def __init__(self) -> None:
        self.results: dict[str, float] = {}
        self.notes: list[str] = []

    def record(self, name: str, benchmark: Any) -> None:
        """Remember a finished benchmark's median (skipped when benchmarking is disabled)."""
        stats = getattr(benchmark, "stats", None)
        if stats is not None and getattr(stats, "stats", None) is not None:
            self.results[name] = float(stats.stats.median)


_REPORT_KEY = pytest.StashKey[Report]()


def find_corpora() -> Path | None:
    env = os.environ.get("BTFDEDUP_CORPORA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "corpora"]:
        if cand.is_dir():
            return cand
    return None


def cache_dir() -> Path:
    env = os.environ.get("BTFDEDUP_BENCH_CACHE")
    if env:
        d = Path(env)
    else:
        d = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "btfdedup-bench"
    d.mkdir(parents=True, exist_ok=True)
    return d


def decompressed(src: Path) -> Path:
    """``src`` (``.xz``) decompressed once into the cache; plain files are returned as they are."""
    if src.suffix != ".xz":
        return src
    dst = cache_dir() / src.stem
    if dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
        return dst
    tmp = dst.with_suffix(".tmp")
    with lzma.open(src) as fin, open(tmp, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 22)
    os.replace(tmp, dst)
    return dst


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    d = find_corpora()
    if d is None:
        pytest.skip("big corpora not found: set BTFDEDUP_CORPORA")
    return d


@pytest.fixture(scope="session")
def vmlinux_raw_path(corpora_dir: Path) -> Path:
    src = corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz"
    if not src.exists():
        pytest.skip(f"{src} not found")
    return decompressed(src)


@pytest.fixture(scope="session")
def vmlinux_raw_bytes(vmlinux_raw_path: Path) -> bytes:
    return vmlinux_raw_path.read_bytes()


@pytest.fixture(scope="session")
def libbpf_system() -> Libbpf:
    try:
        return Libbpf.system()
    except OracleUnavailable as e:
        pytest.skip(f"system libbpf unavailable: {e.reason}")


@pytest.fixture(scope="session")
def libbpf_v16() -> Libbpf:
    try:
        return Libbpf.v16()
    except OracleUnavailable as e:
        pytest.skip(f"libbpf v1.6 unavailable: {e.reason}")


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> Report:
    """The run's :class:`Report`."""
    stash = request.config.stash
    if _REPORT_KEY not in stash:
        stash[_REPORT_KEY] = Report()
    return stash[_REPORT_KEY]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    rep = config.stash.get(_REPORT_KEY, None)
    if rep is None or (not rep.results and not rep.notes):
        return
    tr = terminalreporter
    tr.section("btfdedup vs libbpf")
    for name, secs in sorted(rep.results.items()):
        tr.write_line(f"{name}: median {secs:.4f} s")
    for name in sorted(rep.results):
        if name.endswith("[btfdedup]"):
            key = name[: -len("[btfdedup]")]
            other = rep.results.get(key + "[libbpf]")
            if other:
                tr.write_line(f"{key}: btfdedup / libbpf = {rep.results[name] / other:.2f}x")
    for line in rep.notes:
        tr.write_line(line)
