"""The raw ``bpf(2)`` system call through ctypes, and the ``union bpf_attr`` layouts we use.

No libbpf: every command is one ``syscall(SYS_bpf, cmd, &attr, sizeof(attr))``.
Each command gets its own ctypes structure holding exactly the prefix of
``union bpf_attr`` that command reads (layouts from the kernel's
``include/uapi/linux/bpf.h``).  Passing only that prefix is what libbpf does too:
the kernel zero-fills the rest of its union, so a newer field we do not send can
never be mistaken for garbage, and an older kernel sees only fields it knows
unless we actually set a newer one.

Failures raise :class:`btfdedup.errors.KernelError` whose message says which
command failed and, for the errnos that have a well-known cause here (missing
privilege, a kernel without the command, a blob over the size limit), what to do.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
import platform
from typing import Final

from btfdedup.errors import KernelError

# --- command numbers (enum bpf_cmd) -------------------------------------------------
BPF_MAP_CREATE: Final = 0
BPF_OBJ_PIN: Final = 6
BPF_PROG_GET_NEXT_ID: Final = 11
BPF_MAP_GET_NEXT_ID: Final = 12
BPF_PROG_GET_FD_BY_ID: Final = 13
BPF_MAP_GET_FD_BY_ID: Final = 14
BPF_OBJ_GET_INFO_BY_FD: Final = 15
BPF_BTF_LOAD: Final = 18
BPF_BTF_GET_FD_BY_ID: Final = 19
BPF_BTF_GET_NEXT_ID: Final = 23

CMD_NAMES: Final[dict[int, str]] = {
    BPF_MAP_CREATE: "BPF_MAP_CREATE",
    BPF_OBJ_PIN: "BPF_OBJ_PIN",
    BPF_PROG_GET_NEXT_ID: "BPF_PROG_GET_NEXT_ID",
    BPF_MAP_GET_NEXT_ID: "BPF_MAP_GET_NEXT_ID",
    BPF_PROG_GET_FD_BY_ID: "BPF_PROG_GET_FD_BY_ID",
    BPF_MAP_GET_FD_BY_ID: "BPF_MAP_GET_FD_BY_ID",
    BPF_OBJ_GET_INFO_BY_FD: "BPF_OBJ_GET_INFO_BY_FD",
    BPF_BTF_LOAD: "BPF_BTF_LOAD",
    BPF_BTF_GET_FD_BY_ID: "BPF_BTF_GET_FD_BY_ID",
    BPF_BTF_GET_NEXT_ID: "BPF_BTF_GET_NEXT_ID",
}

#: Linux version that introduced each command (for "kernel too old" messages).
CMD_SINCE: Final[dict[int, str]] = {
    BPF_MAP_CREATE: "3.18",
    BPF_OBJ_PIN: "4.4",
    BPF_PROG_GET_NEXT_ID: "4.13",
    BPF_MAP_GET_NEXT_ID: "4.13",
    BPF_PROG_GET_FD_BY_ID: "4.13",
    BPF_MAP_GET_FD_BY_ID: "4.13",
    BPF_OBJ_GET_INFO_BY_FD: "4.13",
    BPF_BTF_LOAD: "4.18",
    BPF_BTF_GET_FD_BY_ID: "4.18",
    BPF_BTF_GET_NEXT_ID: "5.4",
}

#: Capability the kernel checks first for each command.
CMD_CAPABILITY: Final[dict[int, str]] = {
    BPF_MAP_CREATE: "CAP_BPF (or a BPF token)",
    BPF_BTF_LOAD: "CAP_BPF (or a BPF token)",
    BPF_OBJ_PIN: "CAP_BPF (or a BPF token)",
    BPF_BTF_GET_NEXT_ID: "CAP_SYS_ADMIN",
    BPF_BTF_GET_FD_BY_ID: "CAP_SYS_ADMIN",
    BPF_PROG_GET_NEXT_ID: "CAP_SYS_ADMIN",
    BPF_MAP_GET_NEXT_ID: "CAP_SYS_ADMIN",
    BPF_PROG_GET_FD_BY_ID: "CAP_SYS_ADMIN",
    BPF_MAP_GET_FD_BY_ID: "CAP_SYS_ADMIN",
}

#: ``enum bpf_map_type``: the one-entry array that anchors a pinned BTF object.
BPF_MAP_TYPE_ARRAY: Final = 2
#: ``BPF_OBJ_NAME_LEN``: object names are at most 15 characters plus NUL.
BPF_OBJ_NAME_LEN: Final = 16

# --- flags -----------------------------------------------------------------------------
#: ``BPF_F_RDONLY``/``BPF_F_WRONLY`` file flags (open_flags of *_GET_FD_BY_ID).
BPF_F_RDONLY: Final = 1 << 3
BPF_F_WRONLY: Final = 1 << 4
#: ``BPF_OBJ_PIN``: ``path_fd`` is a directory fd the path is relative to (Linux 6.5).
BPF_F_PATH_FD: Final = 1 << 14
#: The command's ``*_token_fd`` field carries a BPF token (Linux 6.9).
BPF_F_TOKEN_FD: Final = 1 << 15

# --- verifier log levels (shared by BPF_PROG_LOAD and BPF_BTF_LOAD) -------------------
BPF_LOG_LEVEL1: Final = 1
BPF_LOG_LEVEL2: Final = 2
BPF_LOG_STATS: Final = 4
#: Keep the head of an overflowing log instead of the tail (Linux 6.4 made rotation the default).
BPF_LOG_FIXED: Final = 8
BPF_LOG_MASK: Final = BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED
#: The kernel refuses log buffers larger than ``UINT_MAX >> 2`` bytes.
BPF_LOG_MAX_SIZE: Final = 0xFFFFFFFF >> 2
#: Old kernels (before 6.4) refuse log buffers smaller than this.
BPF_LOG_MIN_SIZE: Final = 128

#: ``BTF_MAX_SIZE`` in kernel/bpf/btf.c: larger blobs get E2BIG.
BTF_MAX_SIZE: Final = 16 * 1024 * 1024

# --- attr layouts ---------------------------------------------------------------------


class BtfLoadAttr(ctypes.Structure):
    """``union bpf_attr`` for BPF_BTF_LOAD."""

    _fields_ = [
        ("btf", ctypes.c_uint64),
        ("btf_log_buf", ctypes.c_uint64),
        ("btf_size", ctypes.c_uint32),
        ("btf_log_size", ctypes.c_uint32),
        ("btf_log_level", ctypes.c_uint32),
        ("btf_log_true_size", ctypes.c_uint32),  # output, Linux 6.4
        ("btf_flags", ctypes.c_uint32),  # Linux 6.9
        ("btf_token_fd", ctypes.c_int32),  # Linux 6.9
    ]


class MapCreateAttr(ctypes.Structure):
    """``union bpf_attr`` for BPF_MAP_CREATE, up to ``map_extra``."""

    _fields_ = [
        ("map_type", ctypes.c_uint32),
        ("key_size", ctypes.c_uint32),
        ("value_size", ctypes.c_uint32),
        ("max_entries", ctypes.c_uint32),
        ("map_flags", ctypes.c_uint32),
        ("inner_map_fd", ctypes.c_uint32),
        ("numa_node", ctypes.c_uint32),
        ("map_name", ctypes.c_char * 16),
        ("map_ifindex", ctypes.c_uint32),
        ("btf_fd", ctypes.c_uint32),
        ("btf_key_type_id", ctypes.c_uint32),
        ("btf_value_type_id", ctypes.c_uint32),
        ("btf_vmlinux_value_type_id", ctypes.c_uint32),
        ("map_extra", ctypes.c_uint64),
    ]


class GetIdAttr(ctypes.Structure):
    """``union bpf_attr`` for the *_GET_NEXT_ID and *_GET_FD_BY_ID commands.

    ``start_id`` is the same word as ``prog_id``/``map_id``/``btf_id``.
    """

    _fields_ = [
        ("start_id", ctypes.c_uint32),
        ("next_id", ctypes.c_uint32),
        ("open_flags", ctypes.c_uint32),
        ("fd_by_id_token_fd", ctypes.c_int32),  # Linux 6.14
    ]


class InfoAttr(ctypes.Structure):
    """``union bpf_attr`` for BPF_OBJ_GET_INFO_BY_FD (the ``info`` member)."""

    _fields_ = [
        ("bpf_fd", ctypes.c_uint32),
        ("info_len", ctypes.c_uint32),
        ("info", ctypes.c_uint64),
    ]


class ObjPinAttr(ctypes.Structure):
    """``union bpf_attr`` for BPF_OBJ_PIN / BPF_OBJ_GET."""

    _fields_ = [
        ("pathname", ctypes.c_uint64),
        ("bpf_fd", ctypes.c_uint32),
        ("file_flags", ctypes.c_uint32),
        ("path_fd", ctypes.c_int32),  # Linux 6.5, with BPF_F_PATH_FD
    ]


class BpfBtfInfo(ctypes.Structure):
    """``struct bpf_btf_info`` (name/name_len/kernel_btf since Linux 5.11)."""

    _fields_ = [
        ("btf", ctypes.c_uint64),
        ("btf_size", ctypes.c_uint32),
        ("id", ctypes.c_uint32),
        ("name", ctypes.c_uint64),
        ("name_len", ctypes.c_uint32),
        ("kernel_btf", ctypes.c_uint32),
    ]


class BpfProgInfoPrefix(ctypes.Structure):
    """The first 132 bytes of ``struct bpf_prog_info``: enough to read ``id`` and ``btf_id``.

    A short ``info_len`` is legal: the kernel fills only what fits.
    """

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("id", ctypes.c_uint32),
        ("_pad_to_btf_id", ctypes.c_uint8 * 120),
        ("btf_id", ctypes.c_uint32),  # offset 128
    ]


class BpfMapInfoPrefix(ctypes.Structure):
    """The first 68 bytes of ``struct bpf_map_info``: ``id`` and ``btf_id``."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("id", ctypes.c_uint32),
        ("_pad_to_btf_id", ctypes.c_uint8 * 56),
        ("btf_id", ctypes.c_uint32),  # offset 64
    ]


# --- the system call ------------------------------------------------------------------

#: ``__NR_bpf`` per architecture (``platform.machine()`` spelling).
SYS_BPF_BY_MACHINE: Final[dict[str, int]] = {
    "x86_64": 321,
    "amd64": 321,
    "i386": 357,
    "i686": 357,
    "aarch64": 280,
    "arm64": 280,
    "riscv64": 280,
    "loongarch64": 280,
    "armv7l": 386,
    "armv6l": 386,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
    "mips64": 5315,
    "sparc64": 349,
}

_libc: ctypes.CDLL | None = None


def sys_bpf_number() -> int:
    """``__NR_bpf`` for this machine, or a KernelError(ENOSYS) naming the architecture."""
    machine = platform.machine()
    nr = SYS_BPF_BY_MACHINE.get(machine)
    if nr is None or not os.uname().sysname == "Linux":
        raise KernelError(
            f"bpf(2) is not available here ({os.uname().sysname} {machine}): btfdedup knows its number only on Linux",
            errno=errno_mod.ENOSYS,
        )
    return nr


def _syscall_fn() -> ctypes._NamedFuncPointer:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    fn = _libc.syscall
    fn.restype = ctypes.c_long
    return fn


def errno_name(err: int) -> str:
    """``EINVAL`` style name of an errno value (or its number)."""
    return errno_mod.errorcode.get(err, str(err))


def describe_error(cmd: int, err: int) -> str:
    """One-line explanation of ``bpf(cmd)`` failing with ``err``."""
    name = CMD_NAMES.get(cmd, f"bpf command {cmd}")
    base = f"{name} failed: {os.strerror(err)} ({errno_name(err)})"
    if err == errno_mod.EPERM:
        cap = CMD_CAPABILITY.get(cmd, "CAP_BPF")
        return f"{base}: needs {cap}; run as root or grant the capability"
    if err == errno_mod.ENOSYS:
        return f"{base}: this kernel has no bpf(2) system call (built without CONFIG_BPF_SYSCALL)"
    if err == errno_mod.E2BIG and cmd == BPF_BTF_LOAD:
        return f"{base}: BTF over the kernel's {BTF_MAX_SIZE // (1024 * 1024)} MiB limit, or attr fields this kernel does not know"
    if err == errno_mod.E2BIG:
        return f"{base}: this kernel does not know some attr fields we set (kernel older than the feature)"
    return base


def bpf(cmd: int, attr: ctypes.Structure) -> int:
    """Issue ``bpf(cmd, &attr, sizeof(attr))``; return its non-negative result.

    Raises :class:`KernelError` with ``errno`` set on failure; EINTR/EAGAIN are
    retried as libbpf does.
    """
    fn = _syscall_fn()
    nr = sys_bpf_number()
    size = ctypes.sizeof(attr)
    for _ in range(5):
        ret = fn(ctypes.c_long(nr), ctypes.c_long(cmd), ctypes.byref(attr), ctypes.c_long(size))
        if ret >= 0:
            return int(ret)
        err = ctypes.get_errno()
        if err not in (errno_mod.EINTR, errno_mod.EAGAIN):
            break
    raise KernelError(describe_error(cmd, err), errno=err)


def address_of(buf: ctypes.Array[ctypes.c_char] | ctypes.Structure | bytes | None) -> int:
    """The address to put in a ``__u64`` pointer field (0 for None).

    ``bytes`` are passed without copying; the caller must keep them alive for the call.
    """
    if buf is None:
        return 0
    if isinstance(buf, bytes):
        return ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value or 0
    return ctypes.addressof(buf)


__all__ = [
    "BPF_BTF_GET_FD_BY_ID",
    "BPF_BTF_GET_NEXT_ID",
    "BPF_BTF_LOAD",
    "BPF_F_PATH_FD",
    "BPF_F_RDONLY",
    "BPF_F_TOKEN_FD",
    "BPF_F_WRONLY",
    "BPF_LOG_FIXED",
    "BPF_LOG_LEVEL1",
    "BPF_LOG_LEVEL2",
    "BPF_LOG_MASK",
    "BPF_LOG_MAX_SIZE",
    "BPF_LOG_MIN_SIZE",
    "BPF_LOG_STATS",
    "BPF_MAP_CREATE",
    "BPF_MAP_GET_FD_BY_ID",
    "BPF_MAP_GET_NEXT_ID",
    "BPF_MAP_TYPE_ARRAY",
    "BPF_OBJ_NAME_LEN",
    "BPF_OBJ_GET_INFO_BY_FD",
    "BPF_OBJ_PIN",
    "BPF_PROG_GET_FD_BY_ID",
    "BPF_PROG_GET_NEXT_ID",
    "BTF_MAX_SIZE",
    "BpfBtfInfo",
    "BpfMapInfoPrefix",
    "BpfProgInfoPrefix",
    "BtfLoadAttr",
    "GetIdAttr",
    "InfoAttr",
    "MapCreateAttr",
    "ObjPinAttr",
    "address_of",
    "bpf",
    "describe_error",
    "errno_name",
    "sys_bpf_number",
]
