"""Parallel and distributed dedup: reduce groups of inputs in worker processes, combine.

A ``dedup`` of many inputs parses, merges and deduplicates them, and most of that work
can be done on groups of inputs in separate processes.  With ``--workers N`` (a local process pool)
or ``--executor dask`` (a Dask cluster), the inputs are cut into groups of about equal
bytes, each worker parses its group, merges it and *reduces* it, and the coordinator
merges the reduced groups and runs the chosen strategy once over the result.

Why the bytes are the same as one process's.  Each worker runs the final strategy
(``canonical``) on its group.  Merging types that are structurally identical in a group
is always right: they are identical among all inputs too.  Resolving a forward is right
only when its name has one candidate class among *all* inputs, which a group cannot
know (nor can it make canonical's choice for a name with several: that choice looks at
every input); so each worker also reports the forward keys (name and flavour) it resolved, and
the coordinator, after its pass over the merged reductions, checks that every such key
has exactly one candidate (STRUCT/UNION of that name and flavour, or enum with
enumerators) in the result.  Extra merges can only make the result coarser, so one
candidate there means one candidate in the one-process result too: every merge a
worker made is one the one-process run makes, and the final pass, order-independent,
then writes the same bytes.  When a key fails the check (a name with several
definitions, resolved in a group that saw only one), the run is redone in one process
and the outcome says why (:attr:`ParallelOutcome.fallback`).  Only an
order-independent strategy gives output that does not depend on the grouping; the
others are refused here.  Tests compare the bytes for several worker counts and both
executors.

Provenance composes through the two steps: a worker returns its group's type map, and
the final map sends each reduced type onward (:mod:`btfdedup.workflows.provenance`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.errors import BtfUsageError, CommandLineError
from btfdedup.format.constants import Kind

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult
    from btfdedup.model.btf import Btf

#: strategies whose output does not depend on input grouping or order
PARALLEL_STRATEGIES = ("canonical",)
#: the ``--executor`` values
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class GroupResult:
    """What a worker sends back for one group of inputs."""

    #: the group's reduced BTF, raw bytes (split on the base when there is one)
    data: bytes
    #: per input of the group: (path, first own type ID, own type count)
    inputs: list[tuple[str, int, int]]
    #: merged-group type ID -> reduced type ID
    type_map: np.ndarray
    #: the inputs' raw sizes, for the run summary
    bytes_in: int
    #: the forward keys the group's dedup resolved (checked against all inputs after)
    resolved: set[tuple[str, int]]


@dataclass
class ParallelOutcome:
    """The combined result and what the run summary reports of the inputs."""

    result: DedupResult
    #: per input: (path, first own type ID, output ID of each own type)
    input_maps: list[tuple[str, int, np.ndarray]]
    types_in: int
    bytes_in: int
    #: why the run was redone in one process (None: the workers' results stood)
    fallback: str | None = None


def check_options(strategy: str, workers: int, executor: str, scheduler: str | None) -> bool:
    """Whether the run is parallel; the command-line errors of these options (exit 2)."""
    if workers < 1:
        raise CommandLineError(f"--workers {workers}: needs at least 1")
    if executor not in EXECUTORS:
        raise CommandLineError(f"--executor {executor!r}: known executors are {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise CommandLineError("--scheduler names a Dask scheduler: it needs --executor dask")
    parallel = workers > 1 or executor == "dask"
    if parallel and strategy not in PARALLEL_STRATEGIES:
        raise CommandLineError(
            f"--strategy {strategy} gives output that depends on how inputs are grouped; parallel and "
            f"distributed runs take {', '.join(PARALLEL_STRATEGIES)} (whose bytes equal a one-process run)")
    return parallel


def groups(paths: Sequence[str], n: int) -> list[list[str]]:
    """``paths`` cut into at most ``n`` runs of about equal total size, in order."""
    sizes = [max(os.path.getsize(p), 1) for p in paths]
    total = sum(sizes)
    out: list[list[str]] = [[]]
    acc = 0
    for p, s in zip(paths, sizes, strict=True):
        if out[-1] and acc >= total * len(out) / n and len(out) < n:
            out.append([])
        out[-1].append(p)
        acc += s
    return out


#: a forward's key: (name, flavour), flavour 0 struct, 1 union, 2 enum
ForwardKey = tuple[str, int]


def resolved_forwards(before: Btf, after: Btf) -> set[ForwardKey]:
    """The forward keys of ``before``'s own types that ``after`` (its dedup) holds no
    forward of any more: the forwards the dedup resolved (a key resolves as a whole)."""
    return _forward_keys(before) - _forward_keys(after)


def _forward_keys(btf: Btf) -> set[ForwardKey]:
    kind, vlen = btf.kind, btf.vlen
    fwd = np.flatnonzero(kind == Kind.FWD)
    efwd = np.flatnonzero(((kind == Kind.ENUM) | (kind == Kind.ENUM64)) & (vlen == 0))
    offs, kflag = btf.name_off, btf.kind_flag
    keys = {(btf.str_at(int(offs[i])), int(kflag[i])) for i in fwd.tolist()}
    keys |= {(btf.str_at(int(offs[i])), 2) for i in efwd.tolist()}
    return {k for k in keys if k[0]}


def ambiguous(keys: set[ForwardKey], out: Btf) -> list[ForwardKey]:
    """The keys among ``keys`` with other than exactly one candidate in ``out`` (its own
    types and its base's: a module's forward may resolve to a base type)."""
    if not keys:
        return []
    wanted = {name for name, _f in keys}
    count: dict[ForwardKey, int] = {}
    for b in out.chain():
        kind, vlen, offs = b.kind, b.vlen, b.name_off
        flavour = np.full(len(kind), -1, dtype=np.int64)
        flavour[kind == Kind.STRUCT] = 0
        flavour[kind == Kind.UNION] = 1
        flavour[((kind == Kind.ENUM) | (kind == Kind.ENUM64)) & (vlen > 0)] = 2
        for i in np.flatnonzero(flavour >= 0).tolist():
            name = b.str_at(int(offs[i]))
            if name in wanted:
                key = (name, int(flavour[i]))
                count[key] = count.get(key, 0) + 1
    return sorted(k for k in keys if count.get(k, 0) != 1)


def reduce_group(paths: list[str], base_path: str | None, strategy: str) -> GroupResult:
    """Load, merge and deduplicate one group (runs in a worker process)."""
    from btfdedup.append import merge
    from btfdedup.io.load import load
    from btfdedup.strategies import run
    from btfdedup.workflows.inputs import btf_size, load_input

    base = load(base_path) if base_path is not None else None
    btfs = [load_input(p, base) for p in paths]
    merged = merge(btfs, base)
    res = run(strategy, merged)
    return GroupResult(
        data=res.btf.to_bytes(),
        inputs=[(p, int(b.start_id), int(b.nr_types)) for p, b in zip(paths, btfs, strict=True)],
        type_map=np.asarray(res.type_map, dtype=np.uint32),
        bytes_in=sum(btf_size(b) for b in btfs),
        resolved=resolved_forwards(merged, res.btf),
    )


Mapper = Callable[[Callable[..., GroupResult], list[list[str]], str | None, str], list[GroupResult]]


def _local_map(workers: int) -> Mapper:
    def run(fn: Callable[..., GroupResult], parts: list[list[str]], base_path: str | None,
            strategy: str) -> list[GroupResult]:
        if len(parts) == 1:
            return [fn(parts[0], base_path, strategy)]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a fresh interpreter per worker, no fork of a process holding threads
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            return list(ex.map(fn, parts, [base_path] * len(parts), [strategy] * len(parts)))
    return run


def _dask_map(workers: int, scheduler: str | None) -> Mapper:
    def run(fn: Callable[..., GroupResult], parts: list[list[str]], base_path: str | None,
            strategy: str) -> list[GroupResult]:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BtfUsageError("--executor dask needs Dask's distributed scheduler: "
                                "pip install 'btfdedup[dask]'") from None
        if scheduler is not None:
            client = Client(scheduler)
            cluster = None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futures = client.map(fn, parts, [base_path] * len(parts), [strategy] * len(parts), pure=False)
            return list(client.gather(futures))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return run


def dedup_parallel(paths: Sequence[str], *, base: Btf | None, base_path: str | None, strategy: str,
                   workers: int, executor: str = "local", scheduler: str | None = None,
                   libbpf_version: str | None = None) -> ParallelOutcome:
    """Reduce ``paths`` in ``workers`` groups (on ``executor``), merge the reductions
    onto ``base`` and run ``strategy`` (see the module docstring).  Inputs are read by
    path in the workers, so a base must be a file (``base_path``) too."""
    from btfdedup.append import merge
    from btfdedup.io.load import load
    from btfdedup.strategies import StrategyOptions, run

    if base is not None and base_path is None:
        raise BtfUsageError("a parallel dedup reads its inputs in worker processes: give the base as a file")
    parts = groups(paths, workers)
    mapper = _dask_map(workers, scheduler) if executor == "dask" else _local_map(workers)
    done = mapper(reduce_group, parts, base_path, strategy)
    reduced = [load(g.data, base=base) for g in done]
    merged = merge(reduced, base)
    res = run(strategy, merged, StrategyOptions(libbpf_version=libbpf_version))
    bad = ambiguous(set().union(*(g.resolved for g in done)), res.btf) if len(done) > 1 else []
    if bad:
        return _one_process(paths, base, strategy, libbpf_version,
                            f"{len(bad)} forward name(s) resolved in a group have several candidates in all "
                            f"inputs (first: {_key_label(bad[0])}); redone in one process")
    start = base.type_cnt if base is not None else 1
    final = np.asarray(res.type_map, dtype=np.int64)
    maps: list[tuple[str, int, np.ndarray]] = []
    at = start  # where the current reduced group begins in the final merge
    for g, r in zip(done, reduced, strict=True):
        # reduced ID -> final output ID: void and base IDs stay, own IDs follow the final merge
        onward = np.arange(r.type_cnt, dtype=np.int64)
        onward[r.start_id:] = final[at:at + r.nr_types]
        group_at = start
        for path, first_id, n in g.inputs:
            own = g.type_map[group_at:group_at + n].astype(np.int64)
            maps.append((path, first_id, onward[own].astype(np.uint32)))
            group_at += n
        at += r.nr_types
    return ParallelOutcome(result=res, input_maps=maps,
                           types_in=sum(n for g in done for _p, _f, n in g.inputs),
                           bytes_in=sum(g.bytes_in for g in done))


def _key_label(key: ForwardKey) -> str:
    return f"{('struct', 'union', 'enum')[key[1]]} {key[0]}"


def _one_process(paths: Sequence[str], base: Btf | None, strategy: str, libbpf_version: str | None,
                 why: str) -> ParallelOutcome:
    """The run without workers, as a fallback (see the module docstring)."""
    from btfdedup.append import merge
    from btfdedup.strategies import StrategyOptions, run
    from btfdedup.workflows.inputs import btf_size, load_input

    btfs = [load_input(p, base) for p in paths]
    res = run(strategy, merge(btfs, base), StrategyOptions(libbpf_version=libbpf_version))
    final = np.asarray(res.type_map, dtype=np.uint32)
    maps = []
    at = base.type_cnt if base is not None else 1
    for p, b in zip(paths, btfs, strict=True):
        maps.append((p, int(b.start_id), final[at:at + b.nr_types]))
        at += b.nr_types
    return ParallelOutcome(result=res, input_maps=maps, types_in=sum(b.nr_types for b in btfs),
                           bytes_in=sum(btf_size(b) for b in btfs), fallback=why)


__all__ = ["EXECUTORS", "PARALLEL_STRATEGIES", "GroupResult", "ParallelOutcome", "check_options",
           "ambiguous", "dedup_parallel", "groups", "reduce_group", "resolved_forwards"]
