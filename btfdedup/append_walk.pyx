# cython: language_level=3
"""The compiled loops of :mod:`btfdedup.append`: libbpf's string interning and the
``btf__add_btf`` walk over appended records.

The destination's strings are a :class:`~btfdedup.model.strindex.StringIndex` (the
package's one string index, ``btfdedup/model/strindex.pxd``) built over the base
chain's strings, so it starts with every base string start, first occurrence winning
(``btf__find_str``): its keys below ``dst_start`` (the length of the base chain's
strings) are base offsets, the keys at or above it strings of the output blob at
``key - dst_start``.  A string equal to an indexed one answers with its key; any
other string is appended to the output blob on first sight and entered under its
new offset.  The index grows itself; the output blob belongs to the Python side
(:class:`btfdedup.append.StringSet`), and the loops stop, saying where to resume,
before a string that would not fit it.

setup.py compiles without bounds checks, so the loops prove their indexes in range
themselves, whatever the arguments: array shapes are checked on entry, every
string is read only up to its NUL or the end of its blob, every string offset is
checked against the blob it names, every append against the room left in the
output blob, and each record must lie inside the type section and hold the fields
its kind and vlen give.  Word, memo and offset arrays are indexed through typed
memoryviews, so a build with bounds checking on traps any of those indexes the
proofs missed (tests/test_io_malformed.py makes that build); string bytes go to the
index as pointer and length once their offset and length are proven in range.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memcpy

from btfdedup.format.kinds cimport KIND_MASK, kind_of, vlen_of
from btfdedup.model.strindex cimport (
    StrBlobs,
    StrIndex,
    StringIndex,
    str_hash,
    str_key_max,
    str_len,
    strindex_add_starts,
    strindex_key,
    strindex_probe,
    strindex_put,
    strindex_reserve,
)

cdef enum:
    _SLOTS = KIND_MASK + 1
    _ENTRY_LIMIT = 64

cdef uint32_t MEMO_NONE = 0xFFFFFFFF

#: a source offset :func:`append_types` has not interned yet
MEMO_UNKNOWN = MEMO_NONE

# error codes of append_types and intern_offsets
cdef enum:
    _OK = 0
    _BAD_STRING = 1
    _BAD_RECORD = 2
    _NO_MEMORY_ERR = 3
    _TOO_LARGE_ERR = 4

#: error codes of :func:`append_types` and :func:`intern_offsets`
APPEND_OK = _OK
APPEND_BAD_STRING = _BAD_STRING
APPEND_BAD_RECORD = _BAD_RECORD
#: the string index could not grow (no memory)
APPEND_NO_MEMORY = _NO_MEMORY_ERR
#: a new string's offset would pass what a string index holds (4 GiB of strings)
APPEND_TOO_LARGE = _TOO_LARGE_ERR

# what _intern answers instead of an offset
cdef enum:
    _GROW = -1
    _NO_MEMORY = -2
    _TOO_LARGE = -3


cdef struct Dest:
    # the destination string set during one call
    StrIndex *ix
    StrBlobs blobs          # lo: the base chain's strings (the index's data); hi: the output blob
    uint8_t *out
    int64_t out_cap
    int64_t out_len
    int64_t dst_start


cdef int _dest(Dest *d, StringIndex index, uint8_t[::1] out, int64_t out_len) except -1:
    """Describe the destination for the loops, checking the arguments they rely on."""
    if out.shape[0] < 1 or out_len < 0 or out_len > out.shape[0]:
        raise ValueError(f"output blob of {out.shape[0]} bytes cannot hold {out_len} (need 1 <= out_len <= size)")
    d.ix = &index.ix
    d.dst_start = len(index.data)
    d.blobs.lo = <const uint8_t *>index.data
    d.blobs.lo_size = d.dst_start
    d.blobs.split = d.dst_start
    d.out = &out[0]
    d.out_cap = out.shape[0]
    d.out_len = out_len
    d.blobs.hi = d.out
    d.blobs.hi_size = out_len
    return 0


cdef inline int64_t _intern(Dest *d, const uint8_t *s, int64_t ln) noexcept nogil:
    """libbpf ``btf__add_str`` of ``s[:ln]``: its destination offset, appended to the
    output blob when new; ``_GROW`` when the output blob has no room for it,
    ``_NO_MEMORY`` or ``_TOO_LARGE`` when it cannot be entered (the set unchanged)."""
    cdef uint32_t h = str_hash(s, ln)
    cdef int64_t j, key
    if strindex_reserve(d.ix, 1) < 0:
        return _NO_MEMORY
    j = strindex_probe(d.ix, &d.blobs, s, ln, h)
    key = strindex_key(d.ix, j)
    if key >= 0:
        return key
    if ln + 1 > d.out_cap - d.out_len:
        return _GROW
    key = d.dst_start + d.out_len
    if key > str_key_max():
        return _TOO_LARGE
    memcpy(d.out + d.out_len, s, <size_t>ln)
    d.out[d.out_len + ln] = 0
    d.out_len += ln + 1
    d.blobs.hi_size = d.out_len
    strindex_put(d.ix, j, h, key)
    return key


cdef int _check_kind_table(const int64_t[::1] table, str name) except -1:
    cdef Py_ssize_t k
    if table.shape[0] < _SLOTS:
        raise ValueError(f"{name} has {table.shape[0]} entries; kind tables need {_SLOTS}")
    for k in range(_SLOTS):
        if table[k] < 0 or table[k] >= _ENTRY_LIMIT:
            raise ValueError(f"{name}[{k}] = {table[k]} is outside 0..{_ENTRY_LIMIT - 1}")
    return 0


def index_output(StringIndex index, uint8_t[::1] out, int64_t out_len) -> None:
    """Enter every string start of ``out[:out_len]`` (the output blob's first strings,
    e.g. the ``""`` a fresh BTF starts with) under its destination offset, first
    occurrence winning."""
    cdef Dest d
    _dest(&d, index, out, out_len)
    cdef int rc
    with nogil:
        rc = strindex_add_starts(d.ix, &d.blobs, d.out, out_len, d.dst_start)
    if rc < 0:
        raise MemoryError("string index")


def intern_offsets(int64_t[::1] offs, const int64_t[::1] srcs, int64_t k, const uint8_t[::1] own_all,
                   const int64_t[::1] blob_start, const int64_t[::1] own_start, StringIndex index,
                   uint8_t[::1] out, int64_t out_len) -> tuple:
    """Intern the string of every offset ``offs[k:]`` in order, rewriting ``offs`` in
    place with destination offsets (0 stays 0).

    ``offs[k]`` is an offset of source ``srcs[k]``: below ``own_start[src]`` it names
    the base chain's strings (``index.data``), else the source's own blob,
    ``own_all[blob_start[src]: blob_start[src + 1]]``.  ``out[:out_len]`` is the output
    blob so far.  Returns ``(k, out_len, err)``: ``k < len(offs)`` with ``err`` 0 when
    the output blob must grow before resuming at ``k``; ``err`` ``APPEND_BAD_STRING``
    when ``offs[k]`` names no byte of its blob, ``APPEND_NO_MEMORY`` or
    ``APPEND_TOO_LARGE`` when its string cannot be entered.
    """
    cdef Dest d
    _dest(&d, index, out, out_len)
    cdef int64_t n_src = own_start.shape[0]
    if srcs.shape[0] < offs.shape[0] or blob_start.shape[0] < n_src + 1:
        raise ValueError("intern_offsets: srcs must cover offs and blob_start every source")
    cdef int64_t n = offs.shape[0]
    cdef int64_t o, s, p, ln, lim, r
    cdef const uint8_t *src
    cdef int64_t size
    cdef int err = 0
    with nogil:
        while k < n:
            o = offs[k]
            if o == 0:
                k += 1
                continue
            s = srcs[k]
            if s < 0 or s >= n_src or o < 0:
                err = _BAD_STRING
                break
            if o < own_start[s]:
                p = o
                if p >= d.dst_start:
                    err = _BAD_STRING
                    break
                src = d.blobs.lo
                size = d.dst_start
            else:
                p = blob_start[s] + (o - own_start[s])
                lim = blob_start[s + 1]
                if lim > own_all.shape[0]:
                    lim = own_all.shape[0]
                if p < blob_start[s] or p >= lim:
                    err = _BAD_STRING
                    break
                src = &own_all[0]
                size = own_all.shape[0]
            ln = str_len(src, p, size)
            r = _intern(&d, src + p, ln)
            if r < 0:
                if r == _NO_MEMORY:
                    err = _NO_MEMORY_ERR
                elif r == _TOO_LARGE:
                    err = _TOO_LARGE_ERR
                break
            offs[k] = r
            k += 1
    return k, d.out_len, err


def append_types(uint32_t[::1] words, const int64_t[::1] type_start, int64_t t, int64_t t_end, int64_t jf,
                 int64_t src_start_id, int64_t delta, const uint8_t[::1] own_blob, int64_t own_start,
                 uint32_t[::1] own_memo, uint32_t[::1] base_memo, StringIndex index,
                 uint8_t[::1] out, int64_t out_len,
                 const int64_t[::1] tid_first, const int64_t[::1] tid_stride, const int64_t[::1] tid_fixed,
                 const int64_t[::1] tid_per_vlen, const int64_t[::1] str_stride,
                 const int64_t[::1] str_per_vlen) -> tuple:
    """``btf__add_btf`` for the records ``t .. t_end - 1`` of one source, already copied
    into ``words`` (record ``i`` spans ``type_start[i] .. type_start[i + 1]``).

    Record by record, in libbpf's field-iterator order: every string field is interned
    into ``index`` and ``out[:out_len]`` (its offset names the base chain's strings,
    ``index.data``, below ``own_start``, else ``own_blob`` at ``offset - own_start``),
    from field ``jf`` on in record ``t``; then every type-ID field at or above
    ``src_start_id`` (the source's own types) is shifted by ``delta``, base and void
    references kept.  The field tables are those of :mod:`btfdedup.model.fields`.

    ``own_memo``/``base_memo`` (one entry per byte of ``own_blob``/``index.data``,
    ``MEMO_UNKNOWN`` where not yet known) remember the destination offset of each
    source offset already interned: the set only grows and its answers never change,
    so a repeated offset (most are: member names, common type names) costs one load
    instead of a hash and a probe.  ``base_memo`` stays valid across sources on the
    same base; ``own_memo`` belongs to one source.

    Returns ``(t, jf, out_len, err, word)``: ``t == t_end`` when done; else, with
    ``err`` 0, the output blob must grow before resuming at record ``t``, string
    field ``jf``.  ``err`` ``APPEND_BAD_STRING``: the string offset at ``word`` names
    no byte of its blob; ``APPEND_BAD_RECORD``: record ``t`` does not lie inside the
    section or cannot hold its fields; ``APPEND_NO_MEMORY``/``APPEND_TOO_LARGE``: the
    string at ``word`` cannot be entered.
    """
    cdef Dest d
    _dest(&d, index, out, out_len)
    for table, name in ((tid_first, "tid_first"), (tid_stride, "tid_stride"), (tid_fixed, "tid_fixed"),
                        (tid_per_vlen, "tid_per_vlen"), (str_stride, "str_stride"),
                        (str_per_vlen, "str_per_vlen")):
        _check_kind_table(table, name)
    if t < 0 or t_end < t or t_end > type_start.shape[0] - 1:
        raise ValueError(f"records {t}..{t_end} are not all in type_start ({type_start.shape[0] - 1} records)")
    if own_memo.shape[0] != own_blob.shape[0] or base_memo.shape[0] != d.dst_start:
        raise ValueError("append_types: a memo needs one entry per byte of its blob")
    cdef int64_t n_words = words.shape[0]
    cdef int64_t own_len = own_blob.shape[0]
    cdef int64_t p, end, q, cnt, n_str, vlen, o, src_p, ln, j, newoff
    cdef uint32_t info, v
    cdef int k
    cdef int err = 0
    cdef int64_t where = -1
    cdef bint from_base
    cdef bint grow = False
    cdef const uint8_t *src
    with nogil:
        while t < t_end:
            p = type_start[t]
            end = type_start[t + 1]
            if p < 0 or p > n_words - 3 or end < p + 3 or end > n_words:
                err, where = _BAD_RECORD, p
                break
            info = words[p + 1]
            k = kind_of(info)
            vlen = vlen_of(info)
            cnt = str_per_vlen[k] * vlen
            n_str = 1 + cnt
            if cnt and p + 3 + str_stride[k] * (cnt - 1) >= end:
                err, where = _BAD_RECORD, p
                break
            cnt = tid_fixed[k] + tid_per_vlen[k] * vlen
            if cnt and p + tid_first[k] + tid_stride[k] * (cnt - 1) >= end:
                err, where = _BAD_RECORD, p
                break
            # strings: name_off, then member/param/enumerator names
            while jf < n_str:
                q = p if jf == 0 else p + 3 + str_stride[k] * (jf - 1)
                o = words[q]
                if o == 0:
                    jf += 1
                    continue
                from_base = o < own_start
                if from_base:
                    src_p = o
                    if src_p >= d.dst_start:
                        err, where = _BAD_STRING, q
                        break
                    if base_memo[src_p] != MEMO_NONE:
                        words[q] = base_memo[src_p]
                        jf += 1
                        continue
                    src = d.blobs.lo
                    ln = str_len(src, src_p, d.dst_start)
                else:
                    src_p = o - own_start
                    if src_p >= own_len:
                        err, where = _BAD_STRING, q
                        break
                    if own_memo[src_p] != MEMO_NONE:
                        words[q] = own_memo[src_p]
                        jf += 1
                        continue
                    src = &own_blob[0]
                    ln = str_len(src, src_p, own_len)
                newoff = _intern(&d, src + src_p, ln)
                if newoff < 0:
                    if newoff == _GROW:
                        grow = True
                    else:
                        err = _NO_MEMORY_ERR if newoff == _NO_MEMORY else _TOO_LARGE_ERR
                        where = q
                    break
                # (an index key never reaches MEMO_UNKNOWN)
                words[q] = <uint32_t>newoff
                if from_base:
                    base_memo[src_p] = <uint32_t>newoff
                else:
                    own_memo[src_p] = <uint32_t>newoff
                jf += 1
            if err or grow:
                break
            # type IDs: the source's own types follow what the destination holds
            for j in range(cnt):
                q = p + tid_first[k] + tid_stride[k] * j
                v = words[q]
                if v >= src_start_id:
                    words[q] = <uint32_t>(<int64_t>v + delta)
            t += 1
            jf = 0
    return t, jf, d.out_len, err, where
