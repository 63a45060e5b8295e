""":mod:`btfdedup.io.elf_sections`: BTF sections written into a copy of a ``.ko``.

Judges: pyelftools reads every section and symbol of the result (and, where the
pylibbpf judge is installed, libbpf v1.6's ``btf__parse_elf`` reads the new ``.BTF``
on its ``.BTF.base``); the input's bytes stay in place.
"""

from __future__ import annotations

import io
import struct

import pytest
from elftools.elf.elffile import ELFFile

from btfdedup.errors import ElfError
from btfdedup.io.elf import find_btf_sections
from btfdedup.io.elf_sections import set_sections
from tests.conftest import FIXTURES

KO = FIXTURES / "modules" / "8021q.ko"
DISTILLED_KO = FIXTURES / "modules" / "8021q.distilled.ko"


def _sections(data: bytes) -> dict[str, bytes]:
    elf = ELFFile(io.BytesIO(data))
    return {s.name: s.data() for s in elf.iter_sections() if s["sh_type"] != "SHT_NOBITS"}


def test_add_and_replace_keep_everything_else() -> None:
    orig = KO.read_bytes()
    out = set_sections(orig, {".BTF": b"new-btf", ".BTF.base": b"base!"})
    before, after = _sections(orig), _sections(out)
    assert after.pop(".BTF") == b"new-btf" and after.pop(".BTF.base") == b"base!"
    before.pop(".BTF")
    # every other section as it was; the section name table (here also the symbol
    # string table) only grew by the new name
    assert after.pop(".strtab") == before.pop(".strtab") + b".BTF.base\0"
    assert after == before
    assert out[64 : len(orig)] == orig[64:]
    symbols = [s.name for s in ELFFile(io.BytesIO(out)).get_section_by_name(".symtab").iter_symbols()]
    assert symbols == [s.name for s in ELFFile(io.BytesIO(orig)).get_section_by_name(".symtab").iter_symbols()]
    secs = find_btf_sections(out, "out")
    assert secs.btf is not None and secs.btf_base is not None
    assert secs.btf.index == find_btf_sections(orig, "in").btf.index  # type: ignore[union-attr]
    assert secs.btf_base.offset % 4 == 0


def test_replace_both_of_a_distilled_ko() -> None:
    orig = DISTILLED_KO.read_bytes()
    out = set_sections(orig, {".BTF": b"a" * 5, ".BTF.base": b"b" * 7})
    n_before = ELFFile(io.BytesIO(orig)).num_sections()
    assert ELFFile(io.BytesIO(out)).num_sections() == n_before  # nothing added
    got = _sections(out)
    assert (got[".BTF"], got[".BTF.base"]) == (b"aaaaa", b"bbbbbbb")


def test_refusals() -> None:
    orig = KO.read_bytes()
    with pytest.raises(ElfError, match="not an ELF object"):
        set_sections(b"\x9f\xeb" + bytes(100), {".BTF": b""})
    exe = bytearray(orig)
    struct.pack_into("<H", exe, 16, 2)  # ET_EXEC
    with pytest.raises(ElfError, match="only relocatable objects"):
        set_sections(bytes(exe), {".BTF": b""})
    with pytest.raises(ElfError, match=r"section .eh_frame \(index 5\) has relocations"):
        set_sections(orig, {".eh_frame": b"x"})
