# cython: language_level=3
"""Phase: struct/union (and from libbpf 1.7.0 typedef) dedup by type-graph equivalence.

Invariant established: every split STRUCT/UNION is mapped, and with
``d.typedef_mode`` other than ``TYPEDEF_AS_REFERENCE`` (libbpf 1.7.0 and master, see
:mod:`btfdedup.engine.profiles`) every split TYPEDEF too.  A struct is compared with
each candidate under its H_struct key (table order) that passes the shallow guard;
the first candidate whose graph is equivalent (IS_EQUIV) without needing a base FWD to
be re-pointed wins; otherwise the struct is canonical and enters the table.  After
every successful equivalence the hypothetical map is merged: FWDs get linked to
structs both ways (a canonical FWD, even a base one, to the candidate's struct), and
candidate-side structs whose canonical twin is already mapped are mapped early — they
are then skipped here and never enter the table.

Typedefs (1.7.0+) go through the same loop, interleaved with structs by ID: key
H_typedef (name_off, info; the target is not hashed), guard "same name_off and info",
then IS_EQUIV on the pair, whose typedef case compares the targets as a graph.  The
merge never maps a typedef early, but a typedef comparison can link FWDs.  Since
IS_EQUIV assumes a pair it is already comparing to be equal, typedef cycles (Go's
``type T *T``) terminate here, where v1.6's reference phase fails with -ELOOP.  v1.6
and 1.1 leave TYPEDEF to the reference phase.

IS_EQUIV is libbpf's side-by-side DFS, run with an explicit stack of (candidate,
canonical) pairs: a pair is checked when popped (pre-order) and pushes its children in
reverse so they pop in libbpf's order; the first non-equivalent pair ends the walk.
Since every libbpf frame returns the first child result <= 0 and only the hypothetical
map changes during the walk, this visits exactly the same pairs in the same order.

When the hypothetical map already holds another candidate for a canonical type, the
pair is still accepted if the two candidates are identical; which comparison decides
depends on the libbpf release (``d.identical_fallback``, from :mod:`btfdedup.engine.profiles`):

* ``FALLBACK_IDENTICAL_TYPES`` (v1.6): IDENTICAL, a purely structural comparison (no
  ``map``) of every kind, depth 16, not decremented through modifiers.  v1.6 reads
  both arrays' element/index IDs from the *first* array, so arrays compare only by
  header and nelems; ``d.fixed_arrays`` False selects that behaviour.
* ``FALLBACK_IDENTICAL_ARRAYS_STRUCTS`` (1.1): identical ARRAY definitions (all words
  equal), else identical STRUCT/UNION definitions whose member pairs have equal IDs,
  or are identical arrays, or are (recursively, no depth limit) identical
  structs/unions.

The three walks keep their stacks in one :c:type:`Walk` (C memory grown with
``realloc``, freed when the phase returns on every path).  A walk result is 1 (equal),
0 (not) or a negated ``DedupErr`` (``-ERR_NOMEM``, ``-ERR_EQUIV_KIND``,
``-ERR_IDENTICAL_LOOP``) with the type IDs in ``Walk.err_a`` / ``Walk.err_b``.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

from btfdedup.cbuf cimport regrow
from btfdedup.engine.graph cimport (
    MAX_MAPPED,
    UNPROCESSED,
    compat_array,
    compat_enum,
    compat_fnproto,
    equal_array,
    equal_common,
    equal_int_tag,
    is_mapped,
    kflag_at,
    resolve,
    resolve_fwd,
    shallow_equal_struct,
    vlen_at,
)
from btfdedup.engine.hashing cimport record_key, typedef_key
from btfdedup.engine.state cimport (
    DEDUP_OK,
    ERR_EQUIV_KIND,
    ERR_IDENTICAL_LOOP,
    ERR_NOMEM,
    FALLBACK_IDENTICAL_TYPES,
    TYPEDEF_AS_REFERENCE,
    DedupState,
)
from btfdedup.engine.table cimport CandTable, table_find, table_first, table_insert, table_next, table_type_id
from btfdedup.format.kinds cimport (
    K_ARRAY,
    K_ENUM,
    K_ENUM64,
    K_FLOAT,
    K_FUNC_PROTO,
    K_FWD,
    K_INT,
    K_STRUCT,
    K_TYPEDEF,
    K_UNION,
    K_VOID,
    has_one_type_ref,
    is_any_enum,
    is_composite,
)


#: IDENTICAL / identical-structs steps after which the input is taken to hold a cycle
cdef int64_t IDENTICAL_STEP_LIMIT = 1 << 26


cdef struct Walk:
    const uint32_t *W
    const int64_t *ts
    const uint8_t *kinds
    uint32_t *mp
    uint32_t *hyp
    uint32_t *hlist          # canonical IDs whose hypot slot is set, in order
    int64_t hcnt
    int64_t start_id
    int fallback
    bint fixed_arrays
    bint typedefs            # TYPEDEF is deduplicated here too (libbpf >= 1.7.0)
    bint adjust              # IS_EQUIV met a base FWD that would have to be re-pointed
    int64_t *st              # IS_EQUIV stack: (candidate, canonical) pairs
    int64_t st_cap           # in int64 elements
    int64_t *ist             # IDENTICAL stack: (id1, id2, depth) triples / (id1, id2) pairs
    int64_t ist_cap
    int64_t err_a
    int64_t err_b


cdef int _reserve(int64_t **buf, int64_t *cap, int64_t need) noexcept nogil:
    """Make ``*buf`` hold at least ``need`` int64 elements; 0 or -1 (no memory)."""
    if need <= cap[0]:
        return 0
    cdef int64_t n = cap[0] * 2 if cap[0] > 0 else 64
    while n < need:
        n *= 2
    if regrow(<void **>buf, n * sizeof(int64_t)) < 0:
        return -1
    cap[0] = n
    return 0


cdef int _identical(Walk *w, int64_t id1, int64_t id2, int64_t depth) noexcept nogil:
    """libbpf 1.6 ``btf_dedup_identical_types(id1, id2, depth)``."""
    cdef const uint32_t *W = w.W
    cdef const int64_t *ts = w.ts
    cdef const uint8_t *kinds = w.kinds
    cdef int64_t sp, a, b, dd, p1, p2, n, i, m1, m2
    cdef int64_t steps = 0
    cdef int k1, k2
    if _reserve(&w.ist, &w.ist_cap, 3) < 0:
        return -ERR_NOMEM
    w.ist[0] = id1
    w.ist[1] = id2
    w.ist[2] = depth
    sp = 1
    while sp > 0:
        sp -= 1
        a = w.ist[3 * sp]
        b = w.ist[3 * sp + 1]
        dd = w.ist[3 * sp + 2]
        while True:
            steps += 1
            if steps > IDENTICAL_STEP_LIMIT:
                w.err_a = id1
                w.err_b = id2
                return -ERR_IDENTICAL_LOOP
            if dd <= 0:
                return 0
            k1 = kinds[a]
            k2 = kinds[b]
            if k1 != k2:
                return 0
            p1 = ts[a]
            p2 = ts[b]
            if k1 == K_VOID:
                break
            if k1 == K_INT:
                if not equal_int_tag(W, p1, p2):
                    return 0
                break
            if is_any_enum(k1):
                if not compat_enum(W, p1, p2, k1, k2):
                    return 0
                break
            if k1 == K_FWD or k1 == K_FLOAT:
                if not equal_common(W, p1, p2):
                    return 0
                break
            if has_one_type_ref(k1):
                if W[p1 + 1] != W[p2 + 1] or W[p1] != W[p2]:
                    return 0
                a = W[p1 + 2]
                b = W[p2 + 2]
                continue
            if k1 == K_ARRAY:
                if not compat_array(W, p1, p2):
                    return 0
                if w.fixed_arrays:
                    if _reserve(&w.ist, &w.ist_cap, 3 * (sp + 2)) < 0:
                        return -ERR_NOMEM
                    # libbpf compares the index types, then the element types
                    if W[p1 + 3] != W[p2 + 3]:
                        w.ist[3 * sp] = W[p1 + 3]
                        w.ist[3 * sp + 1] = W[p2 + 3]
                        w.ist[3 * sp + 2] = dd - 1
                        sp += 1
                    if W[p1 + 4] != W[p2 + 4]:
                        w.ist[3 * sp] = W[p1 + 4]
                        w.ist[3 * sp + 1] = W[p2 + 4]
                        w.ist[3 * sp + 2] = dd - 1
                        sp += 1
                break
            if is_composite(k1):
                if not shallow_equal_struct(W, p1, p2):
                    return 0
                n = vlen_at(W, p1)
                if _reserve(&w.ist, &w.ist_cap, 3 * (sp + n)) < 0:
                    return -ERR_NOMEM
                for i in range(n - 1, -1, -1):
                    m1 = W[p1 + 4 + 3 * i]
                    m2 = W[p2 + 4 + 3 * i]
                    if m1 != m2:
                        w.ist[3 * sp] = m1
                        w.ist[3 * sp + 1] = m2
                        w.ist[3 * sp + 2] = dd - 1
                        sp += 1
                break
            if k1 == K_FUNC_PROTO:
                if not compat_fnproto(W, p1, p2):
                    return 0
                n = vlen_at(W, p1)
                if _reserve(&w.ist, &w.ist_cap, 3 * (sp + n + 1)) < 0:
                    return -ERR_NOMEM
                for i in range(n - 1, -1, -1):
                    m1 = W[p1 + 4 + 2 * i]
                    m2 = W[p2 + 4 + 2 * i]
                    if m1 != m2:
                        w.ist[3 * sp] = m1
                        w.ist[3 * sp + 1] = m2
                        w.ist[3 * sp + 2] = dd - 1
                        sp += 1
                if W[p1 + 2] != W[p2 + 2]:
                    w.ist[3 * sp] = W[p1 + 2]
                    w.ist[3 * sp + 1] = W[p2 + 2]
                    w.ist[3 * sp + 2] = dd - 1
                    sp += 1
                break
            return 0
    return 1


cdef bint _identical_arrays(Walk *w, int64_t id1, int64_t id2) noexcept nogil:
    """libbpf 1.1 ``btf_dedup_identical_arrays``: two ARRAY records equal word for word."""
    if w.kinds[id1] != K_ARRAY or w.kinds[id2] != K_ARRAY:
        return False
    return equal_array(w.W, w.ts[id1], w.ts[id2])


cdef int _identical_structs(Walk *w, int64_t id1, int64_t id2) noexcept nogil:
    """libbpf 1.1 ``btf_dedup_identical_structs``.

    Both STRUCT (or both UNION) with the same shallow shape, and every member pair
    either has equal type IDs, or is a pair of identical arrays, or is itself a pair
    of identical structs/unions.  libbpf recurses without a depth limit; the result is
    a plain conjunction, so an explicit stack in any order gives the same answer.  A
    member cycle (malformed input, endless in libbpf) is ``ERR_IDENTICAL_LOOP``.
    """
    cdef const uint32_t *W = w.W
    cdef int64_t sp, a, b, p1, p2, n, i, m1, m2
    cdef int64_t steps = 0
    cdef int k1
    if _reserve(&w.ist, &w.ist_cap, 2) < 0:
        return -ERR_NOMEM
    w.ist[0] = id1
    w.ist[1] = id2
    sp = 1
    while sp > 0:
        sp -= 1
        a = w.ist[2 * sp]
        b = w.ist[2 * sp + 1]
        steps += 1
        if steps > IDENTICAL_STEP_LIMIT:
            w.err_a = id1
            w.err_b = id2
            return -ERR_IDENTICAL_LOOP
        k1 = w.kinds[a]
        if not is_composite(k1) or k1 != w.kinds[b]:
            return 0
        p1 = w.ts[a]
        p2 = w.ts[b]
        if not shallow_equal_struct(W, p1, p2):
            return 0
        n = vlen_at(W, p1)
        if _reserve(&w.ist, &w.ist_cap, 2 * (sp + n)) < 0:
            return -ERR_NOMEM
        for i in range(n):
            m1 = W[p1 + 4 + 3 * i]
            m2 = W[p2 + 4 + 3 * i]
            if m1 == m2 or _identical_arrays(w, m1, m2):
                continue
            w.ist[2 * sp] = m1
            w.ist[2 * sp + 1] = m2
            sp += 1
    return 1


cdef int _hypot_fallback(Walk *w, int64_t hv, int64_t c) noexcept nogil:
    """Whether candidate ``c`` may stand where candidate ``hv`` is already hypothesised."""
    if w.fallback == FALLBACK_IDENTICAL_TYPES:
        return _identical(w, hv, c, 16)
    if _identical_arrays(w, hv, c):
        return 1
    return _identical_structs(w, hv, c)


cdef int _is_equiv(Walk *w, int64_t c0, int64_t k0) noexcept nogil:
    """libbpf ``btf_dedup_is_equiv(c0, k0)``: 1, 0, or a negated DedupErr."""
    cdef const uint32_t *W = w.W
    cdef const int64_t *ts = w.ts
    cdef const uint8_t *kinds = w.kinds
    cdef uint32_t *mp = w.mp
    cdef uint32_t *hyp = w.hyp
    cdef int64_t sp, c, k, hv, pc, pk, n, i
    cdef int ck, kk, real, fwd, r
    w.adjust = False
    if _reserve(&w.st, &w.st_cap, 2) < 0:
        return -ERR_NOMEM
    w.st[0] = c0
    w.st[1] = k0
    sp = 1
    while sp > 0:
        sp -= 1
        c = w.st[2 * sp]
        k = w.st[2 * sp + 1]
        if resolve(mp, c) == resolve(mp, k):
            continue
        k = resolve_fwd(mp, kinds, k)
        hv = hyp[k]
        if hv <= MAX_MAPPED:
            if hv == c:
                continue
            r = _hypot_fallback(w, hv, c)
            if r != 0:
                if r > 0:
                    continue
                return r
            return 0
        hyp[k] = <uint32_t>c
        w.hlist[w.hcnt] = <uint32_t>k
        w.hcnt += 1
        pc = ts[c]
        pk = ts[k]
        ck = kinds[c]
        kk = kinds[k]
        if W[pc] != W[pk]:
            return 0
        if (ck == K_FWD or kk == K_FWD) and ck != kk:
            if ck == K_FWD:
                real = kk
                fwd = K_UNION if kflag_at(W, pc) else K_STRUCT
            else:
                real = ck
                fwd = K_UNION if kflag_at(W, pk) else K_STRUCT
                if fwd == real and k < w.start_id:
                    w.adjust = True
            if fwd != real:
                return 0
            continue
        if ck != kk:
            return 0
        if ck == K_INT:
            if not equal_int_tag(W, pc, pk):
                return 0
        elif is_any_enum(ck):
            if not compat_enum(W, pc, pk, ck, kk):
                return 0
        elif ck == K_FWD or ck == K_FLOAT:
            if not equal_common(W, pc, pk):
                return 0
        elif has_one_type_ref(ck):
            if W[pc + 1] != W[pk + 1]:
                return 0
            if _reserve(&w.st, &w.st_cap, 2 * (sp + 1)) < 0:
                return -ERR_NOMEM
            w.st[2 * sp] = W[pc + 2]
            w.st[2 * sp + 1] = W[pk + 2]
            sp += 1
        elif ck == K_ARRAY:
            if not compat_array(W, pc, pk):
                return 0
            if _reserve(&w.st, &w.st_cap, 2 * (sp + 2)) < 0:
                return -ERR_NOMEM
            w.st[2 * sp] = W[pc + 3]  # element: checked second
            w.st[2 * sp + 1] = W[pk + 3]
            w.st[2 * sp + 2] = W[pc + 4]  # index: checked first
            w.st[2 * sp + 3] = W[pk + 4]
            sp += 2
        elif is_composite(ck):
            if not shallow_equal_struct(W, pc, pk):
                return 0
            n = vlen_at(W, pc)
            if _reserve(&w.st, &w.st_cap, 2 * (sp + n)) < 0:
                return -ERR_NOMEM
            for i in range(n - 1, -1, -1):
                w.st[2 * sp] = W[pc + 4 + 3 * i]
                w.st[2 * sp + 1] = W[pk + 4 + 3 * i]
                sp += 1
        elif ck == K_FUNC_PROTO:
            if not compat_fnproto(W, pc, pk):
                return 0
            n = vlen_at(W, pc)
            if _reserve(&w.st, &w.st_cap, 2 * (sp + n + 1)) < 0:
                return -ERR_NOMEM
            for i in range(n - 1, -1, -1):
                w.st[2 * sp] = W[pc + 4 + 2 * i]
                w.st[2 * sp + 1] = W[pk + 4 + 2 * i]
                sp += 1
            w.st[2 * sp] = W[pc + 2]
            w.st[2 * sp + 1] = W[pk + 2]
            sp += 1
        else:
            w.err_a = c
            w.err_b = k
            return -ERR_EQUIV_KIND
    return 1


cdef void _merge_hypot(Walk *w) noexcept nogil:
    """libbpf ``btf_dedup_merge_hypot_map``."""
    cdef uint32_t *mp = w.mp
    cdef const uint8_t *kinds = w.kinds
    cdef int64_t i, canon, t, c
    cdef int tk, ck
    for i in range(w.hcnt):
        canon = w.hlist[i]
        t = resolve(mp, w.hyp[canon])
        c = resolve(mp, canon)
        tk = kinds[t]
        ck = kinds[c]
        if tk != K_FWD and ck == K_FWD:
            mp[c] = <uint32_t>t
        if w.adjust:
            continue
        if tk == K_FWD and ck != K_FWD:
            mp[t] = <uint32_t>c
        if is_composite(tk) and ck != K_FWD and is_mapped(mp, c) and not is_mapped(mp, t):
            mp[t] = <uint32_t>c


cdef void _clear_hypot(Walk *w) noexcept nogil:
    cdef int64_t i
    for i in range(w.hcnt):
        w.hyp[w.hlist[i]] = UNPROCESSED
    w.hcnt = 0


cdef int _struct_loop(Walk *w, CandTable *t, int64_t end_id) noexcept nogil:
    """The phase's loop over split IDs: DEDUP_OK or a DedupErr (IDs in ``w.err_*``)."""
    cdef const uint32_t *W = w.W
    cdef const int64_t *ts = w.ts
    cdef uint32_t *mp = w.mp
    cdef int64_t tid, p, pc, new, cand
    cdef int k, eq
    cdef bint is_typedef
    cdef int32_t slot, node
    cdef uint64_t h
    for tid in range(w.start_id, end_id):
        if mp[tid] <= MAX_MAPPED:
            continue
        k = w.kinds[tid]
        p = ts[tid]
        if is_composite(k):
            h = record_key(W, p, k)
            is_typedef = False
        elif k == K_TYPEDEF and w.typedefs:
            h = typedef_key(W, p)
            is_typedef = True
        else:
            continue
        new = tid
        slot = table_find(t, h)
        if slot >= 0:
            node = table_first(t, slot)
            while node >= 0:
                cand = table_type_id(t, node)
                pc = ts[cand]
                if (W[p] == W[pc] and W[p + 1] == W[pc + 1]) if is_typedef else shallow_equal_struct(W, p, pc):
                    _clear_hypot(w)
                    eq = _is_equiv(w, tid, cand)
                    if eq < 0:
                        return -eq
                    if eq > 0:
                        _merge_hypot(w)
                        if not w.adjust:
                            new = cand
                            break
                node = table_next(t, slot, node)
        mp[tid] = <uint32_t>new
        if new == tid:
            if table_insert(t, h, <int32_t>tid) < 0:
                w.err_a = tid
                w.err_b = tid
                return ERR_NOMEM
    _clear_hypot(w)
    return DEDUP_OK


def composites_phase(DedupState d) -> int:
    """Map every split STRUCT/UNION, and TYPEDEF from 1.7.0 (libbpf ``btf_dedup_struct_types``).

    Fails with ``ERR_EQUIV_KIND`` (a pair IS_EQUIV cannot compare), ``ERR_IDENTICAL_LOOP``
    (IDENTICAL ran round a cycle) or ``ERR_NOMEM``.
    """
    hlist_arr = np.empty(max(d.type_cnt, 1), dtype=np.uint32)
    cdef uint32_t[::1] hlist = hlist_arr
    cdef Walk w
    w.W = d.W
    w.ts = d.ts
    w.kinds = d.kinds
    w.mp = d.mp
    w.hyp = d.hyp
    w.hlist = &hlist[0]
    w.hcnt = 0
    w.start_id = d.start_id
    w.fallback = d.identical_fallback
    w.fixed_arrays = d.fixed_arrays
    w.typedefs = d.typedef_mode != TYPEDEF_AS_REFERENCE
    w.adjust = False
    w.st = NULL
    w.st_cap = 0
    w.ist = NULL
    w.ist_cap = 0
    w.err_a = -1
    w.err_b = -1
    cdef CandTable *t = &d.table
    cdef int64_t end_id = d.type_cnt
    cdef int rc
    with nogil:
        rc = _struct_loop(&w, t, end_id)
        _clear_hypot(&w)
        free(w.st)
        free(w.ist)
    if rc != DEDUP_OK:
        return d.fail(rc, w.err_a, w.err_b)
    return DEDUP_OK
