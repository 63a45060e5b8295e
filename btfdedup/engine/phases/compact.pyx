# cython: language_level=3
"""Phase: compaction (libbpf ``btf_dedup_compact_types``).

Invariant established: the output type section holds exactly the split types with
``map[id] == id``, in ascending original ID order, renumbered consecutively from the
split's start ID; ``new_id`` maps every kept ID to its new ID, base IDs and void to
themselves and dropped IDs to UNPROCESSED.  There is no reachability pass: a
self-canonical type stays even if nothing references it any more.

Two compiled passes over the split IDs: one counts the survivors and their words, the
other fills ``kept`` / ``new_id`` and copies each kept record with ``memcpy`` (no
column-sized temporaries).
"""

from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memcpy

import numpy as np

from btfdedup.engine.state cimport DEDUP_OK, DedupState

from btfdedup.engine.state import UNPROCESSED_ID


def compact_phase(DedupState d) -> int:
    """Set ``d.kept``, ``d.new_id``, ``d.out_words`` and ``d.out_starts``; never fails."""
    cdef int64_t start_id = d.start_id
    cdef int64_t type_cnt = d.type_cnt
    cdef const uint32_t *mp = d.mp
    cdef const uint32_t *W = d.W
    cdef const int64_t *ts = d.ts
    cdef int64_t tid, i, a
    cdef int64_t n = 0
    cdef int64_t total = 0
    with nogil:
        for tid in range(start_id, type_cnt):
            if mp[tid] == tid:
                n += 1
                total += ts[tid + 1] - ts[tid]
    kept_arr = np.empty(n, dtype=np.int64)
    starts_arr = np.empty(n + 1, dtype=np.int64)
    words_arr = np.empty(total, dtype=np.uint32)
    new_id_arr = np.full(type_cnt, UNPROCESSED_ID, dtype=np.uint32)
    new_id_arr[:start_id] = np.arange(start_id, dtype=np.uint32)
    cdef int64_t[::1] kept = kept_arr
    cdef int64_t[::1] starts = starts_arr
    cdef uint32_t[::1] words = words_arr
    cdef uint32_t[::1] new_id = new_id_arr
    cdef int64_t w = 0
    i = 0
    with nogil:
        for tid in range(start_id, type_cnt):
            if mp[tid] == tid:
                kept[i] = tid
                new_id[tid] = <uint32_t>(start_id + i)
                starts[i] = w
                a = ts[tid]
                memcpy(&words[0] + w, W + a, (ts[tid + 1] - a) * sizeof(uint32_t))
                w += ts[tid + 1] - a
                i += 1
        starts[n] = w
    d.kept = kept_arr
    d.new_id = new_id_arr
    d.out_words = words_arr
    d.out_starts = starts_arr
    return DEDUP_OK
