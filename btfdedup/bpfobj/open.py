"""The BTF of a BPF object as libbpf 1.1.x's ``bpf_object__open`` leaves it.

clang writes every DATASEC with size 0 and every VAR offset 0: only the ELF
knows section sizes and symbol values.  libbpf fills them in when it opens an
object, and the kernel refuses BTF that still has them empty, so merging
objects' raw ``.BTF`` gives BTF no kernel loads.  :func:`open_object` redoes
libbpf 1.1.2's open-time rewrite on our own model, in libbpf's order:

1. ELF checks: 64-bit, host byte order (little endian), ``ET_REL``, machine
   ``EM_BPF`` (or 0).
2. ``.BTF`` is parsed; a missing or unreadable ``.BTF`` (or ``.BTF.ext``, which
   is then dropped) is fatal only when the object has ``.maps`` or
   ``.struct_ops`` (or, later, externs).
3. Externs.  If the ``.ksyms`` DATASEC lists a FUNC, a ``VAR dummy_ksym``
   (global-allocated, type = the first 32-bit INT) is appended to the types and
   its name to the strings.  Every undefined GLOBAL/WEAK NOTYPE symbol must have
   a VAR/FUNC of that name with extern linkage, listed in a ``.kconfig`` or
   ``.ksyms`` DATASEC.  Externs are sorted (kconfig before ksyms; kconfig by
   alignment descending, size ascending, then name).  ``.ksyms`` entries get
   offset 4*i, size 4: a FUNC's unnamed parameters take the name of
   ``dummy_ksym``, its entry points at the dummy VAR and its linkage becomes
   global; a VAR becomes global-allocated with the first 32-bit INT as type.
   ``.kconfig`` entries are laid out in the sorted extern order.
4. Every other DATASEC of size 0 takes its ELF section's size (no such section,
   or size 0: refusal); each non-static, non-extern VAR takes the value of the
   first GLOBAL/WEAK STT_OBJECT symbol of its name (none: refusal) as offset
   (only when the size was 0), and becomes static when that symbol is HIDDEN or
   INTERNAL.  Var infos of every DATASEC are then sorted by offset (stable, as
   glibc's merge-sort ``qsort``).

The result keeps the input's header length, its types in place (one VAR may be
appended) and its string blob (``dummy_ksym`` may be appended); ``.BTF.ext`` is
attached unchanged.  What libbpf refuses is refused with one
:class:`~btfdedup.errors.ElfError` / :class:`~btfdedup.errors.BtfError` naming
the file and the rule.  See ``bpf-object-open-and-linker.md`` Part A.
"""

from __future__ import annotations

import sys

import numpy as np

from btfdedup.bpfobj.elf_object import SHT_SYMTAB, BpfObjectFile, read_bpf_object
from btfdedup.bpfobj.symbols import extern_symbols, global_object_symbols, is_restricted_visibility
from btfdedup.errors import BtfExtFormatError, BtfFormatError, ElfError
from btfdedup.format.constants import KIND_SHIFT, MODIFIER_KINDS, Kind
from btfdedup.io.load import parse_blob, read_file
from btfdedup.model.btf import Btf
from btfdedup.model.ext import parse_ext

KCONFIG_SEC = ".kconfig"
KSYMS_SEC = ".ksyms"
DUMMY_KSYM = b"dummy_ksym"

#: VAR linkage values (the VAR's tail word)
VAR_STATIC, VAR_GLOBAL_ALLOCATED, VAR_GLOBAL_EXTERN = 0, 1, 2
#: FUNC linkage values (the FUNC's vlen bits)
FUNC_GLOBAL, FUNC_EXTERN = 1, 2
#: a pointer is 8 bytes in BPF BTF (libbpf forces it at open)
PTR_SIZE = 8
ET_REL = "ET_REL"
EM_BPF = 247
ELFCLASS64 = 64
#: bounds libbpf's type-chain walks (btf__resolve_size / btf__align_of)
MAX_RESOLVE_DEPTH = 32


def _refuse(obj: BpfObjectFile, rule: str) -> ElfError:
    return ElfError(f"libbpf refuses to open this object: {rule}", source=obj.path)


def open_object_file(path: str) -> Btf:
    """The BTF of the BPF object at ``path`` as libbpf 1.1.2's ``bpf_object__open_file``
    holds it (``bpf_object__btf``); see the module docstring."""
    return open_object(read_file(path), path)


def open_object(data: bytes, source: str) -> Btf:
    """:func:`open_object_file` for an object already in memory (``source`` names it)."""
    obj = read_bpf_object(data, source)
    _check_elf(obj)
    btf = _read_btf(obj)
    return _OpenedBtf(obj, btf).finish()


# ---------------------------------------------------------------- ELF and BTF
def _check_elf(obj: BpfObjectFile) -> None:
    if obj.elfclass != ELFCLASS64:
        raise _refuse(obj, f"ELF class is {obj.elfclass}-bit, BPF objects are 64-bit ELF")
    if obj.e_type != ET_REL or obj.machine not in (0, EM_BPF):
        raise _refuse(obj, f"not a relocatable BPF object (e_type {obj.e_type}, e_machine {obj.machine}; "
                           f"needs ET_REL and EM_BPF)")
    host = "<" if sys.byteorder == "little" else ">"
    if obj.byteorder != host:
        raise _refuse(obj, f"the object's byte order is not the host's ({sys.byteorder} endian): endian mismatch")


def _needs_btf(obj: BpfObjectFile) -> bool:
    """libbpf's ``libbpf_needs_btf`` at ``.BTF`` parse time: a ``.maps`` or
    ``.struct_ops`` section (externs are not collected yet)."""
    return obj.section(".maps") is not None or obj.section(".struct_ops") is not None


def _read_btf(obj: BpfObjectFile) -> Btf:
    data = obj.btf_data
    if data is None:
        raise ElfError(
            "no .BTF section: the object carries no BTF (libbpf opens it without BTF"
            + (", but refuses here since it has .maps/.struct_ops)" if _needs_btf(obj) else ")"),
            source=obj.path,
        )
    try:
        btf = parse_blob(data, source=f"{obj.path} [.BTF]")
    except BtfFormatError as e:
        raise ElfError(f"unreadable .BTF ({e.rule}); libbpf "
                       + ("refuses the object (it has .maps/.struct_ops)" if _needs_btf(obj)
                          else "opens it without BTF"), source=obj.path) from None
    btf.source = obj.path
    ext_data = obj.btf_ext_data
    if ext_data is not None:
        try:
            btf.ext = parse_ext(ext_data, byteorder=btf.byteorder, source=f"{obj.path} [.BTF.ext]")
        except BtfExtFormatError as e:
            if _needs_btf(obj):
                raise ElfError(f"unreadable .BTF.ext ({e.rule}) and the object needs BTF (.maps/.struct_ops)",
                               source=obj.path) from None
            btf.ext = None  # libbpf drops a bad .BTF.ext and goes on
    return btf


# ---------------------------------------------------------------- the rewrite
class _OpenedBtf:
    """The mutable words and strings of one object's BTF while the open rewrites them."""

    def __init__(self, obj: BpfObjectFile, btf: Btf) -> None:
        self.obj = obj
        self.btf = btf
        self.words = btf.words.copy()
        self.type_start = btf.type_start.copy()
        self.strings = btf.strings.data
        self.kind = btf.kind.copy()

    # ------------------------------------------------------------ accessors
    def _pos(self, type_id: int) -> int:
        return int(self.type_start[type_id - 1])

    def _kind(self, type_id: int) -> int:
        if type_id <= 0 or type_id > len(self.kind):
            return 0
        return int(self.kind[type_id - 1])

    def _name(self, type_id: int) -> bytes:
        off = int(self.words[self._pos(type_id)])
        end = self.strings.find(b"\0", off)
        return self.strings[off:end]

    def _vlen(self, type_id: int) -> int:
        return int(self.words[self._pos(type_id) + 1]) & 0xFFFF

    def _ids_of(self, *kinds: Kind) -> list[int]:
        mask = np.isin(self.kind, np.array([int(k) for k in kinds], dtype=np.uint8))
        return (np.flatnonzero(mask) + 1).tolist()

    def _secinfo_pos(self, sec_id: int) -> list[int]:
        """Word positions of the var infos of DATASEC ``sec_id``."""
        p = self._pos(sec_id) + 3
        return [p + 3 * i for i in range(self._vlen(sec_id))]

    def _first_int32(self) -> int:
        """libbpf's ``find_int_btf_id``: the first INT of 32 bits, else 0 (void)."""
        for tid in self._ids_of(Kind.INT):
            if int(self.words[self._pos(tid) + 3]) & 0xFF == 32:
                return tid
        return 0

    # -------------------------------------------------------------- steps
    def finish(self) -> Btf:
        self._collect_externs()
        for sec_id in self._ids_of(Kind.DATASEC):
            self._fixup_datasec(sec_id)
        out = Btf.from_words(
            self.words,
            self.strings,
            type_start=self.type_start,
            byteorder=self.btf.byteorder,
            hdr_len=self.btf.hdr_len,
            layout=self.btf.layout,
            version=self.btf.version,
            source=self.obj.path,
        )
        out.ext = self.btf.ext
        return out

    def _add_dummy_ksym(self) -> int:
        """Append ``VAR dummy_ksym`` when the ``.ksyms`` DATASEC lists a FUNC; its ID or 0."""
        ksyms = [t for t in self._ids_of(Kind.DATASEC) if self._name(t) == KSYMS_SEC.encode()]
        if not ksyms:
            return 0
        if not any(self._kind(int(self.words[p])) == Kind.FUNC for p in self._secinfo_pos(ksyms[0])):
            return 0
        int_id = self._first_int32()
        off = self.btf.strings.find(DUMMY_KSYM)  # btf__add_str: an existing equal string is reused
        if off < 0:
            off = len(self.strings)
            self.strings += DUMMY_KSYM + b"\0"
        rec = np.array([off, int(Kind.VAR) << KIND_SHIFT, int_id, VAR_GLOBAL_ALLOCATED], dtype=np.uint32)
        self.words = np.concatenate([self.words, rec])
        self.type_start = np.append(self.type_start, self.type_start[-1] + len(rec))
        self.kind = np.append(self.kind, np.uint8(Kind.VAR))
        return len(self.kind)

    def _collect_externs(self) -> None:
        obj = self.obj
        symtab = next((s for s in obj.sections if s.index and s.sh_type == SHT_SYMTAB), None)
        if symtab is None:
            return
        if symtab.entsize != 24:
            raise _refuse(obj, f"symbol table entry size is {symtab.entsize}, not 24")
        dummy_id = self._add_dummy_ksym()
        externs: list[tuple[int, int, int, bytes, int, int]] = []  # (type, -align, size, name, btf_id, sec_id)
        var_func = self._ids_of(Kind.VAR, Kind.FUNC)
        datasecs = self._ids_of(Kind.DATASEC)
        kcfg_sec = ksym_sec = 0
        for sym in extern_symbols(obj):
            name = sym.name.encode()
            btf_id = next((t for t in var_func if self._name(t) == name), 0)
            if not btf_id:
                raise _refuse(obj, f"extern '{sym.name}' has no BTF VAR or FUNC of that name")
            p = self._pos(btf_id)
            if self._kind(btf_id) == Kind.VAR and int(self.words[p + 3]) != VAR_GLOBAL_EXTERN:
                raise _refuse(obj, f"extern '{sym.name}': its BTF VAR [{btf_id}] is not extern")
            if self._kind(btf_id) == Kind.FUNC and int(self.words[p + 1]) & 0xFFFF != FUNC_EXTERN:
                raise _refuse(obj, f"extern '{sym.name}': its BTF FUNC [{btf_id}] is not extern")
            sec_id = next((s for s in datasecs if any(int(self.words[q]) == btf_id for q in self._secinfo_pos(s))), 0)
            if not sec_id:
                raise _refuse(obj, f"extern '{sym.name}' [{btf_id}] is listed in no DATASEC")
            sec_name = self._name(sec_id).decode("utf-8", "backslashreplace")
            if sec_name == KCONFIG_SEC:
                if self._kind(btf_id) == Kind.FUNC:
                    raise _refuse(obj, f"extern function {sym.name} is unsupported under {KCONFIG_SEC}")
                kcfg_sec = sec_id
                vtype = int(self.words[p + 2])
                size = self._resolve_size(vtype)
                if size <= 0:
                    raise _refuse(obj, f"cannot resolve the size of kconfig extern '{sym.name}'")
                align = self._align_of(vtype)
                if align <= 0:
                    raise _refuse(obj, f"cannot determine the alignment of kconfig extern '{sym.name}'")
                if not self._is_kcfg_type(vtype):
                    raise _refuse(obj, f"kconfig extern '{sym.name}': type is unsupported")
                externs.append((0, -align, size, name, btf_id, sec_id))
            elif sec_name == KSYMS_SEC:
                ksym_sec = sec_id
                externs.append((1, 0, 0, name, btf_id, sec_id))
            else:
                raise _refuse(obj, f"extern '{sym.name}' is in DATASEC '{sec_name}'; only {KCONFIG_SEC} and "
                                   f"{KSYMS_SEC} externs can be opened (the static linker takes others)")
        if not externs:
            return
        # cmp_externs: type, then (kconfig) alignment desc and size asc, then name (strcmp)
        externs.sort(key=lambda e: (e[0], e[1], e[2], e[3]) if e[0] == 0 else (e[0], 0, 0, e[3]))
        by_name: dict[bytes, tuple[int, int, int, bytes, int, int]] = {}
        for e in externs:
            by_name.setdefault(e[3], e)
        if ksym_sec:
            self._layout_ksyms(ksym_sec, dummy_id, by_name)
        if kcfg_sec:
            self._layout_kconfig(kcfg_sec, externs, by_name)

    def _layout_ksyms(self, sec_id: int, dummy_id: int, by_name: dict[bytes, tuple[int, int, int, bytes, int, int]]) -> None:
        int_id = self._first_int32()
        dummy_name = int(self.words[self._pos(dummy_id)]) if dummy_id else 0
        infos = self._secinfo_pos(sec_id)
        for i, q in enumerate(infos):
            vt = int(self.words[q])
            name = self._name(vt)
            if name not in by_name:
                raise _refuse(self.obj, f"{KSYMS_SEC} entry '{name.decode(errors='replace')}' has no extern symbol")
            p = self._pos(vt)
            if self._kind(vt) == Kind.FUNC:
                proto = int(self.words[p + 2])
                pp = self._pos(proto) + 3
                for j in range(self._vlen(proto)):
                    if self.words[pp + 2 * j + 1] and not self.words[pp + 2 * j]:
                        self.words[pp + 2 * j] = dummy_name
                self.words[q] = dummy_id
                self.words[p + 1] = (int(self.words[p + 1]) & ~0xFFFF) | FUNC_GLOBAL
            else:
                self.words[p + 3] = VAR_GLOBAL_ALLOCATED
                self.words[p + 2] = int_id
            self.words[q + 1] = 4 * i
            self.words[q + 2] = 4
        self.words[self._pos(sec_id) + 2] = 4 * len(infos)

    def _layout_kconfig(self, sec_id: int, externs: list[tuple[int, int, int, bytes, int, int]],
                        by_name: dict[bytes, tuple[int, int, int, bytes, int, int]]) -> None:
        data_off: dict[bytes, int] = {}
        off = 0
        for kind, neg_align, size, name, _btf_id, _sec in externs:
            if kind != 0:
                continue
            align = -neg_align
            start = (off + align - 1) // align * align
            data_off.setdefault(name, start)
            off = start + size
        self.words[self._pos(sec_id) + 2] = off
        for q in self._secinfo_pos(sec_id):
            vt = int(self.words[q])
            name = self._name(vt)
            if name not in by_name:
                raise _refuse(self.obj, f"{KCONFIG_SEC} entry '{name.decode(errors='replace')}' has no extern symbol")
            self.words[self._pos(vt) + 3] = VAR_GLOBAL_ALLOCATED
            self.words[q + 1] = data_off.get(name, 0)

    def _fixup_datasec(self, sec_id: int) -> None:
        name = self._name(sec_id).decode("utf-8", "backslashreplace")
        p = self._pos(sec_id)
        infos = self._secinfo_pos(sec_id)
        if name not in (KCONFIG_SEC, KSYMS_SEC):
            fix_offsets = False
            if int(self.words[p + 2]) == 0:
                sec = self.obj.section(name)
                if sec is None or sec.size == 0:
                    why = "has no ELF section of that name" if sec is None else "has an empty ELF section"
                    raise _refuse(self.obj, f"DATASEC '{name}' [{sec_id}] {why}, so its size is unknown")
                self.words[p + 2] = sec.size & 0xFFFFFFFF
                fix_offsets = True
            syms = global_object_symbols(self.obj)
            for q in infos:
                vt = int(self.words[q])
                if self._kind(vt) != Kind.VAR:
                    raise _refuse(self.obj, f"DATASEC '{name}' [{sec_id}] lists type [{vt}], which is not a VAR")
                vp = self._pos(vt)
                if int(self.words[vp + 3]) in (VAR_STATIC, VAR_GLOBAL_EXTERN):
                    continue
                vname = self._name(vt).decode("utf-8", "backslashreplace")
                sym = syms.get(vname)
                if sym is None:
                    raise _refuse(self.obj, f"DATASEC '{name}': no global ELF symbol for VAR '{vname}' [{vt}]")
                if fix_offsets:
                    self.words[q + 1] = sym.value & 0xFFFFFFFF
                if is_restricted_visibility(sym):
                    self.words[vp + 3] = VAR_STATIC
        if len(infos) > 1:
            block = self.words[p + 3 : p + 3 + 3 * len(infos)].reshape(-1, 3)
            order = np.argsort(block[:, 1], kind="stable")
            block[:] = block[order]

    # ------------------------------------------------- type-chain helpers
    def _resolve_size(self, type_id: int) -> int:
        """libbpf's ``btf__resolve_size`` (pointer size 8); -1 when it fails."""
        nelems = 1
        for _ in range(MAX_RESOLVE_DEPTH):
            k = self._kind(type_id)
            if k == 0:
                return -1
            p = self._pos(type_id)
            if k in (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT):
                size = int(self.words[p + 2])
                total = nelems * size
                return total if total <= 0xFFFFFFFF else -1
            if k == Kind.PTR:
                return nelems * PTR_SIZE
            if k in MODIFIER_KINDS or k in (Kind.VAR, Kind.DECL_TAG):
                type_id = int(self.words[p + 2])
            elif k == Kind.ARRAY:
                n = int(self.words[p + 5])
                if n and nelems > 0xFFFFFFFF // n:
                    return -1
                nelems *= n
                type_id = int(self.words[p + 3])
            else:
                return -1
        return -1

    def _align_of(self, type_id: int, depth: int = 0) -> int:
        """libbpf's ``btf__align_of`` for the kinds a kconfig extern can have; -1 on failure."""
        if depth > MAX_RESOLVE_DEPTH:
            return -1
        k = self._kind(type_id)
        if k == 0:
            return -1
        p = self._pos(type_id)
        if k in (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FLOAT):
            return min(PTR_SIZE, int(self.words[p + 2]))
        if k == Kind.PTR:
            return PTR_SIZE
        if k in MODIFIER_KINDS:
            return self._align_of(int(self.words[p + 2]), depth + 1)
        if k == Kind.ARRAY:
            return self._align_of(int(self.words[p + 3]), depth + 1)
        if k in (Kind.STRUCT, Kind.UNION):
            return 1  # any positive alignment: find_kcfg_type refuses aggregates next anyway
        return -1

    def _skip_mods(self, type_id: int) -> int:
        for _ in range(MAX_RESOLVE_DEPTH):
            if self._kind(type_id) not in MODIFIER_KINDS:
                return type_id
            type_id = int(self.words[self._pos(type_id) + 2])
        return type_id

    def _is_kcfg_type(self, type_id: int, allow_array: bool = True) -> bool:
        """Whether libbpf's ``find_kcfg_type`` knows the type (bool, char, int of 1/2/4/8
        bytes, ``enum libbpf_tristate``, a non-empty char array)."""
        tid = self._skip_mods(type_id)
        k = self._kind(tid)
        if k == 0:
            return False
        p = self._pos(tid)
        if k == Kind.INT:
            enc = (int(self.words[p + 3]) >> 24) & 0x0F
            size = int(self.words[p + 2])
            if enc & 4:  # BTF_INT_BOOL
                return size == 1
            return size in (1, 2, 4, 8)
        if k == Kind.ENUM:
            return int(self.words[p + 2]) == 4 and self._name(tid) == b"libbpf_tristate"
        if k == Kind.ENUM64:
            return self._name(tid) == b"libbpf_tristate"
        if k == Kind.ARRAY and allow_array:
            if int(self.words[p + 5]) == 0:
                return False
            elem = self._skip_mods(int(self.words[p + 3]))
            return (self._kind(elem) == Kind.INT and self._is_kcfg_type(elem, False)
                    and int(self.words[self._pos(elem) + 2]) == 1 and not (int(self.words[self._pos(elem) + 3]) >> 24) & 4)
        return False


__all__ = ["open_object", "open_object_file"]

