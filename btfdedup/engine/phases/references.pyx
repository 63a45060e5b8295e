# cython: language_level=3
"""Phase: reference types (PTR, CONST, VOLATILE, RESTRICT, TYPEDEF, FUNC, TYPE_TAG,
DECL_TAG, ARRAY, FUNC_PROTO) — libbpf v1.6 ``btf_dedup_ref_types``.

Invariant established: every split type is mapped, and every reference type's ID
fields hold resolved (canonical) IDs.  REF(id) is a depth-first post-order walk: an
unmapped type is marked IN_PROGRESS, its referenced types are REF'd in field order
(ARRAY: element then index; FUNC_PROTO: return then params) and each result is
written back into the record, then its key is computed over the rewritten record and
the first exactly-equal candidate wins, else it is canonical and enters the table.
Reaching an IN_PROGRESS type again is a reference cycle not broken by a struct/union
(-ELOOP in libbpf).  Up to v1.6 TYPEDEF is a reference type here (key H_common over
name, info and the resolved target).  From v1.7.0 the struct phase has already mapped
every typedef, so a walk stops at one (its canonical ID is written into the referrer,
its own ``type`` field is left for the remap phase) and the loop skips it as a root.

The recursion runs on an explicit stack of (type ID, next field) frames in C memory
(grown with ``realloc``, freed on every path), which keeps libbpf's visiting order
without depending on the native stack depth.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

from btfdedup.cbuf cimport regrow
from btfdedup.engine.graph cimport (
    IN_PROGRESS,
    MAX_MAPPED,
    combine,
    equal_array,
    equal_common,
    equal_fnproto,
    equal_int_tag,
    resolve,
    vlen_at,
)
from btfdedup.engine.state cimport DEDUP_OK, ERR_NOMEM, ERR_REF_KIND, ERR_REF_LOOP, DedupState
from btfdedup.engine.table cimport CandTable, table_find, table_first, table_insert, table_next, table_type_id
from btfdedup.format.kinds cimport K_ARRAY, K_DECL_TAG, K_FUNC_PROTO, has_one_type_ref


cdef inline bint _is_ref_kind(int k) noexcept nogil:
    return has_one_type_ref(k) or k == K_DECL_TAG or k == K_ARRAY or k == K_FUNC_PROTO


cdef inline int64_t _nfields(const uint32_t *W, int64_t p, int k) noexcept nogil:
    if k == K_ARRAY:
        return 2
    if k == K_FUNC_PROTO:
        return 1 + vlen_at(W, p)
    return 1


cdef inline int64_t _field_pos(int64_t p, int k, int64_t j) noexcept nogil:
    if k == K_ARRAY:
        return p + 3 + j  # element, then index
    if k == K_FUNC_PROTO:
        if j == 0:
            return p + 2
        return p + 2 + 2 * j  # param j-1 type at p + 3 + 2*(j-1) + 1
    return p + 2


cdef int _finish(const uint32_t *W, const int64_t *ts, int k, int64_t tid, CandTable *t,
                 int64_t *new_out) noexcept nogil:
    """Key and candidate walk of a type whose fields are all rewritten; inserts it when
    canonical.  0, or -1 when the table cannot grow."""
    cdef int64_t p = ts[tid]
    cdef uint64_t h = combine(combine(combine(0, W[p]), W[p + 1]), W[p + 2])
    cdef int64_t n, i, cand, pc
    cdef int32_t slot, node
    cdef bint ok
    if k == K_DECL_TAG:
        h = combine(h, W[p + 3])
    elif k == K_ARRAY:
        h = combine(combine(combine(h, W[p + 3]), W[p + 4]), W[p + 5])
    elif k == K_FUNC_PROTO:
        n = vlen_at(W, p)
        for i in range(n):
            h = combine(combine(h, W[p + 3 + 2 * i]), W[p + 4 + 2 * i])
    slot = table_find(t, h)
    if slot >= 0:
        node = table_first(t, slot)
        while node >= 0:
            cand = table_type_id(t, node)
            pc = ts[cand]
            if k == K_DECL_TAG:
                ok = equal_int_tag(W, p, pc)
            elif k == K_ARRAY:
                ok = equal_array(W, p, pc)
            elif k == K_FUNC_PROTO:
                ok = equal_fnproto(W, p, pc)
            else:
                ok = equal_common(W, p, pc)
            if ok:
                new_out[0] = cand
                return 0
            node = table_next(t, slot, node)
    new_out[0] = tid
    return table_insert(t, h, <int32_t>tid)


cdef int _ref_loop(uint32_t *W, const int64_t *ts, const uint8_t *kinds, uint32_t *mp, CandTable *t,
                   int64_t start_id, int64_t end_id, int64_t **stp, int64_t *capp,
                   int64_t *err) noexcept nogil:
    """The walk over every split root; DEDUP_OK or a DedupErr (IDs in ``err[0..1]``).
    The frame stack lives in ``*stp`` (capacity ``*capp`` frames), owned by the caller."""
    cdef int64_t root, sp, tid, j, p, q, child, new, ptid, pj
    cdef int k, ck
    cdef uint32_t m
    cdef int64_t *st = stp[0]
    for root in range(start_id, end_id):
        if mp[root] == IN_PROGRESS:
            err[0] = root
            err[1] = root
            return ERR_REF_LOOP
        if mp[root] <= MAX_MAPPED:
            continue
        k = kinds[root]
        if not _is_ref_kind(k):
            err[0] = root
            err[1] = root
            return ERR_REF_KIND
        mp[root] = IN_PROGRESS
        st[0] = root
        st[1] = 0
        sp = 1
        while sp > 0:
            tid = st[2 * sp - 2]
            j = st[2 * sp - 1]
            p = ts[tid]
            k = kinds[tid]
            if j < _nfields(W, p, k):
                q = _field_pos(p, k, j)
                child = W[q]
                m = mp[child]
                if m == IN_PROGRESS:
                    err[0] = child
                    err[1] = tid
                    return ERR_REF_LOOP
                if m <= MAX_MAPPED:
                    W[q] = <uint32_t>resolve(mp, child)
                    st[2 * sp - 1] = j + 1
                    continue
                ck = kinds[child]
                if not _is_ref_kind(ck):
                    err[0] = child
                    err[1] = tid
                    return ERR_REF_KIND
                mp[child] = IN_PROGRESS
                if sp == capp[0]:
                    if regrow(<void **>stp, 2 * capp[0] * 2 * sizeof(int64_t)) < 0:
                        err[0] = child
                        err[1] = tid
                        return ERR_NOMEM
                    st = stp[0]
                    capp[0] *= 2
                st[2 * sp] = child
                st[2 * sp + 1] = 0
                sp += 1
                continue
            if _finish(W, ts, k, tid, t, &new) < 0:
                err[0] = tid
                err[1] = tid
                return ERR_NOMEM
            mp[tid] = <uint32_t>new
            sp -= 1
            if sp > 0:
                ptid = st[2 * sp - 2]
                pj = st[2 * sp - 1]
                W[_field_pos(ts[ptid], kinds[ptid], pj)] = <uint32_t>new
                st[2 * sp - 1] = pj + 1
    return DEDUP_OK


def references_phase(DedupState d) -> int:
    """Map every remaining split type and rewrite reference IDs (libbpf ``btf_dedup_ref_types``).

    Fails with ``ERR_REF_LOOP`` (``err_a`` reached again from ``err_b``), ``ERR_REF_KIND``
    (``err_a``, referenced by ``err_b``, is not a reference kind) or ``ERR_NOMEM``.
    """
    cdef int64_t cap = 1024
    cdef int64_t *st = <int64_t *>malloc(cap * 2 * sizeof(int64_t))
    cdef int64_t err[2]
    cdef int rc
    if st == NULL:
        return d.fail(ERR_NOMEM, -1, -1)
    err[0] = -1
    err[1] = -1
    cdef uint32_t *W = d.W
    cdef const int64_t *ts = d.ts
    cdef const uint8_t *kinds = d.kinds
    cdef uint32_t *mp = d.mp
    cdef CandTable *t = &d.table
    cdef int64_t start_id = d.start_id
    cdef int64_t end_id = d.type_cnt
    with nogil:
        rc = _ref_loop(W, ts, kinds, mp, t, start_id, end_id, &st, &cap, err)
        free(st)
    if rc != DEDUP_OK:
        return d.fail(rc, err[0], err[1])
    return DEDUP_OK
