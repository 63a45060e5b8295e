# cython: language_level=3
"""The string index: BTF strings by content, the one hash table every string consumer uses.

An index maps the bytes of a string to a *key*: the offset where that content lives
in the blobs the caller describes (:c:type:`StrBlobs`: keys below ``split`` name the
``lo`` blob, the others the ``hi`` blob at ``key - split``).  It is open addressing
with linear probing, a power-of-two capacity kept at most half full, and 8 bytes a
slot: a 32-bit hash tag and the key (plus one, so an all-zero slot is empty).  Entries
are never removed; an entry's bytes are compared in place in its blob, so the index
holds no copy of any string.

Users: the merge's destination string set (:mod:`btfdedup.append_walk`, libbpf
``btf__add_str``), the dedup strings phase (:mod:`btfdedup.engine.phases.strings`,
the base chain's index and the split's own), and :class:`StringIndex` (libbpf
``btf__find_str`` over one blob: :meth:`btfdedup.model.strings.StringTable.find`, and the
base index a prepared base shares).  No consumer's output depends on the hash or the
slot order: each asks "is this content present, and under which key", and keys come
from the callers' own first-occurrence or first-reference order.

Every function is ``nogil``; those that allocate return -1 when memory runs out,
leaving the index as it was.  A string is ``(pointer, length)`` with no NUL inside; an
entry matches it when its blob holds those bytes followed by a NUL, inside the blob.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memchr, memcmp, memcpy

cdef enum:
    _MIN_BITS = 4
    _MAX_BITS = 32


cdef struct StrIndex:
    uint32_t *tags          # hash tag of each slot's entry
    uint32_t *keys          # key + 1 of each slot's entry; 0 marks an empty slot
    int64_t cap             # power of two
    int64_t used
    int bits
    uint32_t hash_mask      # all ones; 0 (tests) gives every string the same hash


cdef struct StrBlobs:
    # where the bytes of an entry live: key < split in lo, else in hi at key - split
    const uint8_t *lo
    int64_t lo_size
    const uint8_t *hi
    int64_t hi_size
    int64_t split


cdef class StringIndex:
    cdef readonly bytes data
    cdef StrIndex ix


cdef inline int64_t str_key_max() noexcept nogil:
    """The largest key an index holds (keys are stored plus one in 32 bits)."""
    return 0xFFFFFFFE


cdef inline void strblobs_one(StrBlobs *b, const uint8_t *buf, int64_t size) noexcept nogil:
    """Keys are offsets into ``buf[:size]``."""
    b.lo = buf
    b.lo_size = size
    b.hi = NULL
    b.hi_size = 0
    b.split = size


cdef inline int64_t str_len(const uint8_t *buf, int64_t p, int64_t size) noexcept nogil:
    """Length of the string at ``buf[p]`` (``0 <= p <= size``): up to its NUL, or to ``size``."""
    cdef const void *nul
    if p >= size:
        return 0
    nul = memchr(buf + p, 0, <size_t>(size - p))
    if nul == NULL:
        return size - p
    return <const uint8_t *>nul - (buf + p)


cdef inline uint32_t str_hash(const uint8_t *s, int64_t n) noexcept nogil:
    """Hash of the ``n`` bytes at ``s``: eight bytes a step, then a 64-bit finaliser folded to 32 bits."""
    cdef uint64_t h = 0x243F6A8885A308D3ULL ^ (<uint64_t>n * 0x9E3779B97F4A7C15ULL)
    cdef uint64_t w
    cdef int64_t i
    while n >= 8:
        memcpy(&w, s, 8)
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL
        h ^= h >> 29
        s += 8
        n -= 8
    if n > 0:
        w = 0
        for i in range(n):
            w |= (<uint64_t>s[i]) << (8 * i)
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL
        h ^= h >> 29
    h ^= h >> 33
    h *= 0xFF51AFD7ED558CCDULL
    h ^= h >> 33
    h *= 0xC4CEB9FE1A85EC53ULL
    h ^= h >> 33
    return <uint32_t>(h ^ (h >> 32))


cdef inline bint str_at(const StrBlobs *b, int64_t key, const uint8_t *s, int64_t n) noexcept nogil:
    """Whether the blob string at ``key`` is exactly ``s[:n]`` (its NUL inside the blob)."""
    cdef const uint8_t *buf
    cdef int64_t size
    if key < b.split:
        buf, size = b.lo, b.lo_size
    else:
        buf, size = b.hi, b.hi_size
        key -= b.split
    if key < 0 or key >= size or n >= size - key:
        return False
    return buf[key + n] == 0 and memcmp(buf + key, s, <size_t>n) == 0


cdef inline int64_t _home(uint32_t tag, int bits) noexcept nogil:
    return <int64_t>(<uint32_t>(tag * 0x9E3779B9U) >> (32 - bits))


cdef inline int strindex_init(StrIndex *ix, int64_t expected) noexcept nogil:
    """An empty index with room for ``expected`` entries; 0 or -1 (no memory, nothing to free)."""
    cdef int bits = _MIN_BITS
    while bits < _MAX_BITS and (<int64_t>1 << bits) < 2 * expected:
        bits += 1
    ix.cap = <int64_t>1 << bits
    ix.bits = bits
    ix.used = 0
    ix.hash_mask = 0xFFFFFFFFU
    ix.tags = <uint32_t *>calloc(<size_t>ix.cap, sizeof(uint32_t))
    ix.keys = <uint32_t *>calloc(<size_t>ix.cap, sizeof(uint32_t))
    if ix.tags == NULL or ix.keys == NULL:
        strindex_free(ix)
        return -1
    return 0


cdef inline void strindex_free(StrIndex *ix) noexcept nogil:
    free(ix.tags)
    free(ix.keys)
    ix.tags = NULL
    ix.keys = NULL
    ix.cap = 0
    ix.used = 0


cdef inline int strindex_reserve(StrIndex *ix, int64_t more) noexcept nogil:
    """Room for ``more`` entries (the index regrown as needed); 0 or -1 (no memory, index kept)."""
    cdef int bits = ix.bits
    cdef int64_t cap, mask, j, i
    cdef uint32_t *tags
    cdef uint32_t *keys
    if 2 * (ix.used + more) <= ix.cap:
        return 0
    while (<int64_t>1 << bits) < 2 * (ix.used + more):
        if bits >= _MAX_BITS:
            return -1
        bits += 1
    cap = <int64_t>1 << bits
    mask = cap - 1
    tags = <uint32_t *>calloc(<size_t>cap, sizeof(uint32_t))
    keys = <uint32_t *>calloc(<size_t>cap, sizeof(uint32_t))
    if tags == NULL or keys == NULL:
        free(tags)
        free(keys)
        return -1
    for j in range(ix.cap):
        if ix.keys[j] == 0:
            continue
        i = _home(ix.tags[j], bits)
        while keys[i] != 0:
            i = (i + 1) & mask
        keys[i] = ix.keys[j]
        tags[i] = ix.tags[j]
    free(ix.tags)
    free(ix.keys)
    ix.tags = tags
    ix.keys = keys
    ix.cap = cap
    ix.bits = bits
    return 0


cdef inline int64_t strindex_probe(const StrIndex *ix, const StrBlobs *b, const uint8_t *s, int64_t n,
                                   uint32_t h) noexcept nogil:
    """The slot of the entry holding ``s[:n]`` (hash ``h``), or the empty slot where it
    goes.  The index is never full (at most half), so the probe ends."""
    cdef uint32_t tag = h & ix.hash_mask
    cdef int64_t mask = ix.cap - 1
    cdef int64_t i = _home(tag, ix.bits)
    cdef uint32_t k
    while True:
        k = ix.keys[i]
        if k == 0:
            return i
        if ix.tags[i] == tag and str_at(b, <int64_t>k - 1, s, n):
            return i
        i = (i + 1) & mask


cdef inline int64_t strindex_key(const StrIndex *ix, int64_t slot) noexcept nogil:
    """The key in ``slot``, or -1 when it is empty."""
    return <int64_t>ix.keys[slot] - 1


cdef inline void strindex_put(StrIndex *ix, int64_t slot, uint32_t h, int64_t key) noexcept nogil:
    """Fill the empty ``slot`` (from :func:`strindex_probe`, room reserved) with ``key``
    (``0 <= key <= str_key_max()``)."""
    ix.tags[slot] = h & ix.hash_mask
    ix.keys[slot] = <uint32_t>(key + 1)
    ix.used += 1


cdef inline int64_t strindex_find(const StrIndex *ix, const StrBlobs *b, const uint8_t *s, int64_t n,
                                  uint32_t h) noexcept nogil:
    """The key of ``s[:n]`` (hash ``h``), or -1."""
    return strindex_key(ix, strindex_probe(ix, b, s, n, h))


cdef inline int strindex_add_starts(StrIndex *ix, const StrBlobs *b, const uint8_t *buf, int64_t size,
                                    int64_t key0) noexcept nogil:
    """Enter every string start ``p`` of ``buf[:size]`` under key ``key0 + p``, the first
    occurrence of equal content winning (libbpf's strset over an existing blob, what
    ``btf__find_str`` answers from); ``b`` must resolve those keys to ``buf``.  0 or -1
    (no memory: the strings entered so far stay)."""
    cdef int64_t p = 0
    cdef int64_t n, j
    cdef uint32_t h
    while p < size:
        n = str_len(buf, p, size)
        h = str_hash(buf + p, n)
        if strindex_reserve(ix, 1) < 0:
            return -1
        j = strindex_probe(ix, b, buf + p, n, h)
        if ix.keys[j] == 0:
            strindex_put(ix, j, h, key0 + p)
        p += n + 1
    return 0


cdef inline int64_t str_count(const uint8_t *buf, int64_t size) noexcept nogil:
    """How many string starts ``buf[:size]`` has (a sizing hint for an index over it)."""
    cdef int64_t p = 0
    cdef int64_t count = 0
    while p < size:
        count += 1
        p += str_len(buf, p, size) + 1
    return count
