"""The 1.7 and 1.8 profiles on the big real corpora, byte for byte against libbpf's outputs.

Judges: the reference outputs of libbpf v1.7.0 and master (f7081a6b, 1.8) in
``$BTFDEDUP_CORPORA/libbpf-versions/`` (its README): made like the v1.6 references
next to the inputs (new BTF, ``btf__add_btf`` of the inputs in order, or the module
recipe, then ``btf__dedup``).  Where v1.7.0 gives the same bytes as v1.6 (vmlinux-raw,
the CUs, the BPF object lists) the v1.6 reference is the judge.  Marked ``corpus``: run
with ``pytest -m corpus``; skips where the corpora are absent.
"""

from __future__ import annotations

import lzma
import tarfile
from pathlib import Path

import pytest

from btfdedup.append import merge, merge_modules
from btfdedup.engine import dedup, prepare_base
from btfdedup.io.load import load
from btfdedup.io.raw import parse_raw
from btfdedup.workflows.dedup import unmerged_input
from btfdedup.workflows.split import dedup_against_base
from tests.test_profiles import NEW_VERSIONS

pytestmark = pytest.mark.corpus

#: reference file name part of each profile in libbpf-versions/
TAG = {"1.7": "libbpf-1.7", "1.8": "libbpf-master"}


def _ref(corpora_dir: Path, v16: str, master: str, v: str) -> bytes:
    """The judge's bytes: the v1.6 reference ``v16`` for 1.7 (identical bytes), the
    master one (``.xz`` or raw) for 1.8."""
    if v == "1.7":
        return (corpora_dir / v16).read_bytes()
    p = corpora_dir / "libbpf-versions" / master
    return lzma.decompress(p.read_bytes()) if p.suffix == ".xz" else p.read_bytes()


def _extract(archive: Path, dest: Path) -> Path:
    if not dest.exists():
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def modules(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[str], Path]:
    d = corpora_dir / "modules-6.1"
    root = _extract(d / "split.tar.xz", tmp_path_factory.getbasetemp() / "profiles-split")
    return (d / "vmlinux.btf").read_bytes(), (d / "split_list.txt").read_text().split(), root


@pytest.mark.parametrize("v", NEW_VERSIONS)
def test_vmlinux_raw(corpora_dir: Path, v: str) -> None:
    """3,408,970 raw types, added to a new BTF and deduped: 94,762 types."""
    raw = parse_raw(lzma.decompress((corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz").read_bytes()))
    from btfdedup.engine.profiles import profile_for

    src = unmerged_input([raw], None, profile_for(v).new_hdr_len)  # the merge's bytes, without the copy
    assert src is not None
    res = dedup(src, libbpf_version=v)
    del raw, src
    assert res.stats["types_out"] == 94762
    assert res.btf.to_bytes() == _ref(corpora_dir, "vmlinux-6.1-raw/vmlinux-dedup.libbpf.btf",
                                      "vmlinux-dedup.libbpf-master.btf.xz", v)


@pytest.mark.parametrize("v", NEW_VERSIONS)
def test_cus_merged(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory, v: str) -> None:
    """The 2,172 CU files in name order, merged then deduped: 94,761 types."""
    root = _extract(corpora_dir / "vmlinux-6.1-raw" / "cus.tar.xz", tmp_path_factory.getbasetemp() / "profiles-cus")
    files = sorted(root.rglob("*.btf"))
    assert len(files) == 2172
    m = merge([parse_raw(f.read_bytes()) for f in files], libbpf_version=v)
    out = dedup(m, libbpf_version=v).btf
    assert out.nr_types == 94761
    assert out.to_bytes() == _ref(corpora_dir, "vmlinux-6.1-raw/cus-dedup.libbpf.btf",
                                  "cus-dedup.libbpf-master.btf.xz", v)


@pytest.mark.parametrize("v", NEW_VERSIONS)
def test_modules_merged(corpora_dir: Path, modules: tuple[bytes, list[str], Path], v: str) -> None:
    """1,121 modules merged on the base in list order, one split dedup: 112,425 (1.7)
    and 112,415 (1.8) types."""
    base_b, names, root = modules
    base = parse_raw(base_b)
    m = merge_modules([parse_raw((root / n).read_bytes(), base=base) for n in names], base, libbpf_version=v)
    out = dedup(m, libbpf_version=v).btf
    ref = lzma.decompress((corpora_dir / "libbpf-versions" / f"modules-all-dedup.{TAG[v]}.btf.xz").read_bytes())
    assert out.nr_types == {"1.7": 112425, "1.8": 112415}[v]
    assert out.to_bytes() == ref


@pytest.mark.parametrize("v", NEW_VERSIONS)
def test_each_module_split(corpora_dir: Path, modules: tuple[bytes, list[str], Path],
                           tmp_path_factory: pytest.TempPathFactory, v: str) -> None:
    """Every shipped module deduped on its own against the base (what ``btfdedup split``
    writes): 161,204 (1.7) and 161,188 (1.8) types in all, each file libbpf's bytes."""
    base_b, names, root = modules
    refs = _extract(corpora_dir / "libbpf-versions" / f"split-dedup.{TAG[v]}.tar.xz",
                    tmp_path_factory.getbasetemp() / f"profiles-split-{v}")
    base = parse_raw(base_b)
    prepared = prepare_base(base, libbpf_version=v)
    bad, total = [], 0
    for n in names:
        out = dedup_against_base(parse_raw((root / n).read_bytes(), base=base), base, prepared=prepared,
                                 libbpf_version=v)
        total += out.nr_types
        if out.to_bytes() != (refs / n).read_bytes():
            bad.append(n)
    assert bad == []
    assert total == {"1.7": 161204, "1.8": 161188}[v]


@pytest.mark.parametrize("v", NEW_VERSIONS)
@pytest.mark.parametrize(
    ("listing", "sub", "ref"),
    [
        ("list_libbpf_tools.txt", "libbpf-tools", "libbpf-tools-dedup"),
        ("list_xdp.txt", "xdp-tools", "xdp-tools-dedup"),
    ],
)
def test_bpf_object_lists(corpora_dir: Path, listing: str, sub: str, ref: str, v: str) -> None:
    d = corpora_dir / "bpf-objects"
    names = (d / listing).read_text().split()
    btfs = [load(str(d / sub / Path(n).name)) for n in names]
    out = dedup(merge(btfs, libbpf_version=v), libbpf_version=v).btf.to_bytes()
    assert out == _ref(corpora_dir, f"bpf-objects/{ref}.libbpf.btf", f"{ref}.libbpf-master.btf", v)
