"""The per-input path of the ``dedup`` / ``split`` batches: each file read, decompressed
and (ELF) its section headers walked once, and the struct-based section walk giving
exactly what the pyelftools walk gives."""

from __future__ import annotations

import io
import os
import random
import struct
import sys
from pathlib import Path

import pytest

from btfdedup.errors import BtfError, BtfUsageError
from btfdedup.io import elf
from btfdedup.io import load as load_module
from btfdedup.io.elf import ElfBtfSections, find_btf_sections
from btfdedup.io.load import load
from btfdedup.model.btf import Btf
from btfdedup.workflows.inputs import carries_btf, check_outputs, load_input
from tests.conftest import FIXTURES

MODULES = FIXTURES / "modules"


def _elf_fixtures() -> list[Path]:
    out = []
    for root, _dirs, files in os.walk(FIXTURES):
        for f in sorted(files):
            p = Path(root) / f
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(p)
    return sorted(out)


ELF_FIXTURES = _elf_fixtures()


def _pyelftools_walk(data: bytes, monkeypatch: pytest.MonkeyPatch) -> ElfBtfSections | str:
    """What :func:`find_btf_sections` gives through pyelftools alone (or its error)."""
    with monkeypatch.context() as m:
        m.setattr(elf, "_quick_sections", lambda _data, _src: None)
        try:
            return find_btf_sections(data, "f")
        except BtfError as e:
            return f"{type(e).__name__}: {e}"


@pytest.fixture(scope="module")
def base() -> Btf:
    return load(str(MODULES / "vmlinux-6.1.btf.xz"))


def test_fixtures_are_found() -> None:
    assert len(ELF_FIXTURES) >= 20
    assert any(p.suffix == ".ko" for p in ELF_FIXTURES)


@pytest.mark.parametrize("path", ELF_FIXTURES, ids=[p.name for p in ELF_FIXTURES])
def test_struct_walk_matches_pyelftools(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every committed ELF (BPF objects of both byte orders, modules, distilled modules)
    takes the struct-based walk, and it finds the same sections as pyelftools."""
    data = path.read_bytes()
    quick = elf._quick_sections(data, str(path))
    assert quick is not None
    assert quick == _pyelftools_walk(data, monkeypatch)


def test_mutated_headers_agree_with_pyelftools(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random corruption of the ELF header, the section contents (the section name
    table among them) and the section header table: whenever the struct-based walk
    answers, pyelftools gives the same sections (so an error is always pyelftools' own)."""
    rng = random.Random(8)
    data = (MODULES / "8021q.ko").read_bytes()
    shoff = int.from_bytes(data[0x28:0x30], "little")
    regions = [(0, 64), (64, shoff), (shoff, len(data))]
    answered = 0
    for _ in range(1500):
        buf = bytearray(data)
        for _flip in range(rng.randint(1, 3)):
            lo, hi = regions[rng.randrange(3)]
            buf[rng.randrange(lo, hi)] = rng.randrange(256)
        quick = elf._quick_sections(bytes(buf), "f")
        if quick is None:
            continue
        answered += 1
        assert quick == _pyelftools_walk(bytes(buf), monkeypatch)
    assert answered > 500


def test_unusual_files_go_to_pyelftools(monkeypatch: pytest.MonkeyPatch) -> None:
    """No section header table, a 32-bit header cut short, a compressed .BTF: left to
    pyelftools, which reads or refuses them in its own words."""
    data = bytearray((MODULES / "8021q.ko").read_bytes())
    no_sections = bytearray(data)
    no_sections[0x3C:0x3E] = b"\0\0"  # e_shnum = 0: extended numbering or no table
    assert elf._quick_sections(bytes(no_sections), "f") is None
    assert elf._quick_sections(bytes(data[:40]), "f") is None
    secs = find_btf_sections(bytes(data), "f")
    assert secs.btf is not None
    shoff = int.from_bytes(data[0x28:0x30], "little")
    flags_at = shoff + 64 * secs.btf.index + 8
    data[flags_at : flags_at + 8] = (int.from_bytes(data[flags_at : flags_at + 8], "little") | 0x800).to_bytes(8, "little")
    assert elf._quick_sections(bytes(data), "f") is None


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = load_module.read_file

    def counting(path: str) -> bytes:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(load_module, "read_file", counting)
    return reads


@pytest.mark.parametrize("name", ["veth.btf", "8021q.ko", "8021q.ko.xz", "8021q.ko.zst", "8021q.ko.gz"])
def test_split_module_is_read_once(name: str, base: Btf, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module tried as standalone BTF and then read on the base: one read, one
    decompression, and the same BTF as loading it on the base directly."""
    path = str(MODULES / name)
    reads = _count_reads(monkeypatch)
    got = load_input(path, base)
    assert reads == [path]
    assert got.base is base
    assert got.to_bytes() == load(path, base=base).to_bytes()


def test_standalone_input_on_a_base_stays_standalone(base: Btf, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(FIXTURES / "cus" / "cu1412.btf")
    reads = _count_reads(monkeypatch)
    got = load_input(path, base)
    assert reads == [path] and got.base is None


def test_split_module_from_standard_input(base: Btf, monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input is read once: the second try (on the base) parses the same bytes."""
    data = (MODULES / "veth.btf").read_bytes()

    class _Stdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr(sys, "stdin", _Stdin())
    got = load_input("-", base)
    assert got.base is base and got.nr_types == load(data, base=base).nr_types


def test_wrong_input_still_fails_once(base: Btf, tmp_path: Path) -> None:
    """An input that is neither BTF nor ELF is refused with the loader's error."""
    bad = tmp_path / "x.btf"
    bad.write_bytes(b"not btf at all")
    with pytest.raises(BtfError, match="neither raw BTF"):
        load_input(str(bad), base)
    assert carries_btf(str(bad)) == "neither raw BTF nor ELF"


def test_check_outputs_refuses_an_input_by_any_name(tmp_path: Path) -> None:
    """An output that is an input (the same file through a symlink or a hard link) is
    refused in the writer's words; other existing outputs are fine."""
    inp = tmp_path / "in.btf"
    inp.write_bytes(b"x")
    other = tmp_path / "other.btf"
    other.write_bytes(b"y")
    (tmp_path / "link.btf").symlink_to(inp)
    os.link(inp, tmp_path / "hard.btf")
    check_outputs([str(other), str(tmp_path / "new.btf")], [str(inp)])
    for name in ("in.btf", "link.btf", "hard.btf"):
        with pytest.raises(BtfUsageError, match=f"refusing to overwrite input file .*{name}"):
            check_outputs([str(other), str(tmp_path / name)], [str(inp), "-"])


def test_check_outputs_looks_each_input_up_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """n existing outputs against n inputs: a linear number of ``stat`` calls, not n²."""
    n = 60
    inputs, outputs = [], []
    for i in range(n):
        (tmp_path / f"m{i}.ko").write_bytes(b"m")
        (tmp_path / f"m{i}.btf").write_bytes(b"o")
        inputs.append(str(tmp_path / f"m{i}.ko"))
        outputs.append(str(tmp_path / f"m{i}.btf"))
    calls = []
    real = os.stat

    def counting(*args: object, **kwargs: object) -> os.stat_result:
        calls.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", counting)
    check_outputs(outputs, inputs)
    assert len(calls) <= 6 * n


def _handmade_elf(elfclass: int, bo: str, btf: bytes) -> bytes:
    """A minimal relocatable ELF (null section, .shstrtab, .BTF) of the given class
    and byte order, section headers at the end as linkers place them."""
    names = b"\0.shstrtab\0.BTF\0"
    ehsize, shentsize = (52, 40) if elfclass == 32 else (64, 64)
    names_at = ehsize
    btf_at = names_at + len(names)
    shoff = btf_at + len(btf)
    ident = b"\x7fELF" + bytes([1 if elfclass == 32 else 2, 1 if bo == "<" else 2, 1]) + bytes(9)
    addr = "I" if elfclass == 32 else "Q"
    ehdr = ident + struct.pack(bo + "HHI" + addr * 3 + "IHHHHHH", 1, 247, 1, 0, 0, shoff, 0, ehsize, 0, 0,
                               shentsize, 3, 1)
    fmt = bo + "II" + addr * 4 + "II" + addr * 2

    def shdr(name: int, sh_type: int, off: int, size: int) -> bytes:
        return struct.pack(fmt, name, sh_type, 0, 0, off, size, 0, 0, 1, 0)

    table = shdr(0, 0, 0, 0) + shdr(1, 3, names_at, len(names)) + shdr(11, 1, btf_at, len(btf))
    return ehdr + names + btf + table


@pytest.mark.parametrize("elfclass", [32, 64])
@pytest.mark.parametrize("bo", ["<", ">"])
def test_struct_walk_reads_both_classes_and_byte_orders(elfclass: int, bo: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _handmade_elf(elfclass, bo, b"\x9f\xeb\x01\x00" + bytes(20))
    quick = elf._quick_sections(data, "f")
    assert quick is not None and quick.btf is not None
    assert (quick.elfclass, quick.byteorder, quick.e_type, quick.btf.index) == (elfclass, bo, "ET_REL", 2)
    assert quick == _pyelftools_walk(data, monkeypatch)
