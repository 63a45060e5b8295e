# cython: language_level=3
"""Record walk of the type section exactly as ``btf_check_all_metas`` advances through it.

The kernel learns each record's size only from its kind and vlen, so a bad
kind or a truncated record ends the walk; everything before it is located.
"""

import numpy as np

from libc.stdint cimport int64_t, uint32_t

WALK_OK = 0
WALK_HEADER_SHORT = 1  # fewer than 12 bytes left for a btf_type
WALK_BAD_KIND = 2  # kind 0 or above the kernel's BTF_KIND_MAX
WALK_TAIL_SHORT = 3  # the kind's tail (vlen elements) runs past the section end


def walk_records(
    const uint32_t[::1] words,
    int64_t type_len,
    int64_t vlen_mask,
    int64_t kind_mask,
    int64_t kind_max,
    const int64_t[::1] fixed_words,
    const int64_t[::1] vlen_words,
) -> tuple:
    """Word offsets of the records (int64), the stop code and the byte offset where the walk stopped.

    ``words`` holds the first ``type_len // 4`` words of the type section; ``type_len``
    is its length in bytes (the tail of a length not a multiple of 4 is never read).
    ``fixed_words``/``vlen_words`` are the words after the header and per vlen element of
    each kind (``constants.KIND_FIXED_TAIL_WORDS``/``KIND_VLEN_WORDS``), for kinds up to ``kind_max``.
    """
    if words.shape[0] < type_len // 4:
        raise ValueError("walk_records: fewer words than type_len says")
    if kind_max < 0 or fixed_words.shape[0] <= kind_max or vlen_words.shape[0] <= kind_max:
        raise ValueError("walk_records: the per-kind tables do not cover kind_max")
    starts_a = np.empty(type_len // 12 + 1, dtype=np.int64)
    cdef int64_t[::1] starts = starts_a
    cdef int64_t cnt = 0
    cdef int64_t pos = 0
    cdef int64_t w, info, kind, vlen, tail
    cdef int stop = 0
    with nogil:
        while pos < type_len:
            if type_len - pos < 12:
                stop = 1
                break
            w = pos // 4
            info = words[w + 1]
            kind = (info >> 24) & kind_mask
            starts[cnt] = w
            cnt += 1
            if kind == 0 or kind > kind_max:
                stop = 2
                break
            vlen = info & vlen_mask
            tail = 4 * (fixed_words[kind] + vlen * vlen_words[kind])
            if type_len - pos - 12 < tail:
                stop = 3
                break
            pos += 12 + tail
    return starts_a[:cnt].copy(), stop, pos


def record_columns(const uint32_t[::1] words, const int64_t[::1] starts) -> tuple:
    """The header words (name_off, info, size_or_type) of the records at ``starts``, as uint32
    columns indexed by global type ID over this blob: slot 0 (void) is 0, record i is slot i + 1."""
    cdef int64_t nt = starts.shape[0]
    cdef int64_t nwords = words.shape[0]
    cdef int64_t i, p
    for i in range(nt):
        if starts[i] < 0 or starts[i] + 3 > nwords:
            raise ValueError("record_columns: a record start lies outside the words")
    name_a = np.zeros(nt + 1, dtype=np.uint32)
    info_a = np.zeros(nt + 1, dtype=np.uint32)
    st_a = np.zeros(nt + 1, dtype=np.uint32)
    cdef uint32_t[::1] name_off = name_a
    cdef uint32_t[::1] info = info_a
    cdef uint32_t[::1] st = st_a
    with nogil:
        for i in range(nt):
            p = starts[i]
            name_off[i + 1] = words[p]
            info[i + 1] = words[p + 1]
            st[i + 1] = words[p + 2]
    return name_a, info_a, st_a
