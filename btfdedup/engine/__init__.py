"""BTF deduplication, byte-identical to libbpf v1.6 ``btf__dedup`` (or 1.1.2, v1.7.0 or master on request).

``dedup(btf, ext=None, force_collisions=False, reproduce_array_bug=False, libbpf_version="1.6", debug=False, prepared=None) -> DedupResult``, with
``libbpf_version`` one of :data:`LIBBPF_VERSIONS` ("1.1", "1.6", "1.7", "1.8"); ``debug``
checks every phase's invariant as it goes.  ``prepare_base(base, libbpf_version="1.6")
-> PreparedBase`` does the base's share of a split dedup once, for ``dedup(split,
prepared=...)`` of many splits on ``base``.  The design essay,
with the invariant of every phase, is in :mod:`btfdedup.engine.pipeline`; the
per-release switches are in :mod:`btfdedup.engine.profiles`.  This is the ``libbpf``
strategy; :mod:`btfdedup.strategies` (and the top-level :func:`btfdedup.dedup`) picks
among it and the others.
"""

from btfdedup.engine.pipeline import DedupResult, dedup, prepare_base
from btfdedup.engine.profiles import LIBBPF_VERSIONS
from btfdedup.engine.state import PreparedBase

__all__ = ["LIBBPF_VERSIONS", "DedupResult", "PreparedBase", "dedup", "prepare_base"]
