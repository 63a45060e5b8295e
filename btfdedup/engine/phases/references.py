"""Phase: reference types (PTR, CONST, VOLATILE, RESTRICT, TYPEDEF, FUNC, TYPE_TAG,
DECL_TAG, ARRAY, FUNC_PROTO) — libbpf v1.6 ``btf_dedup_ref_types``.

Invariant established: every split type is mapped, and every reference type's ID
fields hold resolved (canonical) IDs.  REF(id) is a depth-first post-order walk: an
unmapped type is marked IN_PROGRESS, its referenced types are REF'd in field order
(ARRAY: element then index; FUNC_PROTO: return then params) and each result is
written back into the record, then its key is computed over the rewritten record and
the first exactly-equal candidate wins, else it is canonical and enters the table.
Reaching an IN_PROGRESS type again is a reference cycle not broken by a struct/union
(-ELOOP in libbpf).  In v1.6 TYPEDEF is a reference type here (key H_common over name,
info and the resolved target).

The recursion runs on an explicit stack of (type ID, next field) frames, which keeps
libbpf's visiting order without depending on the native stack depth.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import (
    IN_PROGRESS,
    K_ARRAY,
    K_CONST,
    K_DECL_TAG,
    K_FUNC,
    K_FUNC_PROTO,
    K_PTR,
    K_RESTRICT,
    K_TYPE_TAG,
    K_TYPEDEF,
    K_VOLATILE,
    MAX_MAPPED,
    combine,
    equal_array,
    equal_common,
    equal_fnproto,
    equal_int_tag,
    resolve,
    vlen_at,
)
from btfdedup.engine.table import table_find, table_first, table_insert, table_next

ERR_NONE = 0
ERR_LOOP = 1  # -ELOOP: reference cycle
ERR_KIND = 2  # -EINVAL: a kind the reference phase cannot handle


@njit(cache=True, nogil=True)
def _nfields(W, p, k):  # type: ignore[no-untyped-def]
    if k == K_ARRAY:
        return 2
    if k == K_FUNC_PROTO:
        return 1 + vlen_at(W, p)
    return 1


@njit(cache=True, nogil=True)
def _field_pos(p, k, j):  # type: ignore[no-untyped-def]
    if k == K_ARRAY:
        return p + 3 + j  # element, then index
    if k == K_FUNC_PROTO:
        if j == 0:
            return p + 2
        return p + 2 + 2 * j  # param j-1 type at p + 3 + 2*(j-1) + 1
    return p + 2


@njit(cache=True, nogil=True)
def _is_ref_kind(k):  # type: ignore[no-untyped-def]
    return (k == K_CONST or k == K_VOLATILE or k == K_RESTRICT or k == K_PTR or k == K_TYPEDEF
            or k == K_FUNC or k == K_TYPE_TAG or k == K_DECL_TAG or k == K_ARRAY or k == K_FUNC_PROTO)


@njit(cache=True, nogil=True)
def _finish(W, ts, kinds, tid, tkeys, tslot, slots, nodes, meta):  # type: ignore[no-untyped-def]
    """Key and candidate walk of a type whose fields are all rewritten."""
    p = ts[tid]
    k = kinds[tid]
    h = combine(combine(combine(np.uint64(0), W[p]), W[p + 1]), W[p + 2])
    if k == K_DECL_TAG:
        h = combine(h, W[p + 3])
    elif k == K_ARRAY:
        h = combine(combine(combine(h, W[p + 3]), W[p + 4]), W[p + 5])
    elif k == K_FUNC_PROTO:
        n = vlen_at(W, p)
        for i in range(n):
            h = combine(combine(h, W[p + 3 + 2 * i]), W[p + 4 + 2 * i])
    new = tid
    slot = table_find(tkeys, tslot, meta, h)
    if slot >= 0:
        node = table_first(slots, meta, slot)
        while node >= 0:
            cand = nodes[node, 0]
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
                new = cand
                break
            node = table_next(nodes, slots, slot, node)
    return new, h


@njit(cache=True, nogil=True)
def ref_phase(W, ts, kinds, mp, start_id, end_id, tkeys, tslot, slots, nodes, meta, err):  # type: ignore[no-untyped-def]
    """Returns ``(rc, tkeys, tslot, slots, nodes)``: rc 0 on success, -1 on a fatal
    error (``err`` = code, type ID, referrer)."""
    st = np.empty((1024, 2), dtype=np.int64)  # (type ID, next field index)
    for root in range(start_id, end_id):
        if mp[root] == IN_PROGRESS:
            err[0] = ERR_LOOP
            err[1] = root
            err[2] = root
            return -1, tkeys, tslot, slots, nodes
        if mp[root] <= MAX_MAPPED:
            continue
        k = kinds[root]
        if not _is_ref_kind(k):
            err[0] = ERR_KIND
            err[1] = root
            err[2] = root
            return -1, tkeys, tslot, slots, nodes
        mp[root] = IN_PROGRESS
        st[0, 0] = root
        st[0, 1] = 0
        sp = 1
        while sp > 0:
            tid = st[sp - 1, 0]
            j = st[sp - 1, 1]
            p = ts[tid]
            k = kinds[tid]
            if j < _nfields(W, p, k):
                q = _field_pos(p, k, j)
                child = np.int64(W[q])
                m = mp[child]
                if m == IN_PROGRESS:
                    err[0] = ERR_LOOP
                    err[1] = child
                    err[2] = tid
                    return -1, tkeys, tslot, slots, nodes
                if m <= MAX_MAPPED:
                    W[q] = resolve(mp, child)
                    st[sp - 1, 1] = j + 1
                    continue
                ck = kinds[child]
                if not _is_ref_kind(ck):
                    err[0] = ERR_KIND
                    err[1] = child
                    err[2] = tid
                    return -1, tkeys, tslot, slots, nodes
                mp[child] = IN_PROGRESS
                if sp == st.shape[0]:
                    nst = np.empty((sp * 2, 2), dtype=np.int64)
                    for r in range(sp):
                        nst[r, 0] = st[r, 0]
                        nst[r, 1] = st[r, 1]
                    st = nst
                st[sp, 0] = child
                st[sp, 1] = 0
                sp += 1
                continue
            new, h = _finish(W, ts, kinds, tid, tkeys, tslot, slots, nodes, meta)
            mp[tid] = new
            if new == tid:
                tkeys, tslot, slots, nodes = table_insert(tkeys, tslot, slots, nodes, meta, h, np.int32(tid))
            sp -= 1
            if sp > 0:
                ptid = st[sp - 1, 0]
                pj = st[sp - 1, 1]
                W[_field_pos(ts[ptid], kinds[ptid], pj)] = new
                st[sp - 1, 1] = pj + 1
    return 0, tkeys, tslot, slots, nodes
