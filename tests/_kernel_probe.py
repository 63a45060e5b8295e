"""The running kernel's BPF_BTF_LOAD verdict on a blob, for the validator's agreement tests.

``kernel_verdict`` returns ``(accepted, errno, log)`` through
:func:`btfdedup.kernel.btf_load_verdict`; ``probe_skip_reason`` says why the
tests must skip (no bpf(2), no privilege) or None.
"""

from __future__ import annotations

import errno
import os
import struct

from btfdedup.errors import KernelError
from btfdedup.kernel import btf_load_verdict


def kernel_verdict(data: bytes) -> tuple[bool, int, str]:
    """``(accepted, errno, log)`` of the running kernel for ``data``.

    EFAULT, which :func:`btf_load_verdict` raises as "says nothing about the
    blob", is a verdict here: the buffer is always ours and valid, so the kernel
    only faults on what the blob's own lengths make it read (an empty blob).
    """
    try:
        return btf_load_verdict(data)
    except KernelError as e:
        if e.errno == errno.EFAULT:
            return False, e.errno, e.log
        raise


_SKIP: list[str | None] = []


def probe_skip_reason() -> str | None:
    """Why BPF_BTF_LOAD cannot be used here (None when it can)."""
    if _SKIP:
        return _SKIP[0]
    reason: str | None = None
    # A minimal valid BTF: one INT type.
    strs = b"\0int\0"
    types = struct.pack("<IIII", 1, 1 << 24, 4, 32)
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    try:
        ok, err, _log = btf_load_verdict(hdr + types + strs)
    except KernelError as e:
        ok, err = False, e.errno
    if not ok:
        reason = f"BPF_BTF_LOAD refused a valid blob: {os.strerror(err)} (errno {err}); needs CAP_BPF and bpf(2)"
    _SKIP.append(reason)
    return reason
