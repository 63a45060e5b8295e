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
probing) kept at most half full.  All state is plain numpy arrays so the compiled
phases can share it; :func:`table_insert` grows them (doubling) and returns the
arrays it may have replaced, so phases rebind them and hand them back to
:class:`CandidateTable` when they finish:

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
    """Arrays of one candidate table, initially sized for ``expected`` entries."""

    __slots__ = ("tkeys", "tslot", "slots", "nodes", "meta")

    def __init__(self, expected: int = 1 << 14) -> None:
        n = max(int(expected), 16)
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

    def update(self, tkeys: np.ndarray, tslot: np.ndarray, slots: np.ndarray, nodes: np.ndarray) -> None:
        """Adopt the (possibly regrown) arrays a compiled phase returns."""
        self.tkeys, self.tslot, self.slots, self.nodes = tkeys, tslot, slots, nodes

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
        self.update(*table_insert(self.tkeys, self.tslot, self.slots, self.nodes, self.meta, np.uint64(key),
                                  np.int32(type_id)))


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def table_next(nodes, slots, slot, node):  # type: ignore[no-untyped-def]
    """Entry after ``node`` in walk order, or -1."""
    if slots[slot, 2]:
        return nodes[node, 2]
    return nodes[node, 1]


@njit(cache=True, nogil=True)
def _rehash(tkeys, tslot, meta):  # type: ignore[no-untyped-def]
    bits = meta[M_BITS] + 1
    cap = np.int64(1) << bits
    nk = np.zeros(cap, dtype=np.uint64)
    ns = np.full(cap, -1, dtype=np.int32)
    mask = cap - 1
    for j in range(tslot.shape[0]):
        s = tslot[j]
        if s < 0:
            continue
        key = tkeys[j]
        i = np.int64((key * _GOLDEN) >> np.uint64(64 - bits))
        while ns[i] >= 0:
            i = (i + 1) & mask
        ns[i] = s
        nk[i] = key
    meta[M_BITS] = bits
    meta[M_MASK] = mask
    return nk, ns


@njit(cache=True, nogil=True)
def grow_rows(a):  # type: ignore[no-untyped-def]
    """A copy of the 2-D array ``a`` with twice the rows (the first half filled)."""
    b = np.empty((a.shape[0] * 2, a.shape[1]), dtype=a.dtype)
    for i in range(a.shape[0]):  # explicit loops: slice assignment drags in numba's
        for j in range(a.shape[1]):  # shape-error formatting, seconds of compile time
            b[i, j] = a[i, j]
    return b


@njit(cache=True, nogil=True)
def table_insert(tkeys, tslot, slots, nodes, meta, key, type_id):  # type: ignore[no-untyped-def]
    """libbpf ``hashmap__append(key, type_id)``: grow check, then head insertion.

    Returns ``(tkeys, tslot, slots, nodes)``, regrown when they were full."""
    if 2 * (meta[M_NSLOTS] + 1) > tslot.shape[0]:
        tkeys, tslot = _rehash(tkeys, tslot, meta)
    if meta[M_NSLOTS] + 1 > slots.shape[0]:
        slots = grow_rows(slots)
    if meta[M_SZ] + 1 > nodes.shape[0]:
        nodes = grow_rows(nodes)
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
    return tkeys, tslot, slots, nodes
