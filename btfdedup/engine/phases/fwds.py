"""Phase: resolve remaining FWDs by unique name (libbpf ``btf_dedup_resolve_fwds``).

Invariant established: a split FWD that is still self-canonical is mapped to the
canonical STRUCT/UNION of its name and flavour when exactly one canonical
STRUCT/UNION (over base and split, structs and unions together) carries that name.
Base FWDs and already re-pointed FWDs are left alone.

Order-independent: count canonical composites per name, keep the names seen once,
then look each candidate FWD up.  The selection scans (two passes over every type
ID) are compiled; the name grouping is numpy over the few selected types.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import K_FWD, K_STRUCT, K_UNION


@njit(cache=True, nogil=True)
def _select(kinds, mp, lo, hi, want_fwd):  # type: ignore[no-untyped-def]
    """Self-canonical IDs in ``lo..hi-1`` that are FWDs (``want_fwd``) or STRUCT/UNIONs."""
    n = 0
    for i in range(lo, hi):
        k = kinds[i]
        if (k == K_FWD if want_fwd else (k == K_STRUCT or k == K_UNION)) and mp[i] == i:
            n += 1
    out = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(lo, hi):
        k = kinds[i]
        if (k == K_FWD if want_fwd else (k == K_STRUCT or k == K_UNION)) and mp[i] == i:
            out[n] = i
            n += 1
    return out


def resolve_fwds(W: np.ndarray, ts: np.ndarray, kinds: np.ndarray, mp: np.ndarray, start_id: int) -> None:
    """Update ``mp`` in place (records at ``W[ts[id]]``; arrays indexed by type ID)."""
    type_cnt = len(mp)
    fwd = _select(kinds, mp, start_id, type_cnt, True)
    if len(fwd) == 0:
        return
    comp = _select(kinds, mp, 1, type_cnt, False)
    if len(comp) == 0:
        return
    names = W[ts[comp]]
    uniq, first, counts = np.unique(names, return_index=True, return_counts=True)
    keep = counts == 1
    uniq = uniq[keep]
    owner = comp[first[keep]]
    if len(uniq) == 0:
        return
    fnames = W[ts[fwd]]
    at = np.minimum(np.searchsorted(uniq, fnames), len(uniq) - 1)
    hit = uniq[at] == fnames
    cand = owner[at]
    want = np.where((W[ts[fwd] + 1] >> np.uint32(31)) != 0, K_UNION, K_STRUCT)
    ok = hit & (kinds[cand] == want)
    mp[fwd[ok]] = cand[ok]
