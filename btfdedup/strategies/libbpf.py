"""The ``libbpf`` strategy: :func:`btfdedup.engine.dedup` as it is (libbpf's
``btf__dedup``, byte for byte, for the release ``libbpf_version`` names)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult
    from btfdedup.model.btf import Btf
    from btfdedup.strategies.registry import StrategyOptions


class LibbpfStrategy:
    """The engine behind the strategy interface."""

    name = "libbpf"
    guarantee = "byte-identical to libbpf btf__dedup"

    def run(self, btf: Btf, options: StrategyOptions) -> DedupResult:
        from btfdedup.engine import dedup
        from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION

        return dedup(btf, ext=options.ext, force_collisions=options.force_collisions,
                     libbpf_version=options.libbpf_version or DEFAULT_LIBBPF_VERSION, prepared=options.prepared,
                     reproduce_array_bug=options.reproduce_array_bug, debug=options.debug)


STRATEGY = LibbpfStrategy()
