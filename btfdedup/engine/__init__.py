"""BTF deduplication, byte-identical to libbpf v1.6 ``btf__dedup`` (or 1.1.2 on request).

``dedup(btf, ext=None, force_collisions=False, strategy="libbpf",
reproduce_array_bug=False, libbpf_version="1.6", debug=False) -> DedupResult``, with
``libbpf_version`` one of :data:`LIBBPF_VERSIONS` ("1.1", "1.6"); ``debug`` checks
every phase's invariant as it goes.  The design essay,
with the invariant of every phase, is in :mod:`btfdedup.engine.pipeline`; the
per-release switches are in :mod:`btfdedup.engine.profiles`.
"""

from btfdedup.engine.pipeline import DedupResult, dedup
from btfdedup.engine.profiles import LIBBPF_VERSIONS

__all__ = ["LIBBPF_VERSIONS", "DedupResult", "dedup"]
