"""Read-only views of single types: what ``btf[type_id]`` and ``for t in btf`` give.

A :class:`TypeView` is decoded from the type section words when asked for and
is never stored: a :class:`~btfdedup.model.btf.Btf` keeps no per-type Python
objects (its hot paths run on numpy columns), so a view is a convenience for
looking at a few types, not a way to walk millions of them fast.

Everything in a view is a type ID or a plain value: ``type`` fields name other
types by ID, so ``btf[view.type]`` follows them.  Tails are tuples of small
named tuples, one per entry, in the order of the record:

========================  =====================================================
``members``               STRUCT / UNION: :class:`Member`
``params``                FUNC_PROTO: :class:`Param`
``values``                ENUM / ENUM64: :class:`EnumValue`
``vars``                  DATASEC: :class:`VarSecInfo`
``int_info``              INT: :class:`IntInfo` (encoding, bit offset, bits)
``array``                 ARRAY: :class:`ArrayInfo`
``linkage``               FUNC (the vlen field) and VAR (the tail word)
``component_idx``         DECL_TAG
========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from btfdedup.format.constants import KIND_MASK, KIND_SHIFT, KINDS_WITH_SIZE, KINDS_WITH_TYPE_FIELD, VLEN_MASK, Kind

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf


class Member(NamedTuple):
    """One STRUCT/UNION member.  With the parent's kind_flag set, the offset word
    holds the bitfield size in its top 8 bits; otherwise ``bitfield_size`` is 0."""

    name: str
    type: int
    bits_offset: int
    bitfield_size: int


class Param(NamedTuple):
    """One FUNC_PROTO parameter (``type`` 0 with an empty name: varargs ``...``)."""

    name: str
    type: int


class EnumValue(NamedTuple):
    """One ENUM/ENUM64 enumerator; ``val`` is signed when the enum's kind_flag is set."""

    name: str
    val: int


class VarSecInfo(NamedTuple):
    """One DATASEC entry: a VAR (or FUNC) ID and its place in the section."""

    type: int
    offset: int
    size: int


class ArrayInfo(NamedTuple):
    """The tail of an ARRAY: element type, index type, number of elements."""

    type: int
    index_type: int
    nelems: int


class IntInfo(NamedTuple):
    """The tail word of an INT: ``encoding`` (bit 0 signed, 1 char, 2 bool), bit offset, bits."""

    encoding: int
    offset: int
    bits: int




@dataclass(frozen=True, slots=True, repr=False)
class TypeView:
    """One type, decoded: its ID, header fields and tail.

    ``size`` is set for the sized kinds (INT, STRUCT, UNION, ENUM, ENUM64,
    DATASEC, FLOAT) and ``type`` for the referring kinds (PTR, TYPEDEF, CV
    qualifiers, FUNC, FUNC_PROTO's return type, VAR, DECL_TAG, TYPE_TAG); the
    other one is None.  ARRAY and FWD have neither.  ID 0 is void: kind
    ``Kind.UNKN``, empty name, no size and no type.
    """

    id: int
    kind: Kind
    name: str
    name_off: int
    kind_flag: bool
    vlen: int
    size: int | None = None
    type: int | None = None
    members: tuple[Member, ...] = ()
    params: tuple[Param, ...] = ()
    values: tuple[EnumValue, ...] = ()
    vars: tuple[VarSecInfo, ...] = ()
    int_info: IntInfo | None = None
    array: ArrayInfo | None = None
    linkage: int | None = None
    component_idx: int | None = None

    def __repr__(self) -> str:
        parts = [f"id={self.id}", f"kind={self.kind.name}", f"name={self.name!r}"]
        if self.size is not None:
            parts.append(f"size={self.size}")
        if self.type is not None:
            parts.append(f"type={self.type}")
        if self.kind_flag:
            parts.append("kind_flag=True")
        if self.vlen and self.kind != Kind.FUNC:
            parts.append(f"vlen={self.vlen}")
        for extra in ("int_info", "array", "linkage", "component_idx"):
            value = getattr(self, extra)
            if value is not None:
                parts.append(f"{extra}={value!r}")
        return f"TypeView({', '.join(parts)})"


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def type_view(btf: Btf, type_id: int) -> TypeView:
    """The view of ``type_id`` in ``btf``, whose base chain is searched for base IDs.

    ``type_id`` must already be in range (0..``btf.type_cnt - 1``).
    """
    if type_id == 0:
        return TypeView(id=0, kind=Kind.UNKN, name="", name_off=0, kind_flag=False, vlen=0)
    owner, i = btf.owner_of(type_id)
    # The buffers, not the numpy columns: looking at a type needs no numpy.
    starts = owner.type_start_buffer
    p = int(starts[i])
    end = int(starts[i + 1])
    rec = owner.words_buffer[p:end].tolist()
    name_off, info, size_type = rec[0], rec[1], rec[2]
    tail = rec[3:]
    kind = Kind((info >> KIND_SHIFT) & KIND_MASK)
    vlen = info & VLEN_MASK
    kflag = bool(info >> 31)
    text = btf.strings.text
    extra: dict[str, object] = {}
    if kind in KINDS_WITH_SIZE:
        extra["size"] = size_type
    elif kind in KINDS_WITH_TYPE_FIELD:
        extra["type"] = size_type
    if kind == Kind.INT:
        w = tail[0]
        extra["int_info"] = IntInfo((w >> 24) & 0x0F, (w >> 16) & 0xFF, w & 0xFF)
    elif kind == Kind.ARRAY:
        extra["array"] = ArrayInfo(tail[0], tail[1], tail[2])
    elif kind in (Kind.STRUCT, Kind.UNION):
        members = []
        for j in range(0, 3 * vlen, 3):
            off = tail[j + 2]
            bits, bf = (off & 0xFFFFFF, off >> 24) if kflag else (off, 0)
            members.append(Member(text(tail[j]), tail[j + 1], bits, bf))
        extra["members"] = tuple(members)
    elif kind == Kind.ENUM:
        extra["values"] = tuple(
            EnumValue(text(tail[j]), _s32(tail[j + 1]) if kflag else tail[j + 1]) for j in range(0, 2 * vlen, 2)
        )
    elif kind == Kind.ENUM64:
        vals = []
        for j in range(0, 3 * vlen, 3):
            v = tail[j + 1] | (tail[j + 2] << 32)
            if kflag and v >= 1 << 63:
                v -= 1 << 64
            vals.append(EnumValue(text(tail[j]), v))
        extra["values"] = tuple(vals)
    elif kind == Kind.FUNC_PROTO:
        extra["params"] = tuple(Param(text(tail[j]), tail[j + 1]) for j in range(0, 2 * vlen, 2))
    elif kind == Kind.DATASEC:
        extra["vars"] = tuple(VarSecInfo(tail[j], tail[j + 1], tail[j + 2]) for j in range(0, 3 * vlen, 3))
    elif kind == Kind.FUNC:
        extra["linkage"] = vlen
    elif kind == Kind.VAR:
        extra["linkage"] = tail[0]
    elif kind == Kind.DECL_TAG:
        extra["component_idx"] = _s32(tail[0])
    return TypeView(
        id=type_id,
        kind=kind,
        name=text(name_off),
        name_off=name_off,
        kind_flag=kflag,
        vlen=vlen,
        **extra,  # type: ignore[arg-type]
    )


def iter_views(btf: Btf) -> Iterator[TypeView]:
    """Views of ``btf``'s own types in ID order (not its base's, not void)."""
    for type_id in range(btf.start_id, btf.type_cnt):
        yield type_view(btf, type_id)
