"""One input object of the static linker: loaded, checked and with its BTF fixed up.

libbpf 1.1's ``bpf_linker__add_file`` first loads the object on its own, before
anything is merged: it classifies the sections (some are ignored outright), parses
``.BTF`` and ``.BTF.ext``, runs sanity checks over the ELF structure and the BTF
references, and then fixes up the object's own BTF (``linker_fixup_btf``):

* every DATASEC whose name has no ELF section (``.kconfig``, ``.ksyms``, the
  ``.maps`` of an object that only declares extern maps) gets an *ephemeral*
  section, appended after the real ones; ``.extern`` gets nothing;
* every var info whose VAR is global-allocated takes as offset the value of the
  STT_OBJECT symbol of that name *in that section* (none: refusal).  The linkage is
  read through the VAR layout even when the entry is a FUNC (a ``.ksyms`` kfunc):
  then it is the next word of the type section, as libbpf reads it.

:func:`load_link_input` returns a :class:`LinkInput` holding the sections as the
linker tracks them (:class:`SrcSection`, mutable: the merge step records where each
lands in the output) and the BTF, whose type words are a private copy the fixup
wrote into.  Refusals are :class:`LinkError` naming the file and the rule.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

import numpy as np

from btfdedup.bpfobj.elf_object import (
    SHN_UNDEF,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_SYMTAB,
    STB_GLOBAL,
    STB_LOCAL,
    STB_WEAK,
    STT_NOTYPE,
    STT_OBJECT,
    STT_SECTION,
    STV_DEFAULT,
    STV_HIDDEN,
    BpfObjectFile,
    ObjSymbol,
    read_bpf_object,
)
from btfdedup.errors import BtfError, ElfError
from btfdedup.format.constants import Kind
from btfdedup.io.load import parse_blob, read_file
from btfdedup.model.btf import Btf
from btfdedup.model.ext import BtfExt, parse_ext

SHT_STRTAB = 3
SHT_REL = 9
SHT_LLVM_ADDRSIG = 0x6FFF4C03
SHF_EXECINSTR = 0x4
SHN_LORESERVE = 0xFF00
EM_BPF = 247
#: relocation types the linker accepts: R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_32
BPF_RELOC_TYPES = (1, 2, 3, 10)
#: the size of a BPF instruction, of an ELF64 symbol and of an ELF64 REL entry
INSN_SIZE, SYM_SIZE, REL_SIZE = 8, 24, 16

BTF_SEC, BTF_EXT_SEC, EXTERN_SEC = ".BTF", ".BTF.ext", ".extern"
VAR_STATIC, VAR_GLOBAL_ALLOCATED = 0, 1


#: the errno libbpf's linker fails with for each rule (EINVAL unless listed)
RULE_ERRNO = {
    "byte-order": errno.EOPNOTSUPP,
    "elf-kind": errno.EOPNOTSUPP,
    "one-symtab": errno.EOPNOTSUPP,
    "extern-needs-btf": errno.EOPNOTSUPP,
    "var-symbol": errno.ENOENT,
    "extern-section": errno.ENOENT,
    "no-global-btf": errno.ENOENT,
    # libbpf returns a bare -1 when two same-named sections cannot be merged
    "section-mismatch": errno.EPERM,
    "no-btf": errno.ENODATA,
}


class LinkError(BtfError):
    """The static linker refuses the inputs.  ``source`` is the input being added (or
    ``None`` at finalisation), ``rule`` a short stable name of the broken rule,
    ``errno`` the error code libbpf's linker returns for it, and the message one
    line: ``FILE: what is wrong (static linker rule: RULE)``."""

    def __init__(self, source: str | None, rule: str, detail: str) -> None:
        self.source = source
        self.rule = rule
        self.detail = detail
        self.errno = RULE_ERRNO.get(rule, errno.EINVAL)
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{detail} (static linker rule: {rule})")


@dataclass
class SrcSection:
    """A section of an input as the linker tracks it (index 0 is the null section)."""

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
    skipped: bool = False
    #: no ELF section: a DATASEC-only section (``.kconfig``, ``.ksyms``, ...)
    ephemeral: bool = False
    #: index of the output section it was merged into (0: none)
    dst_id: int = 0
    #: where its bytes start inside the output section
    dst_off: int = 0
    #: type ID of the DATASEC describing it (0: none)
    sec_type_id: int = 0


@dataclass
class LinkInput:
    """An input object ready to be merged."""

    path: str
    elf: BpfObjectFile
    secs: list[SrcSection]
    symtab_index: int
    btf: Btf | None
    ext: BtfExt | None
    #: the type section as the linker sees it after the fixup (a private copy)
    words: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))

    def find_sec(self, name: str) -> SrcSection | None:
        """The first section (real or ephemeral) called ``name``, as ``find_src_sec_by_name``."""
        for sec in self.secs[1:]:
            if sec.name == name:
                return sec
        return None


def _is_ignored(sec: SrcSection) -> bool:
    """Sections the linker drops on sight: string tables, address-significance
    tables, an empty ``.text``, DWARF, and relocations of DWARF and BTF."""
    name = sec.name
    if sec.sh_type in (SHT_STRTAB, SHT_LLVM_ADDRSIG):
        return True
    if sec.sh_type == SHT_PROGBITS and sec.size == 0 and name == ".text":
        return True
    if name.startswith(".debug_"):
        return True
    if name.startswith(".rel"):
        target = name[4:]
        if target.startswith(".debug_") or target in (BTF_SEC, BTF_EXT_SEC):
            return True
    return False


def load_link_input(path: str) -> LinkInput:
    """Load, check and fix up one input (``linker_load_obj_file``)."""
    data = read_file(path)
    if data[:4] != b"\x7fELF":
        raise LinkError(path, "elf", "not an ELF file")
    try:
        obj = read_bpf_object(data, path)
    except ElfError as e:
        raise LinkError(path, "elf", e.rule) from None
    if obj.byteorder != "<":
        raise LinkError(path, "byte-order", "the ELF object is not in the host's (little-endian) byte order")
    if obj.e_type != "ET_REL" or obj.machine != EM_BPF or obj.elfclass != 64:
        raise LinkError(path, "elf-kind", "only 64-bit relocatable BPF objects (ET_REL, EM_BPF) can be linked")
    secs = [SrcSection(s.index, s.name, s.sh_type, s.flags, s.size, s.addralign, s.entsize, s.link, s.info, s.data)
            for s in obj.sections]
    symtab_index = 0
    btf: Btf | None = None
    ext: BtfExt | None = None
    for sec in secs[1:]:
        if _is_ignored(sec):
            sec.skipped = True
            continue
        if sec.sh_type == SHT_SYMTAB:
            if symtab_index:
                raise LinkError(path, "one-symtab", "more than one symbol table")
            symtab_index = sec.index
        elif sec.sh_type == SHT_PROGBITS and sec.name in (BTF_SEC, BTF_EXT_SEC):
            if sec.name == BTF_SEC:
                try:
                    btf = parse_blob(sec.data, source=f"{path} [{BTF_SEC}]")
                except BtfError as e:
                    raise LinkError(path, "btf-parse", f"its .BTF cannot be parsed: {e}") from None
            else:
                try:
                    ext = parse_ext(sec.data, byteorder="<", source=f"{path} [{BTF_EXT_SEC}]")
                except BtfError as e:
                    raise LinkError(path, "btf-ext-parse", f"its .BTF.ext cannot be parsed: {e}") from None
            sec.skipped = True
        elif sec.sh_type not in (SHT_PROGBITS, SHT_NOBITS, SHT_REL):
            raise LinkError(path, "section-type", f"section #{sec.index} ({sec.name}) has a type the linker does not know")
    inp = LinkInput(path, obj, secs, symtab_index, btf, ext)
    _check_elf(inp)
    _check_ext(inp)
    if btf is not None:
        inp.words = btf.words.copy()
        _fixup_btf(inp)
    return inp


def _check_elf(inp: LinkInput) -> None:
    """``linker_sanity_check_elf``: the structural rules of sections, symbols and relocations."""
    path = inp.path
    if not inp.symtab_index:
        raise LinkError(path, "symtab", "the ELF object has no symbol table")
    for sec in inp.secs[1:]:
        if not sec.name:
            raise LinkError(path, "section-name", f"section #{sec.index} has an empty name")
        if sec.addralign & (sec.addralign - 1):
            raise LinkError(path, "section-align", f"section {sec.name} has alignment {sec.addralign}, not a power of 2")
        if sec.sh_type == SHT_SYMTAB:
            _check_symtab(inp, sec)
        elif sec.sh_type == SHT_PROGBITS:
            if sec.flags & SHF_EXECINSTR and sec.size % INSN_SIZE:
                raise LinkError(path, "code-size", f"code section {sec.name} is not a whole number of instructions")
        elif sec.sh_type == SHT_REL:
            _check_relos(inp, sec)
        elif sec.sh_type not in (SHT_STRTAB, SHT_NOBITS, SHT_LLVM_ADDRSIG):
            raise LinkError(path, "section-type", f"section #{sec.index} ({sec.name}) has a type the linker does not know")


def _check_symtab(inp: LinkInput, sec: SrcSection) -> None:
    path = inp.path
    if sec.entsize != SYM_SIZE or sec.size % SYM_SIZE:
        raise LinkError(path, "symtab", "the symbol table's entry size is not that of ELF64 symbols")
    if not sec.link or sec.link >= len(inp.secs) or inp.secs[sec.link].sh_type != SHT_STRTAB:
        raise LinkError(path, "symtab", "the symbol table does not link to a string table")
    for sym in inp.elf.symbols:
        if sym.index == 0:
            if sym.name or sym.value or sym.size or sym.bind or sym.type or sym.visibility or sym.shndx:
                raise LinkError(path, "symbol", "symbol #0 is not all zeros")
            continue
        if sym.bind not in (STB_LOCAL, STB_GLOBAL, STB_WEAK):
            raise LinkError(path, "symbol", f"symbol #{sym.index} ({sym.name}) has an unsupported binding {sym.bind}")
        if sym.visibility not in (STV_DEFAULT, STV_HIDDEN):
            raise LinkError(path, "symbol",
                            f"symbol #{sym.index} ({sym.name}) has an unsupported visibility {sym.visibility}")
        if sym.shndx == SHN_UNDEF:
            if sym.type != STT_NOTYPE or sym.bind == STB_LOCAL or sym.value or sym.size:
                raise LinkError(path, "extern-symbol",
                                f"symbol #{sym.index} ({sym.name}) is undefined but not a valid extern "
                                "(global or weak, NOTYPE, value and size 0)")
            continue
        if sym.shndx < SHN_LORESERVE and sym.shndx >= len(inp.secs):
            raise LinkError(path, "symbol", f"symbol #{sym.index} ({sym.name}) points to a missing section")
        if sym.type == STT_SECTION and sym.value:
            raise LinkError(path, "symbol", f"section symbol #{sym.index} has a non-zero value")


def _check_relos(inp: LinkInput, sec: SrcSection) -> None:
    path = inp.path
    if sec.entsize != REL_SIZE or sec.size % REL_SIZE:
        raise LinkError(path, "relocations", f"{sec.name}: entry size is not that of ELF64 REL entries")
    if sec.link != inp.symtab_index:
        raise LinkError(path, "relocations", f"{sec.name} does not link to the symbol table")
    if not sec.info or sec.info >= len(inp.secs):
        raise LinkError(path, "relocations", f"{sec.name} relocates a missing section")
    target = inp.secs[sec.info]
    if sec.name != ".rel" + target.name:
        raise LinkError(path, "relocations", f"{sec.name} is not named .rel{target.name}")
    if target.skipped:
        return
    if target.sh_type not in (SHT_PROGBITS, SHT_NOBITS):
        raise LinkError(path, "relocations", f"{sec.name} relocates a section that holds neither code nor data")
    rel = np.frombuffer(sec.data, dtype="<u8").reshape(-1, 2)
    nsyms = len(inp.elf.symbols)
    rtype = rel[:, 1] & 0xFFFFFFFF
    rsym = rel[:, 1] >> 32
    bad = np.flatnonzero(~np.isin(rtype, BPF_RELOC_TYPES))
    if len(bad):
        raise LinkError(path, "relocations", f"{sec.name} entry #{int(bad[0])} has relocation type {int(rtype[bad[0]])}")
    bad = np.flatnonzero((rsym == 0) | (rsym >= nsyms))
    if len(bad):
        raise LinkError(path, "relocations", f"{sec.name} entry #{int(bad[0])} points to an invalid symbol")
    if target.flags & SHF_EXECINSTR:
        bad = np.flatnonzero(rel[:, 0] % INSN_SIZE)
        if len(bad):
            raise LinkError(path, "relocations", f"{sec.name} entry #{int(bad[0])} is not at an instruction boundary")


def _check_ext(inp: LinkInput) -> None:
    """``.BTF.ext`` needs ``.BTF``, and its type IDs and strings must exist there."""
    if inp.ext is None:
        return
    if inp.btf is None:
        raise LinkError(inp.path, "btf-ext-without-btf", "it has .BTF.ext but no .BTF")
    ids = inp.ext.type_ids()
    if len(ids) and int(ids.max()) >= inp.btf.type_cnt:
        raise LinkError(inp.path, "btf-ext-type-id", ".BTF.ext refers to a type ID past the last type")
    offs = inp.ext.str_offsets()
    if len(offs) and not inp.btf.strings.valid_mask(offs.astype(np.int64)).all():
        raise LinkError(inp.path, "btf-ext-string", ".BTF.ext refers to a string offset outside .BTF's strings")


def read_word(inp: LinkInput, pos: int) -> int:
    """Word ``pos`` of the type section, reading on into the string section past its
    end as libbpf's contiguous buffer does (for the linkage of a ``.ksyms`` FUNC entry)."""
    words = inp.words
    if pos < len(words):
        return int(words[pos])
    assert inp.btf is not None
    tail = inp.btf.strings.data + b"\0\0\0\0"
    off = (pos - len(words)) * 4
    return int.from_bytes(tail[off : off + 4].ljust(4, b"\0"), "little")


def _fixup_btf(inp: LinkInput) -> None:
    """``linker_fixup_btf``: ephemeral sections for DATASECs without ELF sections,
    VAR offsets of global-allocated VARs from their symbols."""
    btf = inp.btf
    assert btf is not None
    words, ts = inp.words, btf.type_start
    kinds = btf.kind
    # (section index, name) -> the first OBJECT symbol of that name in that section
    objects: dict[tuple[int, str], ObjSymbol] = {}
    for s in inp.elf.symbols:
        if s.type == STT_OBJECT:
            objects.setdefault((s.shndx, s.name), s)
    for i in np.flatnonzero(kinds == Kind.DATASEC).tolist():
        tid = btf.start_id + i
        name = btf.strings.text(int(btf.name_off[i]))
        sec = inp.find_sec(name)
        if sec is None:
            if name == EXTERN_SEC:
                continue
            sec = SrcSection(0, name, 0, 0, 0, 0, 0, 0, 0, b"", ephemeral=True)
            inp.secs.append(sec)
        sec.sec_type_id = tid
        p = int(ts[i])
        for j in range(int(btf.vlen[i])):
            q = p + 3 + 3 * j
            vt = int(words[q])
            if vt == 0 or vt >= btf.type_cnt:
                continue
            vi = vt - btf.start_id
            if read_word(inp, int(ts[vi]) + 3) != VAR_GLOBAL_ALLOCATED:
                continue
            var_name = btf.strings.text(int(btf.name_off[vi]))
            sym = objects.get((sec.index, var_name))
            if sym is None:
                raise LinkError(inp.path, "var-symbol",
                                f"no symbol for variable '{var_name}' in section '{name}' (a global variable "
                                "needs an OBJECT symbol of its name in its DATASEC's section)")
            words[q + 1] = sym.value & 0xFFFFFFFF


__all__ = ["LinkError", "LinkInput", "SrcSection", "load_link_input", "read_word"]
