# cython: language_level=3
"""The compiled walks over a type section: record boundaries and field ranges.

A record's size depends on its kind and vlen, which sit at its own start, so the
boundaries can only be found by walking from the first record.  The reader's walk
(:func:`scan_checked`) also range-checks every string-offset and type-ID field on
the way, so a good section is read once; only when something is out of range does
:func:`first_bad_field` walk the records again, in libbpf's field-iterator order,
to name the first bad field as libbpf would stumble on it.
:mod:`btfdedup.model.records` and :mod:`btfdedup.model.fields` hold the Python API
over these loops.

setup.py compiles without bounds checks, so every loop proves its own indexes in
range, whatever the arguments: the sizing and field tables are checked once on
entry (at least ``KIND_MASK + 1`` slots, small non-negative entries), kinds are
masked to 7 bits, and every position read is checked against the record's end
and the section's end before the read.  A malformed section or a lying
``type_start`` therefore yields an error code, never a read outside the arrays.
Every index goes through a typed memoryview (no raw pointers), so a build with
bounds checking on traps any index the proofs missed; tests/test_io_malformed.py
makes that build and drives the malformed corpus through it.
"""

from cpython cimport array
from libc.stdint cimport int64_t, uint8_t, uint32_t

import array as pyarray

from btfdedup.format.kinds cimport K_FUNC, K_FUNC_PROTO, KIND_MASK, kind_of, vlen_of

# Templates of the outputs: the scan's columns are ``array.array`` buffers, so
# reading a BTF needs no numpy (a ``Btf`` wraps them as numpy arrays, zero-copy,
# only when a numpy column is asked for).
cdef array.array _INT64 = pyarray.array("q")
cdef array.array _UINT8 = pyarray.array("B")

cdef enum:
    _SCAN_OK = 0
    _SCAN_UNKNOWN_KIND = 1
    _SCAN_OVERRUN = 2
    _SCAN_HEADER_OVERRUN = 3

#: :func:`scan` error codes
SCAN_OK = _SCAN_OK
SCAN_UNKNOWN_KIND = _SCAN_UNKNOWN_KIND
SCAN_OVERRUN = _SCAN_OVERRUN
SCAN_HEADER_OVERRUN = _SCAN_HEADER_OVERRUN

cdef enum:
    # What :func:`first_bad_field` found.
    _FIELD_OK = 0
    _FIELD_STRING = 1
    _FIELD_TYPE_ID = 2
    _FIELD_BOUNDARY = 3

FIELD_OK = _FIELD_OK
FIELD_STRING = _FIELD_STRING
FIELD_TYPE_ID = _FIELD_TYPE_ID
FIELD_BOUNDARY = _FIELD_BOUNDARY

cdef enum:
    # Tables are indexed by a kind masked to 7 bits.
    _SLOTS = KIND_MASK + 1
    # Bound on every table entry: layout sizes are a u8 byte count, so at most 63 words;
    # field strides and offsets are a few words.  Keeps every size far from overflow.
    _ENTRY_LIMIT = 64


cdef int _check_table(const int64_t[::1] table, str name) except -1:
    """Refuse a table the loops could index out of range or overflow with."""
    cdef Py_ssize_t k
    if table.shape[0] < _SLOTS:
        raise ValueError(f"{name} has {table.shape[0]} entries; kind tables need {_SLOTS}")
    for k in range(_SLOTS):
        if table[k] < 0 or table[k] >= _ENTRY_LIMIT:
            raise ValueError(f"{name}[{k}] = {table[k]} is outside 0..{_ENTRY_LIMIT - 1}")
    return 0


cdef Py_ssize_t _walk(const uint32_t[::1] words, const int64_t[::1] fixed_words, const int64_t[::1] vlen_words,
                      const int64_t[::1] known, int64_t[::1] starts, uint8_t[::1] kinds, int* err, Py_ssize_t* where,
                      bint check_fields, int64_t str_end, bint* fields_in_range, uint32_t* max_tid,
                      const int64_t[::1] tid_first, const int64_t[::1] tid_stride, const int64_t[::1] tid_fixed,
                      const int64_t[::1] tid_per_vlen, const int64_t[::1] str_stride,
                      const int64_t[::1] str_per_vlen) noexcept nogil:
    """The record walk behind :func:`scan` and :func:`scan_checked`; returns the
    number of complete records and sets ``err``/``where``.

    With ``check_fields``, each record's string fields are compared with
    ``str_end`` on the way (``fields_in_range`` cleared at the first one past it, or at
    a record whose fields would not lie inside it) and the largest type-ID field is
    kept in ``max_tid``: the range checks of :func:`first_bad_field` without a
    second pass over the section, for the common case where they all pass.
    """
    cdef Py_ssize_t n_words = words.shape[0]
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t n = 0
    cdef uint32_t info
    cdef int kind
    cdef int64_t size, vlen, cnt, j, q
    err[0] = _SCAN_OK
    # Invariant: 0 <= pos <= n_words and pos >= 3 * n, so starts[n] and kinds[n]
    # stay in range; words[pos + 1] is read only once pos + 3 <= n_words.  size is
    # at least 3 (the walk advances) and at most 3 + 63 + 0xFFFFFF * 63.
    while pos < n_words:
        if n_words - pos < 3:
            err[0] = _SCAN_HEADER_OVERRUN
            break
        info = words[pos + 1]
        kind = kind_of(info)
        if known[kind] == 0:
            err[0] = _SCAN_UNKNOWN_KIND
            break
        vlen = vlen_of(info)
        size = 3 + fixed_words[kind] + vlen * vlen_words[kind]
        if size > n_words - pos:
            err[0] = _SCAN_OVERRUN
            break
        if check_fields and fields_in_range[0]:
            # Fields are read only at positions below pos + size (<= n_words).
            cnt = str_per_vlen[kind] * vlen
            if words[pos] >= str_end or (cnt and 3 + str_stride[kind] * (cnt - 1) >= size):
                fields_in_range[0] = False
            else:
                for j in range(cnt):
                    if words[pos + 3 + str_stride[kind] * j] >= str_end:
                        fields_in_range[0] = False
                        break
            cnt = tid_fixed[kind] + tid_per_vlen[kind] * vlen
            if cnt and tid_first[kind] + tid_stride[kind] * (cnt - 1) >= size:
                fields_in_range[0] = False
            elif fields_in_range[0]:
                for j in range(cnt):
                    q = pos + tid_first[kind] + tid_stride[kind] * j
                    if words[q] > max_tid[0]:
                        max_tid[0] = words[q]
        starts[n] = pos
        kinds[n] = <uint8_t>kind
        n += 1
        pos += size
    starts[n] = pos
    where[0] = pos
    return n


def scan(const uint32_t[::1] words, const int64_t[::1] fixed_words, const int64_t[::1] vlen_words,
         const int64_t[::1] known) -> tuple:
    """Record boundaries of ``words`` (native order) and the kind of each record.

    Returns ``(type_start, kind, n, err, err_word)``: ``type_start[:n]`` (an int64
    ``array.array``, ``n + 1`` entries) are the word offsets of the ``n`` complete records and ``type_start[n]`` the end
    (or the offset of the record that broke the walk), ``kind`` (a uint8
    ``array.array``) the ``n`` kinds; ``err`` is a ``SCAN_*`` code, ``err_word`` the offending record's offset.
    A record is ``3 + fixed_words[kind] + vlen * vlen_words[kind]`` words; kinds with
    ``known[kind] == 0`` are refused.
    """
    _check_table(fixed_words, "fixed_words")
    _check_table(vlen_words, "vlen_words")
    _check_table(known, "known")
    cdef Py_ssize_t n_words = words.shape[0]
    # Every record is at least 3 words, which bounds the count.  The arrays are
    # sized for that bound (only the pages written become resident), then shrunk.
    cdef array.array starts_arr = array.clone(_INT64, n_words // 3 + 2, zero=False)
    cdef array.array kinds_arr = array.clone(_UINT8, n_words // 3 + 1, zero=False)
    cdef int64_t[::1] starts = starts_arr
    cdef uint8_t[::1] kinds = kinds_arr
    cdef int err = _SCAN_OK
    cdef Py_ssize_t where = 0
    cdef Py_ssize_t n
    cdef bint fields_in_range = True
    cdef uint32_t max_tid = 0
    with nogil:
        n = _walk(words, fixed_words, vlen_words, known, starts, kinds, &err, &where, False, 0,
                  &fields_in_range, &max_tid, known, known, known, known, known, known)
    array.resize(starts_arr, n + 1)
    array.resize(kinds_arr, n)
    return starts_arr, kinds_arr, n, err, where


def scan_checked(const uint32_t[::1] words, const int64_t[::1] fixed_words, const int64_t[::1] vlen_words,
                 const int64_t[::1] known, int64_t str_end, int64_t start_id, const int64_t[::1] tid_first,
                 const int64_t[::1] tid_stride, const int64_t[::1] tid_fixed, const int64_t[::1] tid_per_vlen,
                 const int64_t[::1] str_stride, const int64_t[::1] str_per_vlen) -> tuple:
    """:func:`scan`, and in the same pass the range checks of :func:`first_bad_field`
    (string offsets below ``str_end``, type IDs below ``start_id`` plus the number of
    records).

    Returns ``(type_start, kind, n, err, err_word, fields_ok)``.  ``fields_ok`` True
    means every field is in range; False only that one may not be, and
    :func:`first_bad_field` must find which (so errors stay those of the two-pass
    check, in libbpf's iterator order).
    """
    for table, name in ((fixed_words, "fixed_words"), (vlen_words, "vlen_words"), (known, "known"),
                        (tid_first, "tid_first"), (tid_stride, "tid_stride"), (tid_fixed, "tid_fixed"),
                        (tid_per_vlen, "tid_per_vlen"), (str_stride, "str_stride"),
                        (str_per_vlen, "str_per_vlen")):
        _check_table(table, name)
    cdef Py_ssize_t n_words = words.shape[0]
    cdef array.array starts_arr = array.clone(_INT64, n_words // 3 + 2, zero=False)
    cdef array.array kinds_arr = array.clone(_UINT8, n_words // 3 + 1, zero=False)
    cdef int64_t[::1] starts = starts_arr
    cdef uint8_t[::1] kinds = kinds_arr
    cdef int err = _SCAN_OK
    cdef Py_ssize_t where = 0
    cdef Py_ssize_t n
    cdef bint fields_in_range = True
    cdef uint32_t max_tid = 0
    with nogil:
        n = _walk(words, fixed_words, vlen_words, known, starts, kinds, &err, &where, True, str_end,
                  &fields_in_range, &max_tid, tid_first, tid_stride, tid_fixed, tid_per_vlen, str_stride, str_per_vlen)
    fields_ok = bool(fields_in_range) and max_tid < start_id + n
    array.resize(starts_arr, n + 1)
    array.resize(kinds_arr, n)
    return starts_arr, kinds_arr, n, err, where, fields_ok


def first_bad_start(const uint32_t[::1] words, const int64_t[::1] type_start, const int64_t[::1] fixed_words,
                    const int64_t[::1] vlen_words, const int64_t[::1] known) -> int:
    """-1 when ``type_start`` is exactly what :func:`scan` gives for ``words``, else
    the index of its first wrong entry."""
    _check_table(fixed_words, "fixed_words")
    _check_table(vlen_words, "vlen_words")
    _check_table(known, "known")
    cdef Py_ssize_t n_words = words.shape[0]
    cdef Py_ssize_t m = type_start.shape[0]
    cdef Py_ssize_t i
    cdef Py_ssize_t bad = -1
    cdef int64_t p
    cdef uint32_t info
    cdef int kind
    if m == 0 or type_start[0] != 0:
        return 0
    with nogil:
        for i in range(m - 1):
            p = type_start[i]
            # 0 <= p <= n_words - 3 before words[p + 1] is read (no overflow: p is
            # compared, never incremented, before the check).
            if p < 0 or p > n_words - 3:
                bad = i
                break
            info = words[p + 1]
            kind = kind_of(info)
            if known[kind] == 0:
                bad = i
                break
            if type_start[i + 1] != p + 3 + fixed_words[kind] + <int64_t>vlen_of(info) * vlen_words[kind]:
                bad = i
                break
        if bad < 0 and type_start[m - 1] != n_words:
            bad = m - 1
    return bad


def first_bad_field(const uint32_t[::1] words, const int64_t[::1] type_start, int64_t str_end, int64_t type_cnt,
                    const int64_t[::1] tid_first, const int64_t[::1] tid_stride, const int64_t[::1] tid_fixed,
                    const int64_t[::1] tid_per_vlen, const int64_t[::1] str_stride,
                    const int64_t[::1] str_per_vlen) -> tuple:
    """The first field, in libbpf's iterator order, breaking a range rule.

    Record ``i`` spans ``type_start[i] .. type_start[i + 1]``.  Its string fields
    are its ``name_off`` and ``words[p + 3 + str_stride * j]`` for ``j < str_per_vlen
    * vlen``; its type-ID fields ``words[p + tid_first + tid_stride * j]`` for ``j <
    tid_fixed + tid_per_vlen * vlen`` (tables indexed by kind).  A string offset must
    be below ``str_end`` and a type ID below ``type_cnt``.

    Returns ``(what, i, word)``: ``FIELD_OK`` (and -1, -1), ``FIELD_STRING``,
    ``FIELD_TYPE_ID``, or ``FIELD_BOUNDARY`` when record ``i`` does not lie inside
    the section or cannot hold the fields its kind and vlen give (boundaries not
    checked against the words; ``word`` is then the record's start).
    """
    for table, name in ((tid_first, "tid_first"), (tid_stride, "tid_stride"), (tid_fixed, "tid_fixed"),
                        (tid_per_vlen, "tid_per_vlen"), (str_stride, "str_stride"),
                        (str_per_vlen, "str_per_vlen")):
        _check_table(table, name)
    cdef Py_ssize_t n_words = words.shape[0]
    cdef Py_ssize_t n = type_start.shape[0] - 1
    cdef Py_ssize_t i
    cdef int64_t j, p, end, q, cnt, vlen
    cdef uint32_t info
    cdef int k
    cdef int what = _FIELD_OK
    cdef Py_ssize_t where_i = -1
    cdef int64_t where_q = -1
    with nogil:
        for i in range(n):
            p = type_start[i]
            end = type_start[i + 1]
            # The record must lie inside the section and hold its 3-word header.
            if p < 0 or p > n_words - 3 or end < p + 3 or end > n_words:
                what, where_i, where_q = _FIELD_BOUNDARY, i, p
                break
            info = words[p + 1]
            k = kind_of(info)
            vlen = vlen_of(info)
            # The last string and type-ID field positions must lie inside the record
            # (vlen <= 0xFFFFFF and table entries < 64: no overflow).
            cnt = str_per_vlen[k] * vlen
            if cnt and p + 3 + str_stride[k] * (cnt - 1) >= end:
                what, where_i, where_q = _FIELD_BOUNDARY, i, p
                break
            cnt = tid_fixed[k] + tid_per_vlen[k] * vlen
            if cnt and p + tid_first[k] + tid_stride[k] * (cnt - 1) >= end:
                what, where_i, where_q = _FIELD_BOUNDARY, i, p
                break
            if words[p] >= str_end:
                what, where_i, where_q = _FIELD_STRING, i, p
                break
            cnt = str_per_vlen[k] * vlen
            for j in range(cnt):
                q = p + 3 + str_stride[k] * j
                if words[q] >= str_end:
                    what, where_i, where_q = _FIELD_STRING, i, q
                    break
            if what != _FIELD_OK:
                break
            cnt = tid_fixed[k] + tid_per_vlen[k] * vlen
            for j in range(cnt):
                q = p + tid_first[k] + tid_stride[k] * j
                if words[q] >= type_cnt:
                    what, where_i, where_q = _FIELD_TYPE_ID, i, q
                    break
            if what != _FIELD_OK:
                break
    return what, where_i, where_q


def first_bad_func(const uint32_t[::1] words, const int64_t[::1] type_start, const uint8_t[::1] kinds,
                   int64_t start_id, const uint8_t[::1] base_kinds) -> tuple:
    """libbpf's rule that a FUNC's type is a FUNC_PROTO, over records whose
    boundaries and type-ID fields are already checked.

    ``kinds`` are the kinds of the records at ``type_start`` (type IDs ``start_id``
    on), ``base_kinds`` the kinds of type IDs ``0 .. start_id - 1`` (void first: 0).
    Returns ``(i, target, target_kind)`` for the first FUNC row ``i`` whose type is
    not a FUNC_PROTO, or ``(-1, 0, 0)``.  A target that is no type at all (which the
    field checks refuse first) counts as kind 0.
    """
    cdef Py_ssize_t n_words = words.shape[0]
    cdef Py_ssize_t n = kinds.shape[0]
    cdef Py_ssize_t nb = base_kinds.shape[0]
    cdef Py_ssize_t i
    cdef int64_t p, t
    cdef int k
    cdef Py_ssize_t bad = -1
    cdef int64_t bad_target = 0
    cdef int bad_kind = 0
    if type_start.shape[0] < n + 1:
        raise ValueError("first_bad_func: type_start is shorter than kinds")
    with nogil:
        for i in range(n):
            if kinds[i] != K_FUNC:
                continue
            p = type_start[i]
            # The type field is the record's third word.
            if p < 0 or p > n_words - 3:
                k = 0
                t = 0
            else:
                t = words[p + 2]
                if t >= start_id and t - start_id < n:
                    k = kinds[t - start_id]
                elif t < start_id and t < nb:
                    k = base_kinds[t]
                else:
                    k = 0
            if k != K_FUNC_PROTO:
                bad, bad_target, bad_kind = i, t, k
                break
    return bad, bad_target, bad_kind
