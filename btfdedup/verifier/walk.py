"""Record walk of the type section exactly as ``btf_check_all_metas`` advances through it.

The kernel learns each record's size only from its kind and vlen, so a bad
kind or a truncated record ends the walk; everything before it is located.
"""

from __future__ import annotations

import numba
import numpy as np

WALK_OK = 0
WALK_HEADER_SHORT = 1  # fewer than 12 bytes left for a btf_type
WALK_BAD_KIND = 2  # kind 0 or above the kernel's BTF_KIND_MAX
WALK_TAIL_SHORT = 3  # the kind's tail (vlen elements) runs past the section end

#: Tail bytes per kind: fixed part and per-vlen element (kinds 0..127).
TAIL_FIXED = np.zeros(128, dtype=np.int64)
TAIL_ELEM = np.zeros(128, dtype=np.int64)
for _k, _n in ((1, 4), (3, 12), (14, 4), (17, 4)):
    TAIL_FIXED[_k] = _n
for _k, _n in ((4, 12), (5, 12), (6, 8), (13, 8), (15, 12), (19, 12)):
    TAIL_ELEM[_k] = _n


@numba.njit(cache=True)
def walk_records(
    words: np.ndarray,
    type_len: int,
    vlen_mask: int,
    kind_mask: int,
    kind_max: int,
    fixed: np.ndarray,
    elem: np.ndarray,
) -> tuple[np.ndarray, int, int]:
    """Word offsets of the records, the stop code and the byte offset where the walk stopped."""
    starts = np.empty(type_len // 12 + 1, dtype=np.int64)
    cnt = 0
    pos = 0  # bytes
    while pos < type_len:
        if type_len - pos < 12:
            return starts[:cnt], WALK_HEADER_SHORT, pos
        w = pos // 4
        info = np.int64(words[w + 1])
        kind = (info >> 24) & kind_mask
        starts[cnt] = w
        cnt += 1
        if kind == 0 or kind > kind_max:
            return starts[:cnt], WALK_BAD_KIND, pos
        vlen = info & vlen_mask
        tail = fixed[kind] + vlen * elem[kind]
        if type_len - pos - 12 < tail:
            return starts[:cnt], WALK_TAIL_SHORT, pos
        pos += 12 + tail
    return starts[:cnt], WALK_OK, pos
