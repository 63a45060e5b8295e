"""The ``hash`` strategy: one bottom-up structural hash pass, no forward resolution.

The approach of cilium/ebpf's dedup: every type gets a hash of its own words and its
targets' hashes, children first (:func:`~btfdedup.strategies.refine_core.bottom_up_hashes`,
one depth-first pass; a target met again inside a cycle contributes its own words
only), and types with equal hashes are candidates for one class.  Equal hashes are no
proof, so the candidate classes are refined until stable and checked exactly
(:func:`~btfdedup.strategies.partition.stable_partition`): every merged pair is
structurally identical.  FWDs stay FWDs (a pointer to ``struct foo`` declared only
and one to ``struct foo`` defined are different types here), and where the walk
enters a cycle decides its hashes, so this keeps more types than ``canonical`` (and
than libbpf on inputs with forwards); it is deterministic (a function of the input
bytes) and needs no order-dependent candidate walk.  Where a cycle hides a difference
from the hashes, refinement takes as many rounds as that difference needs to spread
(30 on the raw 6.1 vmlinux, whose FWD/definition pairs keep some 850 k classes apart),
so on whole kernels it is slower than ``canonical``; on objects and modules it is the
quicker of the two.

Output: classes in order of their first type ID, strings once each in ``strcmp``
order; split BTF as ``canonical`` does it (base types never change).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.strategies.emit import emit
from btfdedup.strategies.graph import build_graph
from btfdedup.strategies.options import no_ext
from btfdedup.strategies.partition import Partition, refine, shallow_hashes, stable_partition
from btfdedup.strategies.refine_core import bottom_up_hashes

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult
    from btfdedup.model.btf import Btf
    from btfdedup.strategies.graph import TypeGraph
    from btfdedup.strategies.registry import StrategyOptions


def partition(graph: TypeGraph, salt: int) -> Partition:
    """Classes of equal bottom-up hash, refined to a stable partition."""
    h = bottom_up_hashes(shallow_hashes(graph, salt), graph.csr, graph.dst)
    return refine(graph, h, salt)


class HashStrategy:
    """See the module docstring."""

    name = "hash"
    guarantee = "one bottom-up hash pass, checked: sound and deterministic"

    def run(self, btf: Btf, options: StrategyOptions) -> DedupResult:
        from btfdedup.engine import DedupResult

        no_ext(options, self.name)
        t0 = time.perf_counter()
        graph = build_graph(btf)
        part = stable_partition(graph, lambda salt: partition(graph, salt))
        out, type_map = emit(graph, part, lambda classes, reps: np.argsort(reps, kind="stable"))
        stats = {
            "types_in": int(btf.nr_types),
            "types_out": int(out.nr_types),
            "rounds": part.rounds,
            "seconds": {"total": time.perf_counter() - t0},
        }
        return DedupResult(btf=out, type_map=type_map, stats=stats)


STRATEGY = HashStrategy()
