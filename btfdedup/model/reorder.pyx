# cython: language_level=3
"""The compiled loop of :func:`btfdedup.model.permute.permute`: copy records in a new
order and renumber their type-ID fields, in one pass.

numpy can do both (a gather of the records' words, a gather/scatter of the fields),
but on a raw vmlinux (3.4 million records, 33 million words) the index arrays alone
are gigabytes; this walk writes each word once.  The type-ID fields of a record are
those of libbpf's field iterator, from the tables of :mod:`btfdedup.model.fields`
(``TID_FIRST``, ``TID_STRIDE``, ``TID_FIXED``, ``TID_PER_VLEN``).

setup.py compiles without bounds checks, so the function proves its indexes in
range: the kind tables are checked on entry (all slots present, non-negative
entries), record boundaries are checked to be increasing and inside ``words``,
``order`` entries inside the records, every field position inside its record, and
every field value looked up in ``mapping`` below its length.
"""

from libc.stdint cimport int64_t, uint32_t

import numpy as np

from btfdedup.format.kinds cimport kind_of, vlen_of

#: kind slots every table must have (the kind field is 7 bits wide)
cdef int64_t _SLOTS = 128


cdef int _check_table(const int64_t[::1] table, str name) except -1:
    cdef int64_t k
    if table.shape[0] < _SLOTS:
        raise ValueError(f"{name} has {table.shape[0]} entries; kind tables need {_SLOTS}")
    for k in range(_SLOTS):
        if table[k] < 0 or table[k] > 0xFFFF:
            raise ValueError(f"{name}[{k}] = {table[k]} is outside 0..65535")
    return 0


def reorder_records(const uint32_t[::1] words, const int64_t[::1] type_start, const int64_t[::1] order,
                    const int64_t[::1] mapping, int64_t start_id, const int64_t[::1] tid_first,
                    const int64_t[::1] tid_stride, const int64_t[::1] tid_fixed,
                    const int64_t[::1] tid_per_vlen):
    """Records ``order[0], order[1], ...`` (rows of ``type_start``) copied one after
    another, each type-ID field ``v >= start_id`` replaced by ``mapping[v]``.

    Returns ``(new_words, new_start, bad_row, bad_word)``: the uint32 words and int64
    record starts of the result, and, when a field value is ``len(mapping)`` or more,
    the new row and the word inside its record of the first such field (else -1, -1;
    the result is then incomplete).  Raises ValueError when the arguments do not
    describe records (boundaries, order, field positions): a caller's bug.
    """
    cdef int64_t n = order.shape[0]
    cdef int64_t n_words = words.shape[0]
    cdef int64_t n_map = mapping.shape[0]
    cdef int64_t i, row, src, size, dst, k, nf, j, p, v, total = 0
    cdef uint32_t info
    for table, name in ((tid_first, "tid_first"), (tid_stride, "tid_stride"), (tid_fixed, "tid_fixed"),
                        (tid_per_vlen, "tid_per_vlen")):
        _check_table(table, name)
    if type_start.shape[0] != n + 1:
        raise ValueError(f"type_start has {type_start.shape[0]} entries for {n} records")
    if type_start[0] < 0 or type_start[n] > n_words:
        raise ValueError(f"records span words {type_start[0]}..{type_start[n]} of {n_words}")
    for i in range(n):
        if type_start[i + 1] < type_start[i] + 3:
            raise ValueError(f"record {i} is shorter than a type header")
        if order[i] < 0 or order[i] >= n:
            raise ValueError(f"order[{i}] = {order[i]} is not a record (0..{n - 1})")
        total += type_start[order[i] + 1] - type_start[order[i]]
    new_words = np.empty(total, dtype=np.uint32)
    new_start = np.empty(n + 1, dtype=np.int64)
    cdef uint32_t[::1] out = new_words
    cdef int64_t[::1] starts = new_start
    cdef int64_t bad_row = -1, bad_word = -1, bad_pos = -1
    dst = 0
    with nogil:
        for i in range(n):
            row = order[i]
            src = type_start[row]
            size = type_start[row + 1] - src
            starts[i] = dst
            if dst + size > total:  # never: total is the sum over order; the proof of the copy's bound
                bad_pos = i
                break
            for j in range(size):
                out[dst + j] = words[src + j]
            info = words[src + 1]
            k = kind_of(info)
            nf = tid_fixed[k] + tid_per_vlen[k] * vlen_of(info)
            for j in range(nf):
                p = tid_first[k] + tid_stride[k] * j
                if p >= size:
                    bad_pos = i
                    break
                v = out[dst + p]
                if v < start_id:
                    continue
                if v >= n_map:
                    bad_row = i
                    bad_word = p
                    break
                out[dst + p] = <uint32_t> mapping[v]
            if bad_pos >= 0 or bad_row >= 0:
                break
            dst += size
        starts[n] = dst
    if bad_pos >= 0:
        raise ValueError(f"record {order[bad_pos]} cannot hold the fields its kind and vlen give")
    return new_words, new_start, bad_row, bad_word
