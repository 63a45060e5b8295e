"""The ``split`` job of ``libbpf_driver.c`` driven from a Python process through ctypes.

This is the reference of the split row as the compiled-core issue first measured it:
libbpf (the system ``libbpf.so.1``) called from a Python interpreter, so the figure
holds what any Python tool pays before its first type (the interpreter, ctypes).  The
bare C driver stays the stricter reference next to it in ``benchmarks.compare``.

    python benchmarks/libbpf_ctypes_driver.py BASE OUTDIR MODULE...

Each module is parsed as split BTF on the base (parsed once), deduplicated with
default options and written to ``OUTDIR/<module file name>``.
"""

from __future__ import annotations

import ctypes
import os
import sys

_VP = ctypes.c_void_p


def _libbpf() -> ctypes.CDLL:
    lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    lib.btf__parse.restype = _VP
    lib.btf__parse.argtypes = [ctypes.c_char_p, _VP]
    lib.btf__parse_split.restype = _VP
    lib.btf__parse_split.argtypes = [ctypes.c_char_p, _VP]
    lib.btf__dedup.restype = ctypes.c_int
    lib.btf__dedup.argtypes = [_VP, _VP]
    lib.btf__raw_data.restype = _VP
    lib.btf__raw_data.argtypes = [_VP, ctypes.POINTER(ctypes.c_uint32)]
    lib.btf__free.restype = None
    lib.btf__free.argtypes = [_VP]
    return lib


def split(base_path: str, outdir: str, modules: list[str]) -> int:
    """Dedup each module on the base; the first failure ends the run (exit 1)."""
    lib = _libbpf()
    base = lib.btf__parse(base_path.encode(), None)
    if not base:
        print(f"{base_path}: btf__parse failed", file=sys.stderr)
        return 1
    size = ctypes.c_uint32()
    for path in modules:
        btf = lib.btf__parse_split(path.encode(), base)
        if not btf or lib.btf__dedup(btf, None) != 0:
            print(f"{path}: parse or dedup failed", file=sys.stderr)
            return 1
        data = lib.btf__raw_data(btf, ctypes.byref(size))
        with open(os.path.join(outdir, os.path.basename(path)), "wb") as f:
            f.write(ctypes.string_at(data, size.value))
        lib.btf__free(btf)
    lib.btf__free(base)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(split(sys.argv[1], sys.argv[2], sys.argv[3:]))
