#!/usr/bin/env python3
"""Make ``<module>.distilled.ko``: a module ELF with a distilled ``.BTF.base``.

Out-of-tree modules built with pahole ``--btf_features=distilled_base`` carry,
next to their split ``.BTF``, a minimal ``.BTF.base`` naming only the base
types they use.  This script produces the same from a committed split file:
libbpf's ``btf__distill_base`` (libbpf >= 1.5; give its shared object with
``--libbpf``, e.g. the extension module of the pylibbpf wheel, which links
libbpf v1.6 statically) splits ``<module>.btf`` on ``vmlinux-6.1.btf.xz`` into
(distilled base, new split); both are then attached to a stub x86-64 object by
``llvm-objcopy`` as ``make_ko.sh`` does.  Also writes the two blobs as
``<module>.distilled.base.btf`` / ``<module>.distilled.btf`` for tests.

Usage: make_distilled.py --libbpf PATH [module]   (default module: 8021q)
"""

from __future__ import annotations

import argparse
import ctypes
import lzma
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--libbpf", required=True, help="shared object exporting btf__distill_base")
    ap.add_argument("module", nargs="?", default="8021q")
    args = ap.parse_args()
    lib = ctypes.CDLL(args.libbpf)
    vp = ctypes.c_void_p
    lib.btf__new.restype = vp
    lib.btf__new.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
    lib.btf__new_split.restype = vp
    lib.btf__new_split.argtypes = [ctypes.c_char_p, ctypes.c_uint32, vp]
    lib.btf__distill_base.restype = ctypes.c_int
    lib.btf__distill_base.argtypes = [vp, ctypes.POINTER(vp), ctypes.POINTER(vp)]
    lib.btf__raw_data.restype = vp
    lib.btf__raw_data.argtypes = [vp, ctypes.POINTER(ctypes.c_uint32)]
    lib.btf__free.argtypes = [vp]

    def raw(h: int) -> bytes:
        size = ctypes.c_uint32()
        p = lib.btf__raw_data(h, ctypes.byref(size))
        return ctypes.string_at(p, size.value)

    with lzma.open(os.path.join(HERE, "vmlinux-6.1.btf.xz")) as f:
        vmlinux = f.read()
    with open(os.path.join(HERE, f"{args.module}.btf"), "rb") as f:
        split = f.read()
    base_h = lib.btf__new(vmlinux, len(vmlinux))
    split_h = lib.btf__new_split(split, len(split), base_h)
    if not base_h or not split_h:
        raise SystemExit("libbpf could not parse the inputs")
    new_base, new_split = vp(), vp()
    rc = lib.btf__distill_base(split_h, ctypes.byref(new_base), ctypes.byref(new_split))
    if rc:
        raise SystemExit(f"btf__distill_base failed: {rc}")
    base_bytes, split_bytes = raw(new_base.value), raw(new_split.value)
    for h in (new_split.value, new_base.value, split_h, base_h):
        lib.btf__free(h)
    stem = os.path.join(HERE, f"{args.module}.distilled")
    with open(stem + ".base.btf", "wb") as f:
        f.write(base_bytes)
    with open(stem + ".btf", "wb") as f:
        f.write(split_bytes)
    with tempfile.TemporaryDirectory() as tmp:
        stub_c, stub_o = os.path.join(tmp, "stub.c"), os.path.join(tmp, "stub.o")
        with open(stub_c, "w") as f:
            f.write("int fixture_init(void) { return 0; }\n")
        subprocess.run(["clang", "-target", "x86_64-linux-gnu", "-O2", "-c", stub_c, "-o", stub_o], check=True)
        subprocess.run(
            [
                "llvm-objcopy",
                f"--add-section=.BTF={stem}.btf",
                "--set-section-flags=.BTF=alloc,readonly",
                f"--add-section=.BTF.base={stem}.base.btf",
                "--set-section-flags=.BTF.base=alloc,readonly",
                stub_o,
                stem + ".ko",
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
