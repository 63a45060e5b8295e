# cython: language_level=3
"""Phase: strings (libbpf ``btf_dedup_strings``), skipped when ``strs_deduped``.

Invariant established: every string reference of the split part (types in ID order,
per type name_off then member/param/enumerator names; then .BTF.ext references) is
rewritten so that equal contents share one offset, and the new string blob holds
exactly the referenced contents in order of first reference.  Offsets 0 and offsets
below the split's start stay as they are; for split BTF, a content present in the base
chain maps to the base's first occurrence (libbpf ``btf__find_str``: only string
starts are indexed, the lowest offset wins); non-split blobs start with ``""``.

Implementation: two content indexes.  The base chain's string starts are indexed by
content once (:class:`BaseStrings`, first occurrence wins), either here for this call
or, with a prepared base, once for every split on it (``d.base_strings``, read-only
here).  The split's own contents go into a small per-call index sized for its string
starts (kept at most half full, regrown when suffix references add more).  One pass
walks the references in order, memoising the result per referenced offset, so each
distinct offset is hashed once: a content found in the base index takes the base
offset, else the own index gives the first new offset of that content.  Every
reference points inside the split's own section at a NUL-terminated string (the
reader checked it).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy, memset

import numpy as np

from btfdedup.engine.state cimport DEDUP_OK, ERR_NOMEM, DedupState
from btfdedup.format.kinds cimport KIND_MASK, KIND_SHIFT, VLEN_MASK

from btfdedup.model.fields import STR_PER_VLEN as _PY_STR_PER_VLEN
from btfdedup.model.fields import STR_STRIDE as _PY_STR_STRIDE

# string fields per kind (see btfdedup.model.fields): name_off, then per_vlen * vlen more at stride
cdef int64_t STR_STRIDE[KIND_MASK + 1]
cdef int64_t STR_PER_VLEN[KIND_MASK + 1]
for _k in range(KIND_MASK + 1):
    STR_STRIDE[_k] = int(_PY_STR_STRIDE[_k])
    STR_PER_VLEN[_k] = int(_PY_STR_PER_VLEN[_k])

cdef uint64_t FNV_OFF = 0xCBF29CE484222325ULL
cdef uint64_t FNV_PRIME = 0x100000001B3ULL
cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef struct StrIndex:
    # own content -> value, open addressing, at most half full
    uint64_t *hkeys
    int64_t *hsrc          # offset of the content in the own blob, -1 empty
    int64_t *hlen
    int64_t *hval
    int bits
    int64_t cap
    int64_t used


cdef struct BaseIx:
    # base string starts by content (the lowest offset of each), open addressing, <= 1/2
    # full; 8 bytes a slot (a vmlinux has ~100k strings and the index lives all run long)
    const uint8_t *buf     # the base chain's strings
    int64_t size
    uint32_t *htag         # high half of the content hash
    int32_t *hsrc          # offset in buf, -1 empty
    int bits
    int64_t cap


cdef struct Pass:
    const uint8_t *own     # the split's own string section (the whole blob when not split)
    int64_t start_off      # global offset of own[0]
    const BaseIx *bix      # the base chain's index, or NULL
    int32_t *memo          # per own offset: its new offset, or -1
    int64_t *out_src       # new blob: own offset and length of each string, in order
    int64_t *out_len
    int64_t n_out
    int64_t new_size
    StrIndex ix


cdef inline int64_t _strlen(const uint8_t *buf, int64_t o) noexcept nogil:
    cdef int64_t e = o
    while buf[e] != 0:
        e += 1
    return e - o


cdef inline uint64_t _hash(const uint8_t *buf, int64_t o, int64_t n) noexcept nogil:
    cdef uint64_t h = FNV_OFF
    cdef int64_t i
    for i in range(o, o + n):
        h = (h ^ buf[i]) * FNV_PRIME
    return h


cdef int _ix_alloc(StrIndex *ix, int bits) noexcept nogil:
    cdef int64_t cap = <int64_t>1 << bits
    ix.hkeys = <uint64_t *>malloc(cap * sizeof(uint64_t))
    ix.hsrc = <int64_t *>malloc(cap * sizeof(int64_t))
    ix.hlen = <int64_t *>malloc(cap * sizeof(int64_t))
    ix.hval = <int64_t *>malloc(cap * sizeof(int64_t))
    ix.bits = bits
    ix.cap = cap
    ix.used = 0
    if ix.hkeys == NULL or ix.hsrc == NULL or ix.hlen == NULL or ix.hval == NULL:
        return -1
    memset(ix.hsrc, 0xFF, cap * sizeof(int64_t))
    return 0


cdef void _ix_free(StrIndex *ix) noexcept nogil:
    free(ix.hkeys)
    free(ix.hsrc)
    free(ix.hlen)
    free(ix.hval)
    ix.hkeys = NULL
    ix.hsrc = NULL
    ix.hlen = NULL
    ix.hval = NULL


cdef int _ix_regrow(StrIndex *ix) noexcept nogil:
    """The content index rebuilt at twice the capacity; 0 or -1 (no memory, old index kept)."""
    cdef StrIndex nx
    if _ix_alloc(&nx, ix.bits + 1) < 0:
        _ix_free(&nx)
        return -1
    cdef int64_t mask = nx.cap - 1
    cdef int64_t j, i
    for j in range(ix.cap):
        if ix.hsrc[j] < 0:
            continue
        i = <int64_t>((ix.hkeys[j] * GOLDEN) >> (64 - nx.bits))
        while nx.hsrc[i] >= 0:
            i = (i + 1) & mask
        nx.hkeys[i] = ix.hkeys[j]
        nx.hsrc[i] = ix.hsrc[j]
        nx.hlen[i] = ix.hlen[j]
        nx.hval[i] = ix.hval[j]
    nx.used = ix.used
    _ix_free(ix)
    ix[0] = nx
    return 0


cdef int64_t _lookup_or_add(StrIndex *ix, const uint8_t *buf, int64_t o, int64_t n, uint64_t h,
                            int64_t val) noexcept nogil:
    """Value stored for the content ``buf[o:o+n]`` (hash ``h``); stores ``val`` when absent
    and returns -1.  The caller keeps the index at most half full."""
    cdef int64_t mask = ix.cap - 1
    cdef int64_t i = <int64_t>((h * GOLDEN) >> (64 - ix.bits))
    cdef int64_t s
    while True:
        s = ix.hsrc[i]
        if s < 0:
            ix.hkeys[i] = h
            ix.hsrc[i] = o
            ix.hlen[i] = n
            ix.hval[i] = val
            ix.used += 1
            return -1
        if ix.hkeys[i] == h and ix.hlen[i] == n and memcmp(buf + s, buf + o, n) == 0:
            return ix.hval[i]
        i = (i + 1) & mask


cdef void _bix_free(BaseIx *bx) noexcept nogil:
    free(bx.htag)
    free(bx.hsrc)
    bx.htag = NULL
    bx.hsrc = NULL


cdef inline bint _bix_same(const BaseIx *bx, int64_t s, const uint8_t *str, int64_t n) noexcept nogil:
    """Whether the base string at ``s`` is exactly ``str[:n]``."""
    return s + n < bx.size and bx.buf[s + n] == 0 and memcmp(bx.buf + s, str, n) == 0


cdef int _bix_build(BaseIx *bx, const uint8_t *buf, int64_t size) noexcept nogil:
    """Index every string start of ``buf[:size]`` by content, the first occurrence
    winning (libbpf ``btf__find_str``); 0 or -1 (no memory)."""
    cdef int64_t n_str = 0
    cdef int64_t o = 0
    cdef int64_t n, i, s, mask
    cdef uint64_t h
    cdef uint32_t tag
    cdef int bits = 4
    while o < size:
        n_str += 1
        o += _strlen(buf, o) + 1
    while (<int64_t>1 << bits) < 2 * (n_str + 16):
        bits += 1
    bx.buf = buf
    bx.size = size
    bx.bits = bits
    bx.cap = <int64_t>1 << bits
    bx.htag = <uint32_t *>malloc(bx.cap * sizeof(uint32_t))
    bx.hsrc = <int32_t *>malloc(bx.cap * sizeof(int32_t))
    if bx.htag == NULL or bx.hsrc == NULL:
        _bix_free(bx)
        return -1
    memset(bx.hsrc, 0xFF, bx.cap * sizeof(int32_t))
    mask = bx.cap - 1
    o = 0
    while o < size:
        n = _strlen(buf, o)
        h = _hash(buf, o, n)
        tag = <uint32_t>(h >> 32)
        i = <int64_t>((h * GOLDEN) >> (64 - bits))
        while True:
            s = bx.hsrc[i]
            if s < 0:
                bx.htag[i] = tag
                bx.hsrc[i] = <int32_t>o
                break
            if bx.htag[i] == tag and _bix_same(bx, s, buf + o, n):
                break
            i = (i + 1) & mask
        o += n + 1
    return 0


cdef inline int64_t _bix_find(const BaseIx *bx, const uint8_t *str, int64_t n, uint64_t h) noexcept nogil:
    """Base offset of the content ``str[:n]`` (hash ``h``), or -1."""
    cdef int64_t mask = bx.cap - 1
    cdef int64_t i = <int64_t>((h * GOLDEN) >> (64 - bx.bits))
    cdef uint32_t tag = <uint32_t>(h >> 32)
    cdef int64_t s
    while True:
        s = bx.hsrc[i]
        if s < 0:
            return -1
        if bx.htag[i] == tag and _bix_same(bx, s, str, n):
            return s
        i = (i + 1) & mask


cdef class BaseStrings:
    """The string index of a base chain, built once and shared read-only by the
    strings phase of every split on it (see :class:`btfdedup.engine.state.PreparedBase`).

    ``data`` is the chain's string sections concatenated (what split offsets below the
    split's start point into)."""

    cdef readonly bytes data
    cdef BaseIx ix

    def __cinit__(self, bytes data):
        self.data = data
        cdef const uint8_t *buf = <const uint8_t *>self.data
        cdef int64_t size = len(data)
        cdef int rc
        if size >= 0x7FFFFFFF:
            raise ValueError("base string sections beyond 2 GiB")
        with nogil:
            rc = _bix_build(&self.ix, buf, size)
        if rc < 0:
            raise MemoryError("base string index")

    def __dealloc__(self):
        _bix_free(&self.ix)

    def __len__(self) -> int:
        return int(self.ix.size)


cdef int64_t _remap_one(Pass *ps, int64_t lo) noexcept nogil:
    """New offset for the own reference at own offset ``lo`` (not yet memoised); -1
    when out of memory."""
    cdef int64_t n, r, m
    cdef uint64_t h
    n = _strlen(ps.own, lo)
    h = _hash(ps.own, lo, n)
    if ps.bix != NULL:
        r = _bix_find(ps.bix, ps.own + lo, n, h)
        if r >= 0:
            ps.memo[lo] = <int32_t>r
            return r
    if 2 * (ps.ix.used + 1) > ps.ix.cap:
        if _ix_regrow(&ps.ix) < 0:
            return -1
    r = _lookup_or_add(&ps.ix, ps.own, lo, n, h, ps.start_off + ps.new_size)
    if r < 0:
        ps.out_src[ps.n_out] = lo
        ps.out_len[ps.n_out] = n
        ps.n_out += 1
        m = ps.start_off + ps.new_size
        ps.new_size += n + 1
    else:
        m = r
    ps.memo[lo] = <int32_t>m
    return m


cdef int _walk(Pass *ps, uint32_t *W, const int64_t *ts, int64_t first_id, int64_t end_id,
               uint32_t *ext, int64_t n_ext) noexcept nogil:
    """Rewrite the type records' string references, then the .BTF.ext ones; 0 or -1 (no memory)."""
    cdef int64_t tid, p, q, j, cnt, stride, ro, m
    cdef int k
    cdef int64_t start_off = ps.start_off
    for tid in range(first_id, end_id):
        p = ts[tid]
        k = (W[p + 1] >> KIND_SHIFT) & KIND_MASK
        cnt = STR_PER_VLEN[k] * (W[p + 1] & VLEN_MASK)
        stride = STR_STRIDE[k]
        q = p
        for j in range(cnt + 1):
            ro = W[q]
            if ro != 0 and ro >= start_off:
                m = ps.memo[ro - start_off]
                if m < 0:
                    m = _remap_one(ps, ro - start_off)
                    if m < 0:
                        return -1
                W[q] = <uint32_t>m
            q = p + 3 + stride * j
    for j in range(n_ext):
        ro = ext[j]
        if ro != 0 and ro >= start_off:
            m = ps.memo[ro - start_off]
            if m < 0:
                m = _remap_one(ps, ro - start_off)
                if m < 0:
                    return -1
            ext[j] = <uint32_t>m
    return 0


cdef int _prepare(Pass *ps, int64_t own_len, int64_t n_refs) noexcept nogil:
    """Size the own content index (seeded with ``""`` for a non-split blob) and allocate
    the output lists; 0 or -1 (no memory)."""
    cdef const uint8_t *own = ps.own
    cdef int64_t n_own = 2
    cdef int64_t i, n_new
    cdef int bits = 4
    # distinct new contents <= distinct referenced own offsets; the index starts sized
    # for the own string starts and regrows for suffix references
    n_new = (own_len if own_len < n_refs else n_refs) + 2
    for i in range(own_len):
        if own[i] == 0:
            n_own += 1
    while (<int64_t>1 << bits) < 2 * ((n_own if n_own < n_new else n_new) + 16):
        bits += 1
    if _ix_alloc(&ps.ix, bits) < 0:
        return -1
    ps.out_src = <int64_t *>malloc(n_new * sizeof(int64_t))
    ps.out_len = <int64_t *>malloc(n_new * sizeof(int64_t))
    ps.memo = <int32_t *>malloc((own_len if own_len > 0 else 1) * sizeof(int32_t))
    if ps.out_src == NULL or ps.out_len == NULL or ps.memo == NULL:
        return -1
    memset(ps.memo, 0xFF, (own_len if own_len > 0 else 1) * sizeof(int32_t))
    if ps.start_off == 0:
        _lookup_or_add(&ps.ix, own, 0, 0, _hash(own, 0, 0), 0)
        ps.out_src[0] = 0
        ps.out_len[0] = 0
        ps.n_out = 1
        ps.new_size = 1
    return 0


def strings_phase(DedupState d) -> int:
    """Deduplicate the split part's strings.

    Without ``d.base_strings``, ``d.str_buf`` is the whole chain's strings and the
    split's own part starts at ``d.str_start_off`` (the base part is indexed here);
    with it (a :class:`BaseStrings` of the base chain), ``d.str_buf`` is the split's own
    section only.  Rewrites the split records' string references in ``d.W`` and
    ``d.ext_str_refs`` in place; sets ``d.strings_data`` (bytes) to the new split string
    section.  The input is split BTF exactly when its strings start past offset 0 (a
    base always has at least the empty string).  Fails only with ``ERR_NOMEM``.
    """
    buf_arr = np.ascontiguousarray(d.str_buf, dtype=np.uint8)
    ext_arr = d.ext_str_refs
    if ext_arr is None:
        ext_arr = np.zeros(0, dtype=np.uint32)
    ext_arr = np.array(ext_arr, dtype=np.uint32, copy=True)
    cdef const uint8_t[::1] buf = buf_arr
    cdef uint32_t[::1] ext = ext_arr
    cdef int64_t n_buf = buf.shape[0]
    cdef int64_t n_ext = ext.shape[0]
    cdef int64_t start_off = d.str_start_off
    cdef BaseStrings shared = None
    cdef BaseIx local
    cdef bint own_index = False
    cdef int64_t own_len
    cdef uint32_t *W = d.W
    cdef const int64_t *ts = d.ts
    cdef int64_t first_id = d.start_id
    cdef int64_t end_id = d.type_cnt
    cdef int64_t n_refs = n_ext
    cdef int64_t tid, p, i
    cdef int k
    cdef int rc = 0
    cdef Pass ps
    memset(&ps, 0, sizeof(Pass))
    memset(&local, 0, sizeof(BaseIx))
    ps.start_off = start_off
    if d.base_strings is not None:
        shared = <BaseStrings?>d.base_strings
        if len(shared) != start_off:
            raise ValueError("the base string index does not match the split's string start")
        ps.bix = &shared.ix
        ps.own = &buf[0] if n_buf else NULL
        own_len = n_buf
    else:
        ps.own = &buf[start_off] if n_buf > start_off else NULL
        own_len = n_buf - start_off
    with nogil:
        if start_off > 0 and shared is None:
            rc = _bix_build(&local, &buf[0], start_off)
            own_index = True
            ps.bix = &local
        for tid in range(first_id, end_id):
            p = ts[tid]
            k = (W[p + 1] >> KIND_SHIFT) & KIND_MASK
            n_refs += 1 + STR_PER_VLEN[k] * (W[p + 1] & VLEN_MASK)
        if rc == 0:
            rc = _prepare(&ps, own_len, n_refs)
        if rc == 0:
            rc = _walk(&ps, W, ts, first_id, end_id, &ext[0] if n_ext else NULL, n_ext)
        if own_index:
            _bix_free(&local)
    if rc < 0:
        _ix_free(&ps.ix)
        free(ps.out_src)
        free(ps.out_len)
        free(ps.memo)
        return d.fail(ERR_NOMEM, -1, -1)
    blob_arr = np.zeros(ps.new_size, dtype=np.uint8)
    cdef uint8_t[::1] blob = blob_arr
    cdef int64_t w = 0
    with nogil:
        for i in range(ps.n_out):
            memcpy(&blob[w], ps.own + ps.out_src[i], ps.out_len[i])
            w += ps.out_len[i] + 1
        _ix_free(&ps.ix)
        free(ps.out_src)
        free(ps.out_len)
        free(ps.memo)
    d.ext_str_refs = ext_arr
    d.strings_data = blob_arr.tobytes()
    return DEDUP_OK
