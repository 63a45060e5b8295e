"""The ``split`` workflow: each module deduplicated against a base, separately.

For every module:

* split BTF on the base (a shipped ``.ko``'s ``.BTF``): deduplicated as parsed,
  like ``btf__parse_split`` + ``btf__dedup`` — types equal to base types collapse
  into base IDs, the rest is renumbered after the base;
* standalone BTF (a module encoded without ``--btf_base``): first merged onto the
  base as split BTF (``btf__new_empty_split(base)`` + ``btf__add_btf``), then
  deduplicated the same way — what ``pahole --btf_base vmlinux`` gives with libbpf.

Each result is written as split BTF to ``OUTDIR/<name>.btf`` (``name`` = the input
file name without ``.ko``/``.o``/``.btf`` and compression suffixes).  All modules
are deduplicated before the first file is written, and an output that would replace
an input is refused up front, so a failing run leaves OUTDIR untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from btfdedup.append import merge
from btfdedup.errors import BtfUsageError
from btfdedup.model.btf import Btf
from btfdedup.workflows.inputs import btf_size, check_outputs, expand, load_input, protected_paths, write_output

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
            "total": {**self.totals(), "seconds": round(self.seconds, 6)},
        }


def dedup_against_base(module: Btf, base: Btf, *, force_collisions: bool = False, strategy: str = "libbpf") -> Btf:
    """``module`` (split on ``base``, or standalone) deduplicated into split BTF on ``base``."""
    from btfdedup.engine import dedup

    if module.base is not base:
        # Standalone: merged onto ``base``.  Split on an equal copy of ``base`` (merge
        # checks the content and refuses a different one): re-homed on ``base``.
        module = merge([module], base)
    return dedup(module, force_collisions=force_collisions, strategy=strategy).btf


def split_files(
    paths: Sequence[str],
    base: Btf,
    outdir: str,
    *,
    base_path: str | None = None,
    force_collisions: bool = False,
    strategy: str = "libbpf",
    progress: Progress | None = None,
) -> SplitRun:
    """Dedup every module in ``paths`` (files or directories) against ``base`` into ``outdir``."""
    t0 = time.perf_counter()
    found = expand(paths)
    found.require_some("module")
    names: dict[str, str] = {}
    for f in found.files:
        n = module_name(f)
        if n in names:
            raise BtfUsageError(f"{f} and {names[n]} would both be written as {n}.btf")
        names[n] = f
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise BtfUsageError(f"{outdir}: exists and is not a directory")
    protect = protected_paths(found.files, base_path)
    dests = {f: os.path.join(outdir, n + ".btf") for n, f in names.items()}
    check_outputs(dests.values(), protect)
    # Every module is deduplicated before anything is written: a module that fails
    # (wrong base, malformed) leaves OUTDIR as it was, not half filled.
    results: list[ModuleResult] = []
    outputs: list[bytes] = []
    for i, f in enumerate(found.files):
        t = time.perf_counter()
        mod = load_input(f, base)
        out = dedup_against_base(mod, base, force_collisions=force_collisions, strategy=strategy)
        data = out.to_bytes()
        outputs.append(data)
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
            )
        )
        if progress is not None:
            progress(i + 1, len(found.files), module_name(f))
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as e:
        raise BtfUsageError(f"{outdir}: cannot create the output directory: {e.strerror or e}") from e
    for r, data in zip(results, outputs, strict=True):
        write_output(r.output, data, protect)
    return SplitRun(results, found.skipped, base.nr_types, time.perf_counter() - t0)
