# cython: language_level=3
"""The type-tag chain rule (``btf_check_type_tags``).

In every chain of modifiers (TYPEDEF/VOLATILE/CONST/RESTRICT/TYPE_TAG) the
TYPE_TAGs must come first, and a chain may not be longer than 32 links (this
also catches modifier cycles in split BTF, which pass 2 does not resolve).
"""

import errno as errno_mod

import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint32_t

from btfdedup.format.kinds cimport K_TYPE_TAG, is_modifier

TAGS_OK = 0
TAGS_CHAIN = 1  # "Max chain length or cycle detected" (-ELOOP)
TAGS_ORDER = 2  # "Type tags don't precede modifiers"
TAGS_MISSING = 3  # a chain reaches a type ID that does not exist (-EINVAL, no log)

TAG_REASONS = {
    TAGS_CHAIN: ("Max chain length or cycle detected", errno_mod.ELOOP),
    TAGS_ORDER: ("Type tags don't precede modifiers", errno_mod.EINVAL),
    TAGS_MISSING: ("modifier chain reaches a type ID that does not exist", errno_mod.EINVAL),
}


def type_tag_chains(const uint8_t[::1] kind, const uint32_t[::1] ref, int64_t start_id, bint stop_at_first) -> tuple:
    """Failing type IDs (int64) with their codes (uint8), in ID order.

    ``kind``/``ref`` are indexed by global type ID (0 = void) over the whole chain.
    """
    cdef int64_t n = kind.shape[0]
    if ref.shape[0] != n:
        raise ValueError("type_tag_chains: columns differ in length")
    cdef int64_t cnt = 0
    cdef int64_t good_id = start_id - 1
    cdef int64_t i, cur
    cdef bint in_tags
    cdef int limit, code
    ids_a = np.empty(16, dtype=np.int64)
    codes_a = np.empty(16, dtype=np.uint8)
    cdef int64_t[::1] ids = ids_a
    cdef uint8_t[::1] codes = codes_a
    i = start_id if start_id > 0 else 0
    while i < n:
        if not is_modifier(kind[i]):
            i += 1
            continue
        in_tags = kind[i] == K_TYPE_TAG
        limit = 32
        cur = i
        code = 0
        while is_modifier(kind[cur]):
            if limit == 0:
                code = 1
                break
            limit -= 1
            if kind[cur] == K_TYPE_TAG:
                if not in_tags:
                    code = 2
                    break
            elif in_tags:
                in_tags = False
            if cur <= good_id:
                break
            cur = ref[cur]
            if cur >= n:
                code = 3
                break
        if code != 0:
            if cnt == ids.shape[0]:
                ids_a = np.concatenate([ids_a, np.empty(cnt, dtype=np.int64)])
                codes_a = np.concatenate([codes_a, np.empty(cnt, dtype=np.uint8)])
                ids = ids_a
                codes = codes_a
            ids[cnt] = i
            codes[cnt] = code
            cnt += 1
            if stop_at_first:
                break
            i += 1
            continue
        good_id = i
        i += 1
    return ids_a[:cnt].copy(), codes_a[:cnt].copy()
