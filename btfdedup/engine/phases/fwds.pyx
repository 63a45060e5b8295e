# cython: language_level=3
"""Phase: resolve remaining FWDs by unique name (libbpf ``btf_dedup_resolve_fwds``).

Invariant established: a split FWD that is still self-canonical is mapped to the
canonical STRUCT/UNION of its name and flavour when exactly one canonical
STRUCT/UNION (over base and split, structs and unions together) carries that name.
Base FWDs and already re-pointed FWDs are left alone.

Order-independent: count canonical composites per name, keep the names seen once,
then look each candidate FWD up.  The selection scans (two passes over every type
ID) are compiled; the name grouping is numpy over the few selected types.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t

import numpy as np

from btfdedup.engine.state cimport DEDUP_OK, DedupState
from btfdedup.format.kinds cimport K_FWD, K_STRUCT, K_UNION, is_composite


cdef inline bint _wanted(int k, bint want_fwd) noexcept nogil:
    return k == K_FWD if want_fwd else is_composite(k)


cdef object _select(DedupState d, int64_t lo, int64_t hi, bint want_fwd):
    """Self-canonical IDs in ``lo..hi-1`` that are FWDs (``want_fwd``) or STRUCT/UNIONs."""
    cdef const uint8_t *kinds = d.kinds
    cdef const uint32_t *mp = d.mp
    cdef int64_t i
    cdef int64_t n = 0
    with nogil:
        for i in range(lo, hi):
            if _wanted(kinds[i], want_fwd) and mp[i] == i:
                n += 1
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    cdef int64_t[::1] o = out
    n = 0
    with nogil:
        for i in range(lo, hi):
            if _wanted(kinds[i], want_fwd) and mp[i] == i:
                o[n] = i
                n += 1
    return out


def fwds_phase(DedupState d) -> int:
    """Map leftover self-canonical split FWDs to their unique same-named composite; never fails."""
    fwd = _select(d, d.start_id, d.type_cnt, True)
    if len(fwd) == 0:
        return DEDUP_OK
    comp = _select(d, 1, d.type_cnt, False)
    if len(comp) == 0:
        return DEDUP_OK
    W = d.W_arr
    ts = d.ts_arr
    names = W[ts[comp]]
    uniq, first, counts = np.unique(names, return_index=True, return_counts=True)
    keep = counts == 1
    uniq = uniq[keep]
    owner = comp[first[keep]]
    if len(uniq) == 0:
        return DEDUP_OK
    fnames = W[ts[fwd]]
    at = np.minimum(np.searchsorted(uniq, fnames), len(uniq) - 1)
    hit = uniq[at] == fnames
    cand = owner[at]
    want = np.where((W[ts[fwd] + 1] >> np.uint32(31)) != 0, K_UNION, K_STRUCT)
    ok = hit & (d.kinds_arr[cand] == want)
    d.mp_arr[fwd[ok]] = cand[ok]
    return DEDUP_OK
