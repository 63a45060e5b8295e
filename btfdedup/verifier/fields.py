"""Special BPF fields in structs (``btf_parse_struct_metas``), as BPF_BTF_LOAD parses them after the type checks.

The kernel picks every STRUCT that has a member whose type is one of the
allocatable-object structs (the first STRUCT named ``bpf_spin_lock``,
``bpf_list_head``, ``bpf_list_node``, ``bpf_rb_root``, ``bpf_rb_node`` or
``bpf_refcount``) or a kptr (a pointer to a ``kptr``-family type tag), and parses
its special fields (``btf_parse_fields``).  It logs nothing for these failures;
the errno is all there is.  Modelled here, in the kernel's order:

* finding fields, member by member (``btf_find_struct_field``): every member must
  sit at a byte offset (EINVAL); arrays count as their element type; a second
  ``bpf_spin_lock``/``bpf_res_spin_lock`` in one struct is E2BIG; fields of the
  wrong size or alignment are ignored; non-special struct members are searched
  recursively (at most 32 levels, E2BIG); a pointer to a type tag must be a
  well-formed kptr (one ``kptr``/``kptr_untrusted``/``percpu_kptr`` tag on a
  struct, else EINVAL); a ``bpf_list_head``/``bpf_rb_root`` needs one
  ``contains:TYPE:FIELD`` decl tag (EINVAL) naming an existing struct (ENOENT);
* a chosen struct with no field found: EFAULT;
* each field in offset order (``btf_parse_fields``): inside the struct (EFAULT),
  not overlapping the previous one (EEXIST); a graph root's FIELD must exist in
  TYPE (ENOENT), be the matching node struct at an 8-byte aligned offset (EINVAL);
* a graph root without a lock in the same struct: EINVAL.
"""

from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass

import numpy as np

from btfdedup.format.constants import MODIFIER_KINDS, Kind
from btfdedup.verifier.meta import MetaContext
from btfdedup.verifier.meta_checks import structs_using

ALLOC_OBJ_FIELDS = ("bpf_spin_lock", "bpf_list_head", "bpf_list_node", "bpf_rb_root", "bpf_rb_node", "bpf_refcount")
UNIQUE_FIELDS = ("bpf_spin_lock", "bpf_res_spin_lock")
GRAPH_ROOTS = {"bpf_list_head": "bpf_list_node", "bpf_rb_root": "bpf_rb_node"}
#: (size, alignment) of each special field type (``btf_field_type_size``/``_align``), 6.18 UAPI.
FIELD_LAYOUT = {
    "bpf_spin_lock": (4, 4),
    "bpf_res_spin_lock": (8, 4),
    "bpf_list_head": (16, 8),
    "bpf_list_node": (24, 8),
    "bpf_rb_root": (16, 8),
    "bpf_rb_node": (32, 8),
    "bpf_refcount": (4, 4),
    "kptr": (8, 8),
}
KPTR_TAGS = ("kptr_untrusted", "kptr", "percpu_kptr")
MAX_LEVEL = 32


class FieldError(Exception):
    """A special-field rule failed: message and errno."""

    def __init__(self, message: str, err: int) -> None:
        super().__init__(message)
        self.err = err


@dataclass(frozen=True)
class Field:
    off: int
    kind: str  # FIELD_LAYOUT key
    member: int
    value_struct: int = -1  # graph roots: local index of the struct named by contains:
    node_name: str = ""


class _Types:
    """Small accessors over the walked records (local indices; type IDs via start_id)."""

    def __init__(self, ctx: MetaContext) -> None:
        self.ctx = ctx
        self.names: dict[int, str] = {}

    def local(self, tid: int) -> int | None:
        loc = tid - self.ctx.start_id
        return loc if 0 <= loc < self.ctx.nt else None

    def name(self, loc: int) -> str:
        if loc not in self.names:
            off = int(self.ctx.name_off[loc])
            self.names[loc] = (self.ctx.names.text(off) or "") if off else ""
        return self.names[loc]

    def kind(self, loc: int) -> int:
        return int(self.ctx.kind[loc])

    def members(self, loc: int) -> list[tuple[int, int, int]]:
        """(name_off, type, bit offset) with kind_flag bitfield sizes stripped."""
        ctx = self.ctx
        p = int(ctx.start[loc]) + 3
        w = ctx.words
        info = int(ctx.info[loc])
        kflag = bool(info >> 31)
        out = []
        for j in range(info & ctx.rules.vlen_mask):
            off = int(w[p + 3 * j + 2])
            out.append((int(w[p + 3 * j]), int(w[p + 3 * j + 1]), off & 0xFFFFFF if kflag else off))
        return out


def check_struct_metas(ctx: MetaContext) -> list[tuple[int, str, int]]:
    """(local index, reason, errno) of the first struct whose special fields the kernel refuses."""
    if not ctx.nt:
        return []
    tt = _Types(ctx)
    structs = np.flatnonzero(ctx.kind == Kind.STRUCT)
    first_of = _first_struct_by_name(ctx, structs)
    aof = {first_of[n] + ctx.start_id for n in ALLOC_OBJ_FIELDS if n in first_of}
    ptrs = np.flatnonzero(ctx.kind == Kind.PTR)
    tgt = ctx.size_type[ptrs].astype(np.int64) - ctx.start_id
    ok = (tgt >= 0) & (tgt < ctx.nt)
    ptrs = ptrs[ok][ctx.kind[tgt[ok]] == Kind.TYPE_TAG]
    for p in ptrs:
        try:
            if _kptr(tt, int(p)):
                aof.add(int(p) + ctx.start_id)
        except FieldError:
            pass
    if not aof:
        return []
    out = []
    wanted = np.zeros(ctx.nt, dtype=np.uint8)
    for tid in aof:
        if 0 <= tid - ctx.start_id < ctx.nt:
            wanted[tid - ctx.start_id] = 1
    for i in structs_using(ctx.words, ctx.start, structs.astype(np.int64), ctx.vlen, wanted, ctx.start_id):
        loc = int(i)
        try:
            _parse_fields(tt, loc, first_of)
        except FieldError as e:
            out.append((loc, str(e), e.err))
    return out


class _FirstOf:
    """Name -> local index of the first STRUCT with that name (``btf_find_by_name_kind``), looked up lazily."""

    def __init__(self, ctx: MetaContext, structs: np.ndarray) -> None:
        self._ctx = ctx
        self._structs = structs
        self._memo: dict[str, int | None] = {}

    def get(self, name: str) -> int | None:
        if name not in self._memo:
            ctx = self._ctx
            offs = ctx.names.find(name)
            found = None
            for i in self._structs[np.isin(ctx.name_off[self._structs], offs)]:
                found = int(i)
                break
            self._memo[name] = found
        return self._memo[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __getitem__(self, name: str) -> int:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found


def _first_struct_by_name(ctx: MetaContext, structs: np.ndarray) -> _FirstOf:
    return _FirstOf(ctx, structs)


def _kptr(tt: _Types, ptr: int) -> bool:
    """``btf_find_kptr``: True for a kptr, False for a plain pointer; FieldError for a malformed tag."""
    tag = tt.local(int(tt.ctx.size_type[ptr]))
    if tag is None or tt.kind(tag) != Kind.TYPE_TAG:
        return False
    nxt = tt.local(int(tt.ctx.size_type[tag]))
    if nxt is not None and tt.kind(nxt) == Kind.TYPE_TAG:
        raise FieldError("more than one type tag on a pointer field", errno_mod.EINVAL)
    value = tt.name(tag)
    if value == "uptr":
        return False
    if value not in KPTR_TAGS:
        raise FieldError(f"pointer field with unknown type tag {value!r}", errno_mod.EINVAL)
    cur = nxt
    for _ in range(MAX_LEVEL):
        if cur is None or tt.kind(cur) not in MODIFIER_KINDS:
            break
        cur = tt.local(int(tt.ctx.size_type[cur]))
    if cur is None or tt.kind(cur) != Kind.STRUCT:
        raise FieldError(f"{value} pointer to something other than a struct", errno_mod.EINVAL)
    return True


def _find_fields(tt: _Types, loc: int, base_off: int, level: int, first_of: _FirstOf) -> list[Field]:
    seen: set[str] = set()
    out: list[Field] = []
    for j, (_mname, mt, bit) in enumerate(tt.members(loc)):
        if bit % 8:
            raise FieldError(f"member #{j} is not at a byte offset", errno_mod.EINVAL)
        off = bit // 8
        cur = tt.local(mt)
        nelems = 1
        for _ in range(MAX_LEVEL):
            if cur is None or tt.kind(cur) != Kind.ARRAY:
                break
            arr = int(tt.ctx.start[cur]) + 3
            nelems *= int(tt.ctx.words[arr + 2])
            cur = tt.local(int(tt.ctx.words[arr]))
        if nelems == 0 or cur is None:
            continue
        name = tt.name(cur)
        kind = tt.kind(cur)
        if name in FIELD_LAYOUT and name != "kptr":
            if name in UNIQUE_FIELDS:
                if name in seen:
                    raise FieldError(f"more than one {name} field", errno_mod.E2BIG)
                seen.add(name)
            ftype = name
        elif kind == Kind.PTR:
            ftype = "kptr"
        else:
            if kind == Kind.STRUCT:
                if level + 1 >= MAX_LEVEL:
                    raise FieldError("special fields nested too deep", errno_mod.E2BIG)
                inner = _find_fields(tt, cur, 0, level + 1, first_of)
                size = int(tt.ctx.size_type[cur])
                for k in range(nelems if inner else 0):
                    out.extend(
                        Field(base_off + off + k * size + f.off, f.kind, j, f.value_struct, f.node_name) for f in inner
                    )
            continue
        size, align = FIELD_LAYOUT[ftype]
        if off % align:
            continue
        if ftype == "kptr":
            if not _kptr(tt, cur):
                continue
            field = Field(base_off + off, ftype, j)
        elif ftype in GRAPH_ROOTS:
            field = _graph_root_tag(tt, loc, j, base_off + off, ftype, first_of)
        else:
            if kind != Kind.STRUCT or int(tt.ctx.size_type[cur]) != size:
                continue
            field = Field(base_off + off, ftype, j)
        out.extend(
            Field(field.off + k * size, field.kind, j, field.value_struct, field.node_name) for k in range(nelems)
        )
    return out


def _graph_root_tag(tt: _Types, loc: int, j: int, off: int, ftype: str, first_of: _FirstOf) -> Field:
    """``btf_find_graph_root``: the contains:TYPE:FIELD decl tag on member ``j``."""
    ctx = tt.ctx
    tags = np.flatnonzero((ctx.kind == Kind.DECL_TAG) & (ctx.size_type.astype(np.int64) == loc + ctx.start_id))
    values = []
    for t in tags:
        idx = int(ctx.words[int(ctx.start[t]) + 3])
        if idx == j and tt.name(int(t)).startswith("contains:"):
            values.append(tt.name(int(t))[len("contains:") :])
    if len(values) != 1:
        raise FieldError(f"member #{j}: {ftype} needs exactly one 'contains:TYPE:FIELD' decl tag", errno_mod.EINVAL)
    if ":" not in values[0]:
        raise FieldError(f"member #{j}: malformed contains: tag {values[0]!r}", errno_mod.EINVAL)
    type_name, node = values[0].split(":", 1)
    if type_name not in first_of:
        raise FieldError(f"member #{j}: contains: names unknown struct {type_name!r}", errno_mod.ENOENT)
    if not node:
        raise FieldError(f"member #{j}: contains: tag names no field", errno_mod.EINVAL)
    return Field(off, ftype, j, first_of[type_name], node)


def _parse_fields(tt: _Types, loc: int, first_of: _FirstOf) -> None:
    fields = _find_fields(tt, loc, 0, 0, first_of)
    if not fields:
        raise FieldError("struct with special-type members but no usable special field", errno_mod.EFAULT)
    value_size = int(tt.ctx.size_type[loc])
    next_off = 0
    for f in sorted(fields, key=lambda f: f.off):
        size = FIELD_LAYOUT[f.kind][0]
        if f.off + size > value_size:
            raise FieldError(f"member #{f.member}: {f.kind} runs past the struct", errno_mod.EFAULT)
        if f.off < next_off:
            raise FieldError(f"member #{f.member}: special fields overlap", errno_mod.EEXIST)
        next_off = f.off + size
        if f.kind in GRAPH_ROOTS:
            _graph_root_node(tt, f)
    kinds = {f.kind for f in fields}
    if kinds & set(GRAPH_ROOTS) and not kinds & set(UNIQUE_FIELDS):
        raise FieldError("a bpf_list_head/bpf_rb_root needs a bpf_spin_lock in the same struct", errno_mod.EINVAL)


def _graph_root_node(tt: _Types, f: Field) -> None:
    """``btf_parse_graph_root``: TYPE.FIELD is the node struct at an aligned offset."""
    node_type = GRAPH_ROOTS[f.kind]
    owner = f.value_struct
    for mname, mt, bit in tt.members(owner):
        if (tt.ctx.names.text(mname) or "") != f.node_name:
            continue
        cur = tt.local(mt)
        if cur is None or tt.kind(cur) != Kind.STRUCT or tt.name(cur) != node_type:
            raise FieldError(
                f"member #{f.member}: {tt.name(owner)}.{f.node_name} is not a {node_type}", errno_mod.EINVAL
            )
        if bit % 8 or (bit // 8) % FIELD_LAYOUT[node_type][1]:
            raise FieldError(f"member #{f.member}: {tt.name(owner)}.{f.node_name} is misaligned", errno_mod.EINVAL)
        return
    raise FieldError(f"member #{f.member}: {tt.name(owner)} has no field {f.node_name!r}", errno_mod.ENOENT)
