"""A BPF ELF object as libbpf's object open and static linker see it.

Both libbpf steps that rewrite an object's BTF — ``bpf_object__open`` filling in
DATASEC sizes and VAR offsets, and the static linker concatenating sections — read
the same three things from the ELF: every section header (name, type, flags, size,
alignment, bytes), the symbol table in file order, and the ``.BTF`` / ``.BTF.ext``
payloads.  :func:`read_bpf_object` gathers them once, as plain records, so the two
steps never touch pyelftools themselves.

Section index 0 (the null section) is kept so that a symbol's ``shndx`` indexes
:attr:`BpfObjectFile.sections` directly.  Any failure of pyelftools becomes an
:class:`~btfdedup.errors.ElfError` naming the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

from elftools.elf import enums as elf_enums
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from btfdedup.errors import BtfError, ElfError

SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_NOBITS = 8
SHF_COMPRESSED = 0x800

STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3
STV_DEFAULT, STV_INTERNAL, STV_HIDDEN, STV_PROTECTED = 0, 1, 2, 3
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2

EM_BPF = 247


@dataclass(frozen=True)
class ObjSection:
    """One section header, with its bytes (empty for ``SHT_NOBITS``)."""

    index: int
    name: str
    sh_type: int
    flags: int
    size: int
    addralign: int
    entsize: int
    link: int
    info: int
    data: bytes


@dataclass(frozen=True)
class ObjSymbol:
    """One symbol table entry, in symbol-table order (``index`` 0 is the null symbol)."""

    index: int
    name: str
    value: int
    size: int
    bind: int
    type: int
    visibility: int
    shndx: int


@dataclass(frozen=True)
class BpfObjectFile:
    """Sections, symbols and BTF payloads of one ELF object."""

    path: str
    byteorder: str
    elfclass: int
    e_type: str
    machine: int
    sections: list[ObjSection]
    symbols: list[ObjSymbol]

    def section(self, name: str) -> ObjSection | None:
        """The first section called ``name`` (libbpf's ``find_elf_sec_sz`` order), or ``None``."""
        for sec in self.sections:
            if sec.index and sec.name == name:
                return sec
        return None

    @property
    def btf_data(self) -> bytes | None:
        sec = self.section(".BTF")
        return sec.data if sec is not None else None

    @property
    def btf_ext_data(self) -> bytes | None:
        sec = self.section(".BTF.ext")
        return sec.data if sec is not None else None


def read_bpf_object(data: bytes, source: str) -> BpfObjectFile:
    """Parse the section headers and the symbol table of ``data`` (an ELF image)."""
    try:
        elf = ELFFile(io.BytesIO(data))
        byteorder = "<" if elf.little_endian else ">"
        sections: list[ObjSection] = []
        symtab_index = -1
        for idx in range(int(elf.num_sections())):
            hdr = elf._get_section_header(idx)
            name = elf._get_section_name(hdr) if idx else ""
            sh_type = int(_enum_value("sh_type", hdr["sh_type"]))
            off, size = int(hdr["sh_offset"]), int(hdr["sh_size"])
            payload = b""
            if sh_type != SHT_NOBITS and idx:
                if off > len(data) or size > len(data) - off:
                    raise ElfError(
                        f"section {name} (index {idx}) spans file bytes [{off:#x}, {off + size:#x}) but the file "
                        f"is only {len(data):#x} bytes (truncated?)",
                        source=source,
                    )
                payload = data[off : off + size]
            if sh_type == SHT_SYMTAB and symtab_index < 0:
                symtab_index = idx
            sections.append(
                ObjSection(idx, name, sh_type, int(hdr["sh_flags"]), size, int(hdr["sh_addralign"]),
                           int(hdr["sh_entsize"]), int(hdr["sh_link"]), int(hdr["sh_info"]), payload)
            )
        symbols: list[ObjSymbol] = []
        if symtab_index >= 0:
            symtab = elf.get_section(symtab_index)
            assert isinstance(symtab, SymbolTableSection)
            for i, sym in enumerate(symtab.iter_symbols()):
                info = sym["st_info"]
                shndx = sym["st_shndx"]
                symbols.append(
                    ObjSymbol(
                        i,
                        sym.name,
                        int(sym["st_value"]),
                        int(sym["st_size"]),
                        int(_enum_value("st_info.bind", info["bind"])),
                        int(_enum_value("st_info.type", info["type"])),
                        int(_enum_value("st_other.visibility", sym["st_other"]["visibility"])),
                        _enum_value("st_shndx", shndx),
                    )
                )
        return BpfObjectFile(source, byteorder, int(elf.elfclass), str(elf["e_type"]),
                             _enum_value("e_machine", elf["e_machine"]), sections, symbols)
    except BtfError:
        raise
    except Exception as e:  # pyelftools raises ELFError, construct errors, struct/Index/Value errors
        raise ElfError(f"cannot parse ELF: {str(e) or type(e).__name__}", source=source) from None


def _reverse(*tables: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tables:
        out.update({k: v for k, v in t.items() if isinstance(v, int)})
    return out


#: pyelftools describes known enum values by name: the names back to numbers.
_ENUMS = {
    "sh_type": _reverse(elf_enums.ENUM_SH_TYPE_BASE),
    "st_info.bind": _reverse(elf_enums.ENUM_ST_INFO_BIND),
    "st_info.type": _reverse(elf_enums.ENUM_ST_INFO_TYPE),
    "st_other.visibility": _reverse(elf_enums.ENUM_ST_VISIBILITY),
    "st_shndx": _reverse(elf_enums.ENUM_ST_SHNDX),
    "e_machine": _reverse(elf_enums.ENUM_E_MACHINE),
}


def _enum_value(field: str, value: object) -> int:
    """A header field as its number, whether pyelftools named it or not."""
    if isinstance(value, int):
        return value
    table = _ENUMS[field]
    if value in table:
        return table[str(value)]
    m = re.fullmatch(r"\w*?(\d+)", str(value))
    if m is not None:
        return int(m.group(1))
    raise ValueError(f"unknown {field} value {value!r}")
