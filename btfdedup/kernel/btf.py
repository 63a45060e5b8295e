"""Kernel BTF objects: load a blob (``BPF_BTF_LOAD``), enumerate, inspect and read back.

``btf_load`` is the kernel's verdict on a blob: either an owned :class:`BtfFd`
or a :class:`KernelError` carrying the verifier log.  The log is sized with the
kernel's ``btf_log_true_size`` answer (Linux 6.4+): when the first buffer was too
small the load is retried once with exactly the size the kernel asked for, so the
errno reported is the real verdict and not the ENOSPC of a full log buffer.

Enumeration follows bpftool: IDs from ``BPF_BTF_GET_NEXT_ID``, an fd from
``BPF_BTF_GET_FD_BY_ID``, then ``BPF_OBJ_GET_INFO_BY_FD``.  Objects can disappear
between those calls (the last fd to a BTF object closes); that shows up as
ENOENT and such objects are skipped.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
from collections.abc import Iterator
from dataclasses import dataclass

from btfdedup.errors import KernelError
from btfdedup.kernel import syscall as sc
from btfdedup.kernel.fd import BpfFd, BtfFd

#: First log buffer size when the caller gives none.  A rejection log of a
#: small blob fits easily; a level-1 log of a whole vmlinux does not, and then the
#: kernel's true size drives the single retry.
DEFAULT_LOG_SIZE = 1024 * 1024


@dataclass(frozen=True)
class BtfInfo:
    """What ``BPF_OBJ_GET_INFO_BY_FD`` says about a BTF object.

    ``name`` is "vmlinux" or the module name for kernel BTF, usually empty for
    BTF loaded from user space; ``size`` is the raw blob size in bytes.
    """

    id: int
    name: str
    size: int
    kernel_btf: bool


@dataclass(frozen=True)
class _Attempt:
    fd: int  # >= 0 on success
    errno: int
    log: str
    log_size: int  # buffer size used
    true_size: int  # kernel's btf_log_true_size (0 when the kernel does not report it)


def _log_text(buf: ctypes.Array[ctypes.c_char] | None) -> str:
    if buf is None:
        return ""
    raw = buf.raw
    end = raw.find(b"\0")
    return raw[: end if end >= 0 else len(raw)].decode("utf-8", "replace")


def _attempt(data: bytes, log_level: int, log_size: int, flags: int, token_fd: int | None) -> _Attempt:
    attr = sc.BtfLoadAttr()
    attr.btf = sc.address_of(data)
    attr.btf_size = len(data)
    buf = None
    if log_level:
        buf = ctypes.create_string_buffer(log_size)
        attr.btf_log_buf = sc.address_of(buf)
        attr.btf_log_size = log_size
        attr.btf_log_level = log_level
    attr.btf_flags = flags
    if token_fd is not None:
        attr.btf_token_fd = token_fd
    try:
        fd = sc.bpf(sc.BPF_BTF_LOAD, attr)
        err = 0
    except KernelError as e:
        fd, err = -1, e.errno
    return _Attempt(fd, err, _log_text(buf), log_size, int(attr.btf_log_true_size))


def _last_line(log: str) -> str:
    for line in reversed(log.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def _rejection(att: _Attempt, *, log_level: int, flags: int, truncated: bool) -> KernelError:
    err = att.errno
    if err in (errno_mod.EPERM, errno_mod.ENOSYS, errno_mod.EFAULT):
        return KernelError(sc.describe_error(sc.BPF_BTF_LOAD, err), errno=err, log=att.log)
    what = f"{os.strerror(err)} ({sc.errno_name(err)})"
    if err == errno_mod.EINVAL and log_level and not att.log:
        # btf_parse logs the header first, so an empty log means the attr itself was refused.
        hint = "the kernel refused the load attributes before parsing"
        if flags:
            hint += f" (btf_flags {flags:#x}: BPF tokens need Linux 6.9)"
        elif log_level & ~(sc.BPF_LOG_LEVEL1 | sc.BPF_LOG_LEVEL2):
            hint += f" (log_level {log_level:#x}: BPF_LOG_STATS/BPF_LOG_FIXED need a newer kernel)"
        return KernelError(f"BPF_BTF_LOAD failed: {what}: {hint}", errno=err, log=att.log)
    msg = f"kernel rejected the BTF: {what}"
    reason = _last_line(att.log)
    if reason:
        msg += f": {reason}"
    if truncated:
        msg += f" (verifier log truncated at {att.log_size} bytes)"
    return KernelError(msg, errno=err, log=att.log)


def btf_load(
    data: bytes | bytearray | memoryview,
    *,
    log_level: int = 1,
    log_size: int | None = None,
    flags: int = 0,
    token_fd: int | None = None,
) -> BtfFd:
    """Load a raw BTF blob into the kernel; return the owned fd of the new object.

    ``log_level`` 0 asks for no log; otherwise a combination of
    ``BPF_LOG_LEVEL1|BPF_LOG_LEVEL2|BPF_LOG_STATS|BPF_LOG_FIXED``.  ``log_size``
    is the first buffer size (default :data:`DEFAULT_LOG_SIZE`); when the kernel
    reports that the log needed more (ENOSPC with ``btf_log_true_size``) the load is
    repeated once with a buffer of that size.  On kernels that do not report a true
    size, an ENOSPC is followed by one load without a log, so the verdict is still
    the kernel's and the log keeps what fitted.  ``token_fd`` passes a BPF token
    (sets ``BPF_F_TOKEN_FD`` in ``flags``).

    Raises :class:`KernelError` (``errno``, ``log``) when the kernel refuses.
    """
    blob = bytes(data)
    if len(blob) > sc.BTF_MAX_SIZE:
        raise KernelError(
            f"BTF is {len(blob)} bytes, over the kernel's {sc.BTF_MAX_SIZE}-byte (16 MiB) BPF_BTF_LOAD limit",
            errno=errno_mod.E2BIG,
        )
    if log_level < 0 or log_level & ~sc.BPF_LOG_MASK:
        raise KernelError(
            f"log_level {log_level:#x} has bits outside BPF_LOG_MASK {sc.BPF_LOG_MASK:#x}", errno=errno_mod.EINVAL
        )
    if token_fd is not None:
        flags |= sc.BPF_F_TOKEN_FD
    size = 0
    if log_level:
        size = min(max(log_size if log_size is not None else DEFAULT_LOG_SIZE, sc.BPF_LOG_MIN_SIZE), sc.BPF_LOG_MAX_SIZE)
    att = _attempt(blob, log_level, size, flags, token_fd)
    truncated = False
    if att.fd < 0 and att.errno == errno_mod.ENOSPC and log_level:
        if att.true_size > att.log_size:
            att = _attempt(blob, log_level, min(att.true_size, sc.BPF_LOG_MAX_SIZE), flags, token_fd)
        else:
            # No true size from this kernel: learn the verdict without a log.
            quiet = _attempt(blob, 0, 0, flags, token_fd)
            truncated = True
            att = _Attempt(quiet.fd, quiet.errno, att.log, att.log_size, 0)
    if att.fd < 0:
        raise _rejection(att, log_level=log_level, flags=flags, truncated=truncated)
    return BtfFd(att.fd, log=att.log)


def btf_load_verdict(data: bytes | bytearray | memoryview, *, log_level: int = 1) -> tuple[bool, int, str]:
    """The kernel's verdict on ``data`` as ``(accepted, errno, log)``; never keeps the object.

    Kernel rejections (EINVAL, E2BIG, ...) are returned, not raised; only a
    refusal that says nothing about the blob (no privilege, no bpf(2)) raises
    :class:`KernelError`, so a test generator cannot mistake it for a verdict.
    """
    try:
        with btf_load(data, log_level=log_level) as fd:
            return True, 0, fd.log
    except KernelError as e:
        if e.errno in (errno_mod.EPERM, errno_mod.ENOSYS, errno_mod.EFAULT):
            raise
        return False, e.errno, e.log


def _lacks(cmd: int) -> KernelError:
    """EINVAL for a command issued with nothing but an ID: the kernel predates the command."""
    name = sc.CMD_NAMES[cmd]
    return KernelError(
        f"{name} failed: Invalid argument (EINVAL): this kernel lacks {name} (needs Linux {sc.CMD_SINCE[cmd]})",
        errno=errno_mod.EINVAL,
    )


def _next_id(cmd: int, start: int) -> int | None:
    attr = sc.GetIdAttr(start_id=start)
    try:
        sc.bpf(cmd, attr)
    except KernelError as e:
        if e.errno == errno_mod.ENOENT:
            return None
        if e.errno == errno_mod.EINVAL:
            raise _lacks(cmd) from None
        raise
    return int(attr.next_id)


def iter_ids(cmd: int) -> Iterator[int]:
    """IDs in increasing order from one of the *_GET_NEXT_ID commands."""
    cur = 0
    while True:
        nxt = _next_id(cmd, cur)
        if nxt is None:
            return
        yield nxt
        cur = nxt


def iter_btf_ids() -> Iterator[int]:
    """IDs of every BTF object in the kernel, increasing (needs CAP_SYS_ADMIN)."""
    return iter_ids(sc.BPF_BTF_GET_NEXT_ID)


def get_fd_by_id(cmd: int, obj_id: int, *, open_flags: int = 0) -> int:
    """Raw fd for object ``obj_id`` via a *_GET_FD_BY_ID command (caller owns it).

    IDs are ``__u32``: one outside that range is refused here (ENOENT) instead of
    being truncated by ctypes into some other object's ID.
    """
    if not 0 <= obj_id <= 0xFFFFFFFF:
        kind = sc.CMD_NAMES[cmd].split("_")[1]
        raise KernelError(f"no {kind} object with ID {obj_id} (IDs are 32-bit unsigned)", errno=errno_mod.ENOENT)
    attr = sc.GetIdAttr(start_id=obj_id, open_flags=open_flags)
    try:
        return sc.bpf(cmd, attr)
    except KernelError as e:
        if e.errno == errno_mod.ENOENT:
            kind = sc.CMD_NAMES[cmd].split("_")[1]
            raise KernelError(f"no {kind} object with ID {obj_id}", errno=e.errno) from None
        if e.errno == errno_mod.EINVAL and not open_flags:
            raise _lacks(cmd) from None
        raise


def btf_get_fd_by_id(btf_id: int) -> BtfFd:
    """Open the BTF object ``btf_id``; KernelError(ENOENT) when there is none."""
    return BtfFd(get_fd_by_id(sc.BPF_BTF_GET_FD_BY_ID, btf_id))


def _get_info(fd: int, info: ctypes.Structure) -> None:
    attr = sc.InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=sc.address_of(info))
    sc.bpf(sc.BPF_OBJ_GET_INFO_BY_FD, attr)


def _fd_of(fd: int | BpfFd) -> int:
    return fd.fd if isinstance(fd, BpfFd) else fd


def btf_info(fd: int | BtfFd) -> BtfInfo:
    """ID, name, size and kernel flag of the BTF object behind ``fd``."""
    raw_fd = _fd_of(fd)
    name_buf = ctypes.create_string_buffer(128)
    info = sc.BpfBtfInfo(name=sc.address_of(name_buf), name_len=len(name_buf))
    try:
        _get_info(raw_fd, info)
    except KernelError as e:
        if e.errno != errno_mod.ENOSPC:
            raise
        # Name longer than our buffer: the kernel told us its length.
        name_buf = ctypes.create_string_buffer(int(info.name_len) + 1)
        info = sc.BpfBtfInfo(name=sc.address_of(name_buf), name_len=len(name_buf))
        _get_info(raw_fd, info)
    return BtfInfo(
        id=int(info.id),
        name=name_buf.value.decode("utf-8", "replace"),
        size=int(info.btf_size),
        kernel_btf=bool(info.kernel_btf),
    )


def btf_fd_bytes(fd: int | BtfFd) -> bytes:
    """The raw BTF blob behind ``fd``: one call for the size, one for the bytes."""
    raw_fd = _fd_of(fd)
    info = sc.BpfBtfInfo()
    _get_info(raw_fd, info)
    size = int(info.btf_size)
    buf = ctypes.create_string_buffer(max(size, 1))
    info = sc.BpfBtfInfo(btf=sc.address_of(buf), btf_size=size)
    _get_info(raw_fd, info)
    # A BTF object is immutable, so the size cannot change between the calls.
    return buf.raw[: min(size, int(info.btf_size))]


def btf_get_bytes(btf_id: int) -> bytes:
    """The raw blob of BTF object ``btf_id`` (what ``bpftool btf dump id`` reads)."""
    with btf_get_fd_by_id(btf_id) as fd:
        return btf_fd_bytes(fd)


def iter_btf_infos() -> Iterator[BtfInfo]:
    """:class:`BtfInfo` of every BTF object, skipping objects freed while we walk."""
    for btf_id in iter_btf_ids():
        try:
            with btf_get_fd_by_id(btf_id) as fd:
                yield btf_info(fd)
        except KernelError as e:
            if e.errno == errno_mod.ENOENT:
                continue
            raise


def pin(fd: int | BpfFd, path: str | os.PathLike[str]) -> None:
    """Pin the object behind ``fd`` at ``path`` on a bpffs mount (``BPF_OBJ_PIN``)."""
    p = os.fsencode(os.fspath(path))
    attr = sc.ObjPinAttr(pathname=sc.address_of(p), bpf_fd=_fd_of(fd))
    try:
        sc.bpf(sc.BPF_OBJ_PIN, attr)
    except KernelError as e:
        where = os.fsdecode(p)
        if e.errno == errno_mod.EPERM:
            msg = f"cannot pin at {where}: the directory is not on a bpffs mount (mount -t bpf bpf /sys/fs/bpf), or CAP_BPF is missing"
        elif e.errno == errno_mod.EEXIST:
            msg = f"cannot pin at {where}: the path already exists"
        elif e.errno == errno_mod.ENOENT:
            msg = f"cannot pin at {where}: the directory does not exist"
        elif e.errno == errno_mod.EINVAL:
            msg = (
                f"cannot pin at {where}: the kernel pins only programs, maps and links "
                "(for a BTF object use btfdedup.kernel.anchor.pin_btf)"
            )
        else:
            msg = f"cannot pin at {where}: {e}"
        raise KernelError(msg, errno=e.errno) from None


__all__ = [
    "DEFAULT_LOG_SIZE",
    "BtfInfo",
    "btf_fd_bytes",
    "btf_get_bytes",
    "btf_get_fd_by_id",
    "btf_info",
    "btf_load",
    "btf_load_verdict",
    "get_fd_by_id",
    "iter_btf_ids",
    "iter_btf_infos",
    "iter_ids",
    "pin",
]
