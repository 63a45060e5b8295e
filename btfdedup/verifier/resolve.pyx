# cython: language_level=3
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

import errno as errno_mod

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free

from btfdedup.cbuf cimport regrow

from btfdedup.format.kinds cimport (
    K_ARRAY,
    K_DATASEC,
    K_DECL_TAG,
    K_ENUM,
    K_ENUM64,
    K_FLOAT,
    K_FUNC,
    K_FUNC_PROTO,
    K_FWD,
    K_INT,
    K_PTR,
    K_STRUCT,
    K_TYPEDEF,
    K_UNION,
    K_VAR,
    is_composite,
    is_modifier,
)

cdef enum:
    MAX_DEPTH = 32

MAX_RESOLVE_DEPTH = 32

cdef enum:
    NOT_VISITED = 0
    VISITED = 1
    RESOLVED = 2
    MODE_TBD = 0
    MODE_PTR = 1
    MODE_STRUCT_OR_ARRAY = 2

cdef int64_t M32 = 0xFFFFFFFF
cdef int EINVAL = errno_mod.EINVAL
cdef int E2BIG = errno_mod.E2BIG
cdef int EEXIST = errno_mod.EEXIST

# reason codes
cdef enum:
    C_TYPE_ID = 1
    C_INDEX = 2
    C_ELEM = 3
    C_ARRAY_OF_INT = 4
    C_ARRAY_OVERFLOW = 5
    C_MEMBER = 6
    C_BITS_OFFSET_U32 = 7
    C_NR_COPY_BITS = 8
    C_EXCEEDS = 9
    C_BASE_TYPE = 10
    C_MEMBER_OFFSET = 11
    C_BITFIELD = 12
    C_NOT_BYTE_ALIGNED = 13
    C_NOT_ALIGNED = 14
    C_UNSUPPORTED_MEMBER = 15
    C_UNSUPPORTED_KFLAG_MEMBER = 16
    C_UNSUPPORTED_RESOLVE = 17
    C_NOT_VAR = 18
    C_VSI_TYPE = 19
    C_VSI_SIZE = 20
    C_COMPONENT_IDX = 21
    C_RETURN_TYPE = 22
    C_ARG = 23
    C_DEPTH = 24
    C_LOOP = 25
    C_RESOLVE_STATE = 26
    C_INTERNAL = 27

# reason codes (index into REASONS), for Python
R_TYPE_ID = C_TYPE_ID
R_INDEX = C_INDEX
R_ELEM = C_ELEM
R_ARRAY_OF_INT = C_ARRAY_OF_INT
R_ARRAY_OVERFLOW = C_ARRAY_OVERFLOW
R_MEMBER = C_MEMBER
R_BITS_OFFSET_U32 = C_BITS_OFFSET_U32
R_NR_COPY_BITS = C_NR_COPY_BITS
R_EXCEEDS = C_EXCEEDS
R_BASE_TYPE = C_BASE_TYPE
R_MEMBER_OFFSET = C_MEMBER_OFFSET
R_BITFIELD = C_BITFIELD
R_NOT_BYTE_ALIGNED = C_NOT_BYTE_ALIGNED
R_NOT_ALIGNED = C_NOT_ALIGNED
R_UNSUPPORTED_MEMBER = C_UNSUPPORTED_MEMBER
R_UNSUPPORTED_KFLAG_MEMBER = C_UNSUPPORTED_KFLAG_MEMBER
R_UNSUPPORTED_RESOLVE = C_UNSUPPORTED_RESOLVE
R_NOT_VAR = C_NOT_VAR
R_VSI_TYPE = C_VSI_TYPE
R_VSI_SIZE = C_VSI_SIZE
R_COMPONENT_IDX = C_COMPONENT_IDX
R_RETURN_TYPE = C_RETURN_TYPE
R_ARG = C_ARG
R_DEPTH = C_DEPTH
R_LOOP = C_LOOP
R_RESOLVE_STATE = C_RESOLVE_STATE
R_INTERNAL = C_INTERNAL

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


cdef struct Graph:
    const uint8_t* kind      # per global ID, kind 0 at ID 0
    const uint32_t* info
    const uint32_t* st       # size_or_type
    const uint32_t* words    # the type section
    const int64_t* tstart    # word offset of each record (global ID)
    const int32_t* bad_param # FUNC_PROTO: index of its first parameter with a bad name, else -1
    int64_t n
    uint8_t* visit
    uint32_t* rids
    uint32_t* rsizes
    int64_t stack[MAX_DEPTH]
    int64_t nextm[MAX_DEPTH]
    int top
    int mode


cdef struct Verdict:
    int err
    int64_t lid
    int code
    int64_t extra


cdef struct IdSize:
    bint ok
    int64_t rid
    int64_t size


cdef inline bint _needs_resolve(int k) noexcept nogil:
    return (
        is_modifier(k) or k == K_PTR or is_composite(k) or k == K_ARRAY or k == K_VAR
        or k == K_FUNC or k == K_DECL_TAG or k == K_DATASEC
    )


cdef inline bint _has_size(int k) noexcept nogil:
    return (
        k == K_INT or k == K_STRUCT or k == K_UNION or k == K_ENUM or k == K_DATASEC or k == K_FLOAT
        or k == K_ENUM64
    )


cdef inline bint _source_only(int k) noexcept nogil:
    return k == K_VAR or k == K_DECL_TAG or k == K_DATASEC


cdef inline bint _nosize_or_null(int64_t tid, Graph* g) noexcept nogil:
    if tid >= g.n:
        return True
    cdef int k = g.kind[tid]
    return tid == 0 or k == K_FWD or k == K_FUNC or k == K_FUNC_PROTO or k == K_DECL_TAG


cdef IdSize _type_id_size(int64_t tid, Graph* g) noexcept nogil:
    """``btf_type_id_size``: (ok, resolved id, size)."""
    cdef IdSize r
    r.ok = False
    r.rid = tid
    r.size = 0
    if _nosize_or_null(tid, g):
        return r
    cdef int k = g.kind[tid]
    cdef int64_t t2
    if _has_size(k):
        r.ok = True
        r.size = g.st[tid]
        return r
    if k == K_ARRAY:
        r.ok = True
        r.size = g.rsizes[tid]
        return r
    if k == K_PTR:
        r.ok = True
        r.size = 8
        return r
    if not (is_modifier(k) or k == K_VAR):
        return r
    t2 = g.rids[tid]
    if _nosize_or_null(t2, g):
        return r
    k = g.kind[t2]
    if _has_size(k):
        r.ok = True
        r.rid = t2
        r.size = g.st[t2]
    elif k == K_ARRAY:
        r.ok = True
        r.rid = t2
        r.size = g.rsizes[t2]
    elif k == K_PTR:
        r.ok = True
        r.rid = t2
        r.size = 8
    return r


cdef inline bint _is_sink(int mode, int k) noexcept nogil:
    if mode == MODE_TBD:
        return not _needs_resolve(k)
    if mode == MODE_PTR:
        return not is_modifier(k) and k != K_PTR
    return not is_modifier(k) and k != K_ARRAY and not is_composite(k)


cdef inline int64_t _roundup(int64_t bits) noexcept nogil:
    return (bits >> 3) + (1 if bits & 7 else 0)


cdef inline bint _int_regular(int64_t tid, Graph* g) noexcept nogil:
    cdef int64_t data = g.words[g.tstart[tid] + 3]
    cdef int64_t bits = data & 0xFF
    cdef int64_t nbytes = _roundup(bits)
    return (
        (bits & 7) == 0
        and ((data >> 16) & 0xFF) == 0
        and (nbytes == 1 or nbytes == 2 or nbytes == 4 or nbytes == 8 or nbytes == 16)
    )


cdef int _check_member(int64_t s, int64_t moff, int64_t mt, bint kflag, Graph* g) noexcept nogil:
    """``check_member``/``check_kflag_member`` of member type ``mt`` in struct ``s``: 0 or a reason code."""
    cdef int64_t ssize = g.st[s]
    cdef int k, _i
    cdef IdSize r
    cdef int64_t data, ibits, ioff, off, nbytes, ncb, nb, bo, fsize, align_bits, need
    for _i in range(3):
        k = g.kind[mt]
        if is_modifier(k):
            r = _type_id_size(mt, g)
            if not r.ok:
                return C_MEMBER
            mt = r.rid
            continue
        if k == K_INT:
            data = g.words[g.tstart[mt] + 3]
            ibits = data & 0xFF
            ioff = (data >> 16) & 0xFF
            if not kflag:
                if M32 - moff < ioff:
                    return C_BITS_OFFSET_U32
                off = moff + ioff
                nbytes = off >> 3
                ncb = ibits + (off & 7)
                if ncb > 128:
                    return C_NR_COPY_BITS
                if ssize < nbytes or ssize - nbytes < _roundup(ncb):
                    return C_EXCEEDS
                return 0
            if not _int_regular(mt, g):
                return C_BASE_TYPE
            nb = moff >> 24
            bo = moff & 0xFFFFFF
            if nb == 0:
                if bo & 7:
                    return C_MEMBER_OFFSET
                nb = ibits
            elif nb > ibits:
                return C_BITFIELD
            nbytes = bo >> 3
            ncb = nb + (bo & 7)
            if ncb > 128:
                return C_NR_COPY_BITS
            if ssize < nbytes or ssize - nbytes < _roundup(ncb):
                return C_EXCEEDS
            return 0
        if k == K_ENUM or k == K_ENUM64:
            if not kflag:
                if moff & 7:
                    return C_NOT_BYTE_ALIGNED
                if ((ssize - (moff >> 3)) & M32) < <int64_t>g.st[mt]:
                    return C_EXCEEDS
                return 0
            bo = moff & 0xFFFFFF
            nb = moff >> 24
            if nb == 0:
                if bo & 7:
                    return C_NOT_BYTE_ALIGNED
                nb = 32
            elif nb > 32:
                return C_BITFIELD
            if ssize < _roundup(bo + nb):
                return C_EXCEEDS
            return 0
        if k == K_PTR or k == K_ARRAY or is_composite(k) or k == K_FLOAT:
            if kflag and (moff >> 24) != 0:
                return C_BITFIELD
            if k == K_FLOAT:
                fsize = g.st[mt]
                align_bits = (8 if fsize > 8 else fsize) * 8
                if align_bits == 0 or moff % align_bits:
                    return C_NOT_ALIGNED
                if (moff // 8) + fsize > ssize:
                    return C_EXCEEDS
                return 0
            if moff & 7:
                return C_NOT_BYTE_ALIGNED
            if k == K_PTR:
                need = 8
            elif k == K_ARRAY:
                need = g.rsizes[mt]
            else:
                need = g.st[mt]
            if ((ssize - (moff >> 3)) & M32) < need:
                return C_EXCEEDS
            return 0
        return C_UNSUPPORTED_KFLAG_MEMBER if kflag else C_UNSUPPORTED_MEMBER
    return C_MEMBER


cdef void _cleanup(Graph* g) noexcept nogil:
    cdef int i
    for i in range(g.top):
        if g.visit[g.stack[i]] == VISITED:
            g.visit[g.stack[i]] = NOT_VISITED
    g.top = 0


cdef int _push(int64_t tid, Graph* g) noexcept nogil:
    if g.top == MAX_DEPTH:
        return E2BIG
    if g.visit[tid] != NOT_VISITED:
        return EEXIST
    g.visit[tid] = VISITED
    g.stack[g.top] = tid
    g.nextm[g.top] = 0
    g.top += 1
    cdef int k
    if g.mode == MODE_TBD:
        k = g.kind[tid]
        if k == K_PTR:
            g.mode = MODE_PTR
        elif is_composite(k) or k == K_ARRAY:
            g.mode = MODE_STRUCT_OR_ARRAY
    return 0


cdef inline void _pop(int64_t rid, int64_t rsize, Graph* g) noexcept nogil:
    g.top -= 1
    cdef int64_t tid = g.stack[g.top]
    g.rsizes[tid] = <uint32_t>(rsize & M32)
    g.rids[tid] = <uint32_t>rid
    g.visit[tid] = RESOLVED


cdef inline Verdict _verdict(int err, int64_t lid, int code, int64_t extra) noexcept nogil:
    cdef Verdict v
    v.err = err
    v.lid = lid
    v.code = code
    v.extra = extra
    return v


cdef Verdict _btf_resolve(int64_t root, Graph* g) noexcept nogil:
    """``btf_resolve``: (errno, log type id, reason, extra)."""
    cdef int64_t n = g.n
    g.mode = MODE_TBD
    _push(root, g)
    cdef int err = 0
    cdef int64_t lid = root
    cdef int code = 0
    cdef int64_t extra = -1
    cdef int top, k, mode, c, nk
    cdef int64_t v, p, nid, rid, nt, elem, index, nelems, vlen, nm, m, mt, i, vt, cw, vl, proto, pp, nargs, bad
    cdef bint kflag, pushed
    cdef IdSize r
    while err == 0 and g.top > 0:
        top = g.top - 1
        v = g.stack[top]
        lid = v
        k = g.kind[v]
        p = g.tstart[v]
        mode = g.mode
        if is_modifier(k) or k == K_PTR or k == K_VAR:
            nid = g.st[v]
            if nid >= n or _source_only(g.kind[nid]):
                err = EINVAL
                code = C_TYPE_ID
                break
            if not _is_sink(mode, g.kind[nid]) and g.visit[nid] != RESOLVED:
                err = _push(nid, g)
                continue
            if (k == K_PTR or k == K_VAR) and is_modifier(g.kind[nid]):
                rid = g.rids[nid]
                if g.kind[rid] == K_PTR and not _is_sink(mode, K_PTR) and g.visit[rid] != RESOLVED:
                    err = _push(rid, g)
                    continue
            r = _type_id_size(nid, g)
            if r.ok:
                _pop(r.rid, 0, g)
                continue
            if k == K_VAR:
                err = EINVAL
                code = C_TYPE_ID
                break
            nt = nid
            if g.visit[nid] == RESOLVED:
                nt = g.rids[nid]
            if not (nt == 0 or g.kind[nt] == K_FWD or g.kind[nt] == K_FUNC_PROTO):
                err = EINVAL
                code = C_TYPE_ID
                break
            _pop(nt, 0, g)
        elif k == K_ARRAY:
            elem = g.words[p + 3]
            index = g.words[p + 4]
            nelems = g.words[p + 5]
            if _nosize_or_null(index, g) or _source_only(g.kind[index]):
                err = EINVAL
                code = C_INDEX
                break
            if not _is_sink(mode, g.kind[index]) and g.visit[index] != RESOLVED:
                err = _push(index, g)
                continue
            r = _type_id_size(index, g)
            if not r.ok or g.kind[r.rid] != K_INT or not _int_regular(r.rid, g):
                err = EINVAL
                code = C_INDEX
                break
            if _nosize_or_null(elem, g) or _source_only(g.kind[elem]):
                err = EINVAL
                code = C_ELEM
                break
            if not _is_sink(mode, g.kind[elem]) and g.visit[elem] != RESOLVED:
                err = _push(elem, g)
                continue
            r = _type_id_size(elem, g)
            if not r.ok:
                err = EINVAL
                code = C_ELEM
                break
            if g.kind[r.rid] == K_INT and not _int_regular(r.rid, g):
                err = EINVAL
                code = C_ARRAY_OF_INT
                break
            if nelems != 0 and r.size > M32 // nelems:
                err = EINVAL
                code = C_ARRAY_OVERFLOW
                break
            _pop(r.rid, r.size * nelems, g)
        elif is_composite(k):
            vlen = g.info[v] & 0xFFFF
            kflag = (g.info[v] >> 31) != 0
            nm = g.nextm[top]
            if nm > 0:
                m = nm - 1
                mt = g.words[p + 3 + 3 * m + 1]
                if g.visit[mt] != RESOLVED:
                    err = EINVAL
                    code = C_INTERNAL
                    break
                c = _check_member(v, g.words[p + 3 + 3 * m + 2], mt, kflag, g)
                if c:
                    err = EINVAL
                    code = c
                    extra = m
                    break
            pushed = False
            i = nm
            while i < vlen:
                mt = g.words[p + 3 + 3 * i + 1]
                if _nosize_or_null(mt, g) or _source_only(g.kind[mt]):
                    err = EINVAL
                    code = C_MEMBER
                    extra = i
                    break
                if not _is_sink(mode, g.kind[mt]) and g.visit[mt] != RESOLVED:
                    g.nextm[top] = i + 1
                    err = _push(mt, g)
                    pushed = True
                    break
                c = _check_member(v, g.words[p + 3 + 3 * i + 2], mt, kflag, g)
                if c:
                    err = EINVAL
                    code = c
                    extra = i
                    break
                i += 1
            if err != 0 and not pushed:
                break
            if pushed:
                continue
            _pop(0, 0, g)
        elif k == K_DATASEC:
            g.mode = MODE_TBD
            vlen = g.info[v] & 0xFFFF
            pushed = False
            i = g.nextm[top]
            while i < vlen:
                vt = g.words[p + 3 + 3 * i]
                if vt >= n or g.kind[vt] != K_VAR:
                    err = EINVAL
                    code = C_NOT_VAR
                    extra = i
                    break
                if not _is_sink(MODE_TBD, K_VAR) and g.visit[vt] != RESOLVED:
                    g.nextm[top] = i + 1
                    err = _push(vt, g)
                    pushed = True
                    break
                r = _type_id_size(g.st[vt], g)
                if not r.ok:
                    err = EINVAL
                    code = C_VSI_TYPE
                    extra = i
                    break
                if <int64_t>g.words[p + 3 + 3 * i + 2] < r.size:
                    err = EINVAL
                    code = C_VSI_SIZE
                    extra = i
                    break
                i += 1
            if err != 0 and not pushed:
                break
            if pushed:
                continue
            _pop(0, 0, g)
        elif k == K_DECL_TAG:
            nid = g.st[v]
            if nid >= n:
                err = EINVAL
                code = C_TYPE_ID
                break
            nk = g.kind[nid]
            if not (nk == K_FUNC or is_composite(nk) or nk == K_VAR or nk == K_TYPEDEF):
                err = EINVAL
                code = C_TYPE_ID
                break
            if not _is_sink(mode, nk) and g.visit[nid] != RESOLVED:
                err = _push(nid, g)
                continue
            cw = g.words[p + 3]
            if cw != M32:
                if nk == K_VAR or nk == K_TYPEDEF:
                    err = EINVAL
                    code = C_COMPONENT_IDX
                    break
                if is_composite(nk):
                    vl = g.info[nid] & 0xFFFF
                else:
                    proto = g.st[nid]
                    vl = (g.info[proto] & 0xFFFF) if proto < n else 0
                if cw >= vl:
                    err = EINVAL
                    code = C_COMPONENT_IDX
                    break
            _pop(nid, 0, g)
        elif k == K_FUNC:
            proto = g.st[v]
            if proto >= n or g.kind[proto] != K_FUNC_PROTO:
                err = EINVAL
                code = C_TYPE_ID
                break
            pp = g.tstart[proto]
            nargs = g.info[proto] & 0xFFFF
            bad = -1
            i = 0
            while i < nargs:
                if g.words[pp + 3 + 2 * i] == 0 and g.words[pp + 3 + 2 * i + 1] != 0:
                    bad = i
                    break
                i += 1
            if bad >= 0:
                err = EINVAL
                code = C_ARG
                extra = bad + 1
                break
            _pop(g.st[v], 0, g)
        else:
            err = EINVAL
            code = C_UNSUPPORTED_RESOLVE
            break
    if err == E2BIG:
        return _verdict(err, root, C_DEPTH, -1)
    if err == EEXIST:
        return _verdict(err, root, C_LOOP, -1)
    if err != 0:
        return _verdict(err, lid, code, extra)
    if not _resolve_valid(root, g):
        return _verdict(EINVAL, root, C_RESOLVE_STATE, -1)
    return _verdict(0, root, 0, -1)


cdef bint _resolve_valid(int64_t tid, Graph* g) noexcept nogil:
    if g.visit[tid] != RESOLVED:
        return False
    cdef int k = g.kind[tid]
    cdef int64_t t2, p
    cdef int k2
    cdef IdSize r
    if is_composite(k) or k == K_DATASEC:
        return g.rids[tid] == 0 and g.rsizes[tid] == 0
    if k == K_DECL_TAG or k == K_FUNC:
        return g.rids[tid] != 0 and g.rsizes[tid] == 0
    if is_modifier(k) or k == K_PTR or k == K_VAR:
        t2 = g.rids[tid]
        if t2 >= g.n:
            return False
        k2 = g.kind[t2]
        return not is_modifier(k2) and k2 != K_VAR and k2 != K_DATASEC
    if k == K_ARRAY:
        p = g.tstart[tid]
        r = _type_id_size(g.words[p + 3], g)
        return r.ok and not is_modifier(g.kind[r.rid]) and ((<int64_t>g.words[p + 5] * r.size) & M32) == g.rsizes[tid]
    return False


cdef Verdict _func_proto_check(int64_t fp, Graph* g) noexcept nogil:
    """``btf_func_proto_check``: (errno, log type id, reason, extra)."""
    cdef int64_t n = g.n
    cdef int64_t ret = g.st[fp]
    cdef Verdict res
    cdef IdSize r
    cdef int64_t p, nargs, last, i, q, at
    if ret != 0:
        if ret >= n or _source_only(g.kind[ret]):
            return _verdict(EINVAL, fp, C_RETURN_TYPE, -1)
        if _needs_resolve(g.kind[ret]) and g.visit[ret] != RESOLVED:
            res = _btf_resolve(ret, g)
            if res.err != 0:
                return res
        r = _type_id_size(ret, g)
        if not r.ok:
            return _verdict(EINVAL, fp, C_RETURN_TYPE, -1)
    p = g.tstart[fp]
    nargs = g.info[fp] & 0xFFFF
    if nargs == 0:
        return _verdict(0, fp, 0, -1)
    last = p + 3 + 2 * (nargs - 1)
    if g.words[last + 1] == 0:
        if g.words[last] != 0:
            return _verdict(EINVAL, fp, C_ARG, nargs)
        nargs -= 1
    for i in range(nargs):
        q = p + 3 + 2 * i
        at = g.words[q + 1]
        if at >= n or _source_only(g.kind[at]):
            return _verdict(EINVAL, fp, C_ARG, i + 1)
        if g.bad_param[fp] == i:
            return _verdict(EINVAL, fp, C_ARG, i + 1)
        if _needs_resolve(g.kind[at]) and g.visit[at] != RESOLVED:
            res = _btf_resolve(at, g)
            if res.err != 0:
                return res
        r = _type_id_size(at, g)
        if not r.ok:
            return _verdict(EINVAL, fp, C_ARG, i + 1)
    return _verdict(0, fp, 0, -1)


cdef struct Rows:
    int64_t* lid
    int64_t* extra
    uint8_t* code
    int64_t cnt
    int64_t cap


cdef int _rows_add(Rows* rows, Verdict v) noexcept nogil:
    """Append one row; -1 when memory runs out."""
    cdef int64_t cap
    if rows.cnt == rows.cap:
        cap = rows.cap * 2 if rows.cap else 1024
        if (regrow(<void **>&rows.lid, cap * sizeof(int64_t)) < 0
                or regrow(<void **>&rows.extra, cap * sizeof(int64_t)) < 0
                or regrow(<void **>&rows.code, cap) < 0):
            return -1
        rows.cap = cap
    rows.lid[rows.cnt] = v.lid
    rows.extra[rows.cnt] = v.extra
    rows.code[rows.cnt] = <uint8_t>v.code
    rows.cnt += 1
    return 0


def resolve_all(
    const uint8_t[::1] kind,
    const uint32_t[::1] info,
    const uint32_t[::1] st,
    const uint32_t[::1] words,
    const int64_t[::1] tstart,
    const int32_t[::1] bad_param,
    const int64_t[::1] fixed_words,
    const int64_t[::1] vlen_words,
    bint stop_at_first,
) -> tuple:
    """Run ``btf_check_all_types`` over IDs 1..n-1: (log type ids, reason codes, extras), int64/uint8/int64.

    Every column is indexed by global type ID (ID 0 is void).  ``bad_param`` is, per
    FUNC_PROTO, the index of its first parameter whose name the kernel refuses (-1: none).
    ``fixed_words``/``vlen_words`` give each kind's record length (as the walk read it);
    every record must lie inside ``words``.  The errno of a row follows from its reason
    (E2BIG for depth, EEXIST for loops, else EINVAL).
    """
    cdef int64_t n = kind.shape[0]
    if info.shape[0] != n or st.shape[0] != n or tstart.shape[0] != n or bad_param.shape[0] != n:
        raise ValueError("resolve_all: columns differ in length")
    cdef int64_t nk = min(fixed_words.shape[0], vlen_words.shape[0])
    cdef int64_t t, kk
    for t in range(1, n):
        kk = kind[t]
        if kk >= nk or tstart[t] < 0 or (
            tstart[t] + 3 + fixed_words[kk] + (info[t] & 0xFFFF) * vlen_words[kk] > words.shape[0]
        ):
            raise ValueError("resolve_all: a record lies outside the words")
    visit_a = np.zeros(n, dtype=np.uint8)
    rids_a = np.zeros(n, dtype=np.uint32)
    rsizes_a = np.zeros(n, dtype=np.uint32)
    cdef uint8_t[::1] visit = visit_a
    cdef uint32_t[::1] rids = rids_a
    cdef uint32_t[::1] rsizes = rsizes_a
    cdef Graph g
    cdef Rows rows
    rows.lid = NULL
    rows.extra = NULL
    rows.code = NULL
    rows.cnt = 0
    rows.cap = 0
    cdef int64_t tid
    cdef int k
    cdef int failed = 0
    cdef Verdict v
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int64)
    g.kind = &kind[0]
    g.info = &info[0]
    g.st = &st[0]
    g.words = &words[0] if words.shape[0] else NULL
    g.tstart = &tstart[0]
    g.bad_param = &bad_param[0]
    g.n = n
    g.visit = &visit[0]
    g.rids = &rids[0]
    g.rsizes = &rsizes[0]
    g.top = 0
    g.mode = MODE_TBD
    try:
        with nogil:
            for tid in range(1, n):
                k = g.kind[tid]
                if _needs_resolve(k) and g.visit[tid] != RESOLVED:
                    v = _btf_resolve(tid, &g)
                    if v.err != 0:
                        if _rows_add(&rows, v) < 0:
                            failed = 1
                            break
                        _cleanup(&g)
                        if stop_at_first:
                            break
                        continue
                if k == K_FUNC_PROTO:
                    v = _func_proto_check(tid, &g)
                    if v.err != 0:
                        if _rows_add(&rows, v) < 0:
                            failed = 1
                            break
                        _cleanup(&g)
                        if stop_at_first:
                            break
        if failed:
            raise MemoryError("resolve_all: result rows")
        lid_out = np.empty(rows.cnt, dtype=np.int64)
        extra_out = np.empty(rows.cnt, dtype=np.int64)
        code_out = np.empty(rows.cnt, dtype=np.uint8)
        if rows.cnt:
            _copy_rows(rows, lid_out, extra_out, code_out)
        return lid_out, code_out, extra_out
    finally:
        free(rows.lid)
        free(rows.extra)
        free(rows.code)


cdef void _copy_rows(Rows rows, int64_t[::1] lid, int64_t[::1] extra, uint8_t[::1] code) noexcept:
    cdef int64_t i
    for i in range(rows.cnt):
        lid[i] = rows.lid[i]
        extra[i] = rows.extra[i]
        code[i] = rows.code[i]


def errno_of(int code) -> int:
    """The errno of a resolve row with this reason code."""
    if code == C_DEPTH:
        return E2BIG
    if code == C_LOOP:
        return EEXIST
    return EINVAL
