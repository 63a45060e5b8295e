"""Stable partitions of a :class:`~btfdedup.strategies.graph.TypeGraph`: the classes
of types a structural strategy merges.

A partition is *stable* when the members of every class have equal shallow words
(:attr:`TypeGraph.shallow_words`) and, field by field, targets in equal classes.
Merging each class into one type is then sound: every merged pair is structurally
identical, cycles included (a stable partition is a bisimulation).

:func:`refine` computes the coarsest stable partition finer than a starting one by
colour refinement: a round gives every node a hash of its class and its targets'
classes (compiled, :func:`~btfdedup.strategies.refine_core.signature_hashes`), the
hashes are renumbered densely, and rounds repeat until the number of classes stops
growing.  Starting from the shallow partition this is the coarsest structural
equivalence of the graph; starting from a finer one (the ``hash`` strategy) it is the
coarsest stable partition inside it.

Hashes may collide; :func:`stable_partition` therefore checks the result exactly
(:func:`~btfdedup.strategies.refine_core.first_unstable`) and redoes the work with
another salt when the check fails, so a collision costs time, never soundness.

**Forwards** (:class:`Forwards`): a forward node may be *merged* into the class of
its candidate definitions (a FWD into the structs of its name) while those are all
in one class.  Merged forwards are exempt from the stability check (they are merged
by the forward rule, not by structure) and never represent their class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.errors import DedupError
from btfdedup.strategies.refine_core import class_minimum, densify, first_unstable, record_hashes, signature_hashes

if TYPE_CHECKING:
    from collections.abc import Callable

    from btfdedup.strategies.graph import TypeGraph

#: Salts tried in turn when a hash collision made a partition unstable.
SALTS = (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0)


@dataclass
class Forwards:
    """Forward nodes and their candidate definitions, grouped by key: the forwards
    ``fwd`` with key ``fwd_key``; the candidates of key ``k`` are
    ``cand[cand_start[k]:cand_start[k + 1]]`` (keys without candidates: empty)."""

    fwd: np.ndarray
    fwd_key: np.ndarray
    cand: np.ndarray
    cand_start: np.ndarray

    @classmethod
    def none(cls) -> Forwards:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, np.zeros(1, dtype=np.int64))

    def restrict(self, key: int, members: np.ndarray) -> Forwards:
        """A copy whose candidates for ``key`` are ``members`` only."""
        lo, hi = int(self.cand_start[key]), int(self.cand_start[key + 1])
        cand = np.concatenate([self.cand[:lo], members, self.cand[hi:]])
        start = self.cand_start.copy()
        start[key + 1:] += len(members) - (hi - lo)
        return Forwards(self.fwd, self.fwd_key, cand, start)

    def merge(self, values: np.ndarray) -> np.ndarray:
        """Mask over ``fwd``: the forwards whose candidates all hold one value of
        ``values`` (a value per node), which is copied onto them (in place)."""
        if not len(self.fwd):
            return np.zeros(0, dtype=bool)
        counts = np.diff(self.cand_start)
        has = np.flatnonzero(counts > 0)
        v = values[self.cand]
        first = self.cand_start[has]
        lo = np.minimum.reduceat(v, first) if len(v) else v
        hi = np.maximum.reduceat(v, first) if len(v) else v
        uniform = np.zeros(len(counts), dtype=bool)
        uniform[has] = lo == hi
        value = np.zeros(len(counts), dtype=values.dtype)
        value[has] = lo
        ok = uniform[self.fwd_key]
        values[self.fwd[ok]] = value[self.fwd_key[ok]]
        return ok


@dataclass
class Partition:
    """Class number per node (``0 .. count-1``, int64), the nodes merged into a
    definition by the forward rule (their class is the definition's), and how many
    refinement rounds it took."""

    colour: np.ndarray
    count: int
    merged: np.ndarray
    rounds: int
    salt: int


def shallow_hashes(graph: TypeGraph, salt: int) -> np.ndarray:
    """The hash of every node's shallow words (uint64)."""
    return record_hashes(graph.shallow_words, graph.start, salt)


def refine(graph: TypeGraph, initial: np.ndarray, salt: int, fwds: Forwards | None = None) -> Partition:
    """The coarsest stable partition finer than the one ``initial`` (a hash per node)
    gives, where each forward of ``fwds`` is in the class of its candidates as long
    as they all are in one class (a greatest fixed point: forwards start merged and
    leave their candidates' class when it splits, never to come back)."""
    fwds = fwds or Forwards.none()
    init = initial.copy()
    fwds.merge(init)
    colour, count = densify(init)
    rounds = 0
    ok = np.zeros(len(fwds.fwd), dtype=bool)
    while True:
        sig = signature_hashes(colour, graph.csr, graph.dst, salt)
        ok = fwds.merge(sig)
        new, new_count = densify(sig)
        rounds += 1
        if new_count <= count:
            break
        colour, count = new, new_count
    merged = np.zeros(graph.n, dtype=bool)
    merged[fwds.fwd[ok]] = True
    return Partition(colour, int(count), merged, rounds, salt)


def representatives(part: Partition, nodes: np.ndarray | None = None) -> np.ndarray:
    """The smallest node of each class among ``nodes`` (ascending; default: all
    nodes), forwards merged into a definition left out; -1 for a class with none."""
    if nodes is None:
        nodes = np.arange(len(part.colour), dtype=np.int64)
    return class_minimum(part.colour, part.count, nodes[~part.merged[nodes]])


def first_violation(graph: TypeGraph, part: Partition) -> int:
    """The first node breaking stability (see the module docstring), or -1."""
    rep = representatives(part)
    return int(first_unstable(graph.shallow_words, graph.start, part.colour, rep, graph.csr,
                              graph.dst, part.merged.astype(np.uint32)))


def stable_partition(graph: TypeGraph, compute: Callable[[int], Partition]) -> Partition:
    """``compute(salt)`` checked for stability, retried with the next salt on a
    violation (a hash collision); a :class:`DedupError` when every salt fails."""
    bad = -1
    for salt in SALTS:
        part = compute(salt)
        bad = first_violation(graph, part)
        if bad < 0:
            return part
    raise DedupError(f"type [{bad}]: no stable partition found after {len(SALTS)} hash salts "
                     "(its class holds a type of another structure)")
