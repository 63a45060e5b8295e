"""BTF from ELF files: BPF objects (``.o``), kernel modules (``.ko``), vmlinux.

The three sections libbpf's ``btf__parse_elf`` looks at are read here:

* ``.BTF`` — the types (required);
* ``.BTF.ext`` — func_info/line_info/CO-RE records, attached as ``btf.ext``;
* ``.BTF.base`` — a *distilled* base (out-of-tree modules built with pahole
  ``--btf_features=distilled_base``): the minimal base ``.BTF`` was encoded on.

Like libbpf, each of the three must be ``SHT_PROGBITS`` (a ``SHT_NOBITS``
``.BTF`` — stripped debug packages have them — is refused, libbpf commit
02bc656f), and when a name occurs twice the last section wins.  Beyond libbpf,
and like cilium/ebpf, the BTF byte order must match the ELF's, and a section
extending past the end of the file is an error rather than a short read.

The section header table is read with :mod:`struct` when it is plainly well
formed (the common case, and the one a batch of thousands of modules pays for on
every file); anything unusual (extended section numbering, ``e_shnum == 0``, an
odd entry size, a name or section outside the file, a compressed or non-PROGBITS
BTF section) goes to pyelftools (``ELFFile`` on a ``BytesIO``), which reads the
same fields and words every error.  Section headers are walked directly instead of
through ``iter_sections`` so that no typed section objects (symbol tables, notes,
...) are built: an unrelated malformed section cannot fail the load, and a vmlinux
with 100,000 sections stays fast.  Any exception pyelftools raises becomes an
:class:`~btfdedup.errors.ElfError`.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Section

from btfdedup.errors import BtfError, BtfUsageError, ElfError
from btfdedup.model.btf import Btf
from btfdedup.model.ext import parse_ext

BTF_SECTION = ".BTF"
BTF_EXT_SECTION = ".BTF.ext"
BTF_BASE_SECTION = ".BTF.base"
_WANTED = (BTF_SECTION, BTF_EXT_SECTION, BTF_BASE_SECTION)


@dataclass(frozen=True)
class ElfSection:
    """Bytes of one BTF-related ELF section and where it sat in the file."""

    name: str
    index: int
    offset: int
    data: bytes


@dataclass(frozen=True)
class ElfBtfSections:
    """What :func:`find_btf_sections` found in one ELF file.

    ``byteorder`` is the ELF's (``'<'``/``'>'``); ``elfclass`` 32 or 64 (the
    pointer size libbpf derives for the BTF is ``elfclass // 8``).
    """

    byteorder: str
    elfclass: int
    e_type: str
    btf: ElfSection | None
    btf_ext: ElfSection | None
    btf_base: ElfSection | None


#: e_type values as pyelftools names them (others: the pyelftools path).
_E_TYPES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
_SHT_PROGBITS = 1
_SHF_COMPRESSED = 0x800
#: per EI_CLASS (1: 32-bit, 2: 64-bit): the ELF header after e_ident (e_type ..
#: e_shstrndx), one section header (sh_name .. sh_entsize) and its size
_LAYOUT = {
    2: ("HHIQQQIHHHHHH", "IIQQQQIIQQ", 64),
    1: ("HHIIIIIHHHHHH", "IIIIIIIIII", 40),
}
_WANTED_BYTES = {name.encode(): name for name in _WANTED}


def _quick_sections(data: bytes, src: str) -> ElfBtfSections | None:
    """:func:`find_btf_sections` by :mod:`struct`, or None when the file is anything
    but plainly well formed (then pyelftools reads it and words the error).

    For the files it accepts it finds what the pyelftools walk finds: section names
    are read from the section name table as pyelftools reads them (up to the NUL,
    from the name's offset in the file), and when a name occurs twice the last
    section wins."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in _LAYOUT or data[5] not in (1, 2):
        return None
    bo = "<" if data[5] == 1 else ">"
    ehdr, shdr, entsize = _LAYOUT[data[4]]
    fields = struct.unpack_from(bo + ehdr, data, 16)
    e_type, e_shoff, e_shentsize, e_shnum, e_shstrndx = fields[0], fields[5], fields[10], fields[11], fields[12]
    if e_type not in _E_TYPES or e_shentsize != entsize or e_shnum == 0 or not 0 < e_shstrndx < min(e_shnum, 0xFF00):
        return None
    if e_shoff == 0 or e_shoff > len(data) or e_shnum * entsize > len(data) - e_shoff:
        return None
    table = data[e_shoff : e_shoff + e_shnum * entsize]
    headers = list(struct.iter_unpack(bo + shdr, table))
    # sh_name, sh_type, sh_flags, sh_offset, sh_size are fields 0, 1, 2, 4, 5
    names_at = headers[e_shstrndx][4]
    names_size = headers[e_shstrndx][5]
    found: dict[str, ElfSection] = {}
    for idx, h in enumerate(headers):
        if h[0] >= names_size:
            return None
        start = names_at + h[0]
        end = data.find(b"\0", start)
        if start >= len(data) or end < 0:
            return None
        name = _WANTED_BYTES.get(data[start:end])
        if name is None:
            continue
        off, size = h[4], h[5]
        if h[1] != _SHT_PROGBITS or h[2] & _SHF_COMPRESSED or off > len(data) or size > len(data) - off:
            return None
        found[name] = ElfSection(name, idx, off, data[off : off + size])
    return ElfBtfSections(
        bo,
        32 if data[4] == 1 else 64,
        _E_TYPES[e_type],
        found.get(BTF_SECTION),
        found.get(BTF_EXT_SECTION),
        found.get(BTF_BASE_SECTION),
    )


def find_btf_sections(data: bytes, source: str | None = None) -> ElfBtfSections:
    """Locate ``.BTF``, ``.BTF.ext`` and ``.BTF.base`` in an ELF image.

    Raises :class:`ElfError` for anything pyelftools cannot parse, for a
    non-PROGBITS BTF section and for section data beyond the end of the file.
    """
    src = source or "<bytes>"
    quick = _quick_sections(data, src)
    if quick is not None:
        return quick
    try:
        elf = ELFFile(io.BytesIO(data))
        byteorder = "<" if elf.little_endian else ">"
        elfclass = int(elf.elfclass)
        e_type = str(elf["e_type"])
        nsec = int(elf.num_sections())
        found: dict[str, ElfSection] = {}
        for idx in range(nsec):
            hdr = elf._get_section_header(idx)
            name = elf._get_section_name(hdr)
            if name not in _WANTED:
                continue
            sh_type = hdr["sh_type"]
            if sh_type != "SHT_PROGBITS":
                detail = (
                    "it occupies no bytes in the file (a stripped debug package?)" if sh_type == "SHT_NOBITS" else ""
                )
                raise ElfError(
                    f"section {name} (index {idx}) has type {sh_type}, expected SHT_PROGBITS"
                    + (f": {detail}" if detail else ""),
                    source=src,
                )
            off, size = int(hdr["sh_offset"]), int(hdr["sh_size"])
            if off > len(data) or size > len(data) - off:
                raise ElfError(
                    f"section {name} (index {idx}) spans file bytes [{off:#x}, {off + size:#x}) but the file "
                    f"is only {len(data):#x} bytes (truncated?)",
                    source=src,
                )
            if hdr["sh_flags"] & 0x800:  # SHF_COMPRESSED: let pyelftools inflate (zlib only)
                payload = Section(hdr, name, elf).data()
            else:
                payload = data[off : off + size]
            found[name] = ElfSection(name, idx, off, payload)
    except BtfError:
        raise
    except Exception as e:  # pyelftools raises ELFError, construct errors, struct/Index/Value errors
        msg = str(e) or type(e).__name__
        raise ElfError(f"cannot parse ELF: {msg}", source=src) from None
    return ElfBtfSections(
        byteorder,
        elfclass,
        e_type,
        found.get(BTF_SECTION),
        found.get(BTF_EXT_SECTION),
        found.get(BTF_BASE_SECTION),
    )


def load_elf(data: bytes, base: Btf | None = None, source: str | None = None) -> Btf:
    """The ``.BTF`` of an ELF image as a :class:`Btf`, with ``.BTF.ext`` as ``btf.ext``.

    ``base`` makes ``.BTF`` split BTF on it (kernel modules need the vmlinux
    they were built against).  Without ``base``, a ``.BTF.base`` section (a
    distilled base) is loaded and used as the base; relocation of the split
    BTF onto a real vmlinux (libbpf ``btf__relocate``) is *not* done here (it is
    :func:`btfdedup.relocate`), so a file with ``.BTF.base`` and an explicit
    ``base`` is refused rather than read wrongly.  A module's split ``.BTF`` without any base raises
    :class:`BtfUsageError` asking for ``--base``.
    """
    from btfdedup.io.load import parse_blob

    src = source or "<bytes>"
    secs = find_btf_sections(data, src)
    if secs.btf is None:
        raise ElfError(
            f"no {BTF_SECTION} section: the object carries no BTF (compile with clang -g, or encode with pahole -J)",
            source=src,
        )
    for sec in (secs.btf, secs.btf_base):
        if sec is None:
            continue
        magic = sec.data[:2]
        bo = "<" if magic == b"\x9f\xeb" else ">" if magic == b"\xeb\x9f" else None
        if bo is not None and bo != secs.byteorder:
            raise ElfError(
                f"section {sec.name} is {_endian(bo)} endian BTF inside a {_endian(secs.byteorder)} endian ELF",
                source=src,
            )
    if secs.btf_base is not None:
        if base is not None:
            raise BtfUsageError(
                f"{src}: has a distilled {BTF_BASE_SECTION}; relocating it onto the given base "
                "(libbpf btf__relocate) is not done on load: omit the base to read it on its distilled base, "
                "then relocate it (btfdedup relocate, btfdedup.relocate)"
            )
        base = parse_blob(secs.btf_base.data, base=None, source=f"{src} [{BTF_BASE_SECTION}]")
    btf = parse_blob(secs.btf.data, base=base, source=f"{src} [{BTF_SECTION}]", module=secs.e_type == "ET_REL")
    btf.source = src
    if secs.btf_ext is not None:
        btf.ext = parse_ext(secs.btf_ext.data, byteorder=secs.byteorder, source=f"{src} [{BTF_EXT_SECTION}]")
    return btf


def _endian(bo: str) -> str:
    return "little" if bo == "<" else "big"
