"""The ``split`` workflow: each module deduplicated against a base, separately.

For every module:

* split BTF on the base (a shipped ``.ko``'s ``.BTF``): deduplicated as parsed,
  like ``btf__parse_split`` + ``btf__dedup`` — types equal to base types collapse
  into base IDs, the rest is renumbered after the base;
* standalone BTF (a module encoded without ``--btf_base``): first merged onto the
  base as split BTF (``btf__new_empty_split(base)`` + ``btf__add_btf``), then
  deduplicated the same way — what ``pahole --btf_base vmlinux`` gives with libbpf.

Each result is written as split BTF to ``OUTDIR/<name>.btf`` (``name`` = the input
file name without ``.ko``/``.o``/``.btf`` and compression suffixes).  An output that
would replace an input is refused up front; each module's output is staged (a
temporary file in OUTDIR) as soon as it is deduplicated, and the files are renamed
into place together once every module succeeded (:class:`btfdedup.io.writer.OutputSet`),
so a failing or interrupted run leaves OUTDIR as it was (or absent, when the run
created it).  The base's share of every module's dedup is done once
(:func:`btfdedup.engine.prepare_base`).  With a ``failures`` list
(``--keep-going``), a module that fails to load or to deduplicate is recorded there
and the others are written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from btfdedup.append import merge
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.errors import BtfUsageError
from btfdedup.io.writer import STDOUT, OutputSet, check_output
from btfdedup.model.btf import Btf
from btfdedup.workflows.inputs import (
    INPUT_ERRORS,
    Failure,
    Loader,
    btf_size,
    check_outputs,
    expand,
    load_input,
    protected_paths,
)
from btfdedup.workflows.provenance import InputMap, check_map_output, input_maps, map_chunks
from btfdedup.workflows.sort import sorted_with_map

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult, PreparedBase

_COMPRESSED = (".xz", ".zst", ".gz")
_CONTAINERS = (".ko", ".o", ".btf", ".elf", ".raw")

#: progress(module index done, total, name)
Progress = Callable[[int, int, str], None]


def module_name(path: str) -> str:
    """``/x/8021q.ko.xz`` -> ``8021q``; ``/sys/kernel/btf/veth`` -> ``veth``."""
    name = os.path.basename(os.path.normpath(path))
    for suf in _COMPRESSED:
        if name.endswith(suf):
            name = name[: -len(suf)]
            break
    for suf in _CONTAINERS:
        if name.endswith(suf) and len(name) > len(suf):
            name = name[: -len(suf)]
            break
    return name


@dataclass
class ModuleResult:
    """One module's before/after."""

    path: str
    name: str
    output: str
    standalone: bool
    types_before: int
    types_after: int
    bytes_before: int
    bytes_after: int
    seconds: float
    #: with a provenance map asked for: where the module's own types went in its output
    input_map: InputMap | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.name,
            "input": self.path,
            "output": self.output,
            "standalone": self.standalone,
            "types_before": self.types_before,
            "types_after": self.types_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "seconds": round(self.seconds, 6),
        }


@dataclass
class SplitRun:
    modules: list[ModuleResult]
    skipped: list[tuple[str, str]]
    base_types: int
    seconds: float
    failed: list[Failure] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {
            "modules": len(self.modules),
            "types_before": sum(m.types_before for m in self.modules),
            "types_after": sum(m.types_after for m in self.modules),
            "bytes_before": sum(m.bytes_before for m in self.modules),
            "bytes_after": sum(m.bytes_after for m in self.modules),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "base_types": self.base_types,
            "modules": [m.to_json() for m in self.modules],
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "failed": [f.to_json() for f in self.failed],
            "total": {**self.totals(), "seconds": round(self.seconds, 6)},
        }


def dedup_against_base(module: Btf, base: Btf, *, force_collisions: bool = False, strategy: str = "libbpf",
                       prepared: PreparedBase | None = None, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> Btf:
    """``module`` (split on ``base``, or standalone) deduplicated into split BTF on ``base``
    (:func:`dedup_module`'s BTF)."""
    return dedup_module(module, base, force_collisions=force_collisions, strategy=strategy, prepared=prepared,
                        libbpf_version=libbpf_version).btf


def dedup_module(module: Btf, base: Btf, *, force_collisions: bool = False, strategy: str = "libbpf",
                 prepared: PreparedBase | None = None,
                 libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> DedupResult:
    """The dedup of ``module`` (split on ``base``, or standalone) into split BTF on ``base``;
    its ``type_map`` runs over the module's own types placed right after the base,
    as both a split module and a standalone one merged onto the base are;
    ``prepared`` (:func:`btfdedup.engine.prepare_base` of ``base``, same
    ``libbpf_version``) saves redoing the base's share of the work for every module.
    From libbpf 1.7 (``btf__add_btf`` takes split sources) a module is added to a fresh
    split BTF on ``base`` and that is deduplicated, so the output has the header the
    release writes for new BTF (32 bytes with 1.8)."""
    from btfdedup.strategies import dedup  # the --strategy registry

    if profile_for(libbpf_version).add_btf_split:
        module = merge([module], base, libbpf_version=libbpf_version)
    elif module.base is not base:
        # Standalone: merged onto ``base``.  Split on an equal copy of ``base`` (merge
        # checks the content and refuses a different one): re-homed on ``base``.
        module = merge([module], base)
    if prepared is not None and module.base is not prepared.base:
        prepared = None
    return dedup(module, force_collisions=force_collisions, strategy=strategy, prepared=prepared,
                 libbpf_version=libbpf_version)


def check_arguments(outdir: str) -> None:
    """The command-line errors of a run (exit 2), found before any file is read:
    ``-o -`` (split writes a directory)."""
    if outdir == STDOUT:
        check_output(outdir, not_stdout="split writes one file per module into a directory; give the directory")


def split_files(
    paths: Sequence[str],
    base: Btf,
    outdir: str,
    *,
    base_path: str | None = None,
    force_collisions: bool = False,
    strategy: str = "libbpf",
    progress: Progress | None = None,
    loader: Loader = load_input,
    failures: list[Failure] | None = None,
    libbpf_version: str = DEFAULT_LIBBPF_VERSION,
    sort: bool = False,
    map_output: str | None = None,
    map_format: str = "jsonl",
) -> SplitRun:
    """Dedup every module in ``paths`` (files or directories) against ``base`` into
    ``outdir``; with ``failures``, keep going past bad modules, recording them there
    (the run still fails when no module is left).  With ``sort`` each module's own
    types are written in the kernel's name order
    (:func:`btfdedup.workflows.sort.sorted_outputs`; the base is not changed).  With
    ``map_output``, the provenance map of every module (its own type IDs to their IDs in
    its output, :mod:`btfdedup.workflows.provenance`) is written there in ``map_format``
    with the outputs, and each :class:`ModuleResult` holds its part."""
    t0 = time.perf_counter()
    check_arguments(outdir)
    found = expand(paths, failures)
    if failures and not found.files:
        raise BtfUsageError(f"no module left: {len(failures)} failed")
    found.require_some("module")
    names: dict[str, str] = {}
    for f in found.files:
        n = module_name(f)
        if n in names:
            raise BtfUsageError(f"{f} and {names[n]} would both be written as {n}.btf")
        names[n] = f
    if os.path.lexists(outdir) and not os.path.isdir(outdir):
        raise BtfUsageError(f"{outdir}: exists and is not a directory")
    protect = protected_paths(found.files, base_path)
    dests = {f: os.path.join(outdir, n + ".btf") for n, f in names.items()}
    if os.path.isdir(outdir):
        check_outputs(dests.values(), protect)
    if map_output is not None:
        check_map_output(map_output, map_format, list(dests.values()))
        check_output(map_output, protect)
    # The base's share of each dedup (prep's table, the base string index, the flat
    # view of the base records) is done once for all modules.
    from btfdedup.engine import prepare_base

    prepared = prepare_base(base, libbpf_version=libbpf_version)
    results: list[ModuleResult] = []
    # Each output is staged (a temporary file in OUTDIR) as soon as its module is
    # done, so the run never holds every output in memory; nothing is renamed into
    # place before every module succeeded, and a failure discards what was staged
    # (and OUTDIR, when this run created it).
    with OutputSet(protect) as written:
        for i, f in enumerate(found.files):
            t = time.perf_counter()
            try:
                mod = loader(f, base)
                res = dedup_module(mod, base, force_collisions=force_collisions, strategy=strategy,
                                   prepared=prepared, libbpf_version=libbpf_version)
                out, type_map = res.btf, res.type_map
                if sort:
                    out, _ext, sort_map = sorted_with_map(out)
                    type_map = sort_map[type_map] if map_output is not None else type_map
                own_map = input_maps([(f, mod)], base.type_cnt, type_map)[0] if map_output is not None else None
                del res
            except INPUT_ERRORS as e:
                failure = Failure.of(f, e)
                if failures is None:
                    if failure.error == str(e):
                        raise
                    raise BtfUsageError(failure.error) from e  # the one "FILE: rule" line
                failures.append(failure)
                if progress is not None:
                    progress(i + 1, len(found.files), module_name(f))
                continue
            data = out.to_bytes()
            if not results:
                written.make_dir(outdir)
            written.add(dests[f], data)
            results.append(
                ModuleResult(
                    path=f,
                    name=module_name(f),
                    output=dests[f],
                    standalone=mod.base is None,
                    types_before=mod.nr_types,
                    types_after=out.nr_types,
                    bytes_before=btf_size(mod),
                    bytes_after=len(data),
                    seconds=time.perf_counter() - t,
                    input_map=own_map,
                )
            )
            del data, out, mod
            if progress is not None:
                progress(i + 1, len(found.files), module_name(f))
        if failures is not None:
            found.sort_failures(failures)
        if not results:
            raise BtfUsageError(f"no module left: {len(failures or [])} failed")
        if map_output is not None:
            maps = [m.input_map for m in results if m.input_map is not None]
            written.add(map_output, b"".join(map_chunks(maps, map_format)))
        written.commit()
    return SplitRun(results, found.skipped, base.nr_types, time.perf_counter() - t0, list(failures or []))
