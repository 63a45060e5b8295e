"""Phase: prep (split BTF only) — the base types become candidates.

Invariant established: every base type ID is self-canonical (``map[id] == id``) and,
except VAR and DATASEC, sits in the candidate table under its static key, inserted
in ascending ID order (libbpf ``btf_dedup_prep``).  Base types are never modified,
renumbered or dropped; v1.6 hashes base typedefs with H_common.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import K_DATASEC, K_ENUM64, K_VAR
from btfdedup.engine.hashing import record_key
from btfdedup.engine.table import table_insert


@njit(cache=True, nogil=True)
def prep_phase(W, ts, kinds, mp, start_id, tkeys, tslot, slots, nodes, meta):  # type: ignore[no-untyped-def]
    """Returns ``(rc, tkeys, tslot, slots, nodes)``: rc -1 on success, else the first
    base ID of an unknown kind."""
    for tid in range(1, start_id):
        mp[tid] = tid
        k = kinds[tid]
        if k == K_VAR or k == K_DATASEC:
            continue
        if k == 0 or k > K_ENUM64:
            return tid, tkeys, tslot, slots, nodes
        tkeys, tslot, slots, nodes = table_insert(tkeys, tslot, slots, nodes, meta, record_key(W, ts[tid], k), np.int32(tid))
    return -1, tkeys, tslot, slots, nodes
