# cython: language_level=3
"""Record predicates and canonical-link helpers shared by the compiled dedup phases.

All phases work on one flat view of the type graph (see :class:`btfdedup.engine.state.DedupState`):
``W`` (uint32 words: a void record of three zero words, then every base-chain record,
then the split records) and ``ts`` (type ID -> word offset of its record in ``W``).
``mp`` is libbpf's canonical ``map`` (one uint32 per type ID, with the UNPROCESSED /
IN_PROGRESS sentinels).  The predicates mirror libbpf's ``btf_equal_*`` /
``btf_compat_*`` / ``btf_shallow_equal_struct`` field for field, so the phases stay a
transcription of the algorithm's control flow.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from btfdedup.format.kinds cimport K_ENUM, K_FWD, VLEN_MASK, is_any_enum

cdef extern from *:
    """
    #define BTFDEDUP_UNPROCESSED 0xFFFFFFFFu
    #define BTFDEDUP_IN_PROGRESS 0xFFFFFFFEu
    #define BTFDEDUP_MAX_MAPPED 0x7FFFFFFFu
    """
    # map/hypot sentinels: not yet seen, on the current walk's stack; IDs up to MAX_MAPPED are links
    const uint32_t UNPROCESSED "BTFDEDUP_UNPROCESSED"
    const uint32_t IN_PROGRESS "BTFDEDUP_IN_PROGRESS"
    const uint32_t MAX_MAPPED "BTFDEDUP_MAX_MAPPED"


cdef inline uint64_t combine(uint64_t h, uint64_t v) noexcept nogil:
    """libbpf ``hash_combine``: ``h * 31 + v`` modulo 2**64."""
    return h * 31 + v


cdef inline int64_t vlen_at(const uint32_t *W, int64_t p) noexcept nogil:
    return <int64_t>(W[p + 1] & VLEN_MASK)


cdef inline bint kflag_at(const uint32_t *W, int64_t p) noexcept nogil:
    return (W[p + 1] >> 31) != 0


cdef inline bint is_mapped(const uint32_t *mp, int64_t tid) noexcept nogil:
    return mp[tid] <= MAX_MAPPED


cdef inline int64_t resolve(const uint32_t *mp, int64_t tid) noexcept nogil:
    """Follow canonical links while the type is mapped to another type."""
    while mp[tid] <= MAX_MAPPED and mp[tid] != tid:
        tid = mp[tid]
    return tid


cdef inline int64_t resolve_fwd(const uint32_t *mp, const uint8_t *kinds, int64_t tid) noexcept nogil:
    """A FWD resolved to the STRUCT/UNION it is linked to, if any; else unchanged."""
    if kinds[tid] != K_FWD:
        return tid
    cdef int64_t r = resolve(mp, tid)
    if kinds[r] != K_FWD:
        return r
    return tid


cdef inline bint equal_common(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    return W[p1] == W[p2] and W[p1 + 1] == W[p2 + 1] and W[p1 + 2] == W[p2 + 2]


cdef inline bint equal_int_tag(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    return equal_common(W, p1, p2) and W[p1 + 3] == W[p2 + 3]


cdef inline bint equal_enum(const uint32_t *W, int64_t p1, int64_t p2, int k1) noexcept nogil:
    """E_enum: same header and the same enumerators (name and value words)."""
    if not equal_common(W, p1, p2):
        return False
    cdef int64_t per = 2 if k1 == K_ENUM else 3
    cdef int64_t n = vlen_at(W, p1) * per
    cdef int64_t j
    for j in range(3, 3 + n):
        if W[p1 + j] != W[p2 + j]:
            return False
    return True


cdef inline bint compat_enum(const uint32_t *W, int64_t p1, int64_t p2, int k1, int k2) noexcept nogil:
    """C_enum: forward declarations match any enum of their name."""
    cdef bint fwd1 = is_any_enum(k1) and vlen_at(W, p1) == 0
    cdef bint fwd2 = is_any_enum(k2) and vlen_at(W, p2) == 0
    if not fwd1 and not fwd2:
        return equal_enum(W, p1, p2, k1)
    return W[p1] == W[p2] and is_any_enum(k1) and is_any_enum(k2)


cdef inline bint shallow_equal_struct(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    """S_struct: same header, member names and raw offsets (member types ignored)."""
    if not equal_common(W, p1, p2):
        return False
    cdef int64_t n = vlen_at(W, p1)
    cdef int64_t q1 = p1 + 3
    cdef int64_t q2 = p2 + 3
    cdef int64_t i
    for i in range(n):
        if W[q1] != W[q2] or W[q1 + 2] != W[q2 + 2]:
            return False
        q1 += 3
        q2 += 3
    return True


cdef inline bint equal_array(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    return (equal_common(W, p1, p2) and W[p1 + 3] == W[p2 + 3] and W[p1 + 4] == W[p2 + 4]
            and W[p1 + 5] == W[p2 + 5])


cdef inline bint compat_array(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    return equal_common(W, p1, p2) and W[p1 + 5] == W[p2 + 5]


cdef inline bint equal_fnproto(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    if not equal_common(W, p1, p2):
        return False
    cdef int64_t n = vlen_at(W, p1) * 2
    cdef int64_t j
    for j in range(3, 3 + n):
        if W[p1 + j] != W[p2 + j]:
            return False
    return True


cdef inline bint compat_fnproto(const uint32_t *W, int64_t p1, int64_t p2) noexcept nogil:
    """C_fnproto: same name and info, same parameter names (types ignored)."""
    if W[p1] != W[p2] or W[p1 + 1] != W[p2 + 1]:
        return False
    cdef int64_t n = vlen_at(W, p1)
    cdef int64_t q1 = p1 + 3
    cdef int64_t q2 = p2 + 3
    cdef int64_t i
    for i in range(n):
        if W[q1] != W[q2]:
            return False
        q1 += 2
        q2 += 2
    return True
