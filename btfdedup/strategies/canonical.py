"""The ``canonical`` strategy: the coarsest structural equivalence, in a canonical order.

Two types are merged when they are structurally identical over the whole type graph,
cycles included (the coarsest bisimulation: :func:`~btfdedup.strategies.partition.refine`
from the shallow partition), after forward resolution:

* a FWD is merged into the STRUCT (kind_flag 0) or UNION (kind_flag 1) of the same
  name when exactly one class of those exists;
* an enum forward (ENUM/ENUM64 with vlen 0) into the enum (ENUM or ENUM64, any
  size, as libbpf's compatibility rule has it) of the same name with enumerators,
  when exactly one such class exists; enum forwards of a name no such enum has merge
  into the ones of smallest (kind, kind_flag, size);
* forwards whose name has several candidate classes are settled by trial, in a
  canonical order (:func:`_settle_ambiguous`).

This is a greatest fixed point: forwards start in their candidates' class (when the
shallow words of the candidates agree) and leave it, for good, in the refinement
round where the candidates' class splits; so a struct holding a pointer to a forward
and one holding a pointer to the definition merge whenever the forward resolves.

Unlike libbpf's dedup, nothing depends on order, and reference loops are no error
(a PTR -> TYPEDEF -> PTR loop is a cycle like any other).  The output order is
canonical: classes sorted by kind, name (``strcmp`` order) and then their refined
signature (colour refinement over the quotient graph, from the classes' shallow
words, with colours renumbered by value each round, so no tie is broken by input
position); the string section holds each content once in ``strcmp`` order.  So the
output bytes do not depend on the order of the inputs nor of the types inside them.

Split BTF: base types never change; a class holding a base type maps onto it (the
smallest such ID when the base repeats itself), the others are emitted after the base.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.format.constants import Kind
from btfdedup.model.fields import ragged
from btfdedup.strategies.emit import emit
from btfdedup.strategies.graph import build_graph
from btfdedup.strategies.options import no_ext
from btfdedup.strategies.partition import (
    SALTS,
    Forwards,
    Partition,
    refine,
    representatives,
    shallow_hashes,
    stable_partition,
)
from btfdedup.strategies.refine_core import signature_hashes

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult
    from btfdedup.model.btf import Btf
    from btfdedup.strategies.graph import TypeGraph
    from btfdedup.strategies.registry import StrategyOptions


def forwards(graph: TypeGraph) -> Forwards:
    """The forwards of ``graph`` and their candidates (see the module docstring): FWDs
    keyed by name and flavour, STRUCT/UNION by name and kind; enum forwards and enums
    with enumerators by name only (ENUM and ENUM64 alike, any size: what libbpf's
    enum compatibility rule compares)."""
    kind = graph.kind.astype(np.int64)
    nodes = np.arange(graph.n, dtype=np.int64)
    name = graph.name_rank()
    named = (name != graph.empty_rank) & (nodes > 0)
    kflag = graph.kflag()
    vlen = graph.vlen
    is_enum = (kind == Kind.ENUM) | (kind == Kind.ENUM64)
    fwd = np.flatnonzero(named & (kind == Kind.FWD))
    cand = np.flatnonzero(named & ((kind == Kind.STRUCT) | (kind == Kind.UNION)))
    efwd = np.flatnonzero(named & is_enum & (vlen == 0))
    ecand = np.flatnonzero(named & is_enum & (vlen > 0))
    efwd, ecand = _lone_enum_forwards(efwd, ecand, name, kind, kflag, graph.size_word())
    all_f = np.concatenate([fwd, efwd])
    if not len(all_f):
        return Forwards.none()
    # one int64 key: name rank, rule (0 struct/union, 1 enum), flavour (FWD kind_flag = union)
    union = (kind == Kind.UNION).astype(np.int64)
    keys_f = np.concatenate([name[fwd] * 4 + kflag[fwd], name[efwd] * 4 + 2])
    keys_c = np.concatenate([name[cand] * 4 + union[cand], name[ecand] * 4 + 2])
    all_c = np.concatenate([cand, ecand])
    uniq, kf = np.unique(keys_f, return_inverse=True)
    kf = kf.reshape(-1).astype(np.int64)
    pos = np.minimum(np.searchsorted(uniq, keys_c), len(uniq) - 1)
    keep = uniq[pos] == keys_c
    kc, all_c = pos[keep], all_c[keep]
    order = np.argsort(kc, kind="stable")
    cand_start = np.searchsorted(kc[order], np.arange(len(uniq) + 1, dtype=np.int64))
    return Forwards(all_f, kf, all_c[order], cand_start.astype(np.int64))


def _lone_enum_forwards(efwd: np.ndarray, ecand: np.ndarray, name: np.ndarray, kind: np.ndarray,
                        kflag: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enum forwards of a name no enum with enumerators has: libbpf's compatibility
    rule (name only) merges them all, whatever their kind, kind_flag and size.  The
    forwards with the smallest (kind, kind_flag, size) become the candidates the others
    merge into: a choice by content, not position."""
    lone = ~np.isin(name[efwd], name[ecand])
    ids = efwd[lone]
    if not len(ids):
        return efwd, ecand
    shape = (kind[ids] << 33) | (kflag[ids] << 32) | size[ids]
    order = np.lexsort((shape, name[ids]))
    ids, shape, nm = ids[order], shape[order], name[ids][order]
    first = np.r_[True, nm[1:] != nm[:-1]]
    group_min = np.maximum.accumulate(np.where(first, np.arange(len(ids)), 0))
    smallest = shape == shape[group_min]
    return np.concatenate([efwd[~lone], ids[~smallest]]), np.concatenate([ecand, ids[smallest]])


def partition(graph: TypeGraph, salt: int, fwds: Forwards) -> Partition:
    """The coarsest structural equivalence with forwards merged where they have one
    candidate class (:func:`~btfdedup.strategies.partition.refine`), then the
    ambiguous forwards settled by trial (:func:`_settle_ambiguous`)."""
    init = shallow_hashes(graph, salt)
    part = refine(graph, init, salt, fwds)
    return _settle_ambiguous(graph, init, salt, fwds, part)


#: At most this many trial refinements settle ambiguous forwards (none on the corpora:
#: there every forward left unmerged has no candidate at all).
MAX_TRIALS = 64


def _settle_ambiguous(graph: TypeGraph, init: np.ndarray, salt: int, fwds: Forwards, part: Partition) -> Partition:
    """Forwards whose name has several candidate classes (two different ``struct bar``
    and a ``struct bar;``) are where libbpf's order decides: its equivalence check
    takes a FWD for any struct of its name, in context, so a struct pointing at the
    FWD merges with one pointing at a definition.  Here, key by key in key order
    (content ranks: canonical), each candidate class is tried (the forwards restricted
    to it, the partition refined again) and the one giving the fewest classes is kept;
    among equals, the class with the smallest canonical signature (:func:`signatures`:
    content, not position).  No choice depends on input order; a greedy choice per key
    is not always libbpf's, so on such inputs the type count may still exceed libbpf's.
    Real corpora have no such key."""
    counts = np.diff(fwds.cand_start)
    unmerged = np.unique(fwds.fwd_key[~part.merged[fwds.fwd]])
    keys = [int(k) for k in unmerged if counts[k] > 0]
    trials = 0
    for k in keys:
        members = fwds.cand[fwds.cand_start[k]:fwds.cand_start[k + 1]]
        classes = np.unique(part.colour[members])
        if len(classes) < 2 or trials + len(classes) > MAX_TRIALS:
            continue
        results = []
        for c in classes:
            trial = fwds.restrict(k, members[part.colour[members] == c])
            results.append((refine(graph, init, salt, trial), trial))
            trials += 1
        best = min(r.count for r, _ in results)
        if best >= part.count:
            continue
        tied = [i for i, (r, _) in enumerate(results) if r.count == best]
        if len(tied) > 1:
            sig = signatures(graph, part)
            tied.sort(key=lambda i: int(sig[classes[i]]))
        part, fwds = results[tied[0]]
    return part


def signatures(graph: TypeGraph, part: Partition) -> np.ndarray:
    """A canonical number per class: colour refinement over the quotient graph (each
    class as its smallest member's shallow words and targets' classes), colours
    renumbered in value order every round, to the stable colouring."""
    rep = representatives(part)
    salt = SALTS[0]
    init = shallow_hashes(graph, salt)[rep]
    deg = graph.csr[rep + 1] - graph.csr[rep]
    owner, j = ragged(deg)
    q_dst = part.colour[graph.dst[graph.csr[rep][owner] + j]]
    q_csr = np.zeros(part.count + 1, dtype=np.int64)
    np.cumsum(deg, out=q_csr[1:])
    uniq, ids = np.unique(init, return_inverse=True)
    ids = ids.astype(np.int64).reshape(-1)
    count = len(uniq)
    while True:
        h = signature_hashes(ids, q_csr, q_dst, salt)
        uniq, new = np.unique(h, return_inverse=True)
        if len(uniq) <= count:
            return ids
        ids, count = new.astype(np.int64).reshape(-1), len(uniq)


class CanonicalStrategy:
    """See the module docstring."""

    name = "canonical"
    guarantee = "coarsest structural equivalence in a canonical order"

    def run(self, btf: Btf, options: StrategyOptions) -> DedupResult:
        from btfdedup.engine import DedupResult

        no_ext(options, self.name)
        t0 = time.perf_counter()
        graph = build_graph(btf)
        t1 = time.perf_counter()
        fwds = forwards(graph)
        part = stable_partition(graph, lambda salt: partition(graph, salt, fwds))
        t2 = time.perf_counter()
        sig = signatures(graph, part)
        kind = graph.kind
        name = graph.name_rank()

        def order(classes: np.ndarray, reps: np.ndarray) -> np.ndarray:
            return np.lexsort((sig[classes], name[reps], kind[reps]))

        out, type_map = emit(graph, part, order)
        t3 = time.perf_counter()
        stats = {
            "types_in": int(btf.nr_types),
            "types_out": int(out.nr_types),
            "rounds": part.rounds,
            "seconds": {"graph": t1 - t0, "partition": t2 - t1, "output": t3 - t2, "total": t3 - t0},
        }
        return DedupResult(btf=out, type_map=type_map, stats=stats)


STRATEGY = CanonicalStrategy()
