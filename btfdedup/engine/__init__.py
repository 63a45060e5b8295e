"""BTF deduplication, byte-identical to libbpf v1.6 ``btf__dedup``.

``dedup(btf, ext=None, force_collisions=False, strategy="libbpf",
reproduce_array_bug=False) -> DedupResult``.  The design essay, with the invariant
of every phase, is in :mod:`btfdedup.engine.pipeline`.
"""

from btfdedup.engine.pipeline import DedupResult, dedup

__all__ = ["DedupResult", "dedup"]
