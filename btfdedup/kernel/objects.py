"""Which BPF programs and maps use which BTF object (``prog_ids``/``map_ids`` of ``bpftool btf show``).

The kernel has no reverse index, so, like bpftool, we walk every program and
map (``BPF_PROG_GET_NEXT_ID``/``BPF_MAP_GET_NEXT_ID``), open each by ID and read
the ``btf_id`` from its info.  Objects that vanish mid-walk (ENOENT) are skipped.
The cost is a few syscalls per program and map: cheap on ordinary systems.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os

from btfdedup.errors import KernelError
from btfdedup.kernel import syscall as sc
from btfdedup.kernel.btf import get_fd_by_id, iter_ids


def _btf_users(next_cmd: int, fd_cmd: int, info_type: type[sc.BpfProgInfoPrefix] | type[sc.BpfMapInfoPrefix]) -> dict[int, list[int]]:
    table: dict[int, list[int]] = {}
    for obj_id in iter_ids(next_cmd):
        try:
            fd = get_fd_by_id(fd_cmd, obj_id)
        except KernelError as e:
            if e.errno == errno_mod.ENOENT:
                continue
            raise
        try:
            info = info_type()
            attr = sc.InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=sc.address_of(info))
            sc.bpf(sc.BPF_OBJ_GET_INFO_BY_FD, attr)
        finally:
            os.close(fd)
        btf_id = int(info.btf_id)
        if btf_id:
            table.setdefault(btf_id, []).append(obj_id)
    return table


def btf_prog_ids() -> dict[int, list[int]]:
    """BTF object ID -> IDs of the programs whose ``btf_id`` is that object, ascending."""
    return _btf_users(sc.BPF_PROG_GET_NEXT_ID, sc.BPF_PROG_GET_FD_BY_ID, sc.BpfProgInfoPrefix)


def btf_map_ids() -> dict[int, list[int]]:
    """BTF object ID -> IDs of the maps whose ``btf_id`` is that object, ascending."""
    return _btf_users(sc.BPF_MAP_GET_NEXT_ID, sc.BPF_MAP_GET_FD_BY_ID, sc.BpfMapInfoPrefix)


__all__ = ["btf_map_ids", "btf_prog_ids"]
