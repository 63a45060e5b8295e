"""Write BTF sections into a copy of a relocatable ELF object (a ``.ko``).

``btfdedup distill --ko OUT.ko`` puts the distilled base and the new split BTF into
``.BTF.base`` and ``.BTF`` of a copy of the input module, as pahole
``--btf_features=distilled_base`` leaves an out-of-tree module.

Done in Python rather than with ``llvm-objcopy --update-section/--add-section``:
the tool is not installed everywhere the package runs (CI, user machines), its
layout choices vary by release, and this edit is simple and checkable for a
relocatable object, which has no program headers and no addresses to keep: every
byte of the input stays where it was, the new section contents are appended (each
4-byte aligned), then a section name table with any new names, then the section
header table with the replaced sections pointing at their new bytes and the added
ones appended (so no section index, symbol or relocation changes).  The old bytes
of a replaced section stay in the file, unreferenced.

Refused, as :class:`~btfdedup.errors.ElfError`: anything but ``ET_REL``, extended
section numbering, and a section that a relocation section applies to (its
relocations would no longer describe the new bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from btfdedup.errors import ElfError

_SHT_PROGBITS = 1
_SHT_REL, _SHT_RELA = 9, 4
_SHF_ALLOC = 0x2
_SHN_LORESERVE = 0xFF00
#: per EI_CLASS: ELF header fields after e_ident, one section header, its size
_LAYOUT = {
    2: ("HHIQQQIHHHHHH", "IIQQQQIIQQ", 64),
    1: ("HHIIIIIHHHHHH", "IIIIIIIIII", 40),
}


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def set_sections(data: bytes, sections: Mapping[str, bytes], *, source: str = "<bytes>") -> bytes:
    """A copy of the ELF object ``data`` in which each section named in ``sections``
    holds the given bytes: an existing section of that name (the last one, as
    :mod:`btfdedup.io.elf` reads them) is repointed, a missing one is added as
    ``SHT_PROGBITS`` with the flags of ``.BTF`` (``SHF_ALLOC`` when there is none)."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in _LAYOUT or data[5] not in (1, 2):
        raise ElfError("not an ELF object", source=source)
    bo = "<" if data[5] == 1 else ">"
    ehdr_fmt, shdr_fmt, entsize = _LAYOUT[data[4]]
    ehdr = list(struct.unpack_from(bo + ehdr_fmt, data, 16))
    e_type, e_shoff, e_shentsize, e_shnum, e_shstrndx = ehdr[0], ehdr[5], ehdr[10], ehdr[11], ehdr[12]
    if e_type != 1:
        raise ElfError(f"only relocatable objects (ET_REL, a .ko) can be rewritten; e_type is {e_type}", source=source)
    if e_shnum == 0 or e_shentsize != entsize or not 0 < e_shstrndx < min(e_shnum, _SHN_LORESERVE):
        raise ElfError("unsupported section header table (extended numbering or odd entry size)", source=source)
    if e_shoff + e_shnum * entsize > len(data):
        raise ElfError("section header table extends past the end of the file", source=source)
    headers = [list(h) for h in struct.iter_unpack(bo + shdr_fmt, data[e_shoff : e_shoff + e_shnum * entsize])]
    names_hdr = headers[e_shstrndx]
    names = bytearray(data[names_hdr[4] : names_hdr[4] + names_hdr[5]])

    def name_of(h: list[int]) -> bytes:
        end = names.find(b"\0", h[0])
        return bytes(names[h[0] : end if end >= 0 else len(names)])

    by_name = {name_of(h): i for i, h in enumerate(headers)}  # the last one wins
    btf_idx = by_name.get(b".BTF")
    new_flags = headers[btf_idx][2] if btf_idx is not None else _SHF_ALLOC
    out = bytearray(data)
    for name, payload in sections.items():
        key = name.encode()
        idx = by_name.get(key)
        if idx is not None:
            for h in headers:
                if h[1] in (_SHT_REL, _SHT_RELA) and h[7] == idx:
                    raise ElfError(f"section {name} (index {idx}) has relocations; refusing to replace it",
                                   source=source)
        out += bytes(_align(len(out), 4) - len(out))
        offset = len(out)
        out += payload
        if idx is not None:
            headers[idx][4], headers[idx][5] = offset, len(payload)
            continue
        name_off = len(names)
        names += key + b"\0"
        headers.append([name_off, _SHT_PROGBITS, new_flags, 0, offset, len(payload), 0, 0, 1, 0])
        by_name[key] = len(headers) - 1
    if len(headers) >= _SHN_LORESERVE:
        raise ElfError("too many sections for the section header table", source=source)
    if len(names) != names_hdr[5]:
        names_hdr[4], names_hdr[5] = len(out), len(names)
        out += names
    out += bytes(_align(len(out), 8) - len(out))
    ehdr[5], ehdr[11] = len(out), len(headers)
    for h in headers:
        out += struct.pack(bo + shdr_fmt, *h)
    struct.pack_into(bo + ehdr_fmt, out, 16, *ehdr)
    return bytes(out)


__all__ = ["set_sections"]
