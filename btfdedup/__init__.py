"""btfdedup: read, deduplicate, merge, validate and write BTF (BPF Type Format).

Public API::

    btf = btfdedup.load("vmlinux.btf")            # raw, ELF, .ko(.xz/.zst/.gz), sysfs
    mod = btfdedup.load("mod.ko", base=btf)       # split BTF on a base
    btf.save("out.btf")                           # atomic, byte-exact writer
"""

from __future__ import annotations

import btfdedup._jit_cache  # noqa: F401  (before numba is imported)
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

__version__ = "0.1.0"

__all__ = [
    "Btf",
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
