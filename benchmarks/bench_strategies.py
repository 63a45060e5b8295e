"""Every dedup strategy on every shared corpus, one benchmark group per corpus.

Corpora (from ``$BTFDEDUP_CORPORA`` or ``../shared/corpora``; each case skips, saying
why, when its files are absent), each merged once as ``btfdedup dedup`` merges it:

* ``vmlinux-raw``: the raw 6.1 vmlinux BTF (3,408,970 types), one input;
* ``cus``: its 2,172 compilation units, appended in name order (3,411,022 types);
* ``modules``: the 1,121 modules merged as split BTF on the vmlinux base;
* ``libbpf-tools`` and ``xdp-tools``: the BPF objects, in directory order.

The timed call is the strategy alone (``registry.run(name, btf)``) on a freshly parsed
copy of the merged bytes each round (parsing is in the setup, outside the timing), so
no round sees what an earlier one cached.  The groups are named after the corpus
(``strategies <corpus>``) and the tests after the strategy, so
``pytest-benchmark compare`` lines up each strategy across commits; ``extra_info``
records types in/out and bytes out.  The ``btfdedup bench`` verb measures the same
(plus memory, scaling and libbpf's C dedup) for one input set from the command line.

Run: ``pytest benchmarks/bench_strategies.py --benchmark-enable [--benchmark-autosave]``.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.conftest import cache_dir, decompressed, find_corpora
from btfdedup.strategies import names, run

ROUNDS = 3


def _extract(tar: Path, name: str, sub: str) -> Path:
    """``tar`` unpacked once into the benchmark cache directory ``name`` (the same
    place ``benchmarks/compare.py`` unpacks the modules); ``name/sub`` is what it holds."""
    out = cache_dir() / name
    if not (out / sub).is_dir():
        with tarfile.open(tar) as t:
            t.extractall(out, filter="data")
    return out / sub


def _corpus_files(corpora: Path, corpus: str) -> tuple[list[Path], Path | None]:
    """The input files (in merge order) and the base of ``corpus``; skips when absent."""
    def need(p: Path) -> Path:
        if not p.exists():
            pytest.skip(f"{p} not found")
        return p

    if corpus == "vmlinux-raw":
        return [decompressed(need(corpora / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz"))], None
    if corpus == "cus":
        out = _extract(need(corpora / "vmlinux-6.1-raw" / "cus.tar.xz"), "vmlinux-6.1-cus", "cus")
        return sorted(out.glob("cu*.btf")), None
    if corpus == "modules":
        d = corpora / "modules-6.1"
        out = _extract(need(d / "split.tar.xz"), "modules-6.1-split", "split")
        return sorted(out.glob("*.btf")), need(d / "vmlinux.btf")
    d = need(corpora / "bpf-objects" / corpus)
    return sorted(d.glob("*.o")), None


CORPORA = ("vmlinux-raw", "cus", "modules", "libbpf-tools", "xdp-tools")


@pytest.fixture(scope="module")
def merged_input() -> Callable[[str], tuple[bytes, Any]]:
    """``corpus`` -> (merged raw bytes, parsed base or None), built once per module."""
    from btfdedup.append import merge
    from btfdedup.io.load import load
    from btfdedup.io.writer import btf_to_bytes
    from btfdedup.workflows.dedup import unmerged_input

    cache: dict[str, tuple[bytes, Any]] = {}

    def get(corpus: str) -> tuple[bytes, Any]:
        if corpus not in cache:
            corpora = find_corpora()
            if corpora is None:
                pytest.skip("big corpora not found: set BTFDEDUP_CORPORA")
            files, base_path = _corpus_files(corpora, corpus)
            if not files:
                pytest.skip(f"no input files for {corpus}")
            base = load(str(base_path)) if base_path else None
            btfs = [load(str(f), base=base) if base is not None else load(str(f)) for f in files]
            merged = unmerged_input(btfs, base) or merge(btfs, base)
            cache[corpus] = (btf_to_bytes(merged), base)
        return cache[corpus]

    return get


def _case(corpus: str, strategy: str) -> Any:
    return pytest.param(corpus, strategy, id=f"{corpus}-{strategy}",
                        marks=pytest.mark.benchmark(group=f"strategies {corpus}"))


@pytest.mark.parametrize(("corpus", "strategy"), [_case(c, s) for c in CORPORA for s in names()])
def test_strategy(benchmark: Any, merged_input: Callable[[str], tuple[bytes, Any]], corpus: str,
                  strategy: str) -> None:
    from btfdedup.io.load import load_data
    from btfdedup.io.writer import btf_to_bytes
    from btfdedup.workflows.bench_worker import warmup_btf

    data, base = merged_input(corpus)
    run(strategy, load_data(warmup_btf(), "<warm-up>"))  # first-call imports outside the timing

    def setup() -> tuple[tuple[str, Any], dict[str, Any]]:
        return (strategy, load_data(data, corpus, base)), {}

    res = benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1)
    types_in = load_data(data, corpus, base).nr_types
    assert 0 < res.btf.nr_types <= types_in
    benchmark.extra_info.update(corpus=corpus, strategy=strategy, types_in=int(types_in),
                                types_out=int(res.btf.nr_types), bytes_out=len(btf_to_bytes(res.btf)))
