"""The running kernel's BPF_BTF_LOAD verdict on a blob, for the validator's agreement tests.

Uses :func:`btfdedup.kernel.btf_load_verdict` when the kernel package provides it;
otherwise a minimal ctypes ``bpf(BPF_BTF_LOAD)`` of its own.  ``kernel_verdict``
returns ``(accepted, errno, log)``; ``probe_skip_reason`` says why the tests must
skip (no bpf(2), no privilege) or None.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
import platform
from collections.abc import Callable

_SYS_BPF = {"x86_64": 321, "aarch64": 280}
_BPF_BTF_LOAD = 18
_LOG_SIZE = 64 * 1024 * 1024


class _Attr(ctypes.Structure):
    _fields_ = [
        ("btf", ctypes.c_uint64),
        ("btf_log_buf", ctypes.c_uint64),
        ("btf_size", ctypes.c_uint32),
        ("btf_log_size", ctypes.c_uint32),
        ("btf_log_level", ctypes.c_uint32),
    ]


_logbuf: ctypes.Array[ctypes.c_char] | None = None


def _private_verdict(data: bytes) -> tuple[bool, int, str]:
    global _logbuf
    nr = _SYS_BPF.get(platform.machine())
    if nr is None or os.uname().sysname != "Linux":
        return False, errno_mod.ENOSYS, ""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if _logbuf is None:
        _logbuf = ctypes.create_string_buffer(_LOG_SIZE)
    _logbuf[0] = b"\0"
    buf = ctypes.create_string_buffer(bytes(data), len(data) or 1)
    attr = _Attr()
    attr.btf = ctypes.addressof(buf)
    attr.btf_size = len(data)
    attr.btf_log_buf = ctypes.addressof(_logbuf)
    attr.btf_log_size = _LOG_SIZE
    attr.btf_log_level = 1
    fd = libc.syscall(
        ctypes.c_long(nr), ctypes.c_long(_BPF_BTF_LOAD), ctypes.byref(attr), ctypes.c_long(ctypes.sizeof(attr))
    )
    if fd >= 0:
        os.close(fd)
        return True, 0, ""
    err = ctypes.get_errno()
    return False, err, _logbuf.value.decode("latin-1")


def _shared_verdict() -> Callable[[bytes], tuple[bool, int, str]] | None:
    try:
        from btfdedup.kernel import btf_load_verdict
    except ImportError:
        return None
    return btf_load_verdict  # type: ignore[no-any-return]


def kernel_verdict(data: bytes) -> tuple[bool, int, str]:
    """``(accepted, errno, log)`` of the running kernel for ``data``."""
    fn = _shared_verdict()
    if fn is not None:
        try:
            return fn(data)
        except Exception:  # noqa: BLE001 - fall back to the private probe
            pass
    return _private_verdict(data)


_SKIP: list[str | None] = []


def probe_skip_reason() -> str | None:
    """Why BPF_BTF_LOAD cannot be used here (None when it can)."""
    if _SKIP:
        return _SKIP[0]
    reason: str | None = None
    if os.uname().sysname != "Linux" or platform.machine() not in _SYS_BPF:
        reason = "bpf(2) needs Linux on x86_64/aarch64"
    else:
        # A minimal valid BTF: one INT type.
        import struct

        strs = b"\0int\0"
        types = struct.pack("<IIII", 1, 1 << 24, 4, 32)
        hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
        ok, err, _log = _private_verdict(hdr + types + strs)
        if not ok:
            reason = f"BPF_BTF_LOAD refused a valid blob: {os.strerror(err)} (errno {err}); needs CAP_BPF and bpf(2)"
    _SKIP.append(reason)
    return reason
