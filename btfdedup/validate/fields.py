"""Special BPF fields in structs (``btf_parse_struct_metas``), the subset the kernel checks at BTF load.

After the type checks, BPF_BTF_LOAD looks at every STRUCT that has a member of
one of the allocatable-object types (``bpf_spin_lock``, ``bpf_list_head``,
``bpf_list_node``, ``bpf_rb_root``, ``bpf_rb_node``, ``bpf_refcount``) and
parses its special fields.  The kernel logs nothing for these failures; only
the errno tells.  Checked here:

* any member not at a byte offset: EINVAL;
* a special field whose type has the wrong size, or sits misaligned: EFAULT;
* special fields overlapping each other: EEXIST;
* a unique lock field (``bpf_spin_lock``, ``bpf_res_spin_lock``)
  appearing twice among the members: E2BIG;
* a ``bpf_list_head``/``bpf_rb_root`` member without a ``contains:TYPE:FIELD``
  DECL_TAG on it, or with a malformed one: EINVAL; naming a struct that does not
  exist: ENOENT; a FIELD that is missing (ENOENT), not the matching node type,
  or not 8-byte aligned (EINVAL).

Not modelled: nested structs and arrays of special fields, kptr type tags,
size/alignment checks of the field records themselves.
"""

from __future__ import annotations

import errno as errno_mod

import numpy as np

from btfdedup.format.constants import Kind
from btfdedup.validate.meta import MetaContext

ALLOC_OBJ_FIELDS = ("bpf_spin_lock", "bpf_list_head", "bpf_list_node", "bpf_rb_root", "bpf_rb_node", "bpf_refcount")
UNIQUE_FIELDS = ("bpf_spin_lock", "bpf_res_spin_lock")
GRAPH_ROOTS = {"bpf_list_head": "bpf_list_node", "bpf_rb_root": "bpf_rb_node"}
#: (size, alignment) of each special field type in the 6.18 UAPI headers.
FIELD_LAYOUT = {
    "bpf_spin_lock": (4, 4),
    "bpf_res_spin_lock": (8, 4),
    "bpf_list_head": (16, 8),
    "bpf_list_node": (24, 8),
    "bpf_rb_root": (16, 8),
    "bpf_rb_node": (32, 8),
    "bpf_refcount": (4, 4),
}


def check_struct_metas(ctx: MetaContext) -> list[tuple[int, str, int]]:
    """(local index, reason, errno) of structs whose special fields the kernel refuses."""
    if not ctx.nt:
        return []
    structs = np.flatnonzero(ctx.kind == Kind.STRUCT)
    named = structs[ctx.name_off[structs] != 0]
    names = {int(i): ctx.names.text(int(ctx.name_off[i])) or "" for i in named}
    first_of: dict[str, int] = {}
    for i, n in names.items():
        first_of.setdefault(n, i)
    aof = {first_of[n] + ctx.start_id for n in ALLOC_OBJ_FIELDS if n in first_of}
    if not aof:
        return []
    out = []
    for i in structs:
        members = _members(ctx, int(i))
        if not any(mt in aof for _n, mt, _o in members):
            continue
        err = _parse_fields(ctx, int(i), members, names, first_of)
        if err:
            out.append((int(i), err[0], err[1]))
    return out


def _members(ctx: MetaContext, i: int) -> list[tuple[int, int, int]]:
    p = int(ctx.start[i]) + 3
    w = ctx.words
    return [(int(w[p + 3 * j]), int(w[p + 3 * j + 1]), int(w[p + 3 * j + 2])) for j in range(int(ctx.vlen[i]))]


def _struct_name(ctx: MetaContext, tid: int, names: dict[int, str]) -> str | None:
    local = tid - ctx.start_id
    if 0 <= local < ctx.nt and ctx.kind[local] == Kind.STRUCT:
        return names.get(local, "")
    return None


def _parse_fields(
    ctx: MetaContext, i: int, members: list[tuple[int, int, int]], names: dict[int, str], first_of: dict[str, int]
) -> tuple[str, int] | None:
    seen: set[str] = set()
    found: list[tuple[int, int, str, int]] = []  # (byte offset, size, type name, member index)
    for j, (_mname, mt, moff) in enumerate(members):
        bit = moff & 0xFFFFFF if ctx.kflag[i] else moff
        if bit % 8:
            return f"member #{j} is not at a byte offset in a struct with special fields", errno_mod.EINVAL
        tname = _struct_name(ctx, mt, names)
        if tname not in FIELD_LAYOUT:
            continue
        if tname in UNIQUE_FIELDS:
            if tname in seen:
                return f"more than one {tname} field", errno_mod.E2BIG
        seen.add(tname)
        found.append((bit // 8, int(ctx.size_type[mt - ctx.start_id]), tname, j))
    for off, size, tname, j in found:
        want_size, align = FIELD_LAYOUT[tname]
        if size != want_size or off % align:
            return f"member #{j}: {tname} of the wrong size or alignment", errno_mod.EFAULT
    ordered = sorted(found)
    for (a_off, a_size, _an, _aj), (b_off, _bs, _bn, bj) in zip(ordered, ordered[1:]):
        if b_off < a_off + a_size:
            return f"member #{bj}: special fields overlap", errno_mod.EEXIST
    for _off, _size, tname, j in found:
        if tname in GRAPH_ROOTS:
            err = _graph_root(ctx, i, j, GRAPH_ROOTS[tname], names, first_of)
            if err:
                return err
    if any(r in seen for r in GRAPH_ROOTS) and not seen & set(UNIQUE_FIELDS):
        return "a bpf_list_head/bpf_rb_root needs a bpf_spin_lock in the same struct", errno_mod.EINVAL
    return None


def _decl_tag_value(ctx: MetaContext, target_local: int, comp_idx: int, key: str) -> list[str]:
    tags = np.flatnonzero((ctx.kind == Kind.DECL_TAG) & (ctx.size_type == target_local + ctx.start_id))
    out = []
    for t in tags:
        idx = int(ctx.words[int(ctx.start[t]) + 3])
        if idx >= 0x80000000:
            idx -= 1 << 32
        if idx != comp_idx:
            continue
        value = ctx.names.text(int(ctx.name_off[t])) or ""
        if value.startswith(key):
            out.append(value[len(key) :])
    return out


def _graph_root(
    ctx: MetaContext, i: int, j: int, node_type: str, names: dict[int, str], first_of: dict[str, int]
) -> tuple[str, int] | None:
    values = _decl_tag_value(ctx, i, j, "contains:")
    where = f"member #{j}"
    if len(values) != 1:
        return f"{where}: graph root needs exactly one 'contains:TYPE:FIELD' decl tag", errno_mod.EINVAL
    value = values[0]
    if ":" not in value:
        return f"{where}: malformed contains: tag {value!r}", errno_mod.EINVAL
    type_name, field = value.split(":", 1)
    if not field:
        return f"{where}: contains: tag names no field", errno_mod.EINVAL
    if type_name not in first_of:
        return f"{where}: contains: names unknown struct {type_name!r}", errno_mod.ENOENT
    owner = first_of[type_name]
    for mname, mt, moff in _members(ctx, owner):
        if (ctx.names.text(mname) or "") != field:
            continue
        if _struct_name(ctx, mt, names) != node_type:
            return f"{where}: {type_name}.{field} is not a {node_type}", errno_mod.EINVAL
        bit = moff & 0xFFFFFF if ctx.kflag[owner] else moff
        if bit % 8 or (bit // 8) % 8:
            return f"{where}: {type_name}.{field} is not 8-byte aligned", errno_mod.EINVAL
        return None
    return f"{where}: {type_name} has no field {field!r}", errno_mod.ENOENT
