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
probing) sized up front from the maximal number of inserts, so nothing reallocates
inside compiled code.  All state is plain numpy arrays so the compiled phases can
share it:

* ``tkeys`` (uint64[cap]) / ``tslot`` (int32[cap], -1 empty): key -> slot index;
* ``slots`` (int32[n, 4]): per key ``head, tail, flipped, gen_seen``;
* ``nodes`` (int32[m, 3]): per entry ``type_id, next, prev`` (physical links);
* ``meta`` (int64[8]): ``sz, cap (libbpf's), gen, nslots, index mask, index bits``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

M_SZ = 0
M_CAP = 1
M_GEN = 2
M_NSLOTS = 3
M_MASK = 4
M_BITS = 5


class CandidateTable:
    """Arrays of one candidate table able to hold ``max_entries`` inserts."""

    __slots__ = ("tkeys", "tslot", "slots", "nodes", "meta")

    def __init__(self, max_entries: int) -> None:
        n = max(int(max_entries), 1)
        bits = max(int(np.ceil(np.log2(n * 2))), 4)
        cap = 1 << bits
        self.tkeys = np.zeros(cap, dtype=np.uint64)
        self.tslot = np.full(cap, -1, dtype=np.int32)
        self.slots = np.empty((n, 4), dtype=np.int32)
        self.nodes = np.empty((n, 3), dtype=np.int32)
        self.meta = np.zeros(8, dtype=np.int64)
        self.meta[M_MASK] = cap - 1
        self.meta[M_BITS] = bits

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.tkeys, self.tslot, self.slots, self.nodes, self.meta

    def __len__(self) -> int:
        return int(self.meta[M_SZ])

    def candidates(self, key: int) -> list[int]:
        """Type IDs stored under ``key`` in libbpf's walk order (for tests and debugging)."""
        out: list[int] = []
        slot = table_find(self.tkeys, self.tslot, self.meta, np.uint64(key))
        if slot < 0:
            return out
        node = table_first(self.slots, self.meta, slot)
        while node >= 0:
            out.append(int(self.nodes[node, 0]))
            node = table_next(self.nodes, self.slots, slot, node)
        return out

    def insert(self, key: int, type_id: int) -> None:
        table_insert(self.tkeys, self.tslot, self.slots, self.nodes, self.meta, np.uint64(key), type_id)


@njit(cache=True, nogil=True, inline="always")
def _index_of(key, meta):  # type: ignore[no-untyped-def]
    h = key * _GOLDEN
    return np.int64(h >> np.uint64(64 - meta[M_BITS]))


@njit(cache=True, nogil=True)
def table_find(tkeys, tslot, meta, key):  # type: ignore[no-untyped-def]
    """Slot of ``key`` or -1."""
    mask = meta[M_MASK]
    i = _index_of(key, meta)
    while True:
        s = tslot[i]
        if s < 0:
            return -1
        if tkeys[i] == key:
            return s
        i = (i + 1) & mask


@njit(cache=True, nogil=True, inline="always")
def _sync(slots, meta, slot):  # type: ignore[no-untyped-def]
    gen = meta[M_GEN]
    seen = slots[slot, 3]
    if seen != gen:
        if (gen - seen) & 1:
            slots[slot, 2] ^= 1
        slots[slot, 3] = gen


@njit(cache=True, nogil=True)
def table_first(slots, meta, slot):  # type: ignore[no-untyped-def]
    """First entry (node index) of a key's list in walk order, or -1."""
    _sync(slots, meta, slot)
    if slots[slot, 2]:
        return slots[slot, 1]
    return slots[slot, 0]


@njit(cache=True, nogil=True, inline="always")
def table_next(nodes, slots, slot, node):  # type: ignore[no-untyped-def]
    """Entry after ``node`` in walk order, or -1."""
    if slots[slot, 2]:
        return nodes[node, 2]
    return nodes[node, 1]


@njit(cache=True, nogil=True)
def table_insert(tkeys, tslot, slots, nodes, meta, key, type_id):  # type: ignore[no-untyped-def]
    """libbpf ``hashmap__append(key, type_id)``: grow check, then head insertion."""
    sz = meta[M_SZ]
    cap = meta[M_CAP]
    if cap == 0 or (sz + 1) * 4 // 3 > cap:
        meta[M_CAP] = 4 if cap == 0 else cap * 2
        meta[M_GEN] += 1
    mask = meta[M_MASK]
    i = _index_of(key, meta)
    while True:
        s = tslot[i]
        if s < 0:
            s = meta[M_NSLOTS]
            meta[M_NSLOTS] = s + 1
            tslot[i] = s
            tkeys[i] = key
            slots[s, 0] = -1
            slots[s, 1] = -1
            slots[s, 2] = 0
            slots[s, 3] = meta[M_GEN]
            break
        if tkeys[i] == key:
            break
        i = (i + 1) & mask
    _sync(slots, meta, s)
    node = sz
    nodes[node, 0] = type_id
    if slots[s, 2] == 0:
        head = slots[s, 0]
        nodes[node, 1] = head
        nodes[node, 2] = -1
        if head >= 0:
            nodes[head, 2] = node
        else:
            slots[s, 1] = node
        slots[s, 0] = node
    else:
        tail = slots[s, 1]
        nodes[node, 2] = tail
        nodes[node, 1] = -1
        if tail >= 0:
            nodes[tail, 1] = node
        else:
            slots[s, 0] = node
        slots[s, 1] = node
    meta[M_SZ] = sz + 1
