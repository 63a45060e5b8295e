"""ELF symbol queries shared by the object open and the static linker.

libbpf ties BTF VARs and FUNCs to ELF symbols by name, with a few fixed rules on
binding, type and section.  These helpers answer those questions over the
symbol list of :func:`btfdedup.bpfobj.elf_object.read_bpf_object` (file order),
each with the "first match in symbol-table order wins" rule libbpf's loops have.
"""

from __future__ import annotations

from btfdedup.bpfobj.elf_object import (
    SHN_UNDEF,
    STB_GLOBAL,
    STB_WEAK,
    STT_NOTYPE,
    STT_OBJECT,
    STV_HIDDEN,
    STV_INTERNAL,
    BpfObjectFile,
    ObjSymbol,
)


def is_global_binding(sym: ObjSymbol) -> bool:
    """GLOBAL or WEAK binding (what libbpf calls a global symbol)."""
    return sym.bind in (STB_GLOBAL, STB_WEAK)


def is_extern_symbol(sym: ObjSymbol) -> bool:
    """An undefined GLOBAL/WEAK symbol of type NOTYPE: libbpf's notion of an extern."""
    return sym.shndx == SHN_UNDEF and is_global_binding(sym) and sym.type == STT_NOTYPE


def is_restricted_visibility(sym: ObjSymbol) -> bool:
    """HIDDEN or INTERNAL visibility: the symbol is not visible outside its object."""
    return sym.visibility in (STV_HIDDEN, STV_INTERNAL)


def global_object_symbols(obj: BpfObjectFile) -> dict[str, ObjSymbol]:
    """Name -> the first STT_OBJECT symbol with GLOBAL/WEAK binding, in any section.

    This is the symbol the object open reads a global variable's offset and
    visibility from (the first one in symbol-table order when names repeat).
    """
    out: dict[str, ObjSymbol] = {}
    for sym in obj.symbols:
        if sym.type == STT_OBJECT and is_global_binding(sym) and sym.name not in out:
            out[sym.name] = sym
    return out


def extern_symbols(obj: BpfObjectFile) -> list[ObjSymbol]:
    """Every named extern symbol (see :func:`is_extern_symbol`), in symbol-table order."""
    return [sym for sym in obj.symbols if sym.name and is_extern_symbol(sym)]


__all__ = [
    "extern_symbols",
    "global_object_symbols",
    "is_extern_symbol",
    "is_global_binding",
    "is_restricted_visibility",
]
