# cython: language_level=3
"""The candidate table: libbpf's dedup hashmap with its exact candidate order, in C memory.

See ``table.pyx`` for the order model (one doubly linked list per distinct key, a grow
counter and a per-key orientation bit).  The table is one C struct owned by
:class:`btfdedup.engine.state.DedupState`; phases reach it as ``&d.table`` and never
copy or repack it.  Every function here is ``nogil``; the two that allocate return -1
when memory runs out (the caller reports ``ERR_NOMEM``).
"""

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

cdef struct CandTable:
    # open-addressing index: distinct key -> slot, Fibonacci hashing, linear probing, <= 1/2 full
    uint64_t *tkeys
    int32_t *tslot          # -1 empty
    int64_t index_cap       # power of two
    int bits
    # per distinct key: head, tail, flipped, gen_seen  (4 int32 per slot)
    int32_t *slots
    int64_t nslots
    int64_t slots_cap
    # per entry: type_id, next, prev  (3 int32 per node; physical links)
    int32_t *nodes
    int64_t sz              # libbpf's hashmap size (= nodes used)
    int64_t nodes_cap
    int64_t cap             # libbpf's bucket count: 0, 4, 8, ...
    int64_t gen             # how many times libbpf's map has grown


cdef inline int table_init(CandTable *t, int64_t expected) noexcept nogil:
    """Allocate for ``expected`` entries; 0 or -1 (no memory)."""
    cdef int64_t n = expected if expected > 16 else 16
    cdef int bits = 4
    while (<int64_t>1 << bits) < 2 * n:
        bits += 1
    t.index_cap = <int64_t>1 << bits
    t.bits = bits
    t.tkeys = <uint64_t *>malloc(t.index_cap * sizeof(uint64_t))
    t.tslot = <int32_t *>malloc(t.index_cap * sizeof(int32_t))
    t.slots = <int32_t *>malloc(n * 4 * sizeof(int32_t))
    t.nodes = <int32_t *>malloc(n * 3 * sizeof(int32_t))
    t.slots_cap = n
    t.nodes_cap = n
    t.nslots = 0
    t.sz = 0
    t.cap = 0
    t.gen = 0
    if t.tkeys == NULL or t.tslot == NULL or t.slots == NULL or t.nodes == NULL:
        table_free(t)
        return -1
    memset(t.tslot, 0xFF, t.index_cap * sizeof(int32_t))
    return 0


cdef inline void table_free(CandTable *t) noexcept nogil:
    free(t.tkeys)
    free(t.tslot)
    free(t.slots)
    free(t.nodes)
    t.tkeys = NULL
    t.tslot = NULL
    t.slots = NULL
    t.nodes = NULL
    t.sz = 0
    t.nslots = 0


cdef inline int64_t _index_of(const CandTable *t, uint64_t key) noexcept nogil:
    return <int64_t>((key * <uint64_t>0x9E3779B97F4A7C15ULL) >> (64 - t.bits))


cdef inline int32_t table_find(const CandTable *t, uint64_t key) noexcept nogil:
    """Slot of ``key`` or -1."""
    cdef int64_t mask = t.index_cap - 1
    cdef int64_t i = _index_of(t, key)
    cdef int32_t s
    while True:
        s = t.tslot[i]
        if s < 0:
            return -1
        if t.tkeys[i] == key:
            return s
        i = (i + 1) & mask


cdef inline void _sync(CandTable *t, int32_t slot) noexcept nogil:
    cdef int32_t *sl = t.slots + 4 * <int64_t>slot
    cdef int64_t seen = sl[3]
    if seen != t.gen:
        if (t.gen - seen) & 1:
            sl[2] ^= 1
        sl[3] = <int32_t>t.gen


cdef inline int32_t table_first(CandTable *t, int32_t slot) noexcept nogil:
    """First entry (node index) of a key's list in walk order, or -1."""
    _sync(t, slot)
    cdef int32_t *sl = t.slots + 4 * <int64_t>slot
    if sl[2]:
        return sl[1]
    return sl[0]


cdef inline int32_t table_next(const CandTable *t, int32_t slot, int32_t node) noexcept nogil:
    """Entry after ``node`` in walk order, or -1."""
    if t.slots[4 * <int64_t>slot + 2]:
        return t.nodes[3 * <int64_t>node + 2]
    return t.nodes[3 * <int64_t>node + 1]


cdef inline int32_t table_type_id(const CandTable *t, int32_t node) noexcept nogil:
    """The type ID stored in entry ``node``."""
    return t.nodes[3 * <int64_t>node]


cdef inline int _rehash(CandTable *t) noexcept nogil:
    cdef int bits = t.bits + 1
    cdef int64_t cap = <int64_t>1 << bits
    cdef int64_t mask = cap - 1
    cdef uint64_t *nk = <uint64_t *>malloc(cap * sizeof(uint64_t))
    cdef int32_t *ns = <int32_t *>malloc(cap * sizeof(int32_t))
    cdef int64_t j, i
    cdef int32_t s
    cdef uint64_t key
    if nk == NULL or ns == NULL:
        free(nk)
        free(ns)
        return -1
    memset(ns, 0xFF, cap * sizeof(int32_t))
    for j in range(t.index_cap):
        s = t.tslot[j]
        if s < 0:
            continue
        key = t.tkeys[j]
        i = <int64_t>((key * <uint64_t>0x9E3779B97F4A7C15ULL) >> (64 - bits))
        while ns[i] >= 0:
            i = (i + 1) & mask
        ns[i] = s
        nk[i] = key
    free(t.tkeys)
    free(t.tslot)
    t.tkeys = nk
    t.tslot = ns
    t.index_cap = cap
    t.bits = bits
    return 0


cdef inline int table_insert(CandTable *t, uint64_t key, int32_t type_id) noexcept nogil:
    """libbpf ``hashmap__append(key, type_id)``: grow check, then head insertion.  0 or -1 (no memory)."""
    cdef void *p
    if 2 * (t.nslots + 1) > t.index_cap:
        if _rehash(t) < 0:
            return -1
    if t.nslots + 1 > t.slots_cap:
        p = realloc(t.slots, 2 * t.slots_cap * 4 * sizeof(int32_t))
        if p == NULL:
            return -1
        t.slots = <int32_t *>p
        t.slots_cap *= 2
    if t.sz + 1 > t.nodes_cap:
        p = realloc(t.nodes, 2 * t.nodes_cap * 3 * sizeof(int32_t))
        if p == NULL:
            return -1
        t.nodes = <int32_t *>p
        t.nodes_cap *= 2
    if t.cap == 0 or (t.sz + 1) * 4 // 3 > t.cap:
        t.cap = 4 if t.cap == 0 else t.cap * 2
        t.gen += 1
    cdef int64_t mask = t.index_cap - 1
    cdef int64_t i = _index_of(t, key)
    cdef int32_t s
    cdef int32_t *sl
    while True:
        s = t.tslot[i]
        if s < 0:
            s = <int32_t>t.nslots
            t.nslots += 1
            t.tslot[i] = s
            t.tkeys[i] = key
            sl = t.slots + 4 * <int64_t>s
            sl[0] = -1
            sl[1] = -1
            sl[2] = 0
            sl[3] = <int32_t>t.gen
            break
        if t.tkeys[i] == key:
            break
        i = (i + 1) & mask
    _sync(t, s)
    sl = t.slots + 4 * <int64_t>s
    cdef int32_t node = <int32_t>t.sz
    cdef int32_t *nd = t.nodes + 3 * <int64_t>node
    cdef int32_t head, tail
    nd[0] = type_id
    if sl[2] == 0:
        head = sl[0]
        nd[1] = head
        nd[2] = -1
        if head >= 0:
            t.nodes[3 * <int64_t>head + 2] = node
        else:
            sl[1] = node
        sl[0] = node
    else:
        tail = sl[1]
        nd[2] = tail
        nd[1] = -1
        if tail >= 0:
            t.nodes[3 * <int64_t>tail + 1] = node
        else:
            sl[0] = node
        sl[1] = node
    t.sz += 1
    return 0
