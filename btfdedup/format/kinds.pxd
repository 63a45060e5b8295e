# cython: language_level=3
"""BTF kind numbers and kind predicates for compiled code.

The C-level twin of :class:`btfdedup.format.constants.Kind` (``include/uapi/linux/btf.h``);
``tests/test_kinds_pxd.py`` checks the two agree member for member.  Every compiled module
takes kind numbers and the predicates below from here, never from its own copy.
"""

from libc.stdint cimport uint8_t, uint32_t

cdef enum:
    K_UNKN = 0
    K_VOID = 0
    K_INT = 1
    K_PTR = 2
    K_ARRAY = 3
    K_STRUCT = 4
    K_UNION = 5
    K_ENUM = 6
    K_FWD = 7
    K_TYPEDEF = 8
    K_VOLATILE = 9
    K_CONST = 10
    K_RESTRICT = 11
    K_FUNC = 12
    K_FUNC_PROTO = 13
    K_VAR = 14
    K_DATASEC = 15
    K_FLOAT = 16
    K_DECL_TAG = 17
    K_TYPE_TAG = 18
    K_ENUM64 = 19
    K_MAX = 19

# info word layout
cdef enum:
    VLEN_MASK = 0x00FFFFFF
    KIND_SHIFT = 24
    KIND_MASK = 0x7F


cdef inline bint is_modifier(int k) noexcept nogil:
    """TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG: the kernel's ``btf_type_is_modifier``."""
    return k == K_TYPEDEF or k == K_VOLATILE or k == K_CONST or k == K_RESTRICT or k == K_TYPE_TAG


cdef inline bint has_one_type_ref(int k) noexcept nogil:
    """Kinds whose whole record is the header and whose ``type`` field is their one type ID:
    PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, TYPE_TAG (libbpf's identical-types groups them)."""
    return is_modifier(k) or k == K_PTR or k == K_FUNC


cdef inline bint is_cvr(int k) noexcept nogil:
    """VOLATILE, CONST, RESTRICT: qualifiers without a name (dedup's reference kinds minus TYPEDEF/TYPE_TAG)."""
    return k == K_VOLATILE or k == K_CONST or k == K_RESTRICT


cdef inline bint is_composite(int k) noexcept nogil:
    """STRUCT or UNION."""
    return k == K_STRUCT or k == K_UNION


cdef inline bint is_any_enum(int k) noexcept nogil:
    """ENUM or ENUM64."""
    return k == K_ENUM or k == K_ENUM64


cdef inline bint is_known(int k) noexcept nogil:
    """A kind this package knows (1..K_MAX)."""
    return k >= 1 and k <= K_MAX


cdef inline int vlen_of(uint32_t info) noexcept nogil:
    return <int>(info & VLEN_MASK)


cdef inline int kind_of(uint32_t info) noexcept nogil:
    return <int>((info >> KIND_SHIFT) & KIND_MASK)


cdef inline bint kflag_of(uint32_t info) noexcept nogil:
    return (info >> 31) != 0
