# cython: language_level=3
"""Phase: primitive types (INT, ENUM, ENUM64, FWD, FLOAT of the split part).

Invariant established: every primitive split type is mapped, either to itself (then
it is in the table) or to the first equal candidate in table order.  ENUM/ENUM64 use
the name-only key: an exact match wins; an enum forward takes the first compatible
candidate; a full enum re-points every compatible canonical forward it meets before
an exact match (``map[fwd] = id``, base forwards included — their bytes stay).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from btfdedup.engine.graph cimport compat_enum, equal_common, equal_enum, equal_int_tag, vlen_at
from btfdedup.engine.hashing cimport record_key
from btfdedup.engine.state cimport DEDUP_OK, ERR_NOMEM, ERR_UNKNOWN_KIND, DedupState
from btfdedup.engine.table cimport CandTable, table_find, table_first, table_insert, table_next, table_type_id
from btfdedup.format.kinds cimport K_ENUM, K_ENUM64, K_FLOAT, K_FWD, K_INT, is_known


def primitives_phase(DedupState d) -> int:
    """Map every split INT/ENUM/ENUM64/FWD/FLOAT (libbpf ``btf_dedup_prim_types``).

    Fails with ``ERR_UNKNOWN_KIND`` (``err_a``: the split ID) on a kind libbpf rejects.
    """
    cdef const uint32_t *W = d.W
    cdef const int64_t *ts = d.ts
    cdef const uint8_t *kinds = d.kinds
    cdef uint32_t *mp = d.mp
    cdef CandTable *t = &d.table
    cdef int64_t tid, p, pc, new, cand
    cdef int64_t bad = -1
    cdef int k
    cdef int rc = DEDUP_OK
    cdef int32_t slot, node
    cdef uint64_t h
    cdef bint t_fwd
    with nogil:
        for tid in range(d.start_id, d.type_cnt):
            k = kinds[tid]
            if not is_known(k):
                rc = ERR_UNKNOWN_KIND
                bad = tid
                break
            if k != K_INT and k != K_ENUM and k != K_ENUM64 and k != K_FWD and k != K_FLOAT:
                continue
            p = ts[tid]
            h = record_key(W, p, k)
            new = tid
            slot = table_find(t, h)
            if slot >= 0:
                node = table_first(t, slot)
                if k == K_INT:
                    while node >= 0:
                        cand = table_type_id(t, node)
                        if equal_int_tag(W, p, ts[cand]):
                            new = cand
                            break
                        node = table_next(t, slot, node)
                elif k == K_FWD or k == K_FLOAT:
                    while node >= 0:
                        cand = table_type_id(t, node)
                        if equal_common(W, p, ts[cand]):
                            new = cand
                            break
                        node = table_next(t, slot, node)
                else:
                    t_fwd = vlen_at(W, p) == 0
                    while node >= 0:
                        cand = table_type_id(t, node)
                        pc = ts[cand]
                        if equal_enum(W, p, pc, k):
                            new = cand
                            break
                        if compat_enum(W, p, pc, k, kinds[cand]):
                            if t_fwd:
                                new = cand
                                break
                            mp[cand] = <uint32_t>tid
                        node = table_next(t, slot, node)
            mp[tid] = <uint32_t>new
            if new == tid:
                if table_insert(t, h, <int32_t>tid) < 0:
                    rc = ERR_NOMEM
                    bad = tid
                    break
    if rc != DEDUP_OK:
        return d.fail(rc, bad, bad)
    return DEDUP_OK
