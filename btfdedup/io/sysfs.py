"""``/sys/kernel/btf``: the running kernel's BTF, with vmlinux as automatic base."""

from __future__ import annotations

import os

from btfdedup.model.btf import Btf

SYSFS_BTF_DIR = "/sys/kernel/btf"
VMLINUX_PATH = os.path.join(SYSFS_BTF_DIR, "vmlinux")

_vmlinux_cache: dict[tuple[str, float], Btf] = {}


def auto_base(path: str) -> Btf | None:
    """vmlinux BTF when ``path`` is a module's file under /sys/kernel/btf, else None."""
    real = os.path.abspath(path)
    if os.path.dirname(real) != SYSFS_BTF_DIR or os.path.basename(real) == "vmlinux":
        return None
    return vmlinux()


def vmlinux() -> Btf:
    """The running kernel's vmlinux BTF (parsed once per process)."""
    from btfdedup.io.load import load

    key = (VMLINUX_PATH, os.stat(VMLINUX_PATH).st_mtime)
    if key not in _vmlinux_cache:
        _vmlinux_cache[key] = load(VMLINUX_PATH)
    return _vmlinux_cache[key]
