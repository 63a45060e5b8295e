# cython: language_level=3
"""Phase: prep (split BTF only) — the base types become candidates.

Invariant established: every base type ID is self-canonical (``map[id] == id``) and,
except VAR and DATASEC, sits in the candidate table under its static key, inserted
in ascending ID order (libbpf ``btf_dedup_prep``).  Base types are never modified,
renumbered or dropped.  Base typedefs are keyed with H_common up to v1.7.0, with
H_typedef in master / 1.8 (``TYPEDEF_AS_COMPOSITE_BASE``, commit 5b0f3729), which is
what lets a split typedef find its base twin in the struct phase; the number and order
of inserts is the same either way.  Without a base there is nothing to do (the loop is
empty).

With a prepared base (``d.prepared``) the table already holds the base types as this
phase would insert them (:class:`btfdedup.engine.state.PreparedBase`); only ``map`` is
reset for the base IDs (a previous split may have redirected a base FWD), and the
prepared verdict on the base's kinds is repeated.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from btfdedup.engine.hashing cimport record_key, typedef_key
from btfdedup.engine.state cimport DEDUP_OK, ERR_NOMEM, ERR_UNKNOWN_KIND, TYPEDEF_AS_COMPOSITE_BASE, DedupState
from btfdedup.engine.table cimport CandTable, table_insert
from btfdedup.format.kinds cimport K_DATASEC, K_TYPEDEF, K_VAR, is_known




def prep_phase(DedupState d) -> int:
    """Map every base ID to itself and insert the base types into the table.

    Fails with ``ERR_UNKNOWN_KIND`` (``err_a``: the base ID) on a kind libbpf rejects.
    """
    cdef const uint32_t *W = d.W
    cdef const int64_t *ts = d.ts
    cdef const uint8_t *kinds = d.kinds
    cdef uint32_t *mp = d.mp
    cdef CandTable *t = &d.table
    cdef int64_t start_id = d.start_id
    cdef int64_t tid
    cdef int64_t bad = -1
    cdef int k
    cdef int rc = DEDUP_OK
    cdef bint typedef_own_key = d.typedef_mode == TYPEDEF_AS_COMPOSITE_BASE
    cdef uint64_t h
    if d.prepared is not None:
        with nogil:
            for tid in range(1, start_id):
                mp[tid] = <uint32_t>tid
        if d.prepared.prep_err != DEDUP_OK:
            return d.fail(d.prepared.prep_err, d.prepared.prep_bad, d.prepared.prep_bad)
        return DEDUP_OK
    with nogil:
        for tid in range(1, start_id):
            mp[tid] = <uint32_t>tid
            k = kinds[tid]
            if k == K_VAR or k == K_DATASEC:
                continue
            if not is_known(k):
                rc = ERR_UNKNOWN_KIND
                bad = tid
                break
            if k == K_TYPEDEF and typedef_own_key:
                h = typedef_key(W, ts[tid])
            else:
                h = record_key(W, ts[tid], k)
            if table_insert(t, h, <int>tid) < 0:
                rc = ERR_NOMEM
                bad = tid
                break
    if rc != DEDUP_OK:
        return d.fail(rc, bad, bad)
    return DEDUP_OK
