"""``/sys/kernel/btf``: the running kernel's BTF, with vmlinux as automatic base.

The kernel exposes ``vmlinux`` (base BTF) and one file per loaded module with
BTF (split BTF on vmlinux).  Reading ``/sys/kernel/btf/<module>`` therefore
needs ``/sys/kernel/btf/vmlinux`` as base; :func:`auto_base` supplies it, as
bpftool does for ``bpftool btf dump file /sys/kernel/btf/<module>``.
"""

from __future__ import annotations

import os

from btfdedup.errors import BtfUsageError
from btfdedup.model.btf import Btf

SYSFS_BTF_DIR = "/sys/kernel/btf"
VMLINUX_PATH = os.path.join(SYSFS_BTF_DIR, "vmlinux")

_vmlinux_cache: dict[tuple[str, float], Btf] = {}


def is_sysfs_module(path: str) -> bool:
    """True for ``/sys/kernel/btf/<module>`` (any file there except vmlinux)."""
    real = os.path.abspath(path)
    return os.path.dirname(real) == SYSFS_BTF_DIR and os.path.basename(real) != "vmlinux"


def auto_base(path: str) -> Btf | None:
    """vmlinux BTF when ``path`` is a module's file under /sys/kernel/btf, else None."""
    if not is_sysfs_module(path):
        return None
    return vmlinux()


def vmlinux() -> Btf:
    """The running kernel's vmlinux BTF (parsed once per process and file mtime)."""
    from btfdedup.io.load import load

    try:
        key = (VMLINUX_PATH, os.stat(VMLINUX_PATH).st_mtime)
    except OSError as e:
        raise BtfUsageError(
            f"{VMLINUX_PATH}: {e.strerror}: module BTF under {SYSFS_BTF_DIR} needs it as base "
            "(kernel built without CONFIG_DEBUG_INFO_BTF?)"
        ) from None
    if key not in _vmlinux_cache:
        _vmlinux_cache[key] = load(VMLINUX_PATH)
    return _vmlinux_cache[key]
