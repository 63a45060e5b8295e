"""Phase: resolve remaining FWDs by unique name (libbpf ``btf_dedup_resolve_fwds``).

Invariant established: a split FWD that is still self-canonical is mapped to the
canonical STRUCT/UNION of its name and flavour when exactly one canonical
STRUCT/UNION (over base and split, structs and unions together) carries that name.
Base FWDs and already re-pointed FWDs are left alone.  Order-independent, so it is
plain numpy: count canonical composites per name, keep the names seen once.
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import Kind


def resolve_fwds(name_off: np.ndarray, kinds: np.ndarray, info: np.ndarray, mp: np.ndarray, start_id: int) -> None:
    """Update ``mp`` in place.  Arrays are indexed by type ID (0..type_cnt-1)."""
    ids = np.arange(len(mp), dtype=np.int64)
    fwd = np.flatnonzero((kinds[start_id:] == Kind.FWD) & (mp[start_id:] == ids[start_id:])) + start_id
    if len(fwd) == 0:
        return
    comp = np.flatnonzero(((kinds == Kind.STRUCT) | (kinds == Kind.UNION)) & (mp == ids))
    if len(comp) == 0:
        return
    names = name_off[comp]
    uniq, first, counts = np.unique(names, return_index=True, return_counts=True)
    keep = counts == 1
    uniq = uniq[keep]
    owner = comp[first[keep]]
    if len(uniq) == 0:
        return
    fnames = name_off[fwd]
    at = np.searchsorted(uniq, fnames)
    at_c = np.minimum(at, len(uniq) - 1)
    hit = uniq[at_c] == fnames
    cand = owner[at_c]
    want = np.where((info[fwd] >> np.uint32(31)) != 0, int(Kind.UNION), int(Kind.STRUCT))
    ok = hit & (kinds[cand] == want)
    mp[fwd[ok]] = cand[ok]
