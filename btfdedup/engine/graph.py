"""Compiled record predicates and canonical-link helpers shared by the dedup phases.

All phases work on one flat view of the type graph (see :mod:`btfdedup.engine.pipeline`):
``W`` (uint32 words: a void record of three zero words, then every base-chain record,
then the split records) and ``ts`` (int64, type ID -> word offset of its record in
``W``).  ``mp`` is libbpf's canonical ``map`` (uint32 per type ID, with the
UNPROCESSED / IN_PROGRESS sentinels).  The predicates mirror libbpf's
``btf_equal_*`` / ``btf_compat_*`` / ``btf_shallow_equal_struct`` exactly, field
for field, so the phases can stay a transcription of the algorithm's control flow.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.format.constants import VLEN_MASK

UNPROCESSED = np.uint32(0xFFFFFFFF)
IN_PROGRESS = np.uint32(0xFFFFFFFE)
MAX_MAPPED = np.uint32(0x7FFFFFFF)

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

_VLEN = np.uint32(VLEN_MASK)
_M31 = np.uint64(31)


@njit(cache=True, nogil=True)
def combine(h, v):  # type: ignore[no-untyped-def]
    """libbpf ``hash_combine``: ``h * 31 + v`` modulo 2**64."""
    return h * _M31 + np.uint64(v)


@njit(cache=True, nogil=True)
def vlen_at(W, p):  # type: ignore[no-untyped-def]
    return np.int64(W[p + 1] & _VLEN)


@njit(cache=True, nogil=True)
def kflag_at(W, p):  # type: ignore[no-untyped-def]
    return (W[p + 1] >> np.uint32(31)) != 0


@njit(cache=True, nogil=True)
def is_mapped(mp, tid):  # type: ignore[no-untyped-def]
    return mp[tid] <= MAX_MAPPED


@njit(cache=True, nogil=True)
def resolve(mp, tid):  # type: ignore[no-untyped-def]
    """Follow canonical links while the type is mapped to another type."""
    while mp[tid] <= MAX_MAPPED and mp[tid] != tid:
        tid = np.int64(mp[tid])
    return tid


@njit(cache=True, nogil=True)
def resolve_fwd(mp, kinds, tid):  # type: ignore[no-untyped-def]
    """A FWD resolved to the STRUCT/UNION it is linked to, if any; else unchanged."""
    if kinds[tid] != K_FWD:
        return tid
    r = resolve(mp, tid)
    if kinds[r] != K_FWD:
        return r
    return tid


@njit(cache=True, nogil=True)
def equal_common(W, p1, p2):  # type: ignore[no-untyped-def]
    return W[p1] == W[p2] and W[p1 + 1] == W[p2 + 1] and W[p1 + 2] == W[p2 + 2]


@njit(cache=True, nogil=True)
def equal_int_tag(W, p1, p2):  # type: ignore[no-untyped-def]
    return equal_common(W, p1, p2) and W[p1 + 3] == W[p2 + 3]


@njit(cache=True, nogil=True)
def equal_enum(W, p1, p2, k1):  # type: ignore[no-untyped-def]
    """E_enum: same header and the same enumerators (name and value words)."""
    if not equal_common(W, p1, p2):
        return False
    per = 2 if k1 == K_ENUM else 3
    n = vlen_at(W, p1) * per
    for j in range(3, 3 + n):
        if W[p1 + j] != W[p2 + j]:
            return False
    return True


@njit(cache=True, nogil=True)
def is_any_enum(k):  # type: ignore[no-untyped-def]
    return k == K_ENUM or k == K_ENUM64


@njit(cache=True, nogil=True)
def compat_enum(W, p1, p2, k1, k2):  # type: ignore[no-untyped-def]
    """C_enum: forward declarations match any enum of their name."""
    fwd1 = is_any_enum(k1) and vlen_at(W, p1) == 0
    fwd2 = is_any_enum(k2) and vlen_at(W, p2) == 0
    if not fwd1 and not fwd2:
        return equal_enum(W, p1, p2, k1)
    return W[p1] == W[p2] and is_any_enum(k1) and is_any_enum(k2)


@njit(cache=True, nogil=True)
def shallow_equal_struct(W, p1, p2):  # type: ignore[no-untyped-def]
    """S_struct: same header, member names and raw offsets (member types ignored)."""
    if not equal_common(W, p1, p2):
        return False
    n = vlen_at(W, p1)
    q1 = p1 + 3
    q2 = p2 + 3
    for _ in range(n):
        if W[q1] != W[q2] or W[q1 + 2] != W[q2 + 2]:
            return False
        q1 += 3
        q2 += 3
    return True


@njit(cache=True, nogil=True)
def equal_array(W, p1, p2):  # type: ignore[no-untyped-def]
    return equal_common(W, p1, p2) and W[p1 + 3] == W[p2 + 3] and W[p1 + 4] == W[p2 + 4] and W[p1 + 5] == W[p2 + 5]


@njit(cache=True, nogil=True)
def compat_array(W, p1, p2):  # type: ignore[no-untyped-def]
    return equal_common(W, p1, p2) and W[p1 + 5] == W[p2 + 5]


@njit(cache=True, nogil=True)
def equal_fnproto(W, p1, p2):  # type: ignore[no-untyped-def]
    if not equal_common(W, p1, p2):
        return False
    n = vlen_at(W, p1) * 2
    for j in range(3, 3 + n):
        if W[p1 + j] != W[p2 + j]:
            return False
    return True


@njit(cache=True, nogil=True)
def compat_fnproto(W, p1, p2):  # type: ignore[no-untyped-def]
    """C_fnproto: same name and info, same parameter names (types ignored)."""
    if W[p1] != W[p2] or W[p1 + 1] != W[p2 + 1]:
        return False
    n = vlen_at(W, p1)
    q1 = p1 + 3
    q2 = p2 + 3
    for _ in range(n):
        if W[q1] != W[q2]:
            return False
        q1 += 2
        q2 += 2
    return True
