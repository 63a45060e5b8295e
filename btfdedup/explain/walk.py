"""The lockstep structural walk of two types: where and how they differ.

``dups``, ``diff`` and ``equiv`` all ask the same question of a pair of types (in
one BTF or in two): compare them field by field, then the pairs of types their
fields refer to, and so on.  :func:`compare_pair` is that comparison of one pair
(every difference of the records themselves, classed); :func:`child_pairs` the
pairs to visit next, labelled with how they are reached (``member dev``,
``param 1 (skb)``, ``return``, ``element``, ``type``); :func:`walk` the walk
itself, which

* stops at the first divergence, breadth first so the shortest path wins
  (``dups``, ``equiv``), or collects every difference depth first (``diff``);
* treats a pair it meets again as equal (a cycle through a struct is equal when
  nothing else differs), and two equal IDs of one BTF as equal;
* can be told, through ``opaque``, to compare some pairs as leaves instead of
  entering them (``diff`` names the named types a member refers to, C-style,
  rather than walking into them: their own changes are reported on their own).

It decodes types one at a time with :class:`~btfdedup.model.view.TypeView`: it
is meant for the few pairs a report explains, not for a whole BTF (the bulk
questions are answered by :mod:`~btfdedup.explain.refine` on numpy arrays).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from btfdedup.explain.naming import c_name, kind_name
from btfdedup.format.constants import Kind

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf
    from btfdedup.model.view import TypeView

# The classes of difference, in the words reports use.
FWD_VS_FULL = "FWD vs full type"
FWD_FLAVOUR = "FWD flavour"
KIND = "kind"
NAME = "name"
SIZE = "size"
INT_ENCODING = "int encoding"
MEMBER_LIST = "member list"
MEMBER_OFFSET = "member offset"
BITFIELD = "bitfield"
MEMBER_TYPE = "member type"
ENUM_VALUES = "enum values"
SIGNEDNESS = "signedness"
PROTO = "function prototype"
LINKAGE = "linkage"
ARRAY_LEN = "array length"
TYPEDEF_TARGET = "typedef target"
TARGET = "target type"
DATASEC = "datasec entries"
TAG = "tag"
KIND_FLAG = "kind_flag"
#: Set by callers: the copy lives in the base and the other in the split BTF.
DIFFERENT_BASE = "different base"
IDENTICAL = "identical"


@dataclass(frozen=True)
class Difference:
    """One difference of a pair of types: its class and a one-line description."""

    cls: str
    detail: str


@dataclass
class Node:
    """One pair of the walk: the two type IDs, how the walk reached them from the
    parent pair (``""`` for the root) and the parent's index (-1 for the root)."""

    a: int
    b: int
    step: str
    parent: int


@dataclass
class Divergence:
    """Where a pair differs: the path of pairs from the root and the differences there."""

    path: list[Node]
    differences: list[Difference] = field(default_factory=list)

    @property
    def cls(self) -> str:
        return self.differences[0].cls if self.differences else IDENTICAL

    def render(self, a: Btf, b: Btf) -> str:
        """``STRUCT 'sk_buff' .dev → PTR → STRUCT 'net_device' .xdp_prog → PTR: FWD 'bpf_prog' vs STRUCT 'bpf_prog' [FWD vs full type]``."""
        return render_path(self.path, a, b) + ": " + "; ".join(f"{d.detail} [{d.cls}]" for d in self.differences)


def render_path(path: list[Node], a: Btf, b: Btf) -> str:
    """The path as ``KIND 'name' .member → KIND 'name' → ...``, named by the A side
    (what differs at the end is said by the differences)."""
    parts: list[str] = []
    for i, node in enumerate(path):
        if i:
            parts.append(" → " if node.step == "→" else f" {node.step} → ")
        parts.append(kind_name(a, node.a))
    return "".join(parts)


def _members(t: TypeView) -> str:
    return ", ".join(m.name or "(anon)" for m in t.members)


#: ``views(btf, type_id)``: the view of a type, cached by :func:`walk` for the pairs it visits.
Views = Callable[["Btf", int], "TypeView"]


def _plain_views(btf: Btf, type_id: int) -> TypeView:
    return btf[type_id]


def _cached_views() -> Views:
    """A view getter that decodes each (BTF, ID) once (a walk visits each type several times)."""
    cache: dict[tuple[int, int], TypeView] = {}

    def get(btf: Btf, type_id: int) -> TypeView:
        key = (id(btf), type_id)
        v = cache.get(key)
        if v is None:
            v = cache[key] = btf[type_id]
        return v

    return get


def compare_pair(a: Btf, x: int, b: Btf, y: int, views: Views = _plain_views) -> list[Difference]:
    """Every difference between the records of ``a``'s type ``x`` and ``b``'s type ``y``
    (names and values, not the types they refer to), most telling first."""
    if x == 0 or y == 0:
        return [] if x == y else [Difference(KIND, f"{kind_name(a, x)} vs {kind_name(b, y)}")]
    ta, tb = views(a, x), views(b, y)
    if ta.kind != tb.kind:
        if Kind.FWD in (ta.kind, tb.kind):
            return [Difference(FWD_VS_FULL, f"{kind_name(a, x)} vs {kind_name(b, y)}")]
        return [Difference(KIND, f"{kind_name(a, x)} vs {kind_name(b, y)}")]
    out: list[Difference] = []
    if ta.name != tb.name:
        out.append(Difference(NAME, f"{kind_name(a, x)} vs {kind_name(b, y)}"))
    k = ta.kind
    if ta.size != tb.size:
        out.append(Difference(SIZE, f"size {ta.size} vs {tb.size}"))
    if k == Kind.INT and ta.int_info != tb.int_info:
        out.append(Difference(INT_ENCODING, f"{_int_desc(ta)} vs {_int_desc(tb)}"))
    elif k == Kind.FWD and ta.kind_flag != tb.kind_flag:
        out.append(Difference(FWD_FLAVOUR, f"{kind_name(a, x)} vs {kind_name(b, y)}"))
    elif k in (Kind.STRUCT, Kind.UNION):
        out.extend(_compare_members(ta, tb, lambda p, q: c_name(a, p) == c_name(b, q)))
        if not out and ta.kind_flag != tb.kind_flag:
            out.append(Difference(BITFIELD, f"kind_flag {int(ta.kind_flag)} vs {int(tb.kind_flag)} (member offset encoding)"))
    elif k in (Kind.ENUM, Kind.ENUM64):
        if ta.kind_flag != tb.kind_flag:
            out.append(Difference(SIGNEDNESS, f"{'signed' if ta.kind_flag else 'unsigned'} vs "
                                              f"{'signed' if tb.kind_flag else 'unsigned'}"))
        if ta.values != tb.values:
            out.append(Difference(ENUM_VALUES, _enum_change(ta, tb)))
    elif k == Kind.FUNC_PROTO:
        na = [p.name for p in ta.params]
        nb = [p.name for p in tb.params]
        if na != nb:
            out.append(Difference(PROTO, f"params ({', '.join(na)}) vs ({', '.join(nb)})"))
    elif k in (Kind.FUNC, Kind.VAR) and ta.linkage != tb.linkage:
        out.append(Difference(LINKAGE, f"linkage {ta.linkage} vs {tb.linkage}"))
    elif k == Kind.ARRAY:
        assert ta.array is not None and tb.array is not None
        if ta.array.nelems != tb.array.nelems:
            out.append(Difference(ARRAY_LEN, f"[{ta.array.nelems}] vs [{tb.array.nelems}]"))
    elif k == Kind.DATASEC:
        ea = [(v.offset, v.size) for v in ta.vars]
        eb = [(v.offset, v.size) for v in tb.vars]
        if len(ea) != len(eb):
            out.append(Difference(DATASEC, f"{len(ea)} entries vs {len(eb)}"))
        elif ea != eb:
            i = next(i for i, (p, q) in enumerate(zip(ea, eb, strict=True)) if p != q)
            out.append(Difference(DATASEC, f"entry {i}: offset {ea[i][0]} size {ea[i][1]} vs "
                                           f"offset {eb[i][0]} size {eb[i][1]}"))
    elif k == Kind.DECL_TAG and ta.component_idx != tb.component_idx:
        out.append(Difference(TAG, f"component_idx {ta.component_idx} vs {tb.component_idx}"))
    elif k == Kind.TYPE_TAG and ta.kind_flag != tb.kind_flag:
        out.append(Difference(KIND_FLAG, f"kind_flag {int(ta.kind_flag)} vs {int(tb.kind_flag)}"))
    return out


def _int_desc(t: TypeView) -> str:
    """An INT's data word as words: ``signed char, 8 bits`` (``at bit N`` when offset)."""
    assert t.int_info is not None
    enc = t.int_info.encoding
    flags = [w for bit, w in ((1, "signed"), (2, "char"), (4, "bool")) if enc & bit] or ["unsigned"]
    at = f" at bit {t.int_info.offset}" if t.int_info.offset else ""
    return f"{' '.join(flags)}, {t.int_info.bits} bits{at}"


def _enum_change(ta: TypeView, tb: TypeView) -> str:
    va = dict(ta.values)
    vb = dict(tb.values)
    parts = [f"+{n}={v}" for n, v in tb.values if n not in va]
    parts += [f"-{n}" for n, v in ta.values if n not in vb]
    parts += [f"{n}: {va[n]} → {vb[n]}" for n, _ in ta.values if n in vb and va[n] != vb[n]]
    if not parts:
        parts = ["order"]
    return ", ".join(parts)


def _compare_members(ta: TypeView, tb: TypeView, same_type: Callable[[int, int], bool]) -> list[Difference]:
    """Member-level differences: added, removed, renamed (a removed and an added member
    at the same offset with the same bitfield width, and the same type as C spells it
    or one name inside the other: ``state`` → ``__state``), moved, resized bitfields."""
    out: list[Difference] = []
    ma = {m.name: m for m in ta.members if m.name}
    mb = {m.name: m for m in tb.members if m.name}
    removed = [m for m in ta.members if m.name and m.name not in mb]
    added = [m for m in tb.members if m.name and m.name not in ma]
    renamed: list[tuple[str, str]] = []
    for r in list(removed):
        twin = next((m for m in added if (m.bits_offset, m.bitfield_size) == (r.bits_offset, r.bitfield_size)
                     and (r.name in m.name or m.name in r.name or same_type(r.type, m.type))), None)
        if twin is not None:
            renamed.append((r.name, twin.name))
            removed.remove(r)
            added.remove(twin)
    anon_a = [m for m in ta.members if not m.name]
    anon_b = [m for m in tb.members if not m.name]
    changes = [f"'{x}' renamed '{y}'" for x, y in renamed]
    changes += [f"+'{m.name}'" for m in added] + [f"-'{m.name}'" for m in removed]
    if len(anon_a) != len(anon_b):
        changes.append(f"{len(anon_a)} vs {len(anon_b)} anonymous members")
    if changes:
        out.append(Difference(MEMBER_LIST, ", ".join(changes)))
    moved, bits = [], []
    for name, m in ma.items():
        n = mb.get(name)
        if n is None:
            continue
        if m.bits_offset != n.bits_offset:
            moved.append(f"'{name}' bit {m.bits_offset} → {n.bits_offset}")
        if m.bitfield_size != n.bitfield_size:
            bits.append(f"'{name}' :{m.bitfield_size} → :{n.bitfield_size}")
    for m, n in zip(anon_a, anon_b, strict=False):
        if m.bits_offset != n.bits_offset:
            moved.append(f"(anon) bit {m.bits_offset} → {n.bits_offset}")
    if not changes and [m.name for m in ta.members] != [m.name for m in tb.members]:
        out.append(Difference(MEMBER_LIST, "member order: " + _members(ta) + " vs " + _members(tb)))
    if moved:
        out.append(Difference(MEMBER_OFFSET, ", ".join(moved)))
    if bits:
        out.append(Difference(BITFIELD, ", ".join(bits)))
    return out


def child_pairs(a: Btf, x: int, b: Btf, y: int, views: Views = _plain_views) -> list[tuple[str, int, int]]:
    """The pairs of referred types, labelled; members and params are paired by
    position when the two lists have the same names, else by name (anonymous
    members in order)."""
    if x == 0 or y == 0:
        return []
    ta, tb = views(a, x), views(b, y)
    if ta.kind != tb.kind:
        return []
    k = ta.kind
    if k in (Kind.STRUCT, Kind.UNION):
        if [m.name for m in ta.members] == [m.name for m in tb.members]:
            pairs = list(zip(ta.members, tb.members, strict=True))
        else:
            byname = {m.name: m for m in tb.members if m.name}
            pairs = [(m, byname[m.name]) for m in ta.members if m.name in byname]
            pairs += list(zip([m for m in ta.members if not m.name], [m for m in tb.members if not m.name],
                              strict=False))
        return [(f".{m.name or '(anon)'}", m.type, n.type) for m, n in pairs]
    if k == Kind.FUNC_PROTO:
        out = [("return", ta.type or 0, tb.type or 0)]
        if [p.name for p in ta.params] == [p.name for p in tb.params] or len(ta.params) == len(tb.params):
            out += [(f"param {i}" + (f" ({p.name})" if p.name else ""), p.type, q.type)
                    for i, (p, q) in enumerate(zip(ta.params, tb.params, strict=True))]
        return out
    if k == Kind.ARRAY:
        assert ta.array is not None and tb.array is not None
        return [("element", ta.array.type, tb.array.type), ("index", ta.array.index_type, tb.array.index_type)]
    if k == Kind.DATASEC:
        return [(f"var {i}", v.type, w.type) for i, (v, w) in enumerate(zip(ta.vars, tb.vars, strict=False))]
    if ta.type is not None and tb.type is not None and k not in (Kind.FWD,):
        return [("→", ta.type, tb.type)]
    return []


#: ``opaque(x, y)``: None to walk into the pair, else whether the pair is equal (a leaf).
Opaque = Callable[[int, int], "bool | None"]


def walk(
    a: Btf,
    x: int,
    b: Btf,
    y: int,
    *,
    first_only: bool = True,
    opaque: Opaque | None = None,
    same: Callable[[int, int], bool] | None = None,
    limit: int = 1_000_000,
) -> list[Divergence]:
    """The divergences of ``a``'s type ``x`` and ``b``'s type ``y`` (see the module doc).

    ``same(x, y)``, when given, declares pairs known to be equal (the walk does not
    enter them).  Returns ``[]`` when the two are structurally the same.
    """
    one_btf = a is b
    bases_differ = a.base is not None and b.base is not None and a.base is not b.base
    views = _cached_views()
    nodes = [Node(x, y, "", -1)]
    seen = {(x, y)}
    todo: deque[int] = deque([0])
    out: list[Divergence] = []
    while todo and len(nodes) < limit:
        i = todo.popleft() if first_only else todo.pop()
        node = nodes[i]
        diffs = compare_pair(a, node.a, b, node.b, views)
        if diffs and bases_differ and node.a < a.start_id and node.b < b.start_id:
            diffs.append(Difference(DIFFERENT_BASE, "both types are base types, and the two bases differ"))
        if diffs:
            out.append(Divergence(_path(nodes, i), diffs))
            if first_only:
                return out
        kids = []
        for step, cx, cy in child_pairs(a, node.a, b, node.b, views):
            if (one_btf and cx == cy) or (cx, cy) in seen or (same is not None and same(cx, cy)):
                continue
            if opaque is not None:
                leaf = opaque(cx, cy)
                if leaf is not None:
                    if not leaf:
                        cls = _leaf_class(views(a, node.a).kind, step)
                        out.append(Divergence(_path(nodes, i) + [Node(cx, cy, step, i)],
                                              [Difference(cls, f"{c_name(a, cx)} → {c_name(b, cy)}")]))
                    continue
            seen.add((cx, cy))
            nodes.append(Node(cx, cy, step, i))
            kids.append(len(nodes) - 1)
        todo.extend(kids if first_only else reversed(kids))
    return out


def _leaf_class(parent_kind: int, step: str) -> str:
    """The class of a changed referred type, by what refers to it."""
    if step.startswith("."):
        return MEMBER_TYPE
    if parent_kind == Kind.TYPEDEF:
        return TYPEDEF_TARGET
    if parent_kind == Kind.FUNC_PROTO:
        return PROTO
    return TARGET


def _path(nodes: list[Node], i: int) -> list[Node]:
    path = []
    while i >= 0:
        path.append(nodes[i])
        i = nodes[i].parent
    path.reverse()
    return path


def first_divergence(a: Btf, x: int, b: Btf, y: int, same: Callable[[int, int], bool] | None = None) -> Divergence | None:
    """The shortest path from ``(x, y)`` to a pair that differs, or None when the two
    types are structurally the same."""
    found = walk(a, x, b, y, first_only=True, same=same)
    return found[0] if found else None
