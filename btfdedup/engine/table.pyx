# cython: language_level=3
"""The candidate table: libbpf's dedup hashmap, with its exact candidate order.

libbpf keeps one multimap ``hash key -> type ID`` for the whole run (prep, primitive,
struct/union and reference phases).  Its hashmap chains entries per bucket, pushes
new entries at the head of a chain, and grows before an insert when
``cap == 0 or (sz + 1) * 4 // 3 > cap`` (cap 4 first, then doubling).  Growing walks
every old chain head to tail and pushes each entry onto the head of its new chain;
entries with equal keys always share a bucket, so **every grow reverses the relative
order of all entries sharing a key**, and nothing else about the order matters
(candidate walks skip entries whose key differs).

The exact model used here is therefore: one doubly linked list per distinct key, a
global grow counter (``gen``), and per key the grow count it last saw plus an
orientation bit.  Touching a key flips its orientation once per grow it missed
(parity), so a grow costs O(1) instead of a walk of the whole map.  Inserting pushes
at the logical front; walking goes logical front to back.  Because the model keeps
only the order of equal keys, ``force_collisions`` (libbpf's all-in-one-bucket
testing knob) yields the very same orders, as it does in libbpf.

Distinct keys are found through an open-addressing index (Fibonacci hashing, linear
probing) kept at most half full.  The table is one C struct (``table.pxd``: the index,
per-key slots ``head, tail, flipped, gen_seen`` and per-entry nodes ``type_id, next,
prev``), grown in place by :c:func:`table_insert` and owned by the dedup state, so no
phase hands arrays back and forth.  This module adds :class:`CandidateTable`, the same
table as a Python object, for tests and debugging.
"""

from libc.stdint cimport int32_t, uint64_t

from btfdedup.engine.table cimport CandTable, table_find, table_first, table_free, table_init, table_insert, table_next, table_type_id


cdef class CandidateTable:
    """One candidate table, initially sized for ``expected`` entries."""

    cdef CandTable t

    def __cinit__(self, long expected=1 << 14):
        if table_init(&self.t, expected) < 0:
            raise MemoryError("candidate table")

    def __dealloc__(self):
        table_free(&self.t)

    def __len__(self) -> int:
        return int(self.t.sz)

    def insert(self, uint64_t key, int32_t type_id) -> None:
        """libbpf ``hashmap__append(key, type_id)``."""
        if table_insert(&self.t, key, type_id) < 0:
            raise MemoryError("candidate table")

    def candidates(self, uint64_t key) -> list:
        """Type IDs stored under ``key`` in libbpf's walk order."""
        out = []
        cdef int32_t slot = table_find(&self.t, key)
        if slot < 0:
            return out
        cdef int32_t node = table_first(&self.t, slot)
        while node >= 0:
            out.append(int(table_type_id(&self.t, node)))
            node = table_next(&self.t, slot, node)
        return out
