"""Hypothesis strategies that generate random, valid BTF type graphs.

The generator works on a small intermediate form, :class:`TypeSpec` lists ("CUs"),
and encodes them to raw words + a string blob, which go through the real reader
(:meth:`btfdedup.model.btf.Btf.from_words`), so every example is something libbpf's
``btf__new`` accepts.

What the graphs contain, and why:

* every kind libbpf v1.6 dedups: INT, PTR, ARRAY, STRUCT, UNION, ENUM (also the
  enum forward declaration, vlen 0), ENUM64, FWD (struct and union flavour), TYPEDEF,
  CONST, VOLATILE, RESTRICT, FUNC, FUNC_PROTO (with varargs), VAR, DATASEC, FLOAT,
  DECL_TAG (whole-decl and per-member/param), TYPE_TAG;
* cycles, but only ones passing through a STRUCT/UNION: a reference to a *later*
  slot may only target a struct or union, so every cycle has a struct on it (libbpf
  fails with -ELOOP on reference loops that no struct breaks; v1.6 treats TYPEDEF as
  a reference type, so a typedef does not break a loop either);
* names from tiny pools, so unrelated types collide on hash keys and names;
* "families": the same CU emitted several times with small mutations (a struct
  replaced by a FWD of its name, an enum by an enum forward, a renamed type, a
  resized INT, a re-pointed member) — the situation dedup exists for;
* string blobs with duplicate copies of names, unused strings, references into the
  tail of a longer string and (for split BTF) names that reuse the base's offsets;
* split BTF on a generated (or any given) base, referring to base types by ID and
  declaring FWDs of base structs.

References inside a :class:`TypeSpec` are encoded ints: ``0`` is void, ``r > 0`` is
local slot ``r - 1`` of the same CU, ``r < 0`` is base type ID ``-r``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from btfdedup.format.constants import Kind
from btfdedup.model.btf import Btf

K = Kind

#: kinds usable as a value type (struct members, array elements, variables, params)
DATA_KINDS = frozenset({K.INT, K.PTR, K.ARRAY, K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.FWD, K.TYPEDEF,
                        K.VOLATILE, K.CONST, K.RESTRICT, K.FLOAT, K.TYPE_TAG})
#: kinds a pointer or typedef may target besides the data kinds
PTR_EXTRA = frozenset({K.FUNC_PROTO})
#: kinds a DECL_TAG may be attached to
TAGGABLE = frozenset({K.STRUCT, K.UNION, K.TYPEDEF, K.FUNC, K.VAR})
#: kinds a later slot may be referenced as (every cycle then passes through one)
CYCLE_BREAKERS = frozenset({K.STRUCT, K.UNION})

TYPE_NAMES = ("a", "b", "foo", "bar", "s", "node", "list_head", "t")
INT_NAMES = ("int", "char", "long", "unsigned int", "_Bool")
MEMBER_NAMES = ("", "x", "y", "next", "prev", "data", "a")
ENUMERATOR_NAMES = ("A", "B", "C", "ZERO")
TAG_NAMES = ("tag1", "tag2", "user", "percpu")

#: kinds the generator draws for a slot, with relative weights
KIND_WEIGHTS: tuple[tuple[Kind, int], ...] = (
    (K.INT, 4), (K.PTR, 8), (K.ARRAY, 3), (K.STRUCT, 9), (K.UNION, 3), (K.ENUM, 3), (K.ENUM64, 1),
    (K.FWD, 3), (K.TYPEDEF, 5), (K.CONST, 3), (K.VOLATILE, 2), (K.RESTRICT, 1), (K.FUNC, 2),
    (K.FUNC_PROTO, 3), (K.VAR, 2), (K.DATASEC, 1), (K.FLOAT, 1), (K.DECL_TAG, 2), (K.TYPE_TAG, 2),
)
_KIND_POOL: tuple[Kind, ...] = tuple(k for k, w in KIND_WEIGHTS for _ in range(w))


@dataclass
class TypeSpec:
    """One type record in intermediate form (see the module docstring for refs)."""

    kind: Kind
    name: str = ""
    kflag: int = 0
    vlen_info: int = 0  # FUNC linkage (kept in vlen)
    size: int = 0  # INT/STRUCT/UNION/ENUM/ENUM64/FLOAT/DATASEC size
    ref: int = 0  # size_or_type for the single-reference kinds, FUNC_PROTO return type
    extra: int = 0  # INT data word, VAR linkage, DECL_TAG component_idx
    array: tuple[int, int, int] = (0, 0, 0)  # elem ref, index ref, nelems
    elems: list[tuple[Any, ...]] = field(default_factory=list)
    # STRUCT/UNION (name, ref, offset) · ENUM (name, val) · ENUM64 (name, lo, hi)
    # FUNC_PROTO (name, ref) · DATASEC (var ref, offset, size)


Cu = list[TypeSpec]


# ------------------------------------------------------------------- encoding
class StringLayout:
    """Builds a string blob, deciding per name whether to reuse an earlier copy.

    ``dup`` is the chance of writing a fresh duplicate copy; ``base`` (a split BTF's
    base) lets names reuse the base's offset with chance ``use_base``.
    """

    def __init__(self, rnd: random.Random, *, base: Btf | None = None, dup: float = 0.0,
                 use_base: float = 0.0, unused: float = 0.0, suffix: float = 0.0) -> None:
        self.rnd = rnd
        self.base = base
        self.start = base.strings.end_off if base is not None else 0
        self.buf = bytearray() if base is not None else bytearray(b"\0")
        self.index: dict[bytes, int] = {}
        self.dup = dup
        self.use_base = use_base
        self.unused = unused
        self.suffix = suffix

    def off(self, name: str) -> int:
        if not name:
            return 0
        s = name.encode()
        if self.rnd.random() < self.suffix:
            # point into the tail of a longer string ("int" inside "unsigned int")
            at = self.buf.find(s + b"\0", 1)
            if at > 0 and self.buf[at - 1] != 0:
                return self.start + at
        if self.base is not None and self.rnd.random() < self.use_base:
            off = self.base.strings.find(s)
            if off >= 0:
                return off
        if self.rnd.random() < self.unused:
            self.buf += b"unused_" + s + b"\0"
        known = self.index.get(s)
        if known is not None and self.rnd.random() >= self.dup:
            return known
        off = self.start + len(self.buf)
        self.buf += s + b"\0"
        self.index.setdefault(s, off)
        return off

    def blob(self) -> bytes:
        return bytes(self.buf)


def _id(r: int, first_id: int) -> int:
    if r > 0:
        return first_id + r - 1
    return -r


def encode_cu(cu: Cu, first_id: int, strings: StringLayout) -> list[int]:
    """The words of ``cu`` when its slot 0 gets type ID ``first_id``."""
    out: list[int] = []
    for t in cu:
        k = int(t.kind)
        name = strings.off(t.name)
        if t.kind in (K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.FUNC_PROTO, K.DATASEC):
            vlen = len(t.elems)
        else:
            vlen = t.vlen_info
        info = (t.kflag << 31) | (k << 24) | vlen
        if t.kind in (K.INT, K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.FLOAT, K.DATASEC):
            third = t.size
        elif t.kind in (K.ARRAY, K.FWD):
            third = 0
        else:
            third = _id(t.ref, first_id)
        out += [name, info, third]
        if t.kind == K.INT:
            out.append(t.extra)
        elif t.kind == K.ARRAY:
            e, i, n = t.array
            out += [_id(e, first_id), _id(i, first_id), n]
        elif t.kind in (K.STRUCT, K.UNION):
            for mname, r, off in t.elems:
                out += [strings.off(mname), _id(r, first_id), off]
        elif t.kind == K.ENUM:
            for ename, val in t.elems:
                out += [strings.off(ename), val & 0xFFFFFFFF]
        elif t.kind == K.ENUM64:
            for ename, lo, hi in t.elems:
                out += [strings.off(ename), lo, hi]
        elif t.kind == K.FUNC_PROTO:
            for pname, r in t.elems:
                out += [strings.off(pname), _id(r, first_id)]
        elif t.kind == K.DATASEC:
            for r, off, size in t.elems:
                out += [_id(r, first_id), off, size]
        elif t.kind in (K.VAR, K.DECL_TAG):
            out.append(t.extra & 0xFFFFFFFF)
    return out


def encode(cus: list[Cu], strings: StringLayout, base: Btf | None = None) -> Btf:
    """One BTF holding ``cus`` back to back (each CU's local refs stay inside it),
    parsed by the real reader."""
    first = base.type_cnt if base is not None else 1
    words: list[int] = []
    for cu in cus:
        words += encode_cu(cu, first, strings)
        first += len(cu)
    return Btf.from_words(np.array(words, dtype=np.uint32), strings.blob(), base=base)


# ----------------------------------------------------------------- generation
@dataclass
class _Pools:
    """What a CU may refer to: base IDs by kind (for split BTF) and names to declare."""

    base_by_kind: dict[int, list[int]] = field(default_factory=dict)
    base_struct_names: list[tuple[str, int]] = field(default_factory=list)  # (name, is_union)
    base_names: list[str] = field(default_factory=list)


def _pools_of(base: Btf | None) -> _Pools:
    p = _Pools()
    if base is None:
        return p
    b: Btf | None = base
    while b is not None:
        for i, k in enumerate(b.kind.tolist()):
            p.base_by_kind.setdefault(int(k), []).append(b.start_id + i)
            if k in (K.STRUCT, K.UNION) and b.name_off[i]:
                p.base_struct_names.append((b.strings.text(int(b.name_off[i])), int(k == K.UNION)))
            if b.name_off[i]:
                p.base_names.append(b.strings.text(int(b.name_off[i])))
        b = b.base
    return p


@st.composite
def cus(draw: st.DrawFn, *, min_types: int = 1, max_types: int = 14, base: Btf | None = None) -> Cu:
    """One random CU (a list of :class:`TypeSpec`), optionally referring into ``base``."""
    pools = _pools_of(base)
    n = draw(st.integers(min_types, max_types))
    # slot 0 is always an INT (array index type, like every real CU)
    kinds: list[Kind] = [K.INT] + [draw(st.sampled_from(_KIND_POOL)) for _ in range(n - 1)]
    rnd = draw(st.randoms(use_true_random=False))
    names = TYPE_NAMES + tuple(nm for nm, _ in pools.base_struct_names[:6])

    def targets(i: int, allowed: frozenset[Kind], void_ok: bool, forward: bool = True) -> list[int]:
        out = [0] if void_ok else []
        for j, k in enumerate(kinds):
            if k in allowed and (j < i or (forward and j >= i and k in CYCLE_BREAKERS)):
                out.append(j + 1)
        for k in allowed:
            out += [-x for x in pools.base_by_kind.get(int(k), [])[-8:]]
        return out

    def pick(i: int, allowed: frozenset[Kind], void_ok: bool = False, forward: bool = True) -> int:
        cands = targets(i, allowed, void_ok, forward)
        if not cands:
            return 1  # slot 0, the INT: always a valid data type
        return rnd.choice(cands)

    cu: Cu = []
    for i, k in enumerate(kinds):
        t = TypeSpec(k)
        if k == K.INT:
            size = rnd.choice((1, 2, 4, 8))
            enc = rnd.choice((0, 1, 2, 4)) if size == 1 else rnd.choice((0, 1))
            t.name = rnd.choice(INT_NAMES)
            t.size = size
            t.extra = (enc << 24) | (size * 8)
        elif k == K.FLOAT:
            t.name, t.size = rnd.choice((("float", 4), ("double", 8), ("long double", 16)))
        elif k in (K.STRUCT, K.UNION):
            t.name = rnd.choice(names) if rnd.random() < 0.8 else ""
            t.kflag = int(rnd.random() < 0.2)
            nm = rnd.randint(0, 4)
            off = 0
            for _ in range(nm):
                bits = rnd.choice((0, 3, 8)) if t.kflag else 0
                t.elems.append((rnd.choice(MEMBER_NAMES), pick(i, DATA_KINDS), (bits << 24) | off if t.kflag else off))
                off += 32 if k == K.STRUCT else 0
            t.size = max(off // 8, rnd.choice((0, 4, 8, 16)))
        elif k == K.ENUM:
            t.name = rnd.choice(names) if rnd.random() < 0.8 else ""
            t.kflag = int(rnd.random() < 0.3)
            nv = rnd.randint(0, 3) if t.name else rnd.randint(1, 3)
            t.size = 4 if nv == 0 else rnd.choice((1, 2, 4, 8))
            t.elems = [(rnd.choice(ENUMERATOR_NAMES), rnd.randint(-2, 3)) for _ in range(nv)]
        elif k == K.ENUM64:
            t.name = rnd.choice(names) if rnd.random() < 0.8 else ""
            t.kflag = int(rnd.random() < 0.3)
            t.size = 8
            t.elems = [(rnd.choice(ENUMERATOR_NAMES), rnd.randint(0, 3), rnd.choice((0, 1, 0xFFFFFFFF)))
                       for _ in range(rnd.randint(1, 3))]
        elif k == K.FWD:
            choices = list(names) + [nm for nm, _ in pools.base_struct_names[:6]]
            t.name = rnd.choice(choices)
            t.kflag = int(rnd.random() < 0.3)
        elif k == K.PTR:
            t.ref = pick(i, DATA_KINDS | PTR_EXTRA, void_ok=True)
        elif k == K.TYPEDEF:
            t.name = rnd.choice(names + ("u32", "size_t"))
            t.ref = pick(i, DATA_KINDS | PTR_EXTRA, void_ok=True)
        elif k in (K.CONST, K.VOLATILE, K.RESTRICT):
            t.ref = pick(i, DATA_KINDS, void_ok=True)
        elif k == K.TYPE_TAG:
            t.name = rnd.choice(TAG_NAMES)
            t.kflag = int(rnd.random() < 0.1)  # attribute form (libbpf >= 1.6 btf__add_type_attr)
            t.ref = pick(i, DATA_KINDS, void_ok=True)
        elif k == K.ARRAY:
            idx = pick(i, frozenset({K.INT}), forward=False)
            t.array = (pick(i, DATA_KINDS), idx, rnd.randint(0, 4))
        elif k == K.FUNC_PROTO:
            t.ref = pick(i, DATA_KINDS, void_ok=True)
            t.elems = [(rnd.choice(MEMBER_NAMES), pick(i, DATA_KINDS)) for _ in range(rnd.randint(0, 3))]
            if rnd.random() < 0.15:
                t.elems.append(("", 0))  # varargs
        elif k == K.FUNC:
            t.name = rnd.choice(("main", "f", "g", "handler"))
            t.vlen_info = rnd.choice((0, 1, 2))
            protos = [j + 1 for j, kk in enumerate(kinds) if kk == K.FUNC_PROTO]
            protos += [-x for x in pools.base_by_kind.get(int(K.FUNC_PROTO), [])[-4:]]
            if not protos:
                kinds[i] = t.kind = K.FUNC_PROTO  # no prototype around: become one
                t.name = ""
                t.vlen_info = 0
                t.ref = 0
            else:
                t.ref = rnd.choice(protos)
        elif k == K.VAR:
            t.name = rnd.choice(("v", "w", "counter", "cfg"))
            t.ref = pick(i, DATA_KINDS)
            t.extra = rnd.choice((0, 1, 2))
        elif k == K.DATASEC:
            t.name = rnd.choice((".data", ".bss", ".rodata"))
            vars_ = [j + 1 for j, kk in enumerate(kinds) if kk == K.VAR]
            sel = [v for v in vars_ if rnd.random() < 0.7]
            t.elems = [(v, 4 * n, 4) for n, v in enumerate(sel)]
            t.size = 4 * len(sel) if rnd.random() < 0.7 else 0
        elif k == K.DECL_TAG:
            t.name = rnd.choice(TAG_NAMES)
            tg = [j for j, kk in enumerate(kinds) if kk in TAGGABLE]
            if not tg:
                kinds[i] = t.kind = K.TYPE_TAG
                t.ref = pick(i, DATA_KINDS, void_ok=True)
            else:
                j = rnd.choice(tg)
                t.ref = j + 1
                t.extra = -1
                t.kflag = int(rnd.random() < 0.1)  # attribute form (btf__add_decl_attr)
                # component_idx is only decided once the target exists; fixed up below
        cu.append(t)
    # Per-member / per-param decl tags need the target's element count.
    for t in cu:
        if t.kind == K.DECL_TAG and t.ref > 0 and rnd.random() < 0.4:
            tgt = cu[t.ref - 1]
            if tgt.kind in (K.STRUCT, K.UNION) and tgt.elems:
                t.extra = rnd.randrange(len(tgt.elems))
            elif tgt.kind == K.FUNC and tgt.ref > 0 and cu[tgt.ref - 1].elems:
                t.extra = rnd.randrange(len(cu[tgt.ref - 1].elems))
    return cu


def mutate(cu: Cu, rnd: random.Random) -> Cu:
    """A copy of ``cu`` with one small change of the kind real CUs differ by."""
    out = [replace(t, elems=list(t.elems)) for t in cu]
    structs = [i for i, t in enumerate(out) if t.kind in (K.STRUCT, K.UNION) and t.name]
    enums = [i for i, t in enumerate(out) if t.kind == K.ENUM and t.name and t.elems]
    what = rnd.choice(("fwd", "fwd", "enum_fwd", "rename", "resize", "retarget", "none"))
    if what == "fwd" and structs:
        i = rnd.choice(structs)
        t = out[i]
        # DECL_TAGs on members of this struct would point past the (now empty) FWD
        for d in out:
            if d.kind == K.DECL_TAG and d.ref == i + 1:
                d.extra = -1
        out[i] = TypeSpec(K.FWD, name=t.name, kflag=int(t.kind == K.UNION))
    elif what == "enum_fwd" and enums:
        i = rnd.choice(enums)
        out[i] = TypeSpec(K.ENUM, name=out[i].name, kflag=out[i].kflag, size=4)
    elif what == "rename":
        named = [t for t in out if t.name and t.kind not in (K.INT, K.FLOAT, K.DATASEC)]
        if named:
            rnd.choice(named).name = rnd.choice(TYPE_NAMES)
    elif what == "resize":
        ints = [t for t in out if t.kind == K.INT]
        if ints:
            t = rnd.choice(ints)
            t.size = rnd.choice((1, 2, 4, 8))
            t.extra = (t.extra & 0xFF000000) | (t.size * 8)
    elif what == "retarget":
        with_members = [t for t in out if t.kind in (K.STRUCT, K.UNION) and t.elems]
        if with_members:
            t = rnd.choice(with_members)
            j = rnd.randrange(len(t.elems))
            name, _r, off = t.elems[j]
            # slot 0 is the INT: a safe, always-earlier target
            t.elems[j] = (name, 1, off)
    return out


@st.composite
def cu_families(draw: st.DrawFn, *, max_copies: int = 4, max_types: int = 14,
                base: Btf | None = None) -> list[Cu]:
    """A CU and 0..max_copies-1 mutated (or identical) copies, plus sometimes an
    unrelated CU — the shape of a multi-CU kernel or a set of BPF objects."""
    first = draw(cus(max_types=max_types, base=base))
    rnd = draw(st.randoms(use_true_random=False))
    fam = [first]
    for _ in range(draw(st.integers(0, max_copies - 1))):
        src = rnd.choice(fam)
        fam.append(mutate(src, rnd) if rnd.random() < 0.7 else [replace(t, elems=list(t.elems)) for t in src])
    if draw(st.booleans()):
        fam.insert(rnd.randrange(len(fam) + 1), draw(cus(max_types=max_types, base=base)))
    return fam


def _layout(draw: st.DrawFn, base: Btf | None) -> StringLayout:
    rnd = draw(st.randoms(use_true_random=False))
    dup = draw(st.sampled_from((0.0, 0.0, 0.3, 1.0)))
    unused = draw(st.sampled_from((0.0, 0.0, 0.1)))
    use_base = draw(st.sampled_from((0.0, 0.5, 1.0))) if base is not None else 0.0
    suffix = draw(st.sampled_from((0.0, 0.0, 0.5)))
    return StringLayout(rnd, base=base, dup=dup, use_base=use_base, unused=unused, suffix=suffix)


@st.composite
def raw_btfs(draw: st.DrawFn, *, max_copies: int = 4, max_types: int = 14) -> Btf:
    """One base BTF holding a CU family back to back (like ``pahole -J`` without dedup)."""
    fam = draw(cu_families(max_copies=max_copies, max_types=max_types))
    return encode(fam, _layout(draw, None))


@st.composite
def cu_sets(draw: st.DrawFn, *, max_copies: int = 4, max_types: int = 12) -> list[Btf]:
    """Standalone BTF objects (one per CU of a family), for merge-then-dedup."""
    fam = draw(cu_families(max_copies=max_copies, max_types=max_types))
    return [encode([cu], _layout(draw, None)) for cu in fam]


@st.composite
def split_btfs(draw: st.DrawFn, base: Btf, *, max_copies: int = 3, max_types: int = 12) -> Btf:
    """Split BTF on ``base``: a CU family referring to base types and declaring FWDs
    of base structs, its strings partly reusing the base's offsets."""
    fam = draw(cu_families(max_copies=max_copies, max_types=max_types, base=base))
    if draw(st.booleans()):
        # Copy some base types verbatim into the split part (what a module compiled
        # against the same headers carries): they must collapse into base IDs.
        fam.insert(0, _copy_of_base(base, draw(st.randoms(use_true_random=False))))
    return encode(fam, _layout(draw, base), base=base)


def _copy_of_base(base: Btf, rnd: random.Random) -> Cu:
    """Base types re-emitted as split types referring to base IDs (a CU of copies)."""
    out: Cu = []
    n = base.nr_types
    picks = sorted(rnd.sample(range(n), min(n, rnd.randint(1, 6))))
    for i in picks:
        k = Kind(int(base.kind[i]))
        if k in (K.VAR, K.DATASEC, K.DECL_TAG, K.FUNC):
            continue
        rec = base.words[base.type_start[i] : base.type_start[i + 1]].tolist()
        name = base.strings.text(rec[0])
        t = TypeSpec(k, name=name, kflag=rec[1] >> 31)
        vlen = rec[1] & 0xFFFFFF
        if k in (K.INT, K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.FLOAT):
            t.size = rec[2]
        elif k not in (K.ARRAY, K.FWD):
            t.ref = -rec[2]
        if k == K.INT:
            t.extra = rec[3]
        elif k == K.ARRAY:
            t.array = (-rec[3], -rec[4], rec[5])
        elif k in (K.STRUCT, K.UNION):
            t.elems = [(base.strings.text(rec[3 + 3 * j]), -rec[4 + 3 * j], rec[5 + 3 * j]) for j in range(vlen)]
        elif k == K.ENUM:
            t.elems = [(base.strings.text(rec[3 + 2 * j]), rec[4 + 2 * j]) for j in range(vlen)]
        elif k == K.ENUM64:
            t.elems = [(base.strings.text(rec[3 + 3 * j]), rec[4 + 3 * j], rec[5 + 3 * j]) for j in range(vlen)]
        elif k == K.FUNC_PROTO:
            t.elems = [(base.strings.text(rec[3 + 2 * j]), -rec[4 + 2 * j]) for j in range(vlen)]
        out.append(t)
    if not out:
        out.append(TypeSpec(K.INT, name="int", size=4, extra=(1 << 24) | 32))
    # base refs to void must stay void: -0 == 0 already
    return out


@st.composite
def base_btfs(draw: st.DrawFn, *, max_types: int = 16) -> Btf:
    """A base BTF to split on (one or two CUs)."""
    fam = [draw(cus(min_types=3, max_types=max_types))]
    if draw(st.booleans()):
        fam.append(draw(cus(max_types=max_types)))
    return encode(fam, _layout(draw, None))


__all__ = [
    "Cu",
    "StringLayout",
    "TypeSpec",
    "base_btfs",
    "cu_families",
    "cu_sets",
    "cus",
    "encode",
    "encode_cu",
    "mutate",
    "raw_btfs",
    "split_btfs",
]


@st.composite
def looped_btfs(draw: st.DrawFn) -> Btf:
    """A valid CU plus a loop of reference types that no struct breaks (PTR, CONST,
    VOLATILE, TYPEDEF, TYPE_TAG pointing round in a circle): libbpf's dedup fails
    with -ELOOP on it, and so must ours (with a DedupError)."""
    cu = draw(cus(max_types=8))
    n = draw(st.integers(1, 3))
    first = len(cu)
    kinds = [draw(st.sampled_from((K.PTR, K.CONST, K.VOLATILE, K.TYPEDEF, K.TYPE_TAG))) for _ in range(n)]
    for j, k in enumerate(kinds):
        nxt = first + (j + 1) % n  # slot index of the next loop member
        t = TypeSpec(k, ref=nxt + 1)
        if k in (K.TYPEDEF, K.TYPE_TAG):
            t.name = "loop"
        cu.append(t)
    if draw(st.booleans()):
        # something outside the loop refers into it
        cu.append(TypeSpec(K.PTR, ref=first + 1))
    return encode([cu], _layout(draw, None))


__all__ += ["looped_btfs"]
