"""Phase: primitive types (INT, ENUM, ENUM64, FWD, FLOAT of the split part).

Invariant established: every primitive split type is mapped, either to itself (then
it is in the table) or to the first equal candidate in table order.  ENUM/ENUM64 use
the name-only key: an exact match wins; an enum forward takes the first compatible
candidate; a full enum re-points every compatible canonical forward it meets before
an exact match (``map[fwd] = id``, base forwards included — their bytes stay).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import (
    K_ENUM,
    K_ENUM64,
    K_FLOAT,
    K_FWD,
    K_INT,
    compat_enum,
    equal_common,
    equal_enum,
    equal_int_tag,
    vlen_at,
)
from btfdedup.engine.hashing import record_key
from btfdedup.engine.table import table_find, table_first, table_insert, table_next


@njit(cache=True, nogil=True)
def prim_phase(W, ts, kinds, mp, start_id, end_id, tkeys, tslot, slots, nodes, meta):  # type: ignore[no-untyped-def]
    """Returns ``(rc, tkeys, tslot, slots, nodes)``: rc -1 on success, else the first
    split ID of an unknown kind."""
    for tid in range(start_id, end_id):
        k = kinds[tid]
        if k == 0 or k > K_ENUM64:
            return tid, tkeys, tslot, slots, nodes
        if k != K_INT and k != K_ENUM and k != K_ENUM64 and k != K_FWD and k != K_FLOAT:
            continue
        p = ts[tid]
        h = record_key(W, p, k)
        new = tid
        slot = table_find(tkeys, tslot, meta, h)
        if slot >= 0:
            node = table_first(slots, meta, slot)
            if k == K_INT:
                while node >= 0:
                    cand = nodes[node, 0]
                    if equal_int_tag(W, p, ts[cand]):
                        new = cand
                        break
                    node = table_next(nodes, slots, slot, node)
            elif k == K_FWD or k == K_FLOAT:
                while node >= 0:
                    cand = nodes[node, 0]
                    if equal_common(W, p, ts[cand]):
                        new = cand
                        break
                    node = table_next(nodes, slots, slot, node)
            else:
                t_fwd = vlen_at(W, p) == 0
                while node >= 0:
                    cand = nodes[node, 0]
                    pc = ts[cand]
                    if equal_enum(W, p, pc, k):
                        new = cand
                        break
                    if compat_enum(W, p, pc, k, kinds[cand]):
                        if t_fwd:
                            new = cand
                            break
                        mp[cand] = tid
                    node = table_next(nodes, slots, slot, node)
        mp[tid] = new
        if new == tid:
            tkeys, tslot, slots, nodes = table_insert(tkeys, tslot, slots, nodes, meta, h, np.int32(tid))
    return -1, tkeys, tslot, slots, nodes
