# cython: language_level=3
"""Phase: strings (libbpf ``btf_dedup_strings``), skipped when ``strs_deduped``.

Invariant established: every string reference of the split part (types in ID order,
per type name_off then member/param/enumerator names; then .BTF.ext references) is
rewritten so that equal contents share one offset, and the new string blob holds
exactly the referenced contents in order of first reference.  Offsets 0 and offsets
below the split's start stay as they are; for split BTF, a content present in the base
chain maps to the base's first occurrence (libbpf ``btf__find_str``: only string
starts are indexed, the lowest offset wins); non-split blobs start with ``""``.

Implementation: two content indexes, both the package's string index
(``btfdedup/model/strindex.pxd``).  The base chain's string starts are indexed by
content once (first occurrence wins), either here for this call or, with a prepared
base, once for every split on it (``d.base_strings``, a
:class:`~btfdedup.model.strindex.StringIndex`, read-only here).  The split's own
contents go into a per-call index keyed by own offset, sized for its string starts
(regrown when suffix references add more).  One pass walks the references in order,
memoising the result per referenced offset, so each distinct offset is hashed once:
a content found in the base index takes the base offset, else the own index gives
the first own offset of that content, whose memo holds its new offset.  Every
reference points inside the split's own section at a NUL-terminated string (the
reader checked it).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

from btfdedup.engine.state cimport DEDUP_OK, ERR_NOMEM, DedupState
from btfdedup.format.kinds cimport KIND_MASK, KIND_SHIFT, VLEN_MASK
from btfdedup.model.strindex cimport (
    StrBlobs,
    StrIndex,
    StringIndex,
    str_count,
    str_hash,
    str_len,
    strblobs_one,
    strindex_add_starts,
    strindex_find,
    strindex_free,
    strindex_init,
    strindex_key,
    strindex_probe,
    strindex_put,
    strindex_reserve,
)

from btfdedup.model.fields import STR_PER_VLEN as _PY_STR_PER_VLEN
from btfdedup.model.fields import STR_STRIDE as _PY_STR_STRIDE

# string fields per kind (see btfdedup.model.fields): name_off, then per_vlen * vlen more at stride
cdef int64_t STR_STRIDE[KIND_MASK + 1]
cdef int64_t STR_PER_VLEN[KIND_MASK + 1]
for _k in range(KIND_MASK + 1):
    STR_STRIDE[_k] = int(_PY_STR_STRIDE[_k])
    STR_PER_VLEN[_k] = int(_PY_STR_PER_VLEN[_k])


cdef struct Pass:
    const uint8_t *own     # the split's own string section (the whole blob when not split)
    int64_t own_len
    int64_t start_off      # global offset of own[0]
    const StrIndex *bix    # the base chain's index, or NULL
    StrBlobs bblobs        # its keys: offsets into the base chain's strings
    StrIndex ix            # own contents by first own offset
    StrBlobs oblobs        # its keys: own offsets
    int32_t *memo          # per own offset: its new offset, or -1
    int64_t *out_src       # new blob: own offset and length of each string, in order
    int64_t *out_len
    int64_t n_out
    int64_t new_size


cdef int64_t _remap_one(Pass *ps, int64_t lo) noexcept nogil:
    """New offset for the own reference at own offset ``lo`` (not yet memoised); -1
    when out of memory."""
    cdef const uint8_t *s = ps.own + lo
    cdef int64_t n = str_len(ps.own, lo, ps.own_len)
    cdef uint32_t h = str_hash(s, n)
    cdef int64_t r, j, m
    if ps.bix != NULL:
        r = strindex_find(ps.bix, &ps.bblobs, s, n, h)
        if r >= 0:
            ps.memo[lo] = <int32_t>r
            return r
    if strindex_reserve(&ps.ix, 1) < 0:
        return -1
    j = strindex_probe(&ps.ix, &ps.oblobs, s, n, h)
    r = strindex_key(&ps.ix, j)
    if r < 0:
        strindex_put(&ps.ix, j, h, lo)
        ps.out_src[ps.n_out] = lo
        ps.out_len[ps.n_out] = n
        ps.n_out += 1
        m = ps.start_off + ps.new_size
        ps.new_size += n + 1
    else:
        m = ps.memo[r]
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


cdef int _prepare(Pass *ps, int64_t n_refs) noexcept nogil:
    """Size the own content index (seeded with ``""`` for a non-split blob) and allocate
    the output lists; 0 or -1 (no memory)."""
    cdef int64_t own_len = ps.own_len
    cdef int64_t n_own = 2
    cdef int64_t i, n_new
    cdef uint32_t h
    # distinct new contents <= distinct referenced own offsets; the index starts sized
    # for the own string starts and regrows for suffix references
    n_new = (own_len if own_len < n_refs else n_refs) + 2
    for i in range(own_len):
        if ps.own[i] == 0:
            n_own += 1
    if strindex_init(&ps.ix, (n_own if n_own < n_new else n_new) + 16) < 0:
        return -1
    strblobs_one(&ps.oblobs, ps.own, own_len)
    ps.out_src = <int64_t *>malloc(n_new * sizeof(int64_t))
    ps.out_len = <int64_t *>malloc(n_new * sizeof(int64_t))
    ps.memo = <int32_t *>malloc((own_len if own_len > 0 else 1) * sizeof(int32_t))
    if ps.out_src == NULL or ps.out_len == NULL or ps.memo == NULL:
        return -1
    memset(ps.memo, 0xFF, (own_len if own_len > 0 else 1) * sizeof(int32_t))
    if ps.start_off == 0:
        # "" at offset 0 (a non-split blob starts with its NUL: the reader checked it)
        if own_len > 0:
            h = str_hash(ps.own, 0)
            strindex_put(&ps.ix, strindex_probe(&ps.ix, &ps.oblobs, ps.own, 0, h), h, 0)
            ps.memo[0] = 0
        ps.out_src[0] = 0
        ps.out_len[0] = 0
        ps.n_out = 1
        ps.new_size = 1
    return 0


def strings_phase(DedupState d) -> int:
    """Deduplicate the split part's strings.

    Without ``d.base_strings``, ``d.str_buf`` is the whole chain's strings and the
    split's own part starts at ``d.str_start_off`` (the base part is indexed here);
    with it (a :class:`~btfdedup.model.strindex.StringIndex` of the base chain's strings), ``d.str_buf`` is the split's own
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
    cdef StringIndex shared = None
    cdef StrIndex local
    cdef bint own_index = False
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
    memset(&local, 0, sizeof(StrIndex))
    ps.start_off = start_off
    if d.base_strings is not None:
        shared = <StringIndex?>d.base_strings
        if len(shared.data) != start_off:
            raise ValueError("the base string index does not match the split's string start")
        ps.bix = &shared.ix
        strblobs_one(&ps.bblobs, <const uint8_t *>shared.data, start_off)
        ps.own = &buf[0] if n_buf else NULL
        ps.own_len = n_buf
    else:
        ps.own = &buf[start_off] if n_buf > start_off else NULL
        ps.own_len = n_buf - start_off
    with nogil:
        if start_off > 0 and shared is None:
            own_index = True
            strblobs_one(&ps.bblobs, &buf[0], start_off)
            rc = strindex_init(&local, str_count(&buf[0], start_off))
            if rc == 0:
                rc = strindex_add_starts(&local, &ps.bblobs, &buf[0], start_off, 0)
            ps.bix = &local
        for tid in range(first_id, end_id):
            p = ts[tid]
            k = (W[p + 1] >> KIND_SHIFT) & KIND_MASK
            n_refs += 1 + STR_PER_VLEN[k] * (W[p + 1] & VLEN_MASK)
        if rc == 0:
            rc = _prepare(&ps, n_refs)
        if rc == 0:
            rc = _walk(&ps, W, ts, first_id, end_id, &ext[0] if n_ext else NULL, n_ext)
        if own_index:
            strindex_free(&local)
    if rc < 0:
        strindex_free(&ps.ix)
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
        strindex_free(&ps.ix)
        free(ps.out_src)
        free(ps.out_len)
        free(ps.memo)
    d.ext_str_refs = ext_arr
    d.strings_data = blob_arr.tobytes()
    return DEDUP_OK
