"""btfdedup: read, deduplicate, merge, validate and write BTF (BPF Type Format).

Public API::

    btf = btfdedup.load("vmlinux.btf")            # raw, ELF, .ko(.xz/.zst/.gz), sysfs
    mod = btfdedup.load("mod.ko", base=btf)       # split BTF on a base
    merged = btfdedup.merge([a, b], base=None)    # libbpf btf__add_btf into a fresh BTF
    result = btfdedup.dedup(merged)               # libbpf v1.6 btf__dedup, same bytes
    result.btf.save("out.btf")                    # atomic, byte-exact writer
    problems = btfdedup.validate(result.btf)      # the kernel verifier's rules, offline

The functions are verbs and the subpackages that implement them are nouns
(:mod:`btfdedup.engine` dedups, :mod:`btfdedup.verifier` validates,
:mod:`btfdedup.append` merges, :mod:`btfdedup.render` dumps,
:mod:`btfdedup.statistics` counts), so no function hides a module.
"""

from __future__ import annotations

import btfdedup._jit_cache  # noqa: F401  (before numba is imported)
from btfdedup.append import merge
from btfdedup.engine import DedupResult, dedup
from btfdedup.errors import (
    BtfError,
    BtfExtFormatError,
    BtfFormatError,
    BtfUsageError,
    DedupError,
    ElfError,
    KernelError,
    MissingBaseError,
    ValidationError,
)
from btfdedup.format.constants import Kind
from btfdedup.io.load import load
from btfdedup.model.btf import Btf
from btfdedup.verifier import Problem, validate

__version__ = "0.1.0"

__all__ = [
    "Btf",
    "DedupResult",
    "Problem",
    "dedup",
    "merge",
    "validate",
    "BtfError",
    "BtfExtFormatError",
    "BtfFormatError",
    "BtfUsageError",
    "DedupError",
    "ElfError",
    "KernelError",
    "Kind",
    "MissingBaseError",
    "ValidationError",
    "load",
    "__version__",
]
