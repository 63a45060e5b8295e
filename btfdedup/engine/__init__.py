"""BTF deduplication, byte-identical to libbpf v1.6 ``btf__dedup`` (or 1.1.2 on request).

``dedup(btf, ext=None, force_collisions=False, strategy="libbpf",
reproduce_array_bug=False, libbpf_version="1.6", debug=False, prepared=None) -> DedupResult``, with
``libbpf_version`` one of :data:`LIBBPF_VERSIONS` ("1.1", "1.6"); ``debug`` checks
every phase's invariant as it goes.  ``prepare_base(base) -> PreparedBase`` does the
base's share of a split dedup once, for ``dedup(split, prepared=...)`` of many splits
on ``base``.  The design essay,
with the invariant of every phase, is in :mod:`btfdedup.engine.pipeline`; the
per-release switches are in :mod:`btfdedup.engine.profiles`.
"""

from btfdedup.engine.pipeline import DedupResult, dedup, prepare_base
from btfdedup.engine.profiles import LIBBPF_VERSIONS
from btfdedup.engine.state import PreparedBase

__all__ = ["LIBBPF_VERSIONS", "DedupResult", "PreparedBase", "dedup", "prepare_base"]
