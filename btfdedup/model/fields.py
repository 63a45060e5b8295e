"""Where the type-ID and string-offset fields of every record live, vectorized.

The order produced is libbpf's field-iterator order (``btf_iter.c``): type by type,
and inside a type, ascending position.  That order decides how the strings phase
of dedup numbers strings, so every consumer (reader checks, merge, dedup, remap,
validator) uses these gathers instead of walking records one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from btfdedup.format.constants import KIND_MASK, KIND_SHIFT, NR_KIND_SLOTS, VLEN_MASK, Kind

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


@njit(cache=True, nogil=True)
def _first_bad_field(words, type_start, str_end, str_floor, type_cnt, tid_first, tid_stride, tid_fixed,
                     tid_per_vlen, str_stride, str_per_vlen):  # type: ignore[no-untyped-def]
    # numba does no bounds checking.  Every index is in range because type_start
    # comes from scan_records or passed records.first_bad_start: each record spans
    # [p, type_start[i + 1]) with the exact size its kind and vlen give, and every
    # position below is p + c + stride * j with j < count, which the per-kind
    # tables keep inside that span (e.g. STRUCT member types p + 4 + 3j <= p + 3vlen + 1).
    # Kinds sized only through a layout section have zero counts in every table.
    n = type_start.shape[0] - 1
    for i in range(n):
        p = type_start[i]
        info = words[p + 1]
        k = (info >> KIND_SHIFT) & KIND_MASK
        vlen = info & VLEN_MASK
        off = words[p]
        if off >= str_end or (off < str_floor and off != 0):
            return 1, i, p
        cnt = str_per_vlen[k] * vlen
        for j in range(cnt):
            q = p + 3 + str_stride[k] * j
            off = words[q]
            if off >= str_end or (off < str_floor and off != 0):
                return 1, i, q
        cnt = tid_fixed[k] + tid_per_vlen[k] * vlen
        for j in range(cnt):
            q = p + tid_first[k] + tid_stride[k] * j
            if words[q] >= type_cnt:
                return 2, i, q
    return 0, -1, -1


def first_bad_field(btf: Btf) -> tuple[int, int, int]:
    """First field breaking a range rule, in iterator order.

    Returns ``(what, local_index, word_pos)``: what is 0 (all good), 1 (a string
    offset past the string section) or 2 (a type ID past the last type).
    """
    floor = 0
    what, i, q = _first_bad_field(
        btf.words, btf.type_start, np.uint32(min(btf.strings.end_off, 0xFFFFFFFF)), np.uint32(floor),
        np.uint32(min(btf.type_cnt, 0xFFFFFFFF)), TID_FIRST, TID_STRIDE, TID_FIXED, TID_PER_VLEN,
        STR_STRIDE, STR_PER_VLEN,
    )
    return int(what), int(i), int(q)
