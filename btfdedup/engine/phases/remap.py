"""Phase: remapping (libbpf ``btf_dedup_remap_types``).

Invariant established: every type-ID field of every kept type (iterator order: the
single ``type`` of PTR/TYPEDEF/modifiers/FUNC/VAR/DECL_TAG/TYPE_TAG/FWD, ARRAY element
then index, member types, FUNC_PROTO return then params, DATASEC entry types), and
every .BTF.ext func_info / core_relo type ID, holds ``new_id[resolve(old)]``.  A field
whose resolved type was dropped cannot happen for valid dedup state; it is reported as
libbpf's -EINVAL.  Order-independent, so plain numpy gathers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import UNPROCESSED, resolve
from btfdedup.format.constants import KIND_MASK, KIND_SHIFT, VLEN_MASK
from btfdedup.model.fields import TID_FIRST, TID_FIXED, TID_PER_VLEN, TID_STRIDE, ragged


@njit(cache=True, nogil=True)
def _final_ids(mp, new_id):  # type: ignore[no-untyped-def]
    out = np.empty(mp.shape[0], dtype=np.uint32)
    for i in range(mp.shape[0]):
        out[i] = new_id[resolve(mp, i)]
    return out


def final_ids(mp: np.ndarray, new_id: np.ndarray) -> np.ndarray:
    """``new_id[resolve(id)]`` for every type ID (uint32; UNPROCESSED where none)."""
    return _final_ids(mp, new_id)


def remap_words(words: np.ndarray, starts: np.ndarray, final: np.ndarray) -> tuple[int, int] | None:
    """Rewrite the type-ID fields of the records ``words`` (record ``i`` starts at
    ``starts[i]``) in place.  Returns ``None``, or ``(record index, old ID)`` of the
    first field that cannot be remapped."""
    hdr = starts[:-1]
    info = words[hdr + 1].astype(np.int64)
    kind = (info >> KIND_SHIFT) & KIND_MASK
    vlen = info & VLEN_MASK
    counts = TID_FIXED[kind] + TID_PER_VLEN[kind] * vlen
    owner, j = ragged(counts)
    k = kind[owner]
    pos = hdr[owner] + TID_FIRST[k] + TID_STRIDE[k] * j
    new = final[words[pos]]
    bad = np.flatnonzero(new == UNPROCESSED)
    if len(bad):
        b = int(bad[0])
        return int(owner[b]), int(words[pos[b]])
    words[pos] = new
    return None
