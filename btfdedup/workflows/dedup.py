"""The ``dedup`` workflow: inputs -> one fresh BTF (merge) -> dedup -> file.

The inputs are always merged into a fresh BTF first, even a single one, exactly as
``btf__new_empty[_split]`` + ``btf__add_btf`` (:mod:`btfdedup.append`), then
deduplicated: this is how pahole, bpftool and the BPF linker build their output, so
the result is byte-identical to libbpf's for the same sequence of calls.

With ``ext=True`` (one input carrying ``.BTF.ext``) the input is deduplicated as
parsed, with its ``.BTF.ext`` passed along (libbpf ``btf__dedup`` with
``opts.btf_ext``): a merge would drop the ``.BTF.ext`` strings, which live only in
the source's string section.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from btfdedup.append import merge
from btfdedup.errors import BtfUsageError
from btfdedup.model.btf import Btf
from btfdedup.workflows.inputs import btf_size, check_outputs, expand, load_all, protected_paths, write_output

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

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": len(self.inputs),
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "output": self.output,
            "ext_output": self.ext_output,
            "split": self.split,
            "types_in": self.types_in,
            "types_out": self.types_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 6),
        }


def check_output_path(output: str) -> None:
    """Fail early, before any work, when ``output`` cannot be written as a file."""
    if os.path.isdir(output):
        raise BtfUsageError(f"{output}: is a directory (give the output file name)")
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise BtfUsageError(f"{output}: directory {parent} does not exist")


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
) -> DedupRun:
    """Load ``paths`` (files or directories), merge, dedup, write ``output`` atomically."""
    from btfdedup.engine import dedup

    t0 = time.perf_counter()
    check_output_path(output)
    found = expand(paths)
    found.require_some("input")
    protect = protected_paths(found.files, base_path)
    check_outputs([output, output + ".ext"] if ext else [output], protect)
    btfs = load_all(found.files, base, (lambda d, n: progress("loading", d, n)) if progress else None)
    if base is None:
        bases = {id(b.base): b.base for b in btfs if b.base is not None}
        if bases:
            # e.g. /sys/kernel/btf/<module>, read on the running kernel's vmlinux
            base = next(iter(bases.values()))
    types_in = sum(b.nr_types for b in btfs)
    bytes_in = sum(btf_size(b) for b in btfs)
    ext_output = None
    if ext:
        if len(btfs) != 1:
            raise BtfUsageError(f"--ext needs exactly one input (got {len(btfs)}): .BTF.ext cannot be merged")
        src = btfs[0]
        if src.ext is None:
            raise BtfUsageError(f"{found.files[0]}: has no .BTF.ext")
        if progress:
            progress("dedup", 0, 1)
        res = dedup(src, ext=src.ext, force_collisions=force_collisions, strategy=strategy)
        ext_output = output + ".ext"
    else:
        merged = merge(btfs, base, progress=(lambda i, n, _b: progress("merging", i + 1, n)) if progress else None)
        if progress:
            progress("dedup", 0, 1)
        res = dedup(merged, force_collisions=force_collisions, strategy=strategy)
    data = res.btf.to_bytes()
    if ext_output is not None:
        assert res.ext is not None
        write_output(ext_output, res.ext.to_bytes(), protect)
    write_output(output, data, protect)
    return DedupRun(
        inputs=found.files,
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
    )
