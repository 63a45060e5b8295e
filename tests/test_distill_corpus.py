"""Distill and relocate every module of the big corpora's modules-6.1, against libbpf.

Each of the 1,121 modules (``split.tar.xz``, split BTF on ``vmlinux.btf``) is distilled
(:func:`btfdedup.distill`) and its new split BTF relocated back onto the 6.1 base
(:func:`btfdedup.relocate`); the three outputs must be byte-identical to libbpf's
``btf__distill_base`` and ``btf__relocate``: v1.6 (pylibbpf wheel) for the default
profile, master (``$BTFDEDUP_LIBBPF_MASTER``) for ``libbpf_version="1.8"``.  Live where
the judge is installed (module by module), and always against one committed digest per
judge in ``tests/expected/distill/distill_corpus_*.json`` (the sha256 of a listing of
every module's three sha256s).  Marked ``corpus``: run with ``pytest -m corpus``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from btfdedup.io.load import load
from btfdedup.model.btf import Btf
from btfdedup.workflows.distill import distill
from btfdedup.workflows.relocate import relocate_split
from tests.expected import Family, sha256
from tests.oracle.libbpf import Libbpf
from tests.test_distill import FAMILIES, GENERATOR

pytestmark = pytest.mark.corpus

CORPUS_FAMILIES = {v: Family(f"distill/distill_corpus_{'v16' if v == '1.6' else 'master'}", f.judge, GENERATOR)
                   for v, f in FAMILIES.items()}


@pytest.fixture(scope="module")
def modules(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[tuple[str, bytes]]]:
    d = corpora_dir / "modules-6.1"
    root = tmp_path_factory.getbasetemp() / "distill-split"
    if not root.exists():
        with tarfile.open(d / "split.tar.xz") as tf:
            tf.extractall(root, filter="data")
    names = (d / "split_list.txt").read_text().split()
    return (d / "vmlinux.btf").read_bytes(), [(n, (root / n).read_bytes()) for n in names]


def _line(name: str, outputs: tuple[bytes, bytes, bytes]) -> str:
    return " ".join([name, *(sha256(b) for b in outputs)])


def _ours(base: Btf, data: bytes, version: str) -> tuple[bytes, bytes, bytes]:
    d = distill(load(data, base=base), base, libbpf_version=version)
    return d.base.to_bytes(), d.split.to_bytes(), relocate_split(d.split, base).to_bytes()


def _judge(lib: Libbpf, base_bytes: bytes, mods: list[tuple[str, bytes]]) -> list[str]:
    lines = []
    with lib.parse(base_bytes) as bh:
        for name, data in mods:
            nb, ns = lib.distill_bytes_on(data, bh)
            lines.append(_line(name, (nb, ns, lib.relocate_bytes_on(ns, nb, bh))))
    return lines


@pytest.mark.parametrize("version", sorted(FAMILIES))
def test_every_module_round_trips(modules: tuple[bytes, list[tuple[str, bytes]]], version: str) -> None:
    base_bytes, mods = modules
    base = load(base_bytes)
    ours = [_line(name, _ours(base, data, version)) for name, data in mods]
    fam = CORPUS_FAMILIES[version]
    lib = fam.judge.live()
    judged = _judge(lib, base_bytes, mods) if lib is not None else None
    if judged is not None:
        wrong = [(a, b) for a, b in zip(ours, judged, strict=True) if a != b]
        assert not wrong, f"{len(wrong)} of {len(mods)} modules differ from {fam.judge.name}, first: {wrong[0]}"
    listing = ("\n".join(ours) + "\n").encode()
    fam.check(f"modules-6.1/split.tar.xz::distill+relocate_6.1 ({len(mods)} modules)", listing,
              lambda _lib: ("\n".join(judged or []) + "\n").encode(), inputs=[base_bytes, *(d for _, d in mods)])
