# cython: language_level=3
"""Rank strings of a string section by content, in C ``strcmp`` order (compiled).

Ordering types by name (:mod:`btfdedup.model.name_order`) needs the byte order of
the names, which Python could only give through one ``bytes`` object per name.
Here the distinct name offsets are sorted in place by ``strcmp`` over the blob
(a bottom-up merge sort on an index array, no Python objects), and each offset
gets a dense rank: equal contents (the same string stored twice) share a rank,
and rank order is ``strcmp`` order, i.e. unsigned byte order with a proper
prefix first.  Ranks, unlike offsets, can then be sorted by numpy.

setup.py compiles without bounds checks, so the function proves its reads safe on
entry: the blob ends with a NUL byte and every offset lies inside it, so every
``strcmp`` stops at or before the blob's last byte.
"""

from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport strcmp

import numpy as np


def string_ranks(const uint8_t[::1] blob, const int64_t[::1] offsets):
    """Dense ``strcmp`` rank (int64, 0 = smallest) of the NUL-terminated string
    at each of ``offsets`` (positions in ``blob``).

    Raises ValueError (naming the rule) when ``blob`` is empty or does not end with
    a NUL byte, or an offset lies outside it.
    """
    cdef int64_t n = offsets.shape[0]
    cdef int64_t size = blob.shape[0]
    cdef int64_t i, w, lo, mid, hi, a, b, k
    ranks = np.zeros(n, dtype=np.int64)
    cdef int64_t[::1] out = ranks
    if n == 0:
        return ranks
    if size == 0 or blob[size - 1] != 0:
        raise ValueError("the string blob must end with a NUL byte")
    for i in range(n):
        if offsets[i] < 0 or offsets[i] >= size:
            raise ValueError(f"string offset {offsets[i]} lies outside the {size}-byte string blob")
    cdef const char *base = <const char *> &blob[0]
    cdef int64_t *order = <int64_t *> malloc(n * sizeof(int64_t))
    cdef int64_t *tmp = <int64_t *> malloc(n * sizeof(int64_t))
    cdef int64_t *swap
    if order == NULL or tmp == NULL:
        free(order)
        free(tmp)
        raise MemoryError()
    with nogil:
        for i in range(n):
            order[i] = i
        # Bottom-up merge sort of ``order`` by the strings at ``offsets[order[.]]``.
        w = 1
        while w < n:
            lo = 0
            while lo < n:
                mid = lo + w if lo + w < n else n
                hi = lo + 2 * w if lo + 2 * w < n else n
                a = lo
                b = mid
                k = lo
                while a < mid and b < hi:
                    if strcmp(base + offsets[order[b]], base + offsets[order[a]]) < 0:
                        tmp[k] = order[b]
                        b += 1
                    else:
                        tmp[k] = order[a]
                        a += 1
                    k += 1
                while a < mid:
                    tmp[k] = order[a]
                    a += 1
                    k += 1
                while b < hi:
                    tmp[k] = order[b]
                    b += 1
                    k += 1
                lo = hi
            swap = order
            order = tmp
            tmp = swap
            w *= 2
        out[order[0]] = 0
        for i in range(1, n):
            if strcmp(base + offsets[order[i]], base + offsets[order[i - 1]]) == 0:
                out[order[i]] = out[order[i - 1]]
            else:
                out[order[i]] = out[order[i - 1]] + 1
    free(order)
    free(tmp)
    return ranks
