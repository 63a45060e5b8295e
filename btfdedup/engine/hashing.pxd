# cython: language_level=3
"""Static per-kind dedup hash keys for compiled phases (the formulas: ``hashing.pyx``)."""

from libc.stdint cimport int64_t, uint32_t, uint64_t

from btfdedup.engine.graph cimport combine
from btfdedup.format.kinds cimport (
    K_ARRAY,
    K_CONST,
    K_DECL_TAG,
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
    K_VOLATILE,
    VLEN_MASK,
)


cdef inline uint64_t typedef_key(const uint32_t *W, int64_t p) noexcept nogil:
    """H_typedef (libbpf >= 1.7.0): name_off and info only; the target is compared by
    graph equivalence in the struct phase, not hashed."""
    return combine(combine(0, W[p]), W[p + 1])


cdef inline uint64_t record_key(const uint32_t *W, int64_t p, int k) noexcept nogil:
    """Static key of the record at word ``p`` of kind ``k`` (0 for VAR/DATASEC/unknown)."""
    if k == K_ENUM or k == K_ENUM64:
        return W[p]
    cdef uint64_t h = combine(combine(combine(0, W[p]), W[p + 1]), W[p + 2])
    cdef int64_t q, i, n
    if (k == K_CONST or k == K_VOLATILE or k == K_RESTRICT or k == K_PTR or k == K_FWD or k == K_TYPEDEF
            or k == K_FUNC or k == K_FLOAT or k == K_TYPE_TAG):
        return h
    if k == K_INT or k == K_DECL_TAG:
        return combine(h, W[p + 3])
    if k == K_ARRAY:
        return combine(combine(combine(h, W[p + 3]), W[p + 4]), W[p + 5])
    n = W[p + 1] & VLEN_MASK
    if k == K_STRUCT or k == K_UNION:
        q = p + 3
        for i in range(n):
            h = combine(combine(h, W[q]), W[q + 2])
            q += 3
        return h
    if k == K_FUNC_PROTO:
        q = p + 3
        for i in range(n):
            h = combine(combine(h, W[q]), W[q + 1])
            q += 2
        return h
    return 0
