"""``btfdedup distill`` / :func:`btfdedup.distill`: libbpf's ``btf__distill_base``.

Judges:

* libbpf v1.6 (pylibbpf wheel) ``btf__distill_base`` + ``btf__raw_data`` of both
  results, for the default profile, and libbpf master (``$BTFDEDUP_LIBBPF_MASTER``,
  1.8: 32-byte header) for ``libbpf_version="1.8"``; live where installed, and always
  the sha256 committed under ``tests/expected/distill/`` (a missing entry fails);
* the round trip: ``btf__relocate`` of the distilled split back onto the 6.1 base, by
  the same judges;
* the committed ``corpora/modules/8021q.distilled.*`` (libbpf v1.6's own bytes);
* a module on a module (multi-level split): libbpf master's distill of it, and
  master's relocation onto the *flattened* chain (libbpf's ``btf__relocate`` onto a
  split base reads its string counts with the base's own ``str_len`` only, so it is
  not a usable judge there; flattening keeps every ID and string offset).
"""

from __future__ import annotations

import lzma
import os
from pathlib import Path

import numpy as np
import pytest

import btfdedup
from btfdedup.engine.profiles import LIBBPF_VERSIONS
from btfdedup.errors import BtfUsageError, DistillError
from btfdedup.io.elf import find_btf_sections
from btfdedup.io.load import load
from btfdedup.kernel.flatten import flatten
from btfdedup.model.btf import Btf
from btfdedup.model.fields import str_fields, type_id_fields
from btfdedup.workflows.distill import distill, distill_base
from btfdedup.workflows.relocate import relocate_split
from tests._kernel_helpers import run_cli
from tests.conftest import FIXTURES
from tests.expected import LIBBPF_V16, Family, Judge, rel
from tests.oracle.libbpf import Libbpf

GENERATOR = "tests/expected/distill/make_distill.py"
MODDIR = FIXTURES / "modules"
VMLINUX = MODDIR / "vmlinux-6.1.btf.xz"
MODULES = sorted(p for p in MODDIR.glob("*.btf") if ".distilled" not in p.name)


def _master_describe(lib: Libbpf) -> str:
    return f"libbpf master {lib.version[0]}.{lib.version[1]} (local build {os.path.realpath(lib.path)})"


LIBBPF_MASTER = Judge("libbpf master (1.8)", Libbpf.master, _master_describe)
#: btf__distill_base / btf__relocate by libbpf v1.6 (default profile) and master (1.8)
FAMILIES = {
    "1.6": Family("distill/distill_v16", LIBBPF_V16, GENERATOR),
    "1.8": Family("distill/distill_master", LIBBPF_MASTER, GENERATOR),
}


@pytest.fixture(scope="module")
def vmlinux_bytes() -> bytes:
    return lzma.decompress(VMLINUX.read_bytes())


@pytest.fixture(scope="module")
def vmlinux(vmlinux_bytes: bytes) -> Btf:
    return load(vmlinux_bytes)


def test_cli_choices_are_the_profiles() -> None:
    """distill and relocate offer the one list of profiles (btfdedup.cli.choices)."""
    from btfdedup.cli import distill, relocate
    from btfdedup.cli.choices import LIBBPF_VERSION_CHOICES

    assert distill.LIBBPF_VERSION_CHOICES is relocate.LIBBPF_VERSION_CHOICES is LIBBPF_VERSION_CHOICES
    assert LIBBPF_VERSION_CHOICES == LIBBPF_VERSIONS


@pytest.mark.parametrize("version", sorted(FAMILIES))
@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_fixture_distill_and_round_trip(path: Path, version: str, vmlinux: Btf, vmlinux_bytes: bytes) -> None:
    """Distilled base, new split, and the split relocated back onto the 6.1 base."""
    fam = FAMILIES[version]
    data = path.read_bytes()
    module = load(data, base=vmlinux)
    d = distill(module, vmlinux, libbpf_version=version)
    base_bytes, split_bytes = d.base.to_bytes(), d.split.to_bytes()
    key = rel(path)
    fam.check(f"{key}::distill_base", base_bytes, lambda lib: lib.distill_bytes(data, vmlinux_bytes)[0],
              inputs=[data, vmlinux_bytes])
    fam.check(f"{key}::distill_split", split_bytes, lambda lib: lib.distill_bytes(data, vmlinux_bytes)[1],
              inputs=[data, vmlinux_bytes])
    back = relocate_split(d.split, vmlinux)
    fam.check(f"{key}::relocate_6.1", back.to_bytes(),
              lambda lib: lib.relocate_bytes(split_bytes, base_bytes, vmlinux_bytes),
              inputs=[split_bytes, base_bytes, vmlinux_bytes])
    assert back.start_id == vmlinux.type_cnt and len(back) == len(d.split)
    assert btfdedup.validate(back) == []


def test_8021q_is_the_committed_libbpf_fixture(vmlinux: Btf) -> None:
    """``corpora/modules/8021q.distilled.*`` are libbpf v1.6's bytes (make_distilled.py)."""
    d = distill(load(MODDIR / "8021q.btf", base=vmlinux))
    assert d.base.to_bytes() == (MODDIR / "8021q.distilled.base.btf").read_bytes()
    assert d.split.to_bytes() == (MODDIR / "8021q.distilled.btf").read_bytes()
    assert (len(d.base), len(d.split), d.split.start_id) == (65, 269, 66)


def test_distilled_base_shape(vmlinux: Btf) -> None:
    """Only named INT/FLOAT/FWD/STRUCT/UNION/ENUM, composites and enums without members."""
    d = distill(load(MODDIR / "sunrpc.btf", base=vmlinux))
    kinds = {btfdedup.Kind(int(k)) for k in np.unique(d.base.kind)}
    assert kinds <= {btfdedup.Kind.INT, btfdedup.Kind.FLOAT, btfdedup.Kind.FWD, btfdedup.Kind.STRUCT,
                     btfdedup.Kind.UNION, btfdedup.Kind.ENUM}
    assert (d.base.name_off != 0).all()
    composite = np.isin(d.base.kind, [4, 5, 6])
    assert (d.base.vlen[composite] == 0).all()


def _rebase(module: Btf, new_base: Btf) -> Btf:
    """``module`` (split on the root of ``new_base``'s chain) as split BTF on ``new_base``:
    its own IDs and string offsets moved past ``new_base``'s."""
    words = module.words.copy()
    pos, _ = type_id_fields(module)
    ids = words[pos].astype(np.int64)
    ids[ids >= module.start_id] += new_base.type_cnt - module.start_id
    words[pos] = ids
    pos, _ = str_fields(module)
    offs = words[pos].astype(np.int64)
    offs[offs >= module.strings.start_off] += new_base.strings.end_off - module.strings.start_off
    words[pos] = offs
    return Btf.from_words(words, module.strings.data, base=new_base, source=module.source)


def test_module_on_a_module(vmlinux: Btf, vmlinux_bytes: bytes) -> None:
    """Multi-level split: 8021q deduplicated against veth (on vmlinux) refers to types of
    both; it distills and relocates back onto the chain, byte-identical to libbpf master."""
    fam = FAMILIES["1.8"]
    veth = load(MODDIR / "veth.btf", base=vmlinux)
    upper = btfdedup.split(_rebase(load(MODDIR / "8021q.btf", base=vmlinux), veth), veth)
    pos, _ = type_id_fields(upper)
    ids = upper.words[pos]
    assert ((ids >= veth.start_id) & (ids < veth.type_cnt)).any(), "the case needs references into veth"
    assert ((ids > 0) & (ids < vmlinux.type_cnt)).any()
    veth_bytes, upper_bytes = veth.to_bytes(), upper.to_bytes()

    def judge_distill(lib: Libbpf) -> tuple[bytes, bytes]:
        with lib.parse(vmlinux_bytes) as vh, lib.parse(veth_bytes, vh) as h1:
            return lib.distill_bytes_on(upper_bytes, h1)

    d = distill(upper, veth, libbpf_version="1.8")
    inputs = [upper_bytes, veth_bytes, vmlinux_bytes]
    fam.check("multi-level:8021q-on-veth::distill_base", d.base.to_bytes(), lambda lib: judge_distill(lib)[0],
              inputs=inputs)
    fam.check("multi-level:8021q-on-veth::distill_split", d.split.to_bytes(), lambda lib: judge_distill(lib)[1],
              inputs=inputs)
    assert len(d.base) < 100 and d.split.start_id == len(d.base) + 1
    back = relocate_split(d.split, veth)
    flat = flatten(veth).to_bytes()
    fam.check("multi-level:8021q-on-veth::relocate_chain", back.to_bytes(),
              lambda lib: lib.relocate_bytes(d.split.to_bytes(), d.base.to_bytes(), flat),
              inputs=[d.split.to_bytes(), d.base.to_bytes(), flat])
    assert back.base is veth and back.start_id == veth.type_cnt
    # every reference names a type of the same kind and name as before relocation
    p0, _ = type_id_fields(d.split)
    p1, _ = type_id_fields(back)
    before = [(d.split.kind_of(int(t)), d.split.name(int(t))) for t in d.split.words[p0]]
    after = [(back.kind_of(int(t)), back.name(int(t))) for t in back.words[p1]]
    assert before == after
    assert btfdedup.validate(back) == []


# ------------------------------------------------------------------ errors
def test_standalone_module_is_refused(vmlinux: Btf) -> None:
    cu = load(FIXTURES / "cus" / "cu1412.btf")
    with pytest.raises(BtfUsageError, match="not split BTF"):
        distill(cu)
    with pytest.raises(BtfUsageError, match="not split BTF"):
        distill(cu, vmlinux)


def test_other_base_is_refused(vmlinux: Btf) -> None:
    module = load(MODDIR / "veth.btf", base=vmlinux)
    other = load(FIXTURES / "vmlinux-6.18.btf.xz")
    with pytest.raises(BtfUsageError, match="another base"):
        distill(module, other)


def test_reference_to_an_undistillable_kind(vmlinux: Btf) -> None:
    """A split DECL_TAG on a base FUNC: a distilled base cannot stand for a FUNC."""
    func = int(np.flatnonzero(vmlinux.kind == btfdedup.Kind.FUNC)[0]) + 1
    strings = b"tag\0"
    words = np.array([vmlinux.strings.end_off, (17 << 24), func, 0xFFFFFFFF], dtype=np.uint32)
    module = Btf.from_words(words, strings, base=vmlinux, source="decl_tag")
    with pytest.raises(DistillError, match=rf"\[{func}\] FUNC '{vmlinux.name(func)}' \(from type \[{vmlinux.type_cnt}\]\)"):
        distill(module)
    if (lib := LIBBPF_V16.live()) is not None:
        from tests.oracle.libbpf import OracleError

        with pytest.raises(OracleError):
            lib.distill_bytes(module.to_bytes(), vmlinux.to_bytes())


# --------------------------------------------------------------------- CLI
def test_cli_writes_the_two_files_and_a_ko(tmp_path: Path, vmlinux: Btf) -> None:
    ko = MODDIR / "8021q.ko"
    r = run_cli("distill", str(ko), "--base", str(VMLINUX), "-o", str(tmp_path / "out"), "--ko",
                str(tmp_path / "d.ko"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("8021q: 65 distilled base types (of 95,246), 269 split types -> ")
    base_b = (tmp_path / "out" / "8021q.base.btf").read_bytes()
    split_b = (tmp_path / "out" / "8021q.btf").read_bytes()
    assert base_b == (MODDIR / "8021q.distilled.base.btf").read_bytes()
    assert split_b == (MODDIR / "8021q.distilled.btf").read_bytes()
    data = (tmp_path / "d.ko").read_bytes()
    secs = find_btf_sections(data, "d.ko")
    assert secs.btf is not None and secs.btf_base is not None
    assert (secs.btf.data, secs.btf_base.data) == (split_b, base_b)
    # the input's bytes stay where they were: only the ELF header changes (e_shoff, e_shnum)
    orig = ko.read_bytes()
    assert data[64 : len(orig)] == orig[64:]
    loaded = load(tmp_path / "d.ko")
    assert loaded.base is not None and loaded.base.to_bytes() == base_b and loaded.to_bytes() == split_b
    lib = LIBBPF_V16.live()
    if lib is not None:  # libbpf >= 1.5 parses a .ko with .BTF.base on it
        h, _ = lib.parse_elf(tmp_path / "d.ko", want_ext=False)
        with h:
            assert lib.raw_data(h) == split_b


def test_cli_raw_module_and_header_profile(tmp_path: Path, vmlinux: Btf) -> None:
    r = run_cli("distill", str(MODDIR / "veth.btf"), "-B", str(VMLINUX), "-o", str(tmp_path),
                "--libbpf-version", "1.8")
    assert r.returncode == 0, r.stderr
    d = distill(load(MODDIR / "veth.btf", base=vmlinux), libbpf_version="1.8")
    assert (tmp_path / "veth.base.btf").read_bytes() == d.base.to_bytes()
    assert (tmp_path / "veth.btf").read_bytes() == d.split.to_bytes()
    assert d.base.to_bytes()[4] == 32


def test_cli_errors(tmp_path: Path) -> None:
    r = run_cli("distill", str(MODDIR / "veth.btf"), "-B", str(VMLINUX))
    assert r.returncode == 2 and r.stderr.strip() == "btfdedup: error: distill: give -o OUTDIR and/or --ko OUT.ko"
    r = run_cli("distill", str(MODDIR / "veth.btf"), "-B", str(VMLINUX), "--ko", str(tmp_path / "x.ko"))
    assert r.returncode == 1 and "--ko needs an ELF module" in r.stderr
    assert not (tmp_path / "x.ko").exists()
    r = run_cli("distill", str(MODDIR / "8021q.ko"), "-B", str(VMLINUX), "--ko", str(MODDIR / "8021q.ko"))
    assert r.returncode == 1 and "refusing to overwrite input file" in r.stderr
    r = run_cli("distill", str(FIXTURES / "cus" / "cu1412.btf"), "-B", str(VMLINUX), "-o", str(tmp_path / "o"))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_api_is_exported() -> None:
    assert btfdedup.distill is distill
    assert "distill" in btfdedup.__all__ and "relocate" in btfdedup.__all__
    assert distill_base.__module__ == "btfdedup.workflows.distill"
