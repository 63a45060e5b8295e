"""The BTF of ``bpftool gen object OUT A.o B.o ...``: libbpf 1.1's static linker.

:func:`link_objects` links BPF objects as libbpf 1.1.2's ``bpf_linker`` does and
returns the ``.BTF`` (and ``.BTF.ext``) it writes.  Per input, in order
(``bpf_linker__add_file``):

1. load, check and fix up the object (:mod:`.link_input`);
2. merge its data sections into same-named output sections: an output section
   keeps the alignment of the strictest input, each input starts at the output size
   rounded up to that alignment; ``license``/``version`` are kept once (a second copy
   must be identical); DATASEC-only sections contribute nothing;
3. resolve its global symbols against the ones seen so far: two strong definitions
   conflict; the BTF of both must agree (:mod:`.link_match`); a strong definition
   replaces an extern or a weak one, which turns the already-merged VAR into a
   global-allocated one, or the FUNC into a global one with the parameter names of
   the definition (interned into the output strings right then);
4. append its BTF types (DATASECs held back): a VAR/FUNC of a global already in the
   output is not appended again but mapped to it; a strong definition re-points
   the merged VAR/FUNC at its own type; strings are interned in field order
   (libbpf ``btf__add_type``, through :mod:`btfdedup.append`'s string set); DATASEC
   entries are collected per output section, at the input's offset there, once
   per global (a later copy only refreshes the size);
5. collect its ``.BTF.ext`` records per output section, with instruction offsets
   moved by the input's offset, type IDs mapped and line/CO-RE strings interned.

Finalisation appends one DATASEC per output section that had one, in output
section order, with the collected entries unsorted; builds the ``.BTF.ext``
(func_info, line_info, core_relo, each over the output sections in order, section
names interned as they are written); and deduplicates with libbpf 1.1.2's
``btf__dedup`` (:func:`btfdedup.engine.dedup` with ``libbpf_version="1.1"``), whose
strings phase is skipped because the BTF was built string by string.

Everything the linker refuses is a :class:`~.link_input.LinkError` naming the input
and the rule.  See ``bpf-object-open-and-linker.md`` Part B.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from btfdedup.append import StringSet
from btfdedup.bpfobj.elf_object import SHN_UNDEF, STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_SECTION
from btfdedup.bpfobj.link_ext import ExtRecs, build_ext, collect_ext, new_ext_recs
from btfdedup.bpfobj.link_input import (
    EXTERN_SEC,
    SHF_EXECINSTR,
    SHN_LORESERVE,
    SHT_REL,
    SHT_STRTAB,
    LinkError,
    LinkInput,
    SrcSection,
    load_link_input,
)
from btfdedup.bpfobj.link_match import MapDef, MapDefError, TypeTable, btf_matches, map_defs_match, parse_map_def
from btfdedup.engine import dedup
from btfdedup.errors import DedupError
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC, Kind
from btfdedup.model.btf import Btf
from btfdedup.model.ext import BtfExt
from btfdedup.model.fields import str_fields, type_id_fields
from btfdedup.model.strings import StringTable

SHT_PROGBITS, SHT_SYMTAB, SHT_NOBITS = 1, 2, 8
MAPS_SEC = ".maps"
#: FUNC info word of a global FUNC: kind FUNC, linkage global in vlen
_FUNC_GLOBAL_INFO = (int(Kind.FUNC) << 24) | 1


@dataclass
class LinkResult:
    """What the linker writes: ``.BTF`` (deduplicated) and ``.BTF.ext`` (or None)."""

    btf: Btf
    ext: BtfExt | None

    def btf_bytes(self) -> bytes:
        """The ``.BTF`` section bytes."""
        return self.btf.to_bytes()

    def ext_bytes(self) -> bytes | None:
        """The ``.BTF.ext`` section bytes, or None when the linker writes none."""
        return self.ext.to_bytes() if self.ext is not None else None


@dataclass
class _DstSection:
    """An output section."""

    id: int
    name: str
    sh_type: int = 0
    flags: int = 0
    entsize: int = 0
    addralign: int = 0
    size: int = 0
    ephemeral: bool = False
    raw: bytearray = field(default_factory=bytearray)
    has_btf: bool = False
    #: DATASEC entries (type, offset, size) in collection order
    sec_vars: list[list[int]] = field(default_factory=list)
    ext: dict[str, ExtRecs] = field(default_factory=new_ext_recs)


@dataclass
class _GlobSym:
    """A global symbol of the output (``struct glob_sym``)."""

    name: str
    sec_id: int
    is_extern: bool
    is_weak: bool
    btf_id: int = 0
    #: <0: "point the VAR/FUNC at this input's type -value"; >0: its current type
    underlying_btf_id: int = 0
    var_idx: int = -1


def _init_sec(dst: _DstSection, src: SrcSection) -> None:
    dst.size = 0
    dst.ephemeral = src.ephemeral
    if src.ephemeral:
        return
    dst.sh_type, dst.flags, dst.entsize, dst.addralign = src.sh_type, src.flags, src.entsize, src.addralign
    dst.raw = bytearray()


class _Linker:
    """The state of one link (``struct bpf_linker``), BTF side."""

    def __init__(self) -> None:
        # output sections: 0 is a placeholder (records sent there are dropped, as in libbpf)
        self.secs = [_DstSection(0, ""), _DstSection(1, ".strtab", SHT_STRTAB), _DstSection(2, ".symtab", SHT_SYMTAB)]
        self.globs: dict[str, _GlobSym] = {}
        self.strset = StringSet(None)
        self.words = np.zeros(0, dtype=np.uint32)
        self.type_start = np.zeros(1, dtype=np.int64)
        self._ptr_sz = 0

    # ---------------------------------------------------------------- output BTF
    def _str(self, off: int) -> bytes:
        """The output string at ``off`` (the string set's blob is NUL-terminated)."""
        out = self.strset.out
        width = 64
        while True:
            chunk = out[off : off + width].tobytes()
            end = chunk.find(b"\0")
            if end >= 0 or off + width >= self.strset.out_len:
                return chunk if end < 0 else chunk[:end]
            width *= 4

    def table(self) -> TypeTable:
        t = TypeTable(self.words, self.type_start, self._str, self._ptr_sz)
        return t

    @property
    def type_cnt(self) -> int:
        return len(self.type_start)

    def _intern(self, strings: StringTable, offs: np.ndarray) -> np.ndarray:
        """``btf__add_str`` of each string (offsets into ``strings``), in order."""
        offs = np.asarray(offs, dtype=np.int64).copy()
        if len(offs):
            self.strset.intern_fields(offs, np.zeros(len(offs), dtype=np.int64), [strings])
        return offs

    def _intern_names(self, names: Sequence[str]) -> list[int]:
        blob = b"\0" + b"".join(n.encode() + b"\0" for n in names)
        offs, p = [], 1
        for n in names:
            offs.append(p)
            p += len(n.encode()) + 1
        return self._intern(StringTable(blob), np.array(offs, dtype=np.int64)).tolist()

    # ---------------------------------------------------------------- sections
    def _find_dst(self, name: str) -> _DstSection | None:
        for sec in self.secs[1:]:
            if sec.name == name:
                return sec
        return None

    def _add_dst(self, name: str) -> _DstSection:
        sec = _DstSection(len(self.secs), name)
        self.secs.append(sec)
        return sec

    @staticmethod
    def _secs_match(inp: LinkInput, dst: _DstSection, src: SrcSection, what: str) -> None:
        if dst.ephemeral or src.ephemeral:
            return
        for attr, a, b in (("types", dst.sh_type, src.sh_type), ("flags", dst.flags, src.flags),
                           ("entry sizes", dst.entsize, src.entsize)):
            if a != b:
                raise LinkError(inp.path, "section-mismatch",
                                f"{what} {src.name} cannot be merged with the output's: their {attr} differ")

    @staticmethod
    def _extend(dst: _DstSection, src: SrcSection) -> None:
        if src.ephemeral:
            return
        if dst.ephemeral:
            _init_sec(dst, src)
        align = max(dst.addralign or 1, src.addralign)
        start = (dst.size + align - 1) // align * align
        if src.sh_type != SHT_NOBITS:
            dst.raw.extend(b"\0" * (start - len(dst.raw)))
            dst.raw.extend(src.data)
        dst.size = start + src.size
        dst.addralign = align
        src.dst_off = start

    def append_sec_data(self, inp: LinkInput) -> None:
        for src in inp.secs[1:]:
            if src.skipped or not (src.ephemeral or src.sh_type in (SHT_PROGBITS, SHT_NOBITS)):
                continue
            dst = self._find_dst(src.name)
            if dst is None:
                dst = self._add_dst(src.name)
                _init_sec(dst, src)
            else:
                self._secs_match(inp, dst, src, "ELF section")
                if src.name in ("license", "version"):
                    if dst.size != src.size or bytes(dst.raw[: dst.size]) != src.data[: dst.size]:
                        raise LinkError(inp.path, "license-version",
                                        f"its '{src.name}' section differs from the one already linked "
                                        "(it must be identical)")
                    src.skipped = True
                    src.dst_id = dst.id
                    continue
            src.dst_id = dst.id
            self._extend(dst, src)

    # ---------------------------------------------------------------- symbols
    @staticmethod
    def _glob_btf_index(inp: LinkInput) -> list[tuple[int, list[tuple[int, bytes, bool]]]]:
        """The input's non-static VARs/FUNCs and DATASECs in ID order, for
        :meth:`_find_glob_btf`: ``(type ID, [])`` for a non-static VAR/FUNC (its name
        first in the list as ``(ID, name, False)``), ``(DATASEC ID, entries)`` with
        ``(entry type ID, name, static)`` for a DATASEC."""
        btf = inp.btf
        assert btf is not None
        words, ts, kinds = inp.words, btf.type_start, btf.kind
        out: list[tuple[int, list[tuple[int, bytes, bool]]]] = []
        for i in np.flatnonzero((kinds == Kind.VAR) | (kinds == Kind.FUNC) | (kinds == Kind.DATASEC)).tolist():
            k, p = int(kinds[i]), int(ts[i])
            if k != Kind.DATASEC:
                if _non_static(k, words, p):
                    out.append((-(i + 1), [(i + 1, btf.strings.get(int(words[p])), False)]))
                continue
            entries = []
            for j in range(int(words[p + 1]) & 0xFFFF):
                vt = int(words[p + 3 + 3 * j])
                if vt == 0 or vt >= btf.type_cnt:
                    continue
                q, vk = int(ts[vt - 1]), int(kinds[vt - 1])
                static = (vk == Kind.VAR and int(words[q + 3]) == 0) or (
                    vk == Kind.FUNC and (int(words[q + 1]) & 0xFFFF) == 0)
                entries.append((vt, btf.strings.get(int(words[q])), static))
            out.append((i + 1, entries))
        return out

    @staticmethod
    def _find_glob_btf(inp: LinkInput, index: list[tuple[int, list[tuple[int, bytes, bool]]]],
                       name: str) -> tuple[int, int]:
        """``find_glob_sym_btf``: (DATASEC type ID or 0, VAR/FUNC type ID).  The last
        non-static VAR/FUNC of that name before the first DATASEC listing a non-static
        entry of that name; that entry when there is one (both must agree)."""
        enc = name.encode()
        btf_id = 0
        for tid, entries in index:
            if tid < 0:
                if entries[0][1] == enc:
                    btf_id = -tid
                continue
            for vt, vname, static in entries:
                if vname != enc or static:
                    continue
                if btf_id and btf_id != vt:
                    raise LinkError(inp.path, "ambiguous-btf",
                                    f"the BTF of global/extern '{name}' is ambiguous: types [{btf_id}] and [{vt}]")
                return tid, vt
        if btf_id:
            return 0, btf_id
        raise LinkError(inp.path, "no-global-btf", f"no BTF VAR/FUNC describes global/extern symbol '{name}'")

    def _src_table(self, inp: LinkInput) -> TypeTable:
        assert inp.btf is not None
        strings = inp.btf.strings
        return TypeTable(inp.words, inp.btf.type_start, strings.get)

    def _globs_match(self, inp: LinkInput, glob: _GlobSym, btf_id: int) -> None:
        name = glob.name
        if not glob.btf_id or not btf_id:
            raise LinkError(inp.path, "global-needs-btf", f"BTF is missing for global symbol '{name}'")
        src = self._src_table(inp)
        if src.kind(btf_id) not in (Kind.VAR, Kind.FUNC):
            raise LinkError(inp.path, "global-kind", f"global '{name}' is described by neither a VAR nor a FUNC")
        dst = self.table()
        if glob.sec_id and self.secs[glob.sec_id].name == MAPS_SEC:
            why = self._map_defs_match(name, dst, glob.btf_id, src, btf_id)
        else:
            why = btf_matches(name, dst, glob.btf_id, src, btf_id)
        self._ptr_sz = dst.ptr_sz
        if why is not None:
            raise LinkError(inp.path, "btf-mismatch", why)

    @staticmethod
    def _map_defs_match(name: str, dst: TypeTable, dst_id: int, src: TypeTable, src_id: int) -> str | None:
        if src.kind(src_id) != Kind.VAR:
            return f"global '{name}': its map definition is not a VAR"
        try:
            sd, si = parse_map_def(src, src.skip_mods(src.size_type(src_id)), MapDef())
        except MapDefError as e:
            return f"global '{name}': invalid map definition ({e})"
        try:
            dd, di = parse_map_def(dst, dst.skip_mods(dst.size_type(dst_id)), MapDef())
        except MapDefError as e:
            return f"global '{name}': invalid map definition already linked ({e})"
        return map_defs_match(name, dst, dd, di, src, sd, si)

    def _complete_extern(self, inp: LinkInput, dst_id: int, src_id: int) -> None:
        """``complete_extern_btf_info`` on the already-merged VAR/FUNC ``dst_id``."""
        p = int(self.type_start[dst_id - 1])
        kind = (int(self.words[p + 1]) >> 24) & 0x1F
        if kind == Kind.VAR:
            self.words[p + 3] = 1
            return
        self.words[p + 1] = _FUNC_GLOBAL_INFO
        assert inp.btf is not None
        src_ts = inp.btf.type_start
        src_proto = int(inp.words[int(src_ts[src_id - 1]) + 2])
        dst_proto = int(self.words[p + 2])
        sp = int(src_ts[src_proto - 1]) + 3
        dp = int(self.type_start[dst_proto - 1]) + 3
        n = int(self.words[dp - 2]) & 0xFFFF
        names = inp.words[sp : sp + 2 * n : 2].astype(np.int64)
        named = np.flatnonzero(names != 0)
        if len(named):
            new = self._intern(inp.btf.strings, names[named])
            self.words[dp + 2 * named] = new.astype(np.uint32)

    def append_syms(self, inp: LinkInput) -> None:
        index = self._glob_btf_index(inp) if inp.btf is not None else []
        for sym in inp.elf.symbols[1:]:
            src: SrcSection | None = None
            dst: _DstSection | None = None
            is_extern = sym.shndx == SHN_UNDEF
            if is_extern:
                if inp.btf is None:
                    raise LinkError(inp.path, "extern-needs-btf", f"extern '{sym.name}' needs BTF, the object has none")
            elif sym.shndx < SHN_LORESERVE:
                src = inp.secs[sym.shndx]
                if src.skipped:
                    continue
                dst = self.secs[src.dst_id]
                if sym.type == STT_SECTION:
                    continue
            if sym.bind == STB_LOCAL:
                continue
            if inp.btf is None:
                raise LinkError(inp.path, "global-needs-btf", "it has global symbols but no .BTF")
            btf_sec_id, btf_id = self._find_glob_btf(inp, index, sym.name)
            if is_extern and btf_sec_id:
                assert inp.btf is not None
                sec_name = inp.btf.name(btf_sec_id)
                if sec_name != EXTERN_SEC:
                    src = inp.find_sec(sec_name)
                    if src is None:
                        raise LinkError(inp.path, "extern-section", f"extern '{sym.name}': no section '{sec_name}'")
                    dst = self.secs[src.dst_id]
            glob = self.globs.get(sym.name)
            if glob is None:
                self.globs[sym.name] = _GlobSym(sym.name, dst.id if dst is not None else 0, is_extern,
                                                sym.bind == STB_WEAK)
                continue
            if not is_extern and not glob.is_extern and not glob.is_weak and sym.bind != STB_WEAK:
                raise LinkError(inp.path, "strong-conflict",
                                f"global symbol #{sym.index} ({sym.name}) is defined strongly here and in an "
                                "earlier input (one of two definitions must be weak)")
            self._globs_match(inp, glob, btf_id)
            if sym.bind == STB_GLOBAL:
                glob.is_weak = False
            if is_extern or (not glob.is_extern and sym.bind == STB_WEAK):
                continue
            assert dst is not None and src is not None
            glob.sec_id = dst.id
            glob.is_extern = False
            self._complete_extern(inp, glob.btf_id, btf_id)
            glob.underlying_btf_id = 0

    def check_relos(self, inp: LinkInput) -> None:
        """What ``linker_append_elf_relos`` refuses: output ``.rel*`` sections of
        mismatching kinds, and relocations against a section symbol outside code."""
        syms = inp.elf.symbols
        for sec in inp.secs[1:]:
            if sec.skipped or sec.ephemeral or sec.sh_type != SHT_REL:
                continue
            target = inp.secs[sec.info]
            if target.skipped:
                continue
            dst = self._find_dst(sec.name)
            if dst is None:
                dst = self._add_dst(sec.name)
                _init_sec(dst, sec)
            else:
                self._secs_match(inp, dst, sec, "relocation section")
            sec.dst_id = dst.id
            self._extend(dst, sec)
            if target.flags & SHF_EXECINSTR:
                continue
            rel = np.frombuffer(sec.data, dtype="<u8").reshape(-1, 2)
            for s in (rel[:, 1] >> 32).tolist():
                if syms[s].type == STT_SECTION:
                    raise LinkError(inp.path, "section-relocation",
                                    f"{sec.name}: a relocation against a section symbol outside code")

    # ---------------------------------------------------------------- BTF
    def append_btf(self, inp: LinkInput) -> np.ndarray:
        """Append the input's types; returns its type map (input ID -> output ID)."""
        btf = inp.btf
        if btf is None:
            return np.zeros(1, dtype=np.int64)
        words, ts = inp.words, btf.type_start
        n = btf.nr_types
        kinds = btf.kind.astype(np.int64)
        keep = kinds != Kind.DATASEC
        type_map = np.zeros(n + 2, dtype=np.int64)
        start_id = self.type_cnt
        pending: dict[int, _GlobSym] = {}
        nonstatic = np.flatnonzero(((kinds == Kind.VAR) & (words[np.minimum(ts[:-1] + 3, len(words) - 1)] != 0))
                                   | ((kinds == Kind.FUNC) & (btf.vlen != 0)))
        for i in nonstatic.tolist():
            glob = self.globs.get(btf.strings.text(int(btf.name_off[i])))
            if glob is None:
                keep[i] = False
                continue
            t_type = int(words[int(ts[i]) + 2])
            if glob.underlying_btf_id == 0:
                glob.underlying_btf_id = -t_type
            if glob.btf_id:
                keep[i] = False
                type_map[i + 1] = glob.btf_id
                continue
            pending[i] = glob
            glob.btf_id = -1  # appended below; a later type of this name maps to it
            glob.underlying_btf_id = -t_type
        sel = np.flatnonzero(keep)
        new_ids = start_id + np.arange(len(sel), dtype=np.int64)
        type_map[sel + 1] = new_ids
        for i, glob in pending.items():
            glob.btf_id = int(type_map[i + 1])
        for i in nonstatic.tolist():
            if not keep[i] and type_map[i + 1] == 0:
                continue
            glob = self.globs.get(btf.strings.text(int(btf.name_off[i])))
            if glob is not None and type_map[i + 1] < 0:
                type_map[i + 1] = glob.btf_id
        # copy the selected records, then intern strings and remap type IDs in field order
        lens = (ts[1:] - ts[:-1])[sel]
        starts = ts[:-1][sel]
        idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()), dtype=np.int64)
        new_words = words[idx].copy()
        new_ts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        view = Btf(new_words, new_ts, StringTable(b"\0"))
        spos, _ = str_fields(view)
        offs = self._intern(btf.strings, new_words[spos].astype(np.int64))
        tpos, _ = type_id_fields(view)
        old = new_words[tpos].astype(np.int64)
        mapped = type_map[np.minimum(old, n + 1)]
        bad = np.flatnonzero((mapped == 0) & (old != 0))
        if len(bad):
            raise LinkError(inp.path, "type-map", f"type [{int(old[bad[0]])}] is referenced but was not merged")
        new_words[spos] = offs.astype(np.uint32)
        new_words[tpos] = mapped.astype(np.uint32)
        base = len(self.words)
        self.words = np.concatenate([self.words, new_words])
        self.type_start = np.concatenate([self.type_start[:-1], new_ts + base])
        # re-point VARs/FUNCs of globals whose definition this input supplies
        for glob in self.globs.values():
            if glob.underlying_btf_id >= 0:
                continue
            src_t = -glob.underlying_btf_id
            glob.underlying_btf_id = int(type_map[src_t]) if src_t <= n else 0
            self.words[int(self.type_start[glob.btf_id - 1]) + 2] = glob.underlying_btf_id
        self._collect_datasecs(inp, type_map)
        return type_map

    def _collect_datasecs(self, inp: LinkInput, type_map: np.ndarray) -> None:
        assert inp.btf is not None
        words, ts = inp.words, inp.btf.type_start
        out = self.table()
        for src in inp.secs[1:]:
            if not src.sec_type_id or src.skipped:
                continue
            dst = self.secs[src.dst_id]
            dst.has_btf = True
            p = int(ts[src.sec_type_id - 1])
            for j in range(int(words[p + 1]) & 0xFFFF):
                vt, voff, vsz = (int(w) for w in words[p + 3 + 3 * j : p + 6 + 3 * j])
                new_id = int(type_map[vt]) if vt < len(type_map) else 0
                glob = None
                q = out.rec(new_id)
                if new_id and _non_static(out.kind(new_id), self.words, q):
                    name = self._str(int(self.words[q])).decode("utf-8", "surrogateescape")
                    glob = self.globs.get(name)
                    if glob is not None and glob.sec_id != dst.id:
                        raise LinkError(inp.path, "global-section",
                                        f"global '{name}' lives in another section than DATASEC '{dst.name}' says")
                if glob is not None and glob.var_idx >= 0:
                    sz = out.resolve_size(glob.underlying_btf_id)
                    self._ptr_sz = out.ptr_sz
                    if sz < 0:
                        raise LinkError(inp.path, "datasec-size",
                                        f"global '{glob.name}': the size of its type cannot be resolved ({sz})")
                    dst.sec_vars[glob.var_idx][2] = sz & 0xFFFFFFFF
                    continue
                dst.sec_vars.append([new_id, (src.dst_off + voff) & 0xFFFFFFFF, vsz])
                if glob is not None:
                    glob.var_idx = len(dst.sec_vars) - 1

    # ---------------------------------------------------------------- finalize
    def finalize(self) -> LinkResult:
        if self.type_cnt == 1:
            raise LinkError(None, "no-btf", "the inputs have no BTF types, so the linker writes no .BTF")
        datasecs = [s for s in self.secs[1:] if s.has_btf]
        name_offs = self._intern_names([s.name for s in datasecs])
        chunks = [self.words]
        for sec, noff in zip(datasecs, name_offs, strict=True):
            rec = [noff, (int(Kind.DATASEC) << 24) | len(sec.sec_vars), sec.size & 0xFFFFFFFF]
            for v in sec.sec_vars:
                rec.extend(v)
            chunks.append(np.array(rec, dtype=np.uint32))
        words = np.concatenate(chunks)
        ext = build_ext([(s.name, s.ext) for s in self.secs[1:]], self._intern_names)
        btf = Btf.from_words(words, self.strset.to_bytes(), hdr_len=BTF_HDR_LEN_CLASSIC, strs_deduped=True,
                             byteorder="<")
        try:
            result = dedup(btf, ext=ext, libbpf_version="1.1")
        except DedupError as e:
            raise LinkError(None, "dedup", f"BTF dedup failed: {e}") from None
        return LinkResult(result.btf, result.ext)


def _non_static(kind: int, words: np.ndarray, p: int) -> bool:
    """``btf_is_non_static``: a VAR whose linkage is not static, or a FUNC whose is not."""
    if kind == Kind.VAR:
        return int(words[p + 3]) != 0
    if kind == Kind.FUNC:
        return (int(words[p + 1]) & 0xFFFF) != 0
    return False


def link_objects(paths: Sequence[str]) -> LinkResult:
    """Link the BPF objects ``paths`` in order as libbpf 1.1.2's static linker does and
    return the deduplicated ``.BTF`` and the ``.BTF.ext`` it writes."""
    linker = _Linker()
    for path in paths:
        inp = load_link_input(str(path))
        linker.append_sec_data(inp)
        linker.append_syms(inp)
        linker.check_relos(inp)
        type_map = linker.append_btf(inp)
        collect_ext(inp, type_map, lambda src: linker.secs[src.dst_id].ext, linker._intern)
    return linker.finalize()


__all__ = ["LinkError", "LinkResult", "link_objects"]
