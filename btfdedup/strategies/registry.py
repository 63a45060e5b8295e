"""The dedup strategy interface and the registry of strategies by name.

A strategy turns one :class:`~btfdedup.model.btf.Btf` (standalone, or split on a
base) into its deduplicated form: :meth:`Strategy.run` returns a
:class:`~btfdedup.engine.DedupResult` whose ``btf`` is the output (split on the same
base when the input is split; base types never change) and whose ``type_map`` is the
input -> output type-ID map as a numpy array (one entry per input type ID, base IDs
mapping to themselves).  ``btfdedup dedup/split --strategy NAME`` and
``btfdedup strategies`` go through :func:`get` / :func:`available`.

Strategies are registered by module path and imported on first use, so listing them
(``btfdedup strategies``) imports none of the engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from btfdedup.errors import BtfUsageError

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult, PreparedBase
    from btfdedup.model.btf import Btf
    from btfdedup.model.ext import BtfExt


@dataclass(frozen=True)
class StrategyOptions:
    """What a run may be given besides the input.  ``libbpf_version``,
    ``force_collisions``, ``prepared``, ``reproduce_array_bug`` and ``debug`` concern the
    ``libbpf`` strategy only; ``ext``
    (the input's .BTF.ext, remapped along) is supported by ``libbpf`` only."""

    #: None: the engine's default release
    libbpf_version: str | None = None
    force_collisions: bool = False
    prepared: PreparedBase | None = None
    ext: BtfExt | None = None
    #: the engine's knobs (:func:`btfdedup.engine.dedup`): v1.6's array comparison bug,
    #: and every phase's invariant checked as it goes
    reproduce_array_bug: bool = False
    debug: bool = False


class Strategy(Protocol):
    """One dedup algorithm (see the module docstring)."""

    #: the name ``--strategy`` takes
    name: str
    #: one line: what its output guarantees
    guarantee: str

    def run(self, btf: Btf, options: StrategyOptions) -> DedupResult:
        """Deduplicate ``btf``; raises :class:`~btfdedup.errors.DedupError` when it cannot."""
        ...


@dataclass(frozen=True)
class Entry:
    """A registered strategy: its name, its one-line guarantee and where it lives."""

    name: str
    guarantee: str
    module: str

    def load(self) -> Strategy:
        strategy: Strategy = import_module(self.module).STRATEGY
        return strategy


_REGISTRY: dict[str, Entry] = {}


def register(name: str, guarantee: str, module: str) -> None:
    """Add a strategy (module ``module`` defines ``STRATEGY``); a name registers once."""
    if name in _REGISTRY:
        raise BtfUsageError(f"dedup strategy {name!r} is registered twice")
    _REGISTRY[name] = Entry(name, guarantee, module)


register("libbpf", "byte-identical to libbpf btf__dedup (the release --libbpf-version picks); "
         "the default", "btfdedup.strategies.libbpf")
register("canonical", "coarsest structural equivalence (cycles and reference loops included, unique "
         "forwards resolved): sound, output bytes independent of input and type order, fewer or as many "
         "types as libbpf on the corpora", "btfdedup.strategies.canonical")
register("hash", "one bottom-up structural hash pass, no forward resolution, classes refined until "
         "checked exactly: sound and deterministic, keeps more types", "btfdedup.strategies.hash")

#: the default strategy
DEFAULT = "libbpf"


def names() -> tuple[str, ...]:
    """Registered strategy names, the default first."""
    return tuple(_REGISTRY)


def available() -> list[Entry]:
    """Every registered strategy, in registration order (the default first)."""
    return list(_REGISTRY.values())


def get(name: str) -> Strategy:
    """The strategy called ``name``; an unknown name is a :class:`BtfUsageError`."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise BtfUsageError(f"unknown dedup strategy {name!r} (known: {', '.join(_REGISTRY)})")
    return entry.load()


def run(name: str, btf: Btf, options: StrategyOptions | None = None) -> DedupResult:
    """``get(name).run(btf, options)``."""
    return get(name).run(btf, options or StrategyOptions())


def dedup(
    btf: Btf,
    *,
    strategy: str = DEFAULT,
    ext: BtfExt | None = None,
    force_collisions: bool = False,
    libbpf_version: str | None = None,
    prepared: PreparedBase | None = None,
    reproduce_array_bug: bool = False,
    debug: bool = False,
) -> DedupResult:
    """:func:`btfdedup.engine.dedup`'s calling shape, dispatched to ``strategy``: what
    the ``dedup`` and ``split`` workflows call, and the top-level :func:`btfdedup.dedup`.

    >>> import btfdedup
    >>> objs = [btfdedup.load(f"corpora/bpf-objects/{n}.bpf.o") for n in ("xdp-dispatcher", "xdpfilt_alw_eth")]
    >>> merged = btfdedup.merge(objs)
    >>> len(merged), [len(btfdedup.dedup(merged, strategy=s).btf) for s in ("libbpf", "canonical", "hash")]
    (93, [70, 68, 68])
    """
    options = StrategyOptions(libbpf_version=libbpf_version, force_collisions=force_collisions,
                              prepared=prepared, ext=ext, reproduce_array_bug=reproduce_array_bug, debug=debug)
    return get(strategy).run(btf, options)
