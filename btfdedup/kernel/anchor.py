"""Keep a loaded BTF object alive after the process exits: pin a map that holds it.

bpffs pins only programs, maps and links — ``BPF_OBJ_PIN`` on a BTF fd fails
with EINVAL — so a BTF object lives only as long as an fd or a program/map
refers to it.  :func:`pin_btf` therefore creates a one-entry ``BPF_MAP_TYPE_ARRAY``
whose key and value are described by a 4-byte INT of the BTF (the kernel's
``array_map_check_btf`` accepts a 32-bit INT key), pins that map, and closes its
own fd: the pinned map keeps the BTF referenced until the pin is removed.
``bpftool btf show`` then lists the map under the BTF's ``map_ids``.
"""

from __future__ import annotations

import errno as errno_mod
import os

from btfdedup.errors import KernelError
from btfdedup.format.constants import Kind
from btfdedup.kernel import syscall as sc
from btfdedup.kernel.btf import btf_fd_bytes, pin
from btfdedup.kernel.fd import BpfFd, BtfFd

#: Name of the holder map (shown by ``bpftool map show``).
ANCHOR_MAP_NAME = "btf_anchor"


def find_u32_int(data: bytes) -> int:
    """Type ID of a 32-bit INT with size 4 and no bit offset, or 0 if the blob has none.

    The blob is parsed (numpy and the compiled record scan): imported here, so that
    the rest of :mod:`btfdedup.kernel` stays a ctypes-only import."""
    import numpy as np

    from btfdedup.io.raw import parse_raw

    btf = parse_raw(data, source="<kernel BTF>")
    cand = np.flatnonzero((btf.kind == int(Kind.INT)) & (btf.size_type == 4))
    for i in cand.tolist():
        enc = int(btf.words[int(btf.type_start[i]) + 3])
        if enc & 0xFF == 32 and (enc >> 16) & 0xFF == 0:
            return btf.start_id + int(i)
    return 0


def create_anchor_map(btf_fd: int | BtfFd, int_type_id: int) -> BpfFd:
    """A one-entry array map referencing the BTF behind ``btf_fd`` (owned fd)."""
    fd = btf_fd.fd if isinstance(btf_fd, BtfFd) else btf_fd
    attr = sc.MapCreateAttr(
        map_type=sc.BPF_MAP_TYPE_ARRAY,
        key_size=4,
        value_size=4,
        max_entries=1,
        map_name=ANCHOR_MAP_NAME.encode(),
        btf_fd=fd,
        btf_key_type_id=int_type_id,
        btf_value_type_id=int_type_id,
    )
    return BpfFd(sc.bpf(sc.BPF_MAP_CREATE, attr))


def pin_btf(btf_fd: BtfFd, path: str | os.PathLike[str], *, data: bytes | None = None) -> None:
    """Make the BTF object behind ``btf_fd`` outlive this process, pinned at ``path`` on bpffs.

    ``data`` (the object's bytes) saves reading them back from the kernel.
    """
    blob = data if data is not None else btf_fd_bytes(btf_fd)
    int_id = find_u32_int(blob)
    if not int_id:
        raise KernelError(
            "cannot pin this BTF: bpffs cannot pin a BTF object itself, and the holder map needs a 4-byte INT "
            "type, which this BTF lacks",
            errno=errno_mod.EINVAL,
        )
    with create_anchor_map(btf_fd, int_id) as mfd:
        pin(mfd, path)


__all__ = ["ANCHOR_MAP_NAME", "create_anchor_map", "find_u32_int", "pin_btf"]
