# cython: language_level=3
"""Phase: remapping (libbpf ``btf_dedup_remap_types``).

Invariant established: every type-ID field of every kept type (iterator order: the
single ``type`` of PTR/TYPEDEF/modifiers/FUNC/VAR/DECL_TAG/TYPE_TAG/FWD, ARRAY element
then index, member types, FUNC_PROTO return then params, DATASEC entry types) holds
``new_id[resolve(old)]`` (``d.final``, which the pipeline also applies to .BTF.ext
func_info / core_relo IDs).  A field whose resolved type was dropped cannot happen for
valid dedup state; it is reported as libbpf's -EINVAL.  ``final`` is one compiled pass;
the field rewrite is order-independent, so plain numpy gathers.
"""

from libc.stdint cimport int64_t, uint32_t

import numpy as np

from btfdedup.engine.graph cimport resolve
from btfdedup.engine.state cimport DEDUP_OK, ERR_REMAP, DedupState

from btfdedup.engine.state import UNPROCESSED_ID
from btfdedup.format.constants import KIND_MASK, KIND_SHIFT, VLEN_MASK
from btfdedup.model.fields import TID_FIRST, TID_FIXED, TID_PER_VLEN, TID_STRIDE, ragged


def remap_phase(DedupState d) -> int:
    """Set ``d.final`` and rewrite the ID fields of ``d.out_words`` in place.

    Fails with ``ERR_REMAP`` (``err_a``: output record index, ``err_b``: the old ID)
    and leaves ``d.out_words`` unchanged.
    """
    cdef int64_t n = d.type_cnt
    final_arr = np.empty(n, dtype=np.uint32)
    cdef uint32_t[::1] final = final_arr
    cdef const uint32_t[::1] new_id = d.new_id
    cdef const uint32_t *mp = d.mp
    cdef int64_t i
    if n:
        with nogil:
            for i in range(n):
                final[i] = new_id[resolve(mp, i)]
    d.final = final_arr
    words = d.out_words
    starts = d.out_starts
    hdr = starts[:len(starts) - 1]
    info = words[hdr + 1].astype(np.int64)
    kind = (info >> KIND_SHIFT) & KIND_MASK
    vlen = info & VLEN_MASK
    counts = TID_FIXED[kind] + TID_PER_VLEN[kind] * vlen
    owner, j = ragged(counts)
    k = kind[owner]
    pos = hdr[owner] + TID_FIRST[k] + TID_STRIDE[k] * j
    new = final_arr[words[pos]]
    bad = np.flatnonzero(new == UNPROCESSED_ID)
    if len(bad):
        b = int(bad[0])
        return d.fail(ERR_REMAP, int(owner[b]), int(words[pos[b]]))
    words[pos] = new
    return DEDUP_OK
