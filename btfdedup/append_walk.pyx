# cython: language_level=3
"""The compiled loops of :mod:`btfdedup.append`: libbpf's string interning and the
``btf__add_btf`` walk over appended records.

The destination's strings are an open-addressing table (linear probing, FNV-1a
hashes, capacity a power of two kept at most half full) of offsets: an offset below
``dst_start`` is a string of the base chain's blob, one at or above it a string of
the output blob at ``offset - dst_start``.  The table is pre-filled with every
string start of the base chain, first occurrence winning (``btf__find_str``), so a
string equal to a base string answers with its base offset; any other string is
added to the output blob on first sight.  The Python side (:class:`btfdedup.append.StringSet`)
owns the arrays and grows them: the loops stop, saying where to resume, before an
insert that would need more room.

setup.py compiles without bounds checks, so the loops prove their indexes in range
themselves, whatever the arguments: array shapes are checked on entry, every
string is read only up to its NUL or the end of its blob, every string offset is
checked against the blob it names, and each record must lie inside the type
section and hold the fields its kind and vlen give.  Every index goes through a
typed memoryview, so a build with bounds checking on traps any index the proofs
missed (tests/test_io_malformed.py makes that build).
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from btfdedup.format.kinds cimport KIND_MASK, kind_of, vlen_of

cdef enum:
    _SLOTS = KIND_MASK + 1
    _ENTRY_LIMIT = 64

cdef int64_t EMPTY = -1
cdef uint32_t MEMO_NONE = 0xFFFFFFFF
cdef uint64_t FNV_OFFSET = 14695981039346656037ULL
cdef uint64_t FNV_PRIME = 1099511628211ULL

#: an unused slot of the offset table
EMPTY_SLOT = EMPTY
#: a source offset :func:`append_types` has not interned yet
MEMO_UNKNOWN = MEMO_NONE

#: error codes of :func:`append_types` and :func:`intern_offsets`
APPEND_OK = 0
APPEND_BAD_STRING = 1
APPEND_BAD_RECORD = 2


cdef inline int64_t str_len(const uint8_t[::1] blob, int64_t p) noexcept nogil:
    """Length of the string at ``blob[p]``: up to its NUL, or to the end of the blob."""
    cdef int64_t i = p
    cdef int64_t n = blob.shape[0]
    while i < n and blob[i] != 0:
        i += 1
    return i - p


cdef inline uint64_t str_hash(const uint8_t[::1] blob, int64_t p, int64_t ln) noexcept nogil:
    """FNV-1a of the ``ln`` bytes at ``blob[p]`` (``p + ln <= len(blob)``)."""
    cdef uint64_t h = FNV_OFFSET
    cdef int64_t i
    for i in range(p, p + ln):
        h = (h ^ blob[i]) * FNV_PRIME
    return h


cdef inline bint str_eq(const uint8_t[::1] a, int64_t pa, const uint8_t[::1] b, int64_t pb, int64_t n) noexcept nogil:
    """Whether the ``n``-byte string at ``a[pa]`` (no NUL inside) is the string at ``b[pb]``."""
    cdef int64_t k
    cdef int64_t nb = b.shape[0]
    if pb < 0 or pb > nb - n:
        return False
    if pb + n < nb and b[pb + n] != 0:
        return False
    for k in range(n):
        if a[pa + k] != b[pb + k]:
            return False
    return True


cdef inline int64_t probe(const uint8_t[::1] blob, int64_t p, int64_t ln, uint64_t h,
                          const uint8_t[::1] base_blob, const uint8_t[::1] out, int64_t dst_start,
                          const int64_t[::1] slot_off, const uint64_t[::1] slot_hash) noexcept nogil:
    """The slot holding the string at ``blob[p]``, or the empty slot where it goes.

    The table is never full (callers keep it at most half full), so the probe ends.
    """
    cdef int64_t mask = slot_off.shape[0] - 1
    cdef int64_t j = <int64_t>(h & <uint64_t>mask)
    cdef int64_t so
    while True:
        so = slot_off[j]
        if so == EMPTY:
            return j
        if slot_hash[j] == h:
            if so < dst_start:
                if str_eq(blob, p, base_blob, so, ln):
                    return j
            elif str_eq(blob, p, out, so - dst_start, ln):
                return j
        j = (j + 1) & mask


cdef int _check_table(const int64_t[::1] slot_off, const uint64_t[::1] slot_hash) except -1:
    cdef Py_ssize_t cap = slot_off.shape[0]
    if cap < 2 or cap & (cap - 1) or slot_hash.shape[0] != cap:
        raise ValueError(f"string table of {cap} slots ({slot_hash.shape[0]} hashes): need a power of two >= 2, one hash per slot")
    return 0


cdef int _check_kind_table(const int64_t[::1] table, str name) except -1:
    cdef Py_ssize_t k
    if table.shape[0] < _SLOTS:
        raise ValueError(f"{name} has {table.shape[0]} entries; kind tables need {_SLOTS}")
    for k in range(_SLOTS):
        if table[k] < 0 or table[k] >= _ENTRY_LIMIT:
            raise ValueError(f"{name}[{k}] = {table[k]} is outside 0..{_ENTRY_LIMIT - 1}")
    return 0


def index_strings(const uint8_t[::1] blob, int64_t p, int64_t[::1] slot_off, uint64_t[::1] slot_hash,
                  int64_t count) -> tuple:
    """Enter every string start of ``blob`` from ``p`` on at its own offset, first
    occurrence winning; ``blob`` is what the table's offsets below ``dst_start`` name
    (the base chain), or the first bytes of the output blob when there is no base.

    Returns ``(p, count)``: ``p < len(blob)`` when the table must grow before resuming there.
    """
    _check_table(slot_off, slot_hash)
    cdef int64_t n = blob.shape[0]
    cdef int64_t cap = slot_off.shape[0]
    cdef int64_t ln, j
    cdef uint64_t h
    with nogil:
        while p < n:
            if (count + 1) * 2 > cap:
                break
            ln = str_len(blob, p)
            h = str_hash(blob, p, ln)
            # Offsets are looked up as base-chain offsets (dst_start past the blob).
            j = probe(blob, p, ln, h, blob, blob, n + 1, slot_off, slot_hash)
            if slot_off[j] == EMPTY:
                slot_off[j] = p
                slot_hash[j] = h
                count += 1
            p += ln + 1
    return p, count


def rehash(const int64_t[::1] slot_off, const uint64_t[::1] slot_hash, int64_t[::1] new_off,
           uint64_t[::1] new_hash) -> None:
    """Move every entry into the empty, bigger table ``new_off``/``new_hash``."""
    _check_table(slot_off, slot_hash)
    _check_table(new_off, new_hash)
    cdef Py_ssize_t i
    cdef int64_t used = 0
    cdef int64_t mask = new_off.shape[0] - 1
    cdef int64_t j
    for i in range(slot_off.shape[0]):
        if slot_off[i] != EMPTY:
            used += 1
    for i in range(new_off.shape[0]):
        if new_off[i] != EMPTY:
            raise ValueError("the new string table is not empty")
    if used >= new_off.shape[0]:
        raise ValueError(f"{used} strings do not fit a table of {new_off.shape[0]} slots")
    with nogil:
        for i in range(slot_off.shape[0]):
            if slot_off[i] != EMPTY:
                j = <int64_t>(slot_hash[i] & <uint64_t>mask)
                while new_off[j] != EMPTY:
                    j = (j + 1) & mask
                new_off[j] = slot_off[i]
                new_hash[j] = slot_hash[i]


def intern_offsets(int64_t[::1] offs, const int64_t[::1] srcs, int64_t k, const uint8_t[::1] own_all,
                   const int64_t[::1] blob_start, const int64_t[::1] own_start, const uint8_t[::1] base_blob,
                   uint8_t[::1] out, int64_t out_len, int64_t dst_start, int64_t[::1] slot_off,
                   uint64_t[::1] slot_hash, int64_t count) -> tuple:
    """Intern the string of every offset ``offs[k:]`` in order, rewriting ``offs`` in
    place with destination offsets (0 stays 0).

    ``offs[k]`` is an offset of source ``srcs[k]``: below ``own_start[src]`` it names
    the base chain's blob, else the source's own blob, ``own_all[blob_start[src]:
    blob_start[src + 1]]``.  Returns ``(k, out_len, count, err)``: ``k < len(offs)``
    with ``err`` 0 when the table or the output blob must grow before resuming at
    ``k``; ``err`` ``APPEND_BAD_STRING`` when ``offs[k]`` names no byte of its blob.
    """
    _check_table(slot_off, slot_hash)
    cdef int64_t n_src = own_start.shape[0]
    if srcs.shape[0] < offs.shape[0] or blob_start.shape[0] < n_src + 1:
        raise ValueError("intern_offsets: srcs must cover offs and blob_start every source")
    cdef int64_t n = offs.shape[0]
    cdef int64_t cap = slot_off.shape[0]
    cdef int64_t out_cap = out.shape[0]
    cdef int64_t o, s, p, ln, j, lim, newoff, i
    cdef uint64_t h
    cdef int err = 0
    cdef bint from_base
    with nogil:
        while k < n:
            o = offs[k]
            if o == 0:
                k += 1
                continue
            s = srcs[k]
            if s < 0 or s >= n_src or o < 0:
                err = 1
                break
            from_base = o < own_start[s]
            if from_base:
                p = o
                if p >= base_blob.shape[0]:
                    err = 1
                    break
                ln = str_len(base_blob, p)
                h = str_hash(base_blob, p, ln)
            else:
                p = blob_start[s] + (o - own_start[s])
                lim = blob_start[s + 1]
                if lim > own_all.shape[0]:
                    lim = own_all.shape[0]
                if p < blob_start[s] or p >= lim:
                    err = 1
                    break
                ln = str_len(own_all, p)
                h = str_hash(own_all, p, ln)
            if (count + 1) * 2 > cap or out_len + ln + 1 > out_cap:
                break
            if from_base:
                j = probe(base_blob, p, ln, h, base_blob, out, dst_start, slot_off, slot_hash)
            else:
                j = probe(own_all, p, ln, h, base_blob, out, dst_start, slot_off, slot_hash)
            if slot_off[j] == EMPTY:
                newoff = dst_start + out_len
                for i in range(ln):
                    out[out_len + i] = base_blob[p + i] if from_base else own_all[p + i]
                out[out_len + ln] = 0
                out_len += ln + 1
                slot_off[j] = newoff
                slot_hash[j] = h
                count += 1
                offs[k] = newoff
            else:
                offs[k] = slot_off[j]
            k += 1
    return k, out_len, count, err


def append_types(uint32_t[::1] words, const int64_t[::1] type_start, int64_t t, int64_t t_end, int64_t jf,
                 int64_t src_start_id, int64_t delta, const uint8_t[::1] own_blob, int64_t own_start,
                 const uint8_t[::1] base_blob, uint32_t[::1] own_memo, uint32_t[::1] base_memo,
                 uint8_t[::1] out, int64_t out_len, int64_t dst_start,
                 int64_t[::1] slot_off, uint64_t[::1] slot_hash, int64_t count,
                 const int64_t[::1] tid_first, const int64_t[::1] tid_stride, const int64_t[::1] tid_fixed,
                 const int64_t[::1] tid_per_vlen, const int64_t[::1] str_stride,
                 const int64_t[::1] str_per_vlen) -> tuple:
    """``btf__add_btf`` for the records ``t .. t_end - 1`` of one source, already copied
    into ``words`` (record ``i`` spans ``type_start[i] .. type_start[i + 1]``).

    Record by record, in libbpf's field-iterator order: every string field is interned
    (its offset names the base chain's blob below ``own_start``, else ``own_blob`` at
    ``offset - own_start``), from field ``jf`` on in record ``t``; then every type-ID
    field at or above ``src_start_id`` (the source's own types) is shifted by
    ``delta``, base and void references kept.  The field tables are those of
    :mod:`btfdedup.model.fields`.

    ``own_memo``/``base_memo`` (one entry per byte of ``own_blob``/``base_blob``,
    ``MEMO_UNKNOWN`` where not yet known) remember the destination offset of each
    source offset already interned: the set only grows and its answers never change,
    so a repeated offset (most are: member names, common type names) costs one load
    instead of a hash and a probe.  ``base_memo`` stays valid across sources on the
    same base; ``own_memo`` belongs to one source.

    Returns ``(t, jf, out_len, count, err, word)``: ``t == t_end`` when done; else, with
    ``err`` 0, the table or output blob must grow before resuming at record ``t``,
    string field ``jf``.  ``err`` ``APPEND_BAD_STRING``: the string offset at ``word``
    names no byte of its blob; ``APPEND_BAD_RECORD``: record ``t`` does not lie inside
    the section or cannot hold its fields.
    """
    _check_table(slot_off, slot_hash)
    for table, name in ((tid_first, "tid_first"), (tid_stride, "tid_stride"), (tid_fixed, "tid_fixed"),
                        (tid_per_vlen, "tid_per_vlen"), (str_stride, "str_stride"),
                        (str_per_vlen, "str_per_vlen")):
        _check_kind_table(table, name)
    if t < 0 or t_end < t or t_end > type_start.shape[0] - 1:
        raise ValueError(f"records {t}..{t_end} are not all in type_start ({type_start.shape[0] - 1} records)")
    if own_memo.shape[0] != own_blob.shape[0] or base_memo.shape[0] != base_blob.shape[0]:
        raise ValueError("append_types: a memo needs one entry per byte of its blob")
    cdef int64_t n_words = words.shape[0]
    cdef int64_t cap = slot_off.shape[0]
    cdef int64_t out_cap = out.shape[0]
    cdef int64_t own_len = own_blob.shape[0]
    cdef int64_t p, end, q, cnt, n_str, vlen, o, src_p, ln, j, newoff, i
    cdef uint32_t info, v
    cdef uint64_t h
    cdef int k
    cdef int err = 0
    cdef int64_t where = -1
    cdef bint from_base
    cdef bint grow = False
    with nogil:
        while t < t_end:
            p = type_start[t]
            end = type_start[t + 1]
            if p < 0 or p > n_words - 3 or end < p + 3 or end > n_words:
                err, where = 2, p
                break
            info = words[p + 1]
            k = kind_of(info)
            vlen = vlen_of(info)
            cnt = str_per_vlen[k] * vlen
            n_str = 1 + cnt
            if cnt and p + 3 + str_stride[k] * (cnt - 1) >= end:
                err, where = 2, p
                break
            cnt = tid_fixed[k] + tid_per_vlen[k] * vlen
            if cnt and p + tid_first[k] + tid_stride[k] * (cnt - 1) >= end:
                err, where = 2, p
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
                    if src_p >= base_blob.shape[0]:
                        err, where = 1, q
                        break
                    if base_memo[src_p] != MEMO_NONE:
                        words[q] = base_memo[src_p]
                        jf += 1
                        continue
                    ln = str_len(base_blob, src_p)
                    h = str_hash(base_blob, src_p, ln)
                else:
                    src_p = o - own_start
                    if src_p >= own_len:
                        err, where = 1, q
                        break
                    if own_memo[src_p] != MEMO_NONE:
                        words[q] = own_memo[src_p]
                        jf += 1
                        continue
                    ln = str_len(own_blob, src_p)
                    h = str_hash(own_blob, src_p, ln)
                if (count + 1) * 2 > cap or out_len + ln + 1 > out_cap:
                    grow = True
                    break
                if from_base:
                    j = probe(base_blob, src_p, ln, h, base_blob, out, dst_start, slot_off, slot_hash)
                else:
                    j = probe(own_blob, src_p, ln, h, base_blob, out, dst_start, slot_off, slot_hash)
                if slot_off[j] == EMPTY:
                    newoff = dst_start + out_len
                    for i in range(ln):
                        out[out_len + i] = base_blob[src_p + i] if from_base else own_blob[src_p + i]
                    out[out_len + ln] = 0
                    out_len += ln + 1
                    slot_off[j] = newoff
                    slot_hash[j] = h
                    count += 1
                else:
                    newoff = slot_off[j]
                words[q] = <uint32_t>newoff
                # Offsets that do not fit a word are not remembered (the merged
                # strings are refused later anyway: past libbpf's offset limit).
                if newoff < MEMO_NONE:
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
    return t, jf, out_len, count, err, where
