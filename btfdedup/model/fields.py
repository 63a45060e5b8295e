"""Where the type-ID and string-offset fields of every record live, vectorized.

The order produced is libbpf's field-iterator order (``btf_iter.c``): type by type,
and inside a type, ascending position.  That order decides how the strings phase
of dedup numbers strings, so every consumer (reader checks, merge, dedup, remap,
validator) takes field positions from the tables here: vectorized through these
gathers, or record by record in the compiled walks (:mod:`btfdedup.model.scan`,
:mod:`btfdedup.append_walk`), which receive the same tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from btfdedup.format.constants import NR_KIND_SLOTS, Kind
from btfdedup.model import scan

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf


def _tab(values: dict[Kind, int]) -> np.ndarray:
    out = np.zeros(NR_KIND_SLOTS, dtype=np.int64)
    for k, v in values.items():
        out[int(k)] = v
    return out


_SINGLE = (
    Kind.PTR,
    Kind.TYPEDEF,
    Kind.VOLATILE,
    Kind.CONST,
    Kind.RESTRICT,
    Kind.FUNC,
    Kind.VAR,
    Kind.DECL_TAG,
    Kind.TYPE_TAG,
    Kind.FWD,
)
# Type-ID fields: position = start + first + stride*j, j < fixed + per_vlen*vlen
TID_FIRST = _tab({**{k: 2 for k in _SINGLE}, Kind.ARRAY: 3, Kind.STRUCT: 4, Kind.UNION: 4, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3})
TID_STRIDE = _tab({Kind.ARRAY: 1, Kind.STRUCT: 3, Kind.UNION: 3, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3})
TID_FIXED = _tab({**{k: 1 for k in _SINGLE}, Kind.ARRAY: 2, Kind.FUNC_PROTO: 1})
TID_PER_VLEN = _tab({Kind.STRUCT: 1, Kind.UNION: 1, Kind.FUNC_PROTO: 1, Kind.DATASEC: 1})

# String fields besides name_off (at +0 for every kind): start + 3 + stride*(j-1), j >= 1
STR_STRIDE = _tab({Kind.STRUCT: 3, Kind.UNION: 3, Kind.ENUM: 2, Kind.ENUM64: 3, Kind.FUNC_PROTO: 2})
STR_PER_VLEN = _tab({Kind.STRUCT: 1, Kind.UNION: 1, Kind.ENUM: 1, Kind.ENUM64: 1, Kind.FUNC_PROTO: 1})

# Tail element records: (words per element) for STRUCT/UNION/ENUM/ENUM64/FUNC_PROTO/DATASEC
ELEM_WORDS = _tab({Kind.STRUCT: 3, Kind.UNION: 3, Kind.ENUM: 2, Kind.ENUM64: 3, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3})


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-row ``counts``, the row index and the index within the row of each element."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    j = np.arange(total, dtype=np.int64) - first[owner]
    return owner, j


def type_id_fields(btf: Btf, select: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Word positions (into ``btf.words``) of every type-ID field, and the local
    index of the type owning each, in libbpf iterator order.

    ``select``, a boolean mask over local type indices, restricts the gather.
    """
    kind = btf.kind.astype(np.int64)
    vlen = btf.vlen.astype(np.int64)
    counts = TID_FIXED[kind] + TID_PER_VLEN[kind] * vlen
    if select is not None:
        counts = np.where(select, counts, 0)
    owner, j = ragged(counts)
    k = kind[owner]
    pos = btf.type_start[owner] + TID_FIRST[k] + TID_STRIDE[k] * j
    return pos, owner


def str_fields(btf: Btf, select: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Word positions of every string-offset field (name_off first, then member,
    param and enumerator names), and the owning local type index, in iterator order."""
    kind = btf.kind.astype(np.int64)
    vlen = btf.vlen.astype(np.int64)
    counts = 1 + STR_PER_VLEN[kind] * vlen
    if select is not None:
        counts = np.where(select, counts, 0)
    owner, j = ragged(counts)
    k = kind[owner]
    pos = btf.type_start[owner] + np.where(j == 0, 0, 3 + STR_STRIDE[k] * (j - 1))
    return pos, owner


def elements(btf: Btf, kinds: tuple[Kind, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat view of the vlen elements of the given kinds.

    Returns ``(owner, index_in_type, first_word)``: for element e, its words are
    ``btf.words[first_word[e] : first_word[e] + ELEM_WORDS[kind]]``.
    """
    kind = btf.kind.astype(np.int64)
    sel = np.isin(kind, [int(k) for k in kinds])
    counts = np.where(sel, btf.vlen.astype(np.int64), 0)
    owner, j = ragged(counts)
    first = btf.type_start[owner] + 3 + ELEM_WORDS[kind[owner]] * j
    return owner, j, first


def first_bad_field(btf: Btf) -> tuple[int, int, int]:
    """First field breaking a range rule, in iterator order (compiled walk).

    Returns ``(what, local_index, word_pos)``: what is 0 (all good), 1 (a string
    offset past the string section), 2 (a type ID past the last type) or 3 (record
    ``local_index`` does not lie inside the type section or cannot hold the fields
    its kind and vlen give: ``btf.type_start`` does not describe ``btf.words``,
    which a checked construction never lets through).
    """
    words = np.ascontiguousarray(btf.words, dtype=np.uint32)
    type_start = np.ascontiguousarray(btf.type_start, dtype=np.int64)
    what, i, q = scan.first_bad_field(
        words, type_start, btf.strings.end_off, btf.type_cnt,
        TID_FIRST, TID_STRIDE, TID_FIXED, TID_PER_VLEN, STR_STRIDE, STR_PER_VLEN,
    )
    return what, i, q
