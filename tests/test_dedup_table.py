"""The candidate-order model against a literal simulation of libbpf's hashmap.

The reference here walks real bucket arrays the way libbpf's ``hashmap.c`` does:
``hash_bits(h, bits) = (h * 0x9E3779B97F4A7C15 mod 2**64) >> (64 - bits)`` (0 when
bits is 0), new entries pushed at a chain's head, grow (min 2 bits, then +1) when
``cap == 0 or (sz + 1) * 4 // 3 > cap`` by moving every entry, bucket by bucket and
head to tail, to the head of its new chain; ``for_each_key_entry`` walks one chain
from its head, skipping other keys.  The model under test keeps one list per key and
flips orientation per grow (btfdedup.engine.table); both must give the same candidate
order for every key after every insert, with the identity and the all-collide hash.
"""

from __future__ import annotations

import random

import pytest

from btfdedup.engine.table import CandidateTable

_MASK = (1 << 64) - 1


class LibbpfHashmap:
    def __init__(self, collide: bool) -> None:
        self.collide = collide
        self.buckets: list[list[tuple[int, int]]] = []  # chain = list, head first
        self.bits = 0
        self.sz = 0

    def _bucket(self, key: int, bits: int) -> int:
        h = 0 if self.collide else key
        if bits == 0:
            return 0
        return ((h * 0x9E3779B97F4A7C15) & _MASK) >> (64 - bits)

    def append(self, key: int, value: int) -> None:
        cap = len(self.buckets)
        if cap == 0 or (self.sz + 1) * 4 // 3 > cap:
            bits = max(self.bits + 1, 2)
            new: list[list[tuple[int, int]]] = [[] for _ in range(1 << bits)]
            for chain in self.buckets:
                for entry in chain:
                    new[self._bucket(entry[0], bits)].insert(0, entry)
            self.buckets, self.bits = new, bits
        self.buckets[self._bucket(key, self.bits)].insert(0, (key, value))
        self.sz += 1

    def candidates(self, key: int) -> list[int]:
        if not self.buckets:
            return []
        return [v for k, v in self.buckets[self._bucket(key, self.bits)] if k == key]


@pytest.mark.parametrize("collide", [False, True], ids=["identity", "force_collisions"])
@pytest.mark.parametrize("seed", range(4))
def test_candidate_order_matches_libbpf_hashmap(collide: bool, seed: int) -> None:
    rng = random.Random(seed)
    keys = [rng.getrandbits(64) for _ in range(7)] + [0, 1, _MASK]
    ref = LibbpfHashmap(collide)
    model = CandidateTable(expected=4)  # small, so the model's own index regrows too
    for value in range(1, 400):
        key = rng.choice(keys)
        ref.append(key, value)
        model.insert(key, value)
        if value % 7 == 0 or value < 40:
            for k in keys:
                assert model.candidates(k) == ref.candidates(k), (value, k)
    assert len(model) == ref.sz


def test_many_distinct_keys_grow_index() -> None:
    rng = random.Random(99)
    ref = LibbpfHashmap(False)
    model = CandidateTable(expected=16)
    keys = [rng.getrandbits(64) for _ in range(3000)]
    for i in range(6000):
        k = keys[rng.randrange(len(keys))]
        ref.append(k, i + 1)
        model.insert(k, i + 1)
    for k in keys:
        assert model.candidates(k) == ref.candidates(k)
