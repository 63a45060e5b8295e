"""Phase: struct/union dedup by type-graph equivalence (libbpf v1.6, and 1.1's fallback).

Invariant established: every split STRUCT/UNION is mapped.  A struct is compared with
each candidate under its H_struct key (table order) that passes the shallow guard;
the first candidate whose graph is equivalent (IS_EQUIV) without needing a base FWD to
be re-pointed wins; otherwise the struct is canonical and enters the table.  After
every successful equivalence the hypothetical map is merged: FWDs get linked to
structs both ways (a canonical FWD, even a base one, to the candidate's struct), and
candidate-side structs whose canonical twin is already mapped are mapped early — they
are then skipped here and never enter the table.  (v1.6 leaves TYPEDEF to the
reference phase.)

IS_EQUIV is libbpf's side-by-side DFS, run with an explicit stack of (candidate,
canonical) pairs: a pair is checked when popped (pre-order) and pushes its children in
reverse so they pop in libbpf's order; the first non-equivalent pair ends the walk.
Since every libbpf frame returns the first child result <= 0 and only the hypothetical
map changes during the walk, this visits exactly the same pairs in the same order.

When the hypothetical map already holds another candidate for a canonical type, the
pair is still accepted if the two candidates are identical; which comparison decides
depends on the libbpf release (``fallback``, chosen by :mod:`btfdedup.engine.profiles`):

* ``FALLBACK_IDENTICAL_TYPES`` (v1.6): IDENTICAL, a purely structural comparison (no
  ``map``) of every kind, depth 16, not decremented through modifiers.  v1.6 reads
  both arrays' element/index IDs from the *first* array, so arrays compare only by
  header and nelems; ``fixed_arrays=False`` selects that behaviour.
* ``FALLBACK_IDENTICAL_ARRAYS_STRUCTS`` (1.1): identical ARRAY definitions (all words
  equal), else identical STRUCT/UNION definitions whose member pairs have equal IDs,
  or are identical arrays, or are (recursively, no depth limit) identical
  structs/unions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import (
    K_ARRAY,
    K_CONST,
    K_ENUM,
    K_ENUM64,
    K_FLOAT,
    K_FUNC,
    K_FUNC_PROTO,
    K_FWD,
    K_INT,
    K_PTR,
    K_RESTRICT,
    K_STRUCT,
    K_TYPE_TAG,
    K_TYPEDEF,
    K_UNION,
    K_VOID,
    K_VOLATILE,
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
from btfdedup.engine.hashing import record_key
from btfdedup.engine.table import grow_rows, table_find, table_first, table_insert, table_next

#: error codes written to ``err[0]``
ERR_NONE = 0
ERR_EQUIV_KIND = 1  # VAR / DATASEC / DECL_TAG / unknown kind reached inside IS_EQUIV
ERR_IDENTICAL_LOOP = 2  # IDENTICAL walked a modifier cycle (libbpf would not terminate)

#: IS_EQUIV's fallback comparison for an already hypothesised canonical type
FALLBACK_IDENTICAL_ARRAYS_STRUCTS = 0  # libbpf 1.1: identical arrays, then identical structs/unions
FALLBACK_IDENTICAL_TYPES = 1  # libbpf 1.6: the generic depth-16 IDENTICAL walk

_IDENTICAL_STEP_LIMIT = 1 << 26


@njit(cache=True, nogil=True)
def _is_modifier(k):  # type: ignore[no-untyped-def]
    return (k == K_CONST or k == K_VOLATILE or k == K_RESTRICT or k == K_PTR or k == K_TYPEDEF
            or k == K_FUNC or k == K_TYPE_TAG)


@njit(cache=True, nogil=True)
def identical(W, ts, kinds, id1, id2, depth, fixed_arrays, err):  # type: ignore[no-untyped-def]
    """libbpf ``btf_dedup_identical_types(id1, id2, depth)``."""
    st = np.empty((64, 3), dtype=np.int64)
    sp = 0
    st[0, 0] = id1
    st[0, 1] = id2
    st[0, 2] = depth
    sp = 1
    steps = 0
    while sp > 0:
        sp -= 1
        a = st[sp, 0]
        b = st[sp, 1]
        d = st[sp, 2]
        while True:
            steps += 1
            if steps > _IDENTICAL_STEP_LIMIT:
                err[0] = ERR_IDENTICAL_LOOP
                err[1] = id1
                err[2] = id2
                return False
            if d <= 0:
                return False
            k1 = kinds[a]
            k2 = kinds[b]
            if k1 != k2:
                return False
            p1 = ts[a]
            p2 = ts[b]
            if k1 == K_VOID:
                break
            if k1 == K_INT:
                if not equal_int_tag(W, p1, p2):
                    return False
                break
            if k1 == K_ENUM or k1 == K_ENUM64:
                if not compat_enum(W, p1, p2, k1, k2):
                    return False
                break
            if k1 == K_FWD or k1 == K_FLOAT:
                if not equal_common(W, p1, p2):
                    return False
                break
            if _is_modifier(k1):
                if W[p1 + 1] != W[p2 + 1] or W[p1] != W[p2]:
                    return False
                a = np.int64(W[p1 + 2])
                b = np.int64(W[p2 + 2])
                continue
            if k1 == K_ARRAY:
                if not compat_array(W, p1, p2):
                    return False
                if fixed_arrays:
                    if sp + 2 > st.shape[0]:
                        st = grow_rows(st)
                    # libbpf compares the index types, then the element types
                    if W[p1 + 3] != W[p2 + 3]:
                        st[sp, 0] = W[p1 + 3]
                        st[sp, 1] = W[p2 + 3]
                        st[sp, 2] = d - 1
                        sp += 1
                    if W[p1 + 4] != W[p2 + 4]:
                        st[sp, 0] = W[p1 + 4]
                        st[sp, 1] = W[p2 + 4]
                        st[sp, 2] = d - 1
                        sp += 1
                break
            if k1 == K_STRUCT or k1 == K_UNION:
                if not shallow_equal_struct(W, p1, p2):
                    return False
                n = vlen_at(W, p1)
                while sp + n > st.shape[0]:
                    st = grow_rows(st)
                for i in range(n - 1, -1, -1):
                    m1 = W[p1 + 4 + 3 * i]
                    m2 = W[p2 + 4 + 3 * i]
                    if m1 != m2:
                        st[sp, 0] = m1
                        st[sp, 1] = m2
                        st[sp, 2] = d - 1
                        sp += 1
                break
            if k1 == K_FUNC_PROTO:
                if not compat_fnproto(W, p1, p2):
                    return False
                n = vlen_at(W, p1)
                while sp + n + 1 > st.shape[0]:
                    st = grow_rows(st)
                for i in range(n - 1, -1, -1):
                    m1 = W[p1 + 4 + 2 * i]
                    m2 = W[p2 + 4 + 2 * i]
                    if m1 != m2:
                        st[sp, 0] = m1
                        st[sp, 1] = m2
                        st[sp, 2] = d - 1
                        sp += 1
                if W[p1 + 2] != W[p2 + 2]:
                    st[sp, 0] = W[p1 + 2]
                    st[sp, 1] = W[p2 + 2]
                    st[sp, 2] = d - 1
                    sp += 1
                break
            return False
    return True


@njit(cache=True, nogil=True)
def identical_arrays(W, ts, kinds, id1, id2):  # type: ignore[no-untyped-def]
    """libbpf 1.1 ``btf_dedup_identical_arrays``: two ARRAY records equal word for word."""
    if kinds[id1] != K_ARRAY or kinds[id2] != K_ARRAY:
        return False
    return equal_array(W, ts[id1], ts[id2])


@njit(cache=True, nogil=True)
def identical_structs(W, ts, kinds, id1, id2, err):  # type: ignore[no-untyped-def]
    """libbpf 1.1 ``btf_dedup_identical_structs``.

    Both STRUCT (or both UNION) with the same shallow shape, and every member pair
    either has equal type IDs, or is a pair of identical arrays, or is itself a pair
    of identical structs/unions.  libbpf recurses without a depth limit; the result is
    a plain conjunction, so an explicit stack in any order gives the same answer.  A
    member cycle (malformed input, endless in libbpf) sets ``ERR_IDENTICAL_LOOP``.
    """
    st = np.empty((64, 2), dtype=np.int64)
    st[0, 0] = id1
    st[0, 1] = id2
    sp = 1
    steps = 0
    while sp > 0:
        sp -= 1
        a = st[sp, 0]
        b = st[sp, 1]
        steps += 1
        if steps > _IDENTICAL_STEP_LIMIT:
            err[0] = ERR_IDENTICAL_LOOP
            err[1] = id1
            err[2] = id2
            return False
        k1 = kinds[a]
        if (k1 != K_STRUCT and k1 != K_UNION) or k1 != kinds[b]:
            return False
        p1 = ts[a]
        p2 = ts[b]
        if not shallow_equal_struct(W, p1, p2):
            return False
        n = vlen_at(W, p1)
        while sp + n > st.shape[0]:
            st = grow_rows(st)
        for i in range(n):
            m1 = np.int64(W[p1 + 4 + 3 * i])
            m2 = np.int64(W[p2 + 4 + 3 * i])
            if m1 == m2 or identical_arrays(W, ts, kinds, m1, m2):
                continue
            st[sp, 0] = m1
            st[sp, 1] = m2
            sp += 1
    return True


@njit(cache=True, nogil=True)
def hypot_fallback(W, ts, kinds, hv, c, fallback, fixed_arrays, err):  # type: ignore[no-untyped-def]
    """Whether candidate ``c`` may stand where candidate ``hv`` is already hypothesised."""
    if fallback == FALLBACK_IDENTICAL_TYPES:
        return identical(W, ts, kinds, hv, c, 16, fixed_arrays, err)
    if identical_arrays(W, ts, kinds, hv, c):
        return True
    return identical_structs(W, ts, kinds, hv, c, err)


@njit(cache=True, nogil=True)
def is_equiv(W, ts, kinds, mp, hyp, hlist, hcnt, start_id, c0, k0, st, fallback, fixed_arrays, err):  # type: ignore[no-untyped-def]
    """libbpf ``btf_dedup_is_equiv(c0, k0)``.

    Returns ``(eq, hcnt, adjust_canon, st)``; eq is 1 (equivalent), 0 (not) or -1
    (fatal, details in ``err``).
    """
    adjust = False
    st[0, 0] = c0
    st[0, 1] = k0
    sp = 1
    while sp > 0:
        sp -= 1
        c = st[sp, 0]
        k = st[sp, 1]
        if resolve(mp, c) == resolve(mp, k):
            continue
        k = resolve_fwd(mp, kinds, k)
        hv = hyp[k]
        if hv <= MAX_MAPPED:
            if hv == c:
                continue
            if hypot_fallback(W, ts, kinds, np.int64(hv), c, fallback, fixed_arrays, err):
                continue
            if err[0] != ERR_NONE:
                return -1, hcnt, adjust, st
            return 0, hcnt, adjust, st
        hyp[k] = c
        hlist[hcnt] = k
        hcnt += 1
        pc = ts[c]
        pk = ts[k]
        ck = kinds[c]
        kk = kinds[k]
        if W[pc] != W[pk]:
            return 0, hcnt, adjust, st
        if (ck == K_FWD or kk == K_FWD) and ck != kk:
            if ck == K_FWD:
                real = kk
                fwd = K_UNION if kflag_at(W, pc) else K_STRUCT
            else:
                real = ck
                fwd = K_UNION if kflag_at(W, pk) else K_STRUCT
                if fwd == real and k < start_id:
                    adjust = True
            if fwd != real:
                return 0, hcnt, adjust, st
            continue
        if ck != kk:
            return 0, hcnt, adjust, st
        if ck == K_INT:
            if not equal_int_tag(W, pc, pk):
                return 0, hcnt, adjust, st
        elif ck == K_ENUM or ck == K_ENUM64:
            if not compat_enum(W, pc, pk, ck, kk):
                return 0, hcnt, adjust, st
        elif ck == K_FWD or ck == K_FLOAT:
            if not equal_common(W, pc, pk):
                return 0, hcnt, adjust, st
        elif _is_modifier(ck):
            if W[pc + 1] != W[pk + 1]:
                return 0, hcnt, adjust, st
            if sp + 1 > st.shape[0]:
                st = grow_rows(st)
            st[sp, 0] = W[pc + 2]
            st[sp, 1] = W[pk + 2]
            sp += 1
        elif ck == K_ARRAY:
            if not compat_array(W, pc, pk):
                return 0, hcnt, adjust, st
            if sp + 2 > st.shape[0]:
                st = grow_rows(st)
            st[sp, 0] = W[pc + 3]  # element: checked second
            st[sp, 1] = W[pk + 3]
            st[sp + 1, 0] = W[pc + 4]  # index: checked first
            st[sp + 1, 1] = W[pk + 4]
            sp += 2
        elif ck == K_STRUCT or ck == K_UNION:
            if not shallow_equal_struct(W, pc, pk):
                return 0, hcnt, adjust, st
            n = vlen_at(W, pc)
            while sp + n > st.shape[0]:
                st = grow_rows(st)
            for i in range(n - 1, -1, -1):
                st[sp, 0] = W[pc + 4 + 3 * i]
                st[sp, 1] = W[pk + 4 + 3 * i]
                sp += 1
        elif ck == K_FUNC_PROTO:
            if not compat_fnproto(W, pc, pk):
                return 0, hcnt, adjust, st
            n = vlen_at(W, pc)
            while sp + n + 1 > st.shape[0]:
                st = grow_rows(st)
            for i in range(n - 1, -1, -1):
                st[sp, 0] = W[pc + 4 + 2 * i]
                st[sp, 1] = W[pk + 4 + 2 * i]
                sp += 1
            st[sp, 0] = W[pc + 2]
            st[sp, 1] = W[pk + 2]
            sp += 1
        else:
            err[0] = ERR_EQUIV_KIND
            err[1] = c
            err[2] = k
            return -1, hcnt, adjust, st
    return 1, hcnt, adjust, st


@njit(cache=True, nogil=True)
def merge_hypot(kinds, mp, hyp, hlist, hcnt, adjust):  # type: ignore[no-untyped-def]
    """libbpf ``btf_dedup_merge_hypot_map``."""
    for i in range(hcnt):
        canon = hlist[i]
        t = resolve(mp, np.int64(hyp[canon]))
        c = resolve(mp, np.int64(canon))
        tk = kinds[t]
        ck = kinds[c]
        if tk != K_FWD and ck == K_FWD:
            mp[c] = t
        if adjust:
            continue
        if tk == K_FWD and ck != K_FWD:
            mp[t] = c
        if (tk == K_STRUCT or tk == K_UNION) and ck != K_FWD and is_mapped(mp, c) and not is_mapped(mp, t):
            mp[t] = c


@njit(cache=True, nogil=True)
def struct_phase(W, ts, kinds, mp, hyp, start_id, end_id, tkeys, tslot, slots, nodes, meta,
                 fallback, fixed_arrays, err):  # type: ignore[no-untyped-def]
    """Returns ``(rc, tkeys, tslot, slots, nodes)``: rc 0 on success, -1 on a fatal
    error (``err`` says which)."""
    hlist = np.empty(max(mp.shape[0], 1), dtype=np.int64)
    hcnt = 0
    st = np.empty((1024, 2), dtype=np.int64)
    for tid in range(start_id, end_id):
        if mp[tid] <= MAX_MAPPED:
            continue
        k = kinds[tid]
        if k != K_STRUCT and k != K_UNION:
            continue
        p = ts[tid]
        h = record_key(W, p, k)
        new = tid
        slot = table_find(tkeys, tslot, meta, h)
        if slot >= 0:
            node = table_first(slots, meta, slot)
            while node >= 0:
                cand = nodes[node, 0]
                if shallow_equal_struct(W, p, ts[cand]):
                    for i in range(hcnt):
                        hyp[hlist[i]] = UNPROCESSED
                    hcnt = 0
                    eq, hcnt, adjust, st = is_equiv(W, ts, kinds, mp, hyp, hlist, hcnt, start_id, tid,
                                                    np.int64(cand), st, fallback, fixed_arrays, err)
                    if eq < 0:
                        return -1, tkeys, tslot, slots, nodes
                    if eq > 0:
                        merge_hypot(kinds, mp, hyp, hlist, hcnt, adjust)
                        if not adjust:
                            new = cand
                            break
                node = table_next(nodes, slots, slot, node)
        mp[tid] = new
        if new == tid:
            tkeys, tslot, slots, nodes = table_insert(tkeys, tslot, slots, nodes, meta, h, np.int32(tid))
    for i in range(hcnt):
        hyp[hlist[i]] = UNPROCESSED
    return 0, tkeys, tslot, slots, nodes
