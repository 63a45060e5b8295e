"""``load()``: one entry point for every input format.

Raw blobs are recognised by the BTF magic; anything else is handed to the ELF
reader (objects, modules, vmlinux), after whole-file decompression for
``.ko.xz``/``.ko.zst``/``.ko.gz``.  ``/sys/kernel/btf/<module>`` gets the running
kernel's vmlinux BTF as base automatically, as bpftool does.
"""

from __future__ import annotations

import os

from btfdedup.errors import BtfFormatError, BtfUsageError
from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf

#: Refuse to read inputs larger than this into memory.
MAX_INPUT_SIZE = 4 * 1024 * 1024 * 1024


def read_file(path: str) -> bytes:
    """Read ``path`` whole, with a clear error for missing or unreadable files."""
    try:
        size = os.path.getsize(path)
        if size > MAX_INPUT_SIZE:
            raise BtfFormatError(f"file is {size} bytes, larger than the {MAX_INPUT_SIZE}-byte limit", source=path)
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise BtfUsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BtfUsageError(f"{path}: is a directory") from None
    except PermissionError:
        raise BtfUsageError(f"{path}: permission denied") from None
    except OSError as e:
        raise BtfUsageError(f"{path}: cannot read: {e.strerror}") from None


def load(src: str | os.PathLike[str] | bytes | bytearray | memoryview, base: Btf | str | None = None) -> Btf:
    """Load BTF from a path or bytes.  ``base`` (a :class:`Btf` or a path) makes
    the input split BTF on it."""
    base_btf = load(base) if isinstance(base, (str, os.PathLike)) else base
    if isinstance(src, (bytes, bytearray, memoryview)):
        return parse_raw(bytes(src), base=base_btf, source="<bytes>")
    path = os.fspath(src)
    if base_btf is None:
        from btfdedup.io import sysfs

        auto = sysfs.auto_base(path)
        if auto is not None:
            base_btf = auto
    data = read_file(path)
    from btfdedup.io import compressed

    data = compressed.maybe_decompress(data, path)
    if data[:2] in (b"\x9f\xeb", b"\xeb\x9f"):
        return parse_raw(data, base=base_btf, source=path)
    if data[:4] == b"\x7fELF":
        from btfdedup.io import elf

        return elf.load_elf(data, base=base_btf, source=path)
    raise BtfFormatError("neither raw BTF (magic eb9f) nor an ELF object", source=path, offset=0)
