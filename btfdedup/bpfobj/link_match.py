"""Whether two BTF descriptions of one global symbol agree, as the static linker decides.

When a global name appears in a second object (an extern meeting its definition, a
weak definition meeting another), libbpf 1.1's linker compares the BTF already in
the output with the new object's (``glob_sym_btf_matches``, exact mode):

* modifiers and typedefs are looked through on both sides;
* the kinds must be equal; STRUCT, UNION, ENUM, ENUM64, FWD, FUNC and VAR must
  have the same name;
* INT, FLOAT, ENUM and ENUM64 agree when their sizes do (encodings and enumerators
  are not compared); void and FWD always agree;
* a PTR compares its target loosely: a FWD may stand for a STRUCT (or a UNION
  for a kind-flag FWD) of the same name, and STRUCTs/UNIONs behind a pointer are
  not opened;
* an ARRAY compares its element type only; FUNC and VAR must agree on being static
  (extern and global count as the same) and compare their types;
* STRUCT/UNION (exact) need the same member count, and per member the same name,
  the same offset word and agreeing types; FUNC_PROTO the same parameter count,
  agreeing parameter types (names ignored) and return types.

Globals in ``.maps`` are compared as map definitions instead (:func:`map_defs_match`):
type, key and value sizes and types, max_entries, flags, NUMA node, pinning and
inner map must agree.  Each mismatch is reported as one sentence of our own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from btfdedup.format.constants import KIND_NAMES, MODIFIER_KINDS, Kind

#: how many modifier/typedef hops, or nested comparisons, before a cycle is assumed
_MAX_DEPTH = 1024
_RESOLVE_DEPTH = 32
_LONG_NAMES = frozenset({
    b"long", b"long int", b"int long", b"unsigned long", b"long unsigned", b"unsigned long int",
    b"unsigned int long", b"long unsigned int", b"long int unsigned", b"int unsigned long", b"int long unsigned",
})


@dataclass
class TypeTable:
    """Read access to one BTF's records (an input's, or the output being built):
    ``words``/``type_start`` over type IDs 1.., ``name(off)`` gives a string's bytes."""

    words: np.ndarray
    type_start: np.ndarray
    name: Callable[[int], bytes]
    #: cached pointer size (0: not determined yet), as libbpf caches it per BTF
    ptr_sz: int = 0

    @property
    def type_cnt(self) -> int:
        return len(self.type_start)

    def rec(self, tid: int) -> int:
        """Word position of ``tid``'s record (-1 for void)."""
        return -1 if tid == 0 else int(self.type_start[tid - 1])

    def kind(self, tid: int) -> int:
        return 0 if tid == 0 else (int(self.words[self.rec(tid) + 1]) >> 24) & 0x1F

    def info(self, tid: int) -> int:
        return 0 if tid == 0 else int(self.words[self.rec(tid) + 1])

    def vlen(self, tid: int) -> int:
        return self.info(tid) & 0xFFFF

    def size_type(self, tid: int) -> int:
        return 0 if tid == 0 else int(self.words[self.rec(tid) + 2])

    def name_of(self, tid: int) -> bytes:
        return b"" if tid == 0 else self.name(int(self.words[self.rec(tid)]))

    def word(self, tid: int, k: int) -> int:
        return int(self.words[self.rec(tid) + k])

    def skip_mods(self, tid: int) -> int:
        """``skip_mods_and_typedefs``."""
        for _ in range(_MAX_DEPTH):
            if self.kind(tid) not in MODIFIER_KINDS:
                return tid
            tid = self.size_type(tid)
        raise RecursionError("modifier cycle")

    def pointer_size(self) -> int:
        """libbpf's pointer size of this BTF: the size of the first 4- or 8-byte INT
        named like ``long``, else the host's (8); decided once and cached."""
        if not self.ptr_sz:
            self.ptr_sz = -1
            for tid in range(1, self.type_cnt):
                if self.kind(tid) == Kind.INT and self.size_type(tid) in (4, 8) and self.name_of(tid) in _LONG_NAMES:
                    self.ptr_sz = self.size_type(tid)
                    break
        return 8 if self.ptr_sz < 0 else self.ptr_sz

    def resolve_size(self, tid: int) -> int:
        """``btf__resolve_size``: the byte size of ``tid`` through modifiers, typedefs,
        VARs, tags and arrays; a negative errno when it has none."""
        nelems = 1
        size = -1
        for _ in range(_RESOLVE_DEPTH):
            if tid == 0 or tid >= self.type_cnt:
                break
            k = self.kind(tid)
            if k in (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT):
                size = self.size_type(tid)
                break
            if k == Kind.PTR:
                size = self.pointer_size()
                break
            if k in MODIFIER_KINDS or k in (Kind.VAR, Kind.DECL_TAG):
                tid = self.size_type(tid)
            elif k == Kind.ARRAY:
                n = self.word(tid, 5)
                if nelems and n > 0xFFFFFFFF // nelems:
                    return -7  # E2BIG
                nelems *= n
                tid = self.word(tid, 3)
            else:
                return -22
        if size < 0:
            return -22
        if nelems and size > 0xFFFFFFFF // nelems:
            return -7
        return nelems * size


def _kname(k: int) -> str:
    return KIND_NAMES.get(k, "UNKNOWN") if k else "void"


def btf_matches(sym: str, a: TypeTable, ida: int, b: TypeTable, idb: int, exact: bool = True,
                depth: int = 0) -> str | None:
    """``None`` when the two descriptions agree, else why not (one sentence)."""
    if depth > _MAX_DEPTH:
        return f"global '{sym}': types nest too deeply to compare"
    while True:
        ida, idb = a.skip_mods(ida), b.skip_mods(idb)
        ka, kb = a.kind(ida), b.kind(idb)
        fwd_a, fwd_b = ka == Kind.FWD, kb == Kind.FWD
        if not exact and fwd_a != fwd_b:
            na, nb = a.name_of(ida), b.name_of(idb)
            if na != nb:
                return f"global '{sym}': forward declaration '{na.decode()}' and '{nb.decode()}' differ in name"
            full_k, flag = (kb, a.info(ida) >> 31) if fwd_a else (ka, b.info(idb) >> 31)
            if (flag and full_k == Kind.UNION) or (not flag and full_k == Kind.STRUCT):
                return None
            return (f"global '{sym}': a {'union' if flag else 'struct'} forward declaration cannot stand for "
                    f"a {_kname(full_k)}")
        if ka != kb:
            return f"global '{sym}': its BTF kinds differ ({_kname(ka)} and {_kname(kb)})"
        if ka in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.FUNC, Kind.VAR):
            na, nb = a.name_of(ida), b.name_of(idb)
            if na != nb:
                return f"global '{sym}': {_kname(ka)} names differ ('{na.decode()}' and '{nb.decode()}')"
        if ka in (0, Kind.FWD):
            return None
        if ka in (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64):
            if a.size_type(ida) != b.size_type(idb):
                return f"global '{sym}': {_kname(ka)} sizes differ ({a.size_type(ida)} and {b.size_type(idb)})"
            return None
        if ka == Kind.PTR:
            exact = False
            ida, idb = a.size_type(ida), b.size_type(idb)
            continue
        if ka == Kind.ARRAY:
            ida, idb = a.word(ida, 3), b.word(idb, 3)
            continue
        if ka in (Kind.FUNC, Kind.VAR):
            if ka == Kind.FUNC:
                sa, sb = (a.vlen(ida) == 0), (b.vlen(idb) == 0)
            else:
                sa, sb = (a.word(ida, 3) == 0), (b.word(idb, 3) == 0)
            if sa != sb:
                return f"global '{sym}': one {_kname(ka)} is static and the other is not"
            ida, idb = a.size_type(ida), b.size_type(idb)
            continue
        if ka in (Kind.STRUCT, Kind.UNION):
            if not exact:
                return None
            n = a.vlen(ida)
            if n != b.vlen(idb):
                return f"global '{sym}': {_kname(ka)} member counts differ ({n} and {b.vlen(idb)})"
            pa, pb = a.rec(ida) + 3, b.rec(idb) + 3
            for i in range(n):
                ma, mb = a.name(int(a.words[pa + 3 * i])), b.name(int(b.words[pb + 3 * i]))
                if ma != mb:
                    return f"global '{sym}': member #{i} names differ ('{ma.decode()}' and '{mb.decode()}')"
                if int(a.words[pa + 3 * i + 2]) != int(b.words[pb + 3 * i + 2]):
                    return f"global '{sym}': member #{i} ('{ma.decode()}') offsets differ"
                why = btf_matches(sym, a, int(a.words[pa + 3 * i + 1]), b, int(b.words[pb + 3 * i + 1]), exact,
                                  depth + 1)
                if why is not None:
                    return why
            return None
        if ka == Kind.FUNC_PROTO:
            n = a.vlen(ida)
            if n != b.vlen(idb):
                return f"global '{sym}': function prototypes have {n} and {b.vlen(idb)} parameters"
            pa, pb = a.rec(ida) + 3, b.rec(idb) + 3
            for i in range(n):
                why = btf_matches(sym, a, int(a.words[pa + 2 * i + 1]), b, int(b.words[pb + 2 * i + 1]), exact,
                                  depth + 1)
                if why is not None:
                    return why
            ida, idb = a.size_type(ida), b.size_type(idb)
            continue
        return f"global '{sym}': a {_kname(ka)} cannot be compared"


# ------------------------------------------------------------------ map definitions
MAP_TYPE, KEY_TYPE, KEY_SIZE, VALUE_TYPE, VALUE_SIZE = 0x1, 0x2, 0x4, 0x8, 0x10
MAX_ENTRIES, MAP_FLAGS, NUMA_NODE, PINNING, INNER_MAP, MAP_EXTRA = 0x20, 0x40, 0x80, 0x100, 0x200, 0x400
#: BPF_MAP_TYPE_PROG_ARRAY, ARRAY_OF_MAPS, HASH_OF_MAPS
_PROG_ARRAY, _MAP_IN_MAP = 3, (12, 13)


@dataclass
class MapDef:
    """The fields of a BTF map definition (``struct btf_map_def``)."""

    map_type: int = 0
    key_type_id: int = 0
    key_size: int = 0
    value_type_id: int = 0
    value_size: int = 0
    max_entries: int = 0
    map_flags: int = 0
    numa_node: int = 0
    pinning: int = 0
    map_extra: int = 0
    parts: int = 0


class MapDefError(Exception):
    """The map definition cannot be parsed (strict mode)."""


def _field_int(t: TypeTable, mtype: int) -> int:
    """``__uint(name, N)`` is a pointer to an array of N elements: N."""
    p = t.skip_mods(mtype)
    if t.kind(p) != Kind.PTR:
        raise MapDefError("attribute is not a pointer")
    arr = t.size_type(p)
    if t.kind(arr) != Kind.ARRAY:
        raise MapDefError("attribute does not point to an array")
    return t.word(arr, 5)


def parse_map_def(t: TypeTable, def_id: int, inner: MapDef | None) -> tuple[MapDef, MapDef]:
    """``parse_btf_map_def`` in strict mode over the STRUCT ``def_id``: the definition
    and its inner map's (when ``inner`` is given, i.e. this is the outer map)."""
    d = MapDef()
    inner_def = inner if inner is not None else MapDef()
    is_inner = inner is None
    n = t.vlen(def_id)
    p = t.rec(def_id) + 3
    for i in range(n):
        name = t.name(int(t.words[p + 3 * i]))
        mtype = int(t.words[p + 3 * i + 1])
        if name == b"type":
            d.map_type = _field_int(t, mtype)
            d.parts |= MAP_TYPE
        elif name == b"max_entries":
            d.max_entries = _field_int(t, mtype)
            d.parts |= MAX_ENTRIES
        elif name == b"map_flags":
            d.map_flags = _field_int(t, mtype)
            d.parts |= MAP_FLAGS
        elif name == b"numa_node":
            d.numa_node = _field_int(t, mtype)
            d.parts |= NUMA_NODE
        elif name in (b"key_size", b"value_size"):
            sz = _field_int(t, mtype)
            cur = d.key_size if name == b"key_size" else d.value_size
            if cur and cur != sz:
                raise MapDefError(f"conflicting {name.decode()}")
            if name == b"key_size":
                d.key_size, d.parts = sz, d.parts | KEY_SIZE
            else:
                d.value_size, d.parts = sz, d.parts | VALUE_SIZE
        elif name in (b"key", b"value"):
            if t.kind(mtype) != Kind.PTR:
                raise MapDefError(f"{name.decode()} is not a pointer")
            target = t.size_type(mtype)
            sz = t.resolve_size(target)
            if sz < 0:
                raise MapDefError(f"{name.decode()} has no size")
            cur = d.key_size if name == b"key" else d.value_size
            if cur and cur != sz:
                raise MapDefError(f"conflicting {name.decode()} size")
            if name == b"key":
                d.key_size, d.key_type_id, d.parts = sz, target, d.parts | KEY_SIZE | KEY_TYPE
            else:
                d.value_size, d.value_type_id, d.parts = sz, target, d.parts | VALUE_SIZE | VALUE_TYPE
        elif name == b"values":
            is_map_in_map = d.map_type in _MAP_IN_MAP
            is_prog_array = d.map_type == _PROG_ARRAY
            if is_inner or i != n - 1 or not (is_map_in_map or is_prog_array):
                raise MapDefError("misplaced 'values'")
            if d.value_size and d.value_size != 4:
                raise MapDefError("conflicting value size")
            d.value_size = 4
            if t.kind(mtype) != Kind.ARRAY or t.word(mtype, 5):
                raise MapDefError("'values' is not a zero-sized array")
            ptr = t.skip_mods(t.word(mtype, 3))
            if t.kind(ptr) != Kind.PTR:
                raise MapDefError("'values' element is not a pointer")
            target = t.skip_mods(t.size_type(ptr))
            if is_prog_array:
                if t.kind(target) != Kind.FUNC_PROTO:
                    raise MapDefError("prog-array value is not a function prototype")
                continue
            if t.kind(target) != Kind.STRUCT:
                raise MapDefError("inner map definition is not a struct")
            inner_def, _ = parse_map_def(t, target, None)
            d.parts |= INNER_MAP
        elif name == b"pinning":
            if is_inner:
                raise MapDefError("an inner map cannot be pinned")
            val = _field_int(t, mtype)
            if val not in (0, 1):
                raise MapDefError("invalid pinning value")
            d.pinning = val
            d.parts |= PINNING
        elif name == b"map_extra":
            d.map_extra = _field_int(t, mtype)
            d.parts |= MAP_EXTRA
        else:
            raise MapDefError(f"unknown field '{name.decode(errors='replace')}'")
    if d.map_type == 0:
        raise MapDefError("map type is not specified")
    return d, inner_def


def map_defs_match(sym: str, a: TypeTable, da: MapDef, ia: MapDef | None, b: TypeTable, db: MapDef,
                   ib: MapDef | None) -> str | None:
    """``None`` when the two map definitions agree, else which field differs."""
    def bad(what: str) -> str:
        return f"global '{sym}': map definitions differ in {what}"

    if da.map_type != db.map_type:
        return bad("type")
    if da.key_size != db.key_size or bool(da.key_type_id) != bool(db.key_type_id):
        return bad("key size" if da.key_size != db.key_size else "key type")
    if da.parts & KEY_TYPE and btf_matches(sym, a, da.key_type_id, b, db.key_type_id) is not None:
        return bad("key type")
    if da.value_size != db.value_size or bool(da.value_type_id) != bool(db.value_type_id):
        return bad("value size" if da.value_size != db.value_size else "value type")
    if da.parts & VALUE_TYPE and btf_matches(sym, a, da.value_type_id, b, db.value_type_id) is not None:
        return bad("value type")
    for what, x, y in (("max_entries", da.max_entries, db.max_entries), ("map_flags", da.map_flags, db.map_flags),
                       ("numa_node", da.numa_node, db.numa_node), ("pinning", da.pinning, db.pinning)):
        if x != y:
            return bad(what)
    if (da.parts & INNER_MAP) != (db.parts & INNER_MAP):
        return bad("inner map")
    if da.parts & INNER_MAP and ia is not None and ib is not None:
        return map_defs_match(f"{sym}.inner", a, ia, None, b, ib, None)
    return None


__all__ = ["MapDef", "MapDefError", "TypeTable", "btf_matches", "map_defs_match", "parse_map_def"]
