"""The ``dedup`` workflow: inputs -> one fresh BTF (merge) -> dedup -> file.

The inputs are merged into a fresh BTF, exactly as ``btf__new_empty[_split]`` +
``btf__add_btf`` (:mod:`btfdedup.append`), then deduplicated: this is how pahole,
bpftool and the BPF linker build their output, so the result is byte-identical to
libbpf's for the same sequence of calls.

One standalone input with no base is deduplicated as it is, without the merge's copy
(:func:`unmerged_input`): the bytes are the same.  ``btf__add_btf`` into
``btf__new_empty()`` copies the records verbatim (type IDs shifted by 0) and interns
each referenced string, in libbpf's field-iterator order, into a fresh set that starts
with ``""``; the dedup then skips its strings phase (the set is already unique).
Deduplicating the input itself runs that strings phase instead, which builds the same
set the same way (``""`` first, then each referenced content at its first reference,
in the same order), so every name offset, and with it every hash key and comparison
after it, is the merge's.  What the merge changes besides the strings is the header:
24 bytes, native byte order, version 1, no layout section; an input that differs only
there is deduplicated through a relabelled view of its arrays.  An input with a
layout section, or on a base (whose string references the merge re-points to the
base's first occurrence of each string), is merged.

With ``ext=True`` (one input carrying ``.BTF.ext``) the input is deduplicated as
parsed, with its ``.BTF.ext`` passed along (libbpf ``btf__dedup`` with
``opts.btf_ext``): a merge would drop the ``.BTF.ext`` strings, which live only in
the source's string section.

With a ``failures`` list (``--keep-going``), an input that cannot be read, does not
fit the merge (split BTF on another base, a distilled module) or makes the dedup
fail is recorded there and left out; the others are merged and written.  A merge or
dedup error of the whole batch is pinned on the inputs that fail on their own (each
merged and deduplicated alone, only on that error path); an error no single input
causes fails the run.  Without a ``failures`` list the first bad input fails the
run before anything is written.

Two ways of turning BPF objects into the BTF the kernel loads sit beside the merge:
:func:`open_object_loader` (``--finalize-datasec``) reads each object as libbpf's
object open leaves its BTF (DATASEC sizes, VAR offsets, externs) before the merge,
and :func:`link_files` (``--link``) builds what the static linker writes
(``bpftool gen object``), its own dedup included.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from btfdedup.append import NATIVE_BYTEORDER, merge
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.errors import BtfUsageError, CommandLineError
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC, BTF_VERSION
from btfdedup.io.writer import OutputSet, check_output
from btfdedup.model.btf import Btf
from btfdedup.workflows.inputs import (
    INPUT_ERRORS,
    Failure,
    Inputs,
    Loader,
    btf_size,
    expand,
    load_all,
    load_input,
    protected_paths,
)
from btfdedup.workflows.parallel import check_options as check_parallel
from btfdedup.workflows.provenance import InputMap, check_map_output, input_maps, map_chunks
from btfdedup.workflows.sort import sorted_outputs, sorted_with_map

if TYPE_CHECKING:
    from btfdedup.engine import DedupResult

#: progress(stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass
class DedupRun:
    """What one ``dedup`` run did, for the summary line / JSON."""

    inputs: list[str]
    skipped: list[tuple[str, str]]
    output: str
    types_in: int
    types_out: int
    bytes_in: int
    bytes_out: int
    seconds: float
    ext_output: str | None = None
    split: bool = False
    phase_seconds: dict[str, float] = field(default_factory=dict)
    failed: list[Failure] = field(default_factory=list)
    #: with ``provenance``: where each input's own types went (:mod:`btfdedup.workflows.provenance`)
    input_maps: list[InputMap] | None = None
    #: a parallel run redone in one process, and why (:mod:`btfdedup.workflows.parallel`)
    parallel_fallback: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": len(self.inputs),
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "failed": [f.to_json() for f in self.failed],
            "output": self.output,
            "ext_output": self.ext_output,
            "split": self.split,
            "types_in": self.types_in,
            "types_out": self.types_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 6),
        }


def _mergeable(loaded: list[tuple[str, Btf]], base: Btf | None, failures: list[Failure]) -> list[tuple[str, Btf]]:
    """The inputs that merge onto ``base``; the others (split BTF on another base)
    recorded in ``failures``.  Only inputs whose base is not ``base`` itself are
    tried, each alone, with the merge's own check."""
    out = []
    for f, b in loaded:
        if b.base is not None and b.base is not base:
            try:
                merge([b], base)
            except INPUT_ERRORS as e:
                failures.append(Failure.of(f, e))
                continue
        out.append((f, b))
    return out


def _check_left(loaded: list[tuple[str, Btf]], failures: list[Failure], found: Inputs) -> None:
    """Put ``failures`` in input order (whichever step found them) and fail the run
    when no input is left."""
    found.sort_failures(failures)
    if not loaded:
        raise BtfUsageError(f"no input left: {len(failures)} failed")


def unmerged_input(btfs: Sequence[Btf], base: Btf | None, hdr_len: int = BTF_HDR_LEN_CLASSIC) -> Btf | None:
    """What to deduplicate instead of ``merge(btfs, base)`` when that gives the same
    bytes without the copy (see the module docstring), else None.

    That is one standalone input, no base and no layout section.  It is returned as
    it is when it already looks like the merge's result to the dedup (24-byte header,
    native byte order, strings phase not skipped), else as a new :class:`Btf` over
    the same arrays with the merge's header: native byte order (the words are held
    in native order whatever the file's), a 24-byte header, version 1, and its
    strings phase to run (it rebuilds the merge's string set).  ``hdr_len`` is the
    header the merge writes (32 with libbpf 1.8)."""
    if len(btfs) != 1 or base is not None:
        return None
    src = btfs[0]
    if src.base is not None or src.layout:
        return None
    if (src.hdr_len, src.byteorder, src.version, src.strs_deduped) == (
        hdr_len, NATIVE_BYTEORDER, BTF_VERSION, False
    ):
        return src
    return Btf(
        src.words,
        src.type_start,
        src.strings,
        byteorder=NATIVE_BYTEORDER,
        hdr_len=hdr_len,
        version=BTF_VERSION,
        source=src.source,
        strs_deduped=False,
    )


def _merge_dedup(btfs: list[Btf], base: Btf | None, ext: bool, force_collisions: bool, strategy: str,
                 progress: Progress | None, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> DedupResult:
    """The dedup result of ``btfs``: the one input with its ``.BTF.ext`` as parsed
    (``ext``), or all of them merged onto ``base`` (one standalone input without the
    merge's copy, when :func:`unmerged_input` allows it)."""
    from btfdedup.strategies import dedup  # the --strategy registry

    v = libbpf_version
    if ext:
        src = btfs[0]
        if progress:
            progress("dedup", 0, 1)
        return dedup(src, ext=src.ext, force_collisions=force_collisions, strategy=strategy, libbpf_version=v)
    direct = unmerged_input(btfs, base, profile_for(v).new_hdr_len)
    if direct is not None:
        if progress:
            progress("dedup", 0, 1)
        return dedup(direct, force_collisions=force_collisions, strategy=strategy, libbpf_version=v)
    merged = merge(btfs, base, progress=(lambda i, n, _b: progress("merging", i + 1, n)) if progress else None,
                   libbpf_version=v)
    if progress:
        progress("dedup", 0, 1)
    return dedup(merged, force_collisions=force_collisions, strategy=strategy, libbpf_version=v)


def _culprits(loaded: list[tuple[str, Btf]], base: Btf | None, ext: bool, force_collisions: bool,
              strategy: str, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> list[Failure]:
    """The inputs that fail to merge or deduplicate on their own, after the whole
    batch failed: each is tried alone."""
    bad = []
    for f, b in loaded:
        try:
            _merge_dedup([b], base, ext, force_collisions, strategy, None, libbpf_version)
        except INPUT_ERRORS as e:
            bad.append(Failure.of(f, e))
    return bad


def open_object_loader(path: str, base: Btf | None) -> Btf:
    """A :data:`Loader` for ``--finalize-datasec``: the BTF of the BPF object at
    ``path`` as libbpf 1.1.2's ``bpf_object__open`` holds it (see
    :mod:`btfdedup.bpfobj.open`).  ``base`` plays no part: objects carry standalone
    BTF, and the merge puts them on the base."""
    from btfdedup.bpfobj.open import open_object
    from btfdedup.io.compressed import maybe_decompress
    from btfdedup.io.load import read_file

    del base
    data = read_file(path)
    if maybe_decompress(data, path)[:4] != b"\x7fELF":
        raise BtfUsageError(f"{path}: --finalize-datasec needs an ELF object (its sections and symbols); "
                            "this is raw BTF")
    return open_object(data, path)  # the file as read, like bpf_object__open_file


def link_files(paths: Sequence[str], output: str, *, ext: bool = False, sort: bool = False) -> DedupRun:
    """Link the BPF objects in ``paths`` (files or directories, in order) as libbpf
    1.1.2's static linker does and write its ``.BTF`` to ``output`` (and its
    ``.BTF.ext`` to ``output.ext`` with ``ext``, when the linker writes one); with
    ``sort``, in the kernel's name order (:func:`btfdedup.workflows.sort.sorted_outputs`)."""
    from btfdedup.bpfobj.link import link_objects
    from btfdedup.io.load import load

    t0 = time.perf_counter()
    check_arguments(paths, output, ext=ext, many_ext_inputs=True)
    found = expand(paths)
    found.require_some("object")
    protect = protected_paths(found.files, None)
    outputs = [output, output + ".ext"] if ext else [output]
    for path in outputs:
        check_output(path, protect)
    res = link_objects(found.files)
    inputs = [load(f) for f in found.files]
    out_btf, out_ext = sorted_outputs(res.btf, res.ext) if sort else (res.btf, res.ext)
    data = out_btf.to_bytes()
    ext_output = output + ".ext" if ext and out_ext is not None else None
    with OutputSet(protect) as out:
        if ext_output is not None:
            assert out_ext is not None
            out.add(ext_output, out_ext.to_bytes())
        out.add(output, data)
        out.commit()
    return DedupRun(
        inputs=found.files,
        skipped=found.skipped,
        output=output,
        types_in=sum(b.nr_types for b in inputs),
        types_out=res.btf.nr_types,
        bytes_in=sum(btf_size(b) for b in inputs),
        bytes_out=len(data),
        seconds=time.perf_counter() - t0,
        ext_output=ext_output,
    )


def check_arguments(paths: Sequence[str], output: str, *, ext: bool = False, many_ext_inputs: bool = False) -> None:
    """The command-line errors of a run (exit 2), found before any file is read:
    ``-o -`` with ``--ext`` or on a terminal, ``--ext`` with several inputs.  Also
    refuses an output in a missing directory or that is a directory."""
    check_output(output, not_stdout="--ext writes two files, OUT and OUT.ext; give a file name" if ext else None)
    if ext and os.path.exists(output) and not os.path.isfile(output):
        raise CommandLineError(f"{output}: --ext writes a second file next to OUT ({output}.ext): give a regular file")
    if ext and not many_ext_inputs and len(paths) != 1:
        raise CommandLineError(f"--ext needs exactly one input (got {len(paths)}): .BTF.ext cannot be merged")


def _dedup_parallel(found: Inputs, output: str, protect: list[str], t0: float, *, base: Btf | None,
                    base_path: str | None, strategy: str, workers: int, executor: str, scheduler: str | None,
                    libbpf_version: str, sort: bool, map_output: str | None, map_format: str) -> DedupRun:
    """:func:`dedup_files` on worker processes (see :mod:`btfdedup.workflows.parallel`)."""
    from btfdedup.workflows.parallel import dedup_parallel

    done = dedup_parallel(found.files, base=base, base_path=base_path, strategy=strategy, workers=workers,
                          executor=executor, scheduler=scheduler, libbpf_version=libbpf_version)
    res = done.result
    if sort:
        out_btf, _ext, sort_map = sorted_with_map(res.btf)
    else:
        out_btf, sort_map = res.btf, None
    maps = None
    if map_output is not None:
        maps = [InputMap(p, first, (sort_map[ids] if sort_map is not None else ids).astype(np.uint32))
                for p, first, ids in done.input_maps]
    data = out_btf.to_bytes()
    with OutputSet(protect) as out:
        if map_output is not None and maps is not None:
            out.add(map_output, b"".join(map_chunks(maps, map_format)))
        out.add(output, data)
        out.commit()
    return DedupRun(inputs=list(found.files), skipped=found.skipped, output=output, types_in=done.types_in,
                    types_out=out_btf.nr_types, bytes_in=done.bytes_in, bytes_out=len(data),
                    seconds=time.perf_counter() - t0, split=out_btf.base is not None,
                    phase_seconds=dict(res.stats.get("seconds", {})), input_maps=maps,
                    parallel_fallback=done.fallback)


def dedup_files(
    paths: Sequence[str],
    output: str,
    *,
    base: Btf | None = None,
    base_path: str | None = None,
    ext: bool = False,
    force_collisions: bool = False,
    strategy: str = "libbpf",
    progress: Progress | None = None,
    loader: Loader = load_input,
    failures: list[Failure] | None = None,
    libbpf_version: str = DEFAULT_LIBBPF_VERSION,
    sort: bool = False,
    map_output: str | None = None,
    map_format: str = "jsonl",
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
) -> DedupRun:
    """Load ``paths`` (files or directories) with ``loader``, merge, dedup and write
    ``output`` (and ``output.ext`` with ``ext``) by :mod:`btfdedup.io.writer`'s rule;
    with ``sort``, in the kernel's name order (:func:`btfdedup.workflows.sort.sorted_outputs`).
    With ``map_output``, the provenance map (every input type's output ID, see
    :mod:`btfdedup.workflows.provenance`) is written there in ``map_format``, staged
    with the other outputs; the run's :attr:`DedupRun.input_maps` holds it either way
    when asked for with ``map_output``.  ``workers`` > 1 or the ``dask`` ``executor``
    (``scheduler``: a running cluster's address, else a local one) reduce groups of
    inputs in worker processes first (:mod:`btfdedup.workflows.parallel`): same bytes.

    ``failures``: keep going past bad inputs, recording them there (see the module
    docstring); the run still fails when no input is left.
    """
    t0 = time.perf_counter()
    check_arguments(paths, output, ext=ext)
    if ext and strategy != "libbpf":
        raise CommandLineError(f"--ext needs --strategy libbpf: {strategy} does not rewrite .BTF.ext")
    found = expand(paths, failures)
    if failures and not found.files:
        _check_left([], failures, found)
    found.require_some("input")
    if ext and len(found.files) != 1:
        raise CommandLineError(f"--ext needs exactly one input ({paths[0]} holds {len(found.files)}): "
                               ".BTF.ext cannot be merged")
    protect = protected_paths(found.files, base_path)
    outputs = [output, output + ".ext"] if ext else [output]
    if map_output is not None:
        check_map_output(map_output, map_format, outputs)
        outputs.append(map_output)
    for path in outputs:
        check_output(path, protect)
    if check_parallel(strategy, workers, executor, scheduler):
        if ext or failures is not None or loader is not load_input:
            raise CommandLineError("a parallel or distributed dedup takes plain inputs: not with --ext, "
                                   "--keep-going or --finalize-datasec")
        return _dedup_parallel(found, output, protect, t0, base=base, base_path=base_path, strategy=strategy,
                               workers=workers, executor=executor, scheduler=scheduler,
                               libbpf_version=libbpf_version, sort=sort, map_output=map_output,
                               map_format=map_format)
    loaded = load_all(found.files, base, (lambda d, n: progress("loading", d, n)) if progress else None,
                      loader=loader, failures=failures)
    if failures is not None:
        _check_left(loaded, failures, found)
    if base is None:
        bases = {id(b.base): b.base for _f, b in loaded if b.base is not None}
        if bases:
            # e.g. /sys/kernel/btf/<module>, read on the running kernel's vmlinux
            base = next(iter(bases.values()))
    if failures is not None:
        loaded = _mergeable(loaded, base, failures)
        _check_left(loaded, failures, found)
    if ext and loaded[0][1].ext is None:
        raise BtfUsageError(f"{loaded[0][0]}: has no .BTF.ext")
    try:
        res = _merge_dedup([b for _f, b in loaded], base, ext, force_collisions, strategy, progress,
                           libbpf_version)
    except INPUT_ERRORS:
        if failures is None:
            raise
        bad = _culprits(loaded, base, ext, force_collisions, strategy, libbpf_version)
        if not bad:
            raise
        failures.extend(bad)
        dropped = {x.file for x in bad}
        loaded = [(f, b) for f, b in loaded if f not in dropped]
        _check_left(loaded, failures, found)
        res = _merge_dedup([b for _f, b in loaded], base, ext, force_collisions, strategy, progress,
                           libbpf_version)
    inputs = [f for f, _b in loaded]
    btfs = [b for _f, b in loaded]
    types_in = sum(b.nr_types for b in btfs)
    bytes_in = sum(btf_size(b) for b in btfs)
    ext_output = output + ".ext" if ext else None
    maps = None
    if sort:
        out_btf, out_ext, sort_map = sorted_with_map(res.btf, res.ext)
        type_map = sort_map[res.type_map] if map_output is not None else res.type_map
    else:
        out_btf, out_ext, type_map = res.btf, res.ext, res.type_map
    if map_output is not None:
        maps = input_maps(loaded, base.type_cnt if base is not None else 1, type_map)
    data = out_btf.to_bytes()
    # Every file or none: staged, then renamed into place together.
    with OutputSet(protect) as out:
        if ext_output is not None:
            assert out_ext is not None
            out.add(ext_output, out_ext.to_bytes())
        if map_output is not None and maps is not None:
            out.add(map_output, b"".join(map_chunks(maps, map_format)))
        out.add(output, data)
        out.commit()
    return DedupRun(
        inputs=inputs,
        skipped=found.skipped,
        output=output,
        types_in=types_in,
        types_out=res.btf.nr_types,
        bytes_in=bytes_in,
        bytes_out=len(data),
        seconds=time.perf_counter() - t0,
        ext_output=ext_output,
        split=res.btf.base is not None,
        phase_seconds=dict(res.stats.get("seconds", {})),
        failed=list(failures or []),
        input_maps=maps,
    )
