# mypy: disable-error-code="arg-type, assignment, return-value"
# (numba kernels: numpy int64 scalars flow where the signatures say int; numba types them itself)
"""Pass 2 of the kernel verifier (``btf_check_all_types``): the resolution DFS, ported rule for rule.

Every type that refers to others is resolved depth first with an explicit
stack of at most 32 vertices (``MAX_RESOLVE_DEPTH``); a vertex met again while
on the stack is a loop, except through pointers, which end a by-value chain.
Along the way each struct/union member is checked against its resolved type
(``check_member``/``check_kflag_member``), arrays against their index and
element types, DATASEC entries against their VARs, DECL_TAGs against their
targets, and finally every FUNC_PROTO's return and parameter types
(``btf_func_proto_check``).

The kernel stops at the first error.  We record it, undo the half-finished
DFS (vertices still VISITED go back to NOT_VISITED) and continue with the next
type, so every broken type is reported; the first record is the kernel's.

Arrays are indexed by global type ID; ID 0 is void (kind 0) and any ID >= n is
"no such type" (the kernel's NULL).  Arithmetic that the kernel does in u32 is
masked to 32 bits.
"""

from __future__ import annotations

import errno as errno_mod

import numba
import numpy as np

# kinds
INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(1, 12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)

MAX_RESOLVE_DEPTH = 32
NOT_VISITED, VISITED, RESOLVED = 0, 1, 2
MODE_TBD, MODE_PTR, MODE_STRUCT_OR_ARRAY = 0, 1, 2
M32 = 0xFFFFFFFF

EINVAL = errno_mod.EINVAL
E2BIG = errno_mod.E2BIG
EEXIST = errno_mod.EEXIST

# reason codes (index into REASONS)
R_TYPE_ID = 1
R_INDEX = 2
R_ELEM = 3
R_ARRAY_OF_INT = 4
R_ARRAY_OVERFLOW = 5
R_MEMBER = 6
R_BITS_OFFSET_U32 = 7
R_NR_COPY_BITS = 8
R_EXCEEDS = 9
R_BASE_TYPE = 10
R_MEMBER_OFFSET = 11
R_BITFIELD = 12
R_NOT_BYTE_ALIGNED = 13
R_NOT_ALIGNED = 14
R_UNSUPPORTED_MEMBER = 15
R_UNSUPPORTED_KFLAG_MEMBER = 16
R_UNSUPPORTED_RESOLVE = 17
R_NOT_VAR = 18
R_VSI_TYPE = 19
R_VSI_SIZE = 20
R_COMPONENT_IDX = 21
R_RETURN_TYPE = 22
R_ARG = 23
R_DEPTH = 24
R_LOOP = 25
R_RESOLVE_STATE = 26
R_INTERNAL = 27

REASONS = {
    R_TYPE_ID: "Invalid type_id",
    R_INDEX: "Invalid index",
    R_ELEM: "Invalid elem",
    R_ARRAY_OF_INT: "Invalid array of int",
    R_ARRAY_OVERFLOW: "Array size overflows U32_MAX",
    R_MEMBER: "Invalid member",
    R_BITS_OFFSET_U32: "bits_offset exceeds U32_MAX",
    R_NR_COPY_BITS: "nr_copy_bits exceeds 128",
    R_EXCEEDS: "Member exceeds struct_size",
    R_BASE_TYPE: "Invalid member base type",
    R_MEMBER_OFFSET: "Invalid member offset",
    R_BITFIELD: "Invalid member bitfield_size",
    R_NOT_BYTE_ALIGNED: "Member is not byte aligned",
    R_NOT_ALIGNED: "Member is not properly aligned",
    R_UNSUPPORTED_MEMBER: "Unsupported check_member",
    R_UNSUPPORTED_KFLAG_MEMBER: "Unsupported check_kflag_member",
    R_UNSUPPORTED_RESOLVE: "Unsupported resolve",
    R_NOT_VAR: "Not a VAR kind member",
    R_VSI_TYPE: "Invalid type",
    R_VSI_SIZE: "Invalid size",
    R_COMPONENT_IDX: "Invalid component_idx",
    R_RETURN_TYPE: "Invalid return type",
    R_ARG: "Invalid arg#{}",
    R_DEPTH: f"Exceeded max resolving depth:{MAX_RESOLVE_DEPTH}",
    R_LOOP: "Loop detected",
    R_RESOLVE_STATE: "Invalid resolve state",
    R_INTERNAL: "member type not resolved (kernel WARN, no log line)",
}
#: Reasons whose ``extra`` is a member / DATASEC entry index (the rest: arg number or unused).
MEMBER_REASONS = frozenset(range(R_MEMBER, R_UNSUPPORTED_KFLAG_MEMBER + 1)) - {
    R_UNSUPPORTED_MEMBER,
    R_UNSUPPORTED_KFLAG_MEMBER,
}
ENTRY_REASONS = frozenset({R_NOT_VAR, R_VSI_TYPE, R_VSI_SIZE})


@numba.njit(cache=True)
def _is_modifier(k: int) -> bool:
    return k == TYPEDEF or k == VOLATILE or k == CONST or k == RESTRICT or k == TYPE_TAG


@numba.njit(cache=True)
def _is_struct(k: int) -> bool:
    return k == STRUCT or k == UNION


@numba.njit(cache=True)
def _needs_resolve(k: int) -> bool:
    return (
        _is_modifier(k)
        or k == PTR
        or _is_struct(k)
        or k == ARRAY
        or k == VAR
        or k == FUNC
        or k == DECL_TAG
        or k == DATASEC
    )


@numba.njit(cache=True)
def _has_size(k: int) -> bool:
    return k == INT or k == STRUCT or k == UNION or k == ENUM or k == DATASEC or k == FLOAT or k == ENUM64


@numba.njit(cache=True)
def _source_only(k: int) -> bool:
    return k == VAR or k == DECL_TAG or k == DATASEC


@numba.njit(cache=True)
def _nosize_or_null(tid: int, kind: np.ndarray) -> bool:
    if tid >= len(kind):
        return True
    k = kind[tid]
    return tid == 0 or k == FWD or k == FUNC or k == FUNC_PROTO or k == DECL_TAG


@numba.njit(cache=True)
def _type_id_size(
    tid: int, kind: np.ndarray, st: np.ndarray, rids: np.ndarray, rsizes: np.ndarray
) -> tuple[bool, int, int]:
    """``btf_type_id_size``: (ok, resolved id, size)."""
    if _nosize_or_null(tid, kind):
        return False, tid, 0
    k = kind[tid]
    if _has_size(k):
        return True, tid, st[tid]
    if k == ARRAY:
        return True, tid, rsizes[tid]
    if k == PTR:
        return True, tid, 8
    if not (_is_modifier(k) or k == VAR):
        return False, tid, 0
    t2 = rids[tid]
    if _nosize_or_null(t2, kind):
        return False, tid, 0
    k2 = kind[t2]
    if _has_size(k2):
        return True, t2, st[t2]
    if k2 == ARRAY:
        return True, t2, rsizes[t2]
    if k2 == PTR:
        return True, t2, 8
    return False, tid, 0


@numba.njit(cache=True)
def _is_sink(mode: int, k: int) -> bool:
    if mode == MODE_TBD:
        return not _needs_resolve(k)
    if mode == MODE_PTR:
        return not _is_modifier(k) and k != PTR
    return not _is_modifier(k) and k != ARRAY and not _is_struct(k)


@numba.njit(cache=True)
def _int_regular(tid: int, words: np.ndarray, tstart: np.ndarray) -> bool:
    data = np.int64(words[tstart[tid] + 3])
    bits = data & 0xFF
    nbytes = (bits >> 3) + (1 if bits & 7 else 0)
    return (
        (bits & 7) == 0
        and ((data >> 16) & 0xFF) == 0
        and (nbytes == 1 or nbytes == 2 or nbytes == 4 or nbytes == 8 or nbytes == 16)
    )


@numba.njit(cache=True)
def _roundup(bits: int) -> int:
    return (bits >> 3) + (1 if bits & 7 else 0)


@numba.njit(cache=True)
def _check_member(
    s: int,
    moff: int,
    mt: int,
    kflag: bool,
    kind: np.ndarray,
    st: np.ndarray,
    words: np.ndarray,
    tstart: np.ndarray,
    rids: np.ndarray,
    rsizes: np.ndarray,
) -> int:
    """``check_member``/``check_kflag_member`` of member type ``mt`` in struct ``s``: 0 or a reason code."""
    ssize = st[s]
    for _ in range(3):
        k = kind[mt]
        if _is_modifier(k):
            ok, rid, _sz = _type_id_size(mt, kind, st, rids, rsizes)
            if not ok:
                return R_MEMBER
            mt = rid
            continue
        if k == INT:
            data = np.int64(words[tstart[mt] + 3])
            ibits = data & 0xFF
            ioff = (data >> 16) & 0xFF
            if not kflag:
                if M32 - moff < ioff:
                    return R_BITS_OFFSET_U32
                off = moff + ioff
                nbytes = off >> 3
                ncb = ibits + (off & 7)
                if ncb > 128:
                    return R_NR_COPY_BITS
                if ssize < nbytes or ssize - nbytes < _roundup(ncb):
                    return R_EXCEEDS
                return 0
            if not _int_regular(mt, words, tstart):
                return R_BASE_TYPE
            nb = moff >> 24
            bo = moff & 0xFFFFFF
            if nb == 0:
                if bo & 7:
                    return R_MEMBER_OFFSET
                nb = ibits
            elif nb > ibits:
                return R_BITFIELD
            nbytes = bo >> 3
            ncb = nb + (bo & 7)
            if ncb > 128:
                return R_NR_COPY_BITS
            if ssize < nbytes or ssize - nbytes < _roundup(ncb):
                return R_EXCEEDS
            return 0
        if k == ENUM or k == ENUM64:
            if not kflag:
                if moff & 7:
                    return R_NOT_BYTE_ALIGNED
                if ((ssize - (moff >> 3)) & M32) < st[mt]:
                    return R_EXCEEDS
                return 0
            bo = moff & 0xFFFFFF
            nb = moff >> 24
            if nb == 0:
                if bo & 7:
                    return R_NOT_BYTE_ALIGNED
                nb = 32
            elif nb > 32:
                return R_BITFIELD
            if ssize < _roundup(bo + nb):
                return R_EXCEEDS
            return 0
        if k == PTR or k == ARRAY or _is_struct(k) or k == FLOAT:
            if kflag and (moff >> 24) != 0:
                return R_BITFIELD
            if k == FLOAT:
                fsize = st[mt]
                align_bits = min(8, fsize) * 8
                if align_bits == 0 or moff % align_bits:
                    return R_NOT_ALIGNED
                if (moff // 8) + fsize > ssize:
                    return R_EXCEEDS
                return 0
            if moff & 7:
                return R_NOT_BYTE_ALIGNED
            if k == PTR:
                need = 8
            elif k == ARRAY:
                need = rsizes[mt]
            else:
                need = st[mt]
            if ((ssize - (moff >> 3)) & M32) < need:
                return R_EXCEEDS
            return 0
        return R_UNSUPPORTED_KFLAG_MEMBER if kflag else R_UNSUPPORTED_MEMBER
    return R_MEMBER


@numba.njit(cache=True)
def resolve_all(
    kind: np.ndarray,
    info: np.ndarray,
    st: np.ndarray,
    words: np.ndarray,
    tstart: np.ndarray,
    param_name_bad: np.ndarray,
    stop_at_first: bool,
) -> np.ndarray:
    """Run ``btf_check_all_types`` over IDs 1..n-1; rows (log type id, reason, extra, errno)."""
    n = len(kind)
    visit = np.zeros(n, dtype=np.uint8)
    rids = np.zeros(n, dtype=np.int64)
    rsizes = np.zeros(n, dtype=np.int64)
    stack = np.zeros(MAX_RESOLVE_DEPTH, dtype=np.int64)
    nextm = np.zeros(MAX_RESOLVE_DEPTH, dtype=np.int64)
    out = np.zeros((2 * n + 16, 4), dtype=np.int64)
    cnt = 0
    # DFS state shared by the helpers: [stack top, resolve mode]
    env = np.zeros(2, dtype=np.int64)
    for tid in range(1, n):
        k = kind[tid]
        if _needs_resolve(k) and visit[tid] != RESOLVED:
            err, lid, code, extra = _btf_resolve(
                tid, kind, info, st, words, tstart, visit, rids, rsizes, stack, nextm, env
            )
            if err != 0:
                out[cnt, 0] = lid
                out[cnt, 1] = code
                out[cnt, 2] = extra
                out[cnt, 3] = err
                cnt += 1
                _cleanup(visit, stack, env)
                if stop_at_first:
                    return out[:cnt]
                continue
        if k == FUNC_PROTO:
            err, lid, code, extra = _func_proto_check(
                tid, kind, info, st, words, tstart, visit, rids, rsizes, stack, nextm, env, param_name_bad
            )
            if err != 0:
                out[cnt, 0] = lid
                out[cnt, 1] = code
                out[cnt, 2] = extra
                out[cnt, 3] = err
                cnt += 1
                _cleanup(visit, stack, env)
                if stop_at_first:
                    return out[:cnt]
    return out[:cnt]


@numba.njit(cache=True)
def _cleanup(visit: np.ndarray, stack: np.ndarray, env: np.ndarray) -> None:
    for i in range(env[0]):
        if visit[stack[i]] == VISITED:
            visit[stack[i]] = NOT_VISITED
    env[0] = 0


@numba.njit(cache=True)
def _push(tid: int, kind: np.ndarray, visit: np.ndarray, stack: np.ndarray, nextm: np.ndarray, env: np.ndarray) -> int:
    if env[0] == MAX_RESOLVE_DEPTH:
        return E2BIG
    if visit[tid] != NOT_VISITED:
        return EEXIST
    visit[tid] = VISITED
    stack[env[0]] = tid
    nextm[env[0]] = 0
    env[0] += 1
    if env[1] == MODE_TBD:
        k = kind[tid]
        if k == PTR:
            env[1] = MODE_PTR
        elif _is_struct(k) or k == ARRAY:
            env[1] = MODE_STRUCT_OR_ARRAY
    return 0


@numba.njit(cache=True)
def _pop(
    rid: int, rsize: int, visit: np.ndarray, rids: np.ndarray, rsizes: np.ndarray, stack: np.ndarray, env: np.ndarray
) -> None:
    env[0] -= 1
    tid = stack[env[0]]
    rsizes[tid] = rsize & M32
    rids[tid] = rid
    visit[tid] = RESOLVED


@numba.njit(cache=True)
def _btf_resolve(
    root: int,
    kind: np.ndarray,
    info: np.ndarray,
    st: np.ndarray,
    words: np.ndarray,
    tstart: np.ndarray,
    visit: np.ndarray,
    rids: np.ndarray,
    rsizes: np.ndarray,
    stack: np.ndarray,
    nextm: np.ndarray,
    env: np.ndarray,
) -> tuple[int, int, int, int]:
    """``btf_resolve``: (errno, log type id, reason, extra)."""
    n = len(kind)
    env[1] = MODE_TBD
    _push(root, kind, visit, stack, nextm, env)
    err = 0
    lid = root
    code = 0
    extra = -1
    while err == 0 and env[0] > 0:
        top = env[0] - 1
        v = stack[top]
        lid = v
        k = kind[v]
        p = tstart[v]
        mode = env[1]
        if _is_modifier(k) or k == PTR or k == VAR:
            nid = st[v]
            if nid >= n or _source_only(kind[nid]):
                err, code = EINVAL, R_TYPE_ID
                break
            if not _is_sink(mode, kind[nid]) and visit[nid] != RESOLVED:
                err = _push(nid, kind, visit, stack, nextm, env)
                continue
            if (k == PTR or k == VAR) and _is_modifier(kind[nid]):
                rid = rids[nid]
                if kind[rid] == PTR and not _is_sink(mode, PTR) and visit[rid] != RESOLVED:
                    err = _push(rid, kind, visit, stack, nextm, env)
                    continue
            ok, rid, _sz = _type_id_size(nid, kind, st, rids, rsizes)
            if ok:
                _pop(rid, 0, visit, rids, rsizes, stack, env)
                continue
            if k == VAR:
                err, code = EINVAL, R_TYPE_ID
                break
            nt = nid
            if visit[nid] == RESOLVED:
                nt = rids[nid]
            if not (nt == 0 or kind[nt] == FWD or kind[nt] == FUNC_PROTO):
                err, code = EINVAL, R_TYPE_ID
                break
            _pop(nt, 0, visit, rids, rsizes, stack, env)
        elif k == ARRAY:
            elem = np.int64(words[p + 3])
            index = np.int64(words[p + 4])
            nelems = np.int64(words[p + 5])
            if _nosize_or_null(index, kind) or _source_only(kind[index]):
                err, code = EINVAL, R_INDEX
                break
            if not _is_sink(mode, kind[index]) and visit[index] != RESOLVED:
                err = _push(index, kind, visit, stack, nextm, env)
                continue
            ok, rid, _sz = _type_id_size(index, kind, st, rids, rsizes)
            if not ok or kind[rid] != INT or not _int_regular(rid, words, tstart):
                err, code = EINVAL, R_INDEX
                break
            if _nosize_or_null(elem, kind) or _source_only(kind[elem]):
                err, code = EINVAL, R_ELEM
                break
            if not _is_sink(mode, kind[elem]) and visit[elem] != RESOLVED:
                err = _push(elem, kind, visit, stack, nextm, env)
                continue
            ok, rid, esize = _type_id_size(elem, kind, st, rids, rsizes)
            if not ok:
                err, code = EINVAL, R_ELEM
                break
            if kind[rid] == INT and not _int_regular(rid, words, tstart):
                err, code = EINVAL, R_ARRAY_OF_INT
                break
            if nelems != 0 and esize > M32 // nelems:
                err, code = EINVAL, R_ARRAY_OVERFLOW
                break
            _pop(rid, esize * nelems, visit, rids, rsizes, stack, env)
        elif _is_struct(k):
            vlen = np.int64(info[v]) & 0xFFFF
            kflag = ((np.int64(info[v]) >> 31) & 1) == 1
            nm = nextm[top]
            if nm > 0:
                m = nm - 1
                mt = np.int64(words[p + 3 + 3 * m + 1])
                if visit[mt] != RESOLVED:
                    err, code = EINVAL, R_INTERNAL
                    break
                c = _check_member(
                    v, np.int64(words[p + 3 + 3 * m + 2]), mt, kflag, kind, st, words, tstart, rids, rsizes
                )
                if c:
                    err, code, extra = EINVAL, c, m
                    break
            pushed = False
            for i in range(nm, vlen):
                mt = np.int64(words[p + 3 + 3 * i + 1])
                if _nosize_or_null(mt, kind) or _source_only(kind[mt]):
                    err, code, extra = EINVAL, R_MEMBER, i
                    break
                if not _is_sink(mode, kind[mt]) and visit[mt] != RESOLVED:
                    nextm[top] = i + 1
                    err = _push(mt, kind, visit, stack, nextm, env)
                    pushed = True
                    break
                c = _check_member(
                    v, np.int64(words[p + 3 + 3 * i + 2]), mt, kflag, kind, st, words, tstart, rids, rsizes
                )
                if c:
                    err, code, extra = EINVAL, c, i
                    break
            if err != 0 and not pushed:
                break
            if pushed:
                continue
            _pop(0, 0, visit, rids, rsizes, stack, env)
        elif k == DATASEC:
            env[1] = MODE_TBD
            vlen = np.int64(info[v]) & 0xFFFF
            pushed = False
            for i in range(nextm[top], vlen):
                vt = np.int64(words[p + 3 + 3 * i])
                if vt >= n or kind[vt] != VAR:
                    err, code, extra = EINVAL, R_NOT_VAR, i
                    break
                if not _is_sink(MODE_TBD, VAR) and visit[vt] != RESOLVED:
                    nextm[top] = i + 1
                    err = _push(vt, kind, visit, stack, nextm, env)
                    pushed = True
                    break
                ok, _rid, tsize = _type_id_size(st[vt], kind, st, rids, rsizes)
                if not ok:
                    err, code, extra = EINVAL, R_VSI_TYPE, i
                    break
                if np.int64(words[p + 3 + 3 * i + 2]) < tsize:
                    err, code, extra = EINVAL, R_VSI_SIZE, i
                    break
            if err != 0 and not pushed:
                break
            if pushed:
                continue
            _pop(0, 0, visit, rids, rsizes, stack, env)
        elif k == DECL_TAG:
            nid = st[v]
            if nid >= n or not (kind[nid] == FUNC or _is_struct(kind[nid]) or kind[nid] == VAR or kind[nid] == TYPEDEF):
                err, code = EINVAL, R_TYPE_ID
                break
            if not _is_sink(mode, kind[nid]) and visit[nid] != RESOLVED:
                err = _push(nid, kind, visit, stack, nextm, env)
                continue
            cw = np.int64(words[p + 3])
            if cw != M32:
                nk = kind[nid]
                if nk == VAR or nk == TYPEDEF:
                    err, code = EINVAL, R_COMPONENT_IDX
                    break
                if _is_struct(nk):
                    vl = np.int64(info[nid]) & 0xFFFF
                else:
                    proto = st[nid]
                    vl = (np.int64(info[proto]) & 0xFFFF) if proto < n else 0
                if cw >= vl:
                    err, code = EINVAL, R_COMPONENT_IDX
                    break
            _pop(nid, 0, visit, rids, rsizes, stack, env)
        elif k == FUNC:
            proto = st[v]
            if proto >= n or kind[proto] != FUNC_PROTO:
                err, code = EINVAL, R_TYPE_ID
                break
            pp = tstart[proto]
            nargs = np.int64(info[proto]) & 0xFFFF
            bad = -1
            for i in range(nargs):
                if words[pp + 3 + 2 * i] == 0 and words[pp + 3 + 2 * i + 1] != 0:
                    bad = i
                    break
            if bad >= 0:
                err, code, extra = EINVAL, R_ARG, bad + 1
                break
            _pop(st[v], 0, visit, rids, rsizes, stack, env)
        else:
            err, code = EINVAL, R_UNSUPPORTED_RESOLVE
            break
    if err == E2BIG:
        return err, root, R_DEPTH, -1
    if err == EEXIST:
        return err, root, R_LOOP, -1
    if err != 0:
        return err, lid, code, extra
    if not _resolve_valid(root, kind, st, words, tstart, visit, rids, rsizes):
        return EINVAL, root, R_RESOLVE_STATE, -1
    return 0, root, 0, -1


@numba.njit(cache=True)
def _resolve_valid(
    tid: int,
    kind: np.ndarray,
    st: np.ndarray,
    words: np.ndarray,
    tstart: np.ndarray,
    visit: np.ndarray,
    rids: np.ndarray,
    rsizes: np.ndarray,
) -> bool:
    if visit[tid] != RESOLVED:
        return False
    k = kind[tid]
    if _is_struct(k) or k == DATASEC:
        return rids[tid] == 0 and rsizes[tid] == 0
    if k == DECL_TAG or k == FUNC:
        return rids[tid] != 0 and rsizes[tid] == 0
    if _is_modifier(k) or k == PTR or k == VAR:
        t2 = rids[tid]
        if t2 >= len(kind):
            return False
        k2 = kind[t2]
        return not _is_modifier(k2) and k2 != VAR and k2 != DATASEC
    if k == ARRAY:
        p = tstart[tid]
        ok, rid, esize = _type_id_size(np.int64(words[p + 3]), kind, st, rids, rsizes)
        return ok and not _is_modifier(kind[rid]) and ((np.int64(words[p + 5]) * esize) & M32) == rsizes[tid]
    return False


@numba.njit(cache=True)
def _func_proto_check(
    fp: int,
    kind: np.ndarray,
    info: np.ndarray,
    st: np.ndarray,
    words: np.ndarray,
    tstart: np.ndarray,
    visit: np.ndarray,
    rids: np.ndarray,
    rsizes: np.ndarray,
    stack: np.ndarray,
    nextm: np.ndarray,
    env: np.ndarray,
    param_name_bad: np.ndarray,
) -> tuple[int, int, int, int]:
    """``btf_func_proto_check``: (errno, log type id, reason, extra)."""
    n = len(kind)
    ret = st[fp]
    if ret != 0:
        if ret >= n or _source_only(kind[ret]):
            return EINVAL, fp, R_RETURN_TYPE, -1
        if _needs_resolve(kind[ret]) and visit[ret] != RESOLVED:
            err, lid, code, extra = _btf_resolve(
                ret, kind, info, st, words, tstart, visit, rids, rsizes, stack, nextm, env
            )
            if err != 0:
                return err, lid, code, extra
        ok, _r, _s = _type_id_size(ret, kind, st, rids, rsizes)
        if not ok:
            return EINVAL, fp, R_RETURN_TYPE, -1
    p = tstart[fp]
    nargs = np.int64(info[fp]) & 0xFFFF
    if nargs == 0:
        return 0, fp, 0, -1
    last = p + 3 + 2 * (nargs - 1)
    if words[last + 1] == 0:
        if words[last] != 0:
            return EINVAL, fp, R_ARG, nargs
        nargs -= 1
    for i in range(nargs):
        q = p + 3 + 2 * i
        at = np.int64(words[q + 1])
        if at >= n or _source_only(kind[at]):
            return EINVAL, fp, R_ARG, i + 1
        if param_name_bad[q]:
            return EINVAL, fp, R_ARG, i + 1
        if _needs_resolve(kind[at]) and visit[at] != RESOLVED:
            err, lid, code, extra = _btf_resolve(
                at, kind, info, st, words, tstart, visit, rids, rsizes, stack, nextm, env
            )
            if err != 0:
                return err, lid, code, extra
        ok, _r, _s = _type_id_size(at, kind, st, rids, rsizes)
        if not ok:
            return EINVAL, fp, R_ARG, i + 1
    return 0, fp, 0, -1
