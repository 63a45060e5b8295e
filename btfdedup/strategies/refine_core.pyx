# cython: language_level=3
"""The per-type loops of the structural dedup strategies (compiled).

Numpy does the whole-column work of :mod:`btfdedup.strategies.partition`; what is
left here are the loops that would need a temporary per word or per edge in numpy
(on the raw 6.1 vmlinux: 3.4 M types, 60 M words, 12 M type-ID fields), or that
walk the graph in an order:

* :func:`record_hashes` — one 64-bit hash per record of its words (type-ID fields
  already blanked, string offsets already replaced by content ranks);
* :func:`signature_hashes` — one round of colour refinement: a type's colour with
  its targets' colours, field by field;
* :func:`densify` — hash values to dense class numbers (first seen, first numbered)
  through an open-addressing table, so a round costs no sort;
* :func:`first_unstable` — the exact check that a partition is stable (members equal
  to their class representative word for word, targets in the same classes), which
  makes the strategies sound whatever the hashes do;
* :func:`bottom_up_hashes` — the ``hash`` strategy's single depth-first pass.

Hashes use splitmix64's finalizer (wrapping arithmetic).  setup.py compiles without
bounds checks: callers pass arrays of the lengths documented (checked on entry).
"""

from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

cdef uint64_t _K1 = 0x9E3779B97F4A7C15ULL
cdef uint64_t _K2 = 0xD6E8FEB86659FD93ULL
cdef uint64_t _K3 = 0xC2B2AE3D27D4EB4FULL


cdef inline uint64_t _mix(uint64_t x) noexcept nogil:
    x ^= x >> 30
    x *= 0xBF58476D1CE4E5B9ULL
    x ^= x >> 27
    x *= 0x94D049BB133111EBULL
    x ^= x >> 31
    return x


def record_hashes(const uint32_t[::1] words, const int64_t[::1] start, uint64_t salt):
    """Hash of each record ``words[start[i]:start[i + 1]]`` (uint64, one per record;
    ``len(start) - 1`` records), seeded with ``salt`` and the record's length."""
    cdef int64_t n = start.shape[0] - 1
    cdef int64_t i, p
    cdef uint64_t h
    if n < 0 or (n > 0 and start[n] > words.shape[0]):
        raise ValueError("record starts lie outside the words")
    out = np.empty(max(n, 0), dtype=np.uint64)
    cdef uint64_t[::1] o = out
    with nogil:
        for i in range(n):
            h = _mix(salt ^ <uint64_t> (start[i + 1] - start[i]))
            for p in range(start[i], start[i + 1]):
                h = _mix(h ^ (<uint64_t> words[p] * _K1 + <uint64_t> (p - start[i])))
            o[i] = h
    return out


def signature_hashes(const int64_t[::1] colour, const int64_t[::1] csr, const int64_t[::1] dst, uint64_t salt):
    """One refinement round: for each node ``v``, a hash of ``colour[v]`` and of
    ``colour[dst[e]]`` for its edges ``csr[v] <= e < csr[v + 1]`` in order."""
    cdef int64_t n = colour.shape[0]
    cdef int64_t v, e
    cdef uint64_t h
    if csr.shape[0] != n + 1 or (n > 0 and csr[n] > dst.shape[0]):
        raise ValueError("edge index does not match the colouring")
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    with nogil:
        for v in range(n):
            h = _mix(salt ^ (<uint64_t> colour[v] * _K2))
            for e in range(csr[v], csr[v + 1]):
                h = _mix(h ^ (<uint64_t> colour[dst[e]] * _K1 + <uint64_t> (e - csr[v]) * _K3))
            o[v] = h
    return out


def densify(const uint64_t[::1] keys):
    """``(ids, count)``: ``ids[i]`` numbers the distinct values of ``keys`` 0, 1, ...
    in order of first occurrence (int64); ``count`` is how many there are."""
    cdef int64_t n = keys.shape[0]
    cdef int64_t cap = 16
    while cap < 2 * n:
        cap *= 2
    cdef uint64_t mask = <uint64_t> (cap - 1)
    cdef uint64_t *tk = <uint64_t *> malloc(cap * sizeof(uint64_t))
    cdef int64_t *tv = <int64_t *> malloc(cap * sizeof(int64_t))
    if tk == NULL or tv == NULL:
        free(tk)
        free(tv)
        raise MemoryError()
    ids = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = ids
    cdef int64_t i, count = 0
    cdef uint64_t slot, k
    with nogil:
        for i in range(cap):
            tv[i] = -1
        for i in range(n):
            k = keys[i]
            slot = _mix(k) & mask
            while tv[slot] >= 0 and tk[slot] != k:
                slot = (slot + 1) & mask
            if tv[slot] < 0:
                tk[slot] = k
                tv[slot] = count
                count += 1
            o[i] = tv[slot]
    free(tk)
    free(tv)
    return ids, count


cdef int64_t _first_unstable(const uint32_t[::1] words, const int64_t[::1] start, const int64_t[::1] colour,
                             const int64_t[::1] rep, const int64_t[::1] csr, const int64_t[::1] dst,
                             const uint32_t[::1] skip) noexcept nogil:
    cdef int64_t n = colour.shape[0]
    cdef int64_t v, r, p, q, e, f, ln
    for v in range(n):
        if skip[v]:
            continue
        r = rep[colour[v]]
        if r == v:
            continue
        ln = start[v + 1] - start[v]
        if ln != start[r + 1] - start[r] or csr[v + 1] - csr[v] != csr[r + 1] - csr[r]:
            return v
        p = start[v]
        q = start[r]
        while ln > 0:
            if words[p] != words[q]:
                return v
            p += 1
            q += 1
            ln -= 1
        f = csr[r]
        for e in range(csr[v], csr[v + 1]):
            if colour[dst[e]] != colour[dst[f]]:
                return v
            f += 1
    return -1


def first_unstable(const uint32_t[::1] words, const int64_t[::1] start, const int64_t[::1] colour,
                   const int64_t[::1] rep, const int64_t[::1] csr, const int64_t[::1] dst,
                   const uint32_t[::1] skip):
    """The first node that differs from its class representative ``rep[colour[v]]``
    (-1: none): other record length or words (``words`` with type-ID fields blanked and
    string offsets as content ranks), or a type-ID field whose target is in another
    class than the representative's.  Nodes with ``skip[v]`` set are not checked
    (forwards merged on purpose)."""
    cdef int64_t n = colour.shape[0]
    cdef int64_t res
    if start.shape[0] != n + 1 or csr.shape[0] != n + 1 or skip.shape[0] != n:
        raise ValueError("arrays do not match the colouring")
    with nogil:
        res = _first_unstable(words, start, colour, rep, csr, dst, skip)
    return res


def bottom_up_hashes(const uint64_t[::1] shallow, const int64_t[::1] csr, const int64_t[::1] dst):
    """One depth-first pass over the type graph, children before parents: each node's
    hash combines its ``shallow`` hash with its targets' hashes in field order.  A
    target still on the walk's stack (a cycle) contributes its ``shallow`` hash only,
    so the result depends on where the walk enters a cycle, i.e. on type ID order."""
    cdef int64_t n = shallow.shape[0]
    cdef int64_t root, v, e, t, top
    cdef uint64_t h
    if csr.shape[0] != n + 1 or (n > 0 and csr[n] > dst.shape[0]):
        raise ValueError("edge index does not match the nodes")
    out = np.zeros(n, dtype=np.uint64)
    state_arr = np.zeros(n, dtype=np.uint8)
    stack_arr = np.empty(max(n, 1), dtype=np.int64)
    next_arr = np.empty(max(n, 1), dtype=np.int64)
    cdef uint64_t[::1] o = out
    cdef unsigned char[::1] state = state_arr
    cdef int64_t[::1] stack = stack_arr
    cdef int64_t[::1] nxt = next_arr
    with nogil:
        for root in range(n):
            if state[root] != 0:
                continue
            top = 0
            stack[0] = root
            nxt[0] = csr[root]
            state[root] = 1
            while top >= 0:
                v = stack[top]
                e = nxt[top]
                if e < csr[v + 1]:
                    nxt[top] = e + 1
                    t = dst[e]
                    if state[t] == 0:
                        state[t] = 1
                        top += 1
                        stack[top] = t
                        nxt[top] = csr[t]
                    continue
                h = _mix(shallow[v] ^ _K2)
                for e in range(csr[v], csr[v + 1]):
                    t = dst[e]
                    if state[t] == 2:
                        h = _mix(h ^ (o[t] * _K1 + <uint64_t> (e - csr[v]) * _K3))
                    else:
                        h = _mix(h ^ (shallow[t] * _K3 + <uint64_t> (e - csr[v]) * _K1))
                o[v] = h
                state[v] = 2
                top -= 1
    return out


def field_positions(const uint32_t[::1] words, const int64_t[::1] start,
                    const int64_t[::1] tid_first, const int64_t[::1] tid_stride,
                    const int64_t[::1] tid_fixed, const int64_t[::1] tid_per_vlen,
                    const int64_t[::1] str_stride, const int64_t[::1] str_per_vlen):
    """Word positions of every type-ID field and every string field of the records
    ``words[start[i]:start[i + 1]]`` (record 0, void, is empty), in libbpf's field
    order, with their per-record index: ``(tid_pos, tid_csr, str_pos, str_csr)``.
    The tables are :data:`btfdedup.model.fields.FIELD_TABLES`; a kind past them has
    no fields."""
    cdef int64_t n = start.shape[0] - 1
    cdef int64_t nk = tid_first.shape[0]
    cdef int64_t i, p, k, vlen, j, c, nt = 0, ns = 0
    cdef uint32_t info
    if n < 0 or (n > 0 and start[n] > words.shape[0]):
        raise ValueError("record starts lie outside the words")
    tid_csr_a = np.zeros(n + 1, dtype=np.int64)
    str_csr_a = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] tcsr = tid_csr_a
    cdef int64_t[::1] scsr = str_csr_a
    with nogil:
        for i in range(n):
            tcsr[i] = nt
            scsr[i] = ns
            if start[i + 1] - start[i] < 3:
                continue
            info = words[start[i] + 1]
            k = (info >> 24) & 0x1F
            vlen = info & 0xFFFF
            if k >= nk:
                continue
            nt += tid_fixed[k] + tid_per_vlen[k] * vlen
            ns += 1 + str_per_vlen[k] * vlen
        tcsr[n] = nt
        scsr[n] = ns
    tid_pos_a = np.empty(nt, dtype=np.int64)
    str_pos_a = np.empty(ns, dtype=np.int64)
    cdef int64_t[::1] tp = tid_pos_a
    cdef int64_t[::1] sp = str_pos_a
    with nogil:
        for i in range(n):
            if start[i + 1] - start[i] < 3:
                continue
            p = start[i]
            info = words[p + 1]
            k = (info >> 24) & 0x1F
            vlen = info & 0xFFFF
            if k >= nk:
                continue
            c = tcsr[i]
            for j in range(tid_fixed[k] + tid_per_vlen[k] * vlen):
                tp[c + j] = p + tid_first[k] + tid_stride[k] * j
            c = scsr[i]
            sp[c] = p
            for j in range(1, 1 + str_per_vlen[k] * vlen):
                sp[c + j] = p + 3 + str_stride[k] * (j - 1)
    return tid_pos_a, tid_csr_a, str_pos_a, str_csr_a


def class_minimum(const int64_t[::1] colour, int64_t count, const int64_t[::1] nodes):
    """The smallest of ``nodes`` in each class ``0 .. count-1`` of ``colour`` (-1: none)."""
    cdef int64_t i, v, c
    out = np.full(count, -1, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for i in range(nodes.shape[0]):
            v = nodes[i]
            c = colour[v]
            if o[c] < 0 or v < o[c]:
                o[c] = v
    return out
