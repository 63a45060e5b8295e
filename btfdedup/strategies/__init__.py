"""Dedup strategies: one interface, several algorithms (see :mod:`.registry`).

* ``libbpf`` (:mod:`.libbpf`) — the engine, byte for byte libbpf's ``btf__dedup``;
* ``canonical`` (:mod:`.canonical`) — the coarsest structural equivalence, in a
  canonical order;
* ``hash`` (:mod:`.hash`) — one bottom-up hash pass, checked for soundness.
"""

from btfdedup.strategies.registry import (
    DEFAULT,
    Entry,
    Strategy,
    StrategyOptions,
    available,
    dedup,
    get,
    names,
    register,
    run,
)

__all__ = ["DEFAULT", "Entry", "Strategy", "StrategyOptions", "available", "dedup", "get", "names", "register", "run"]
