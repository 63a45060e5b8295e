"""Owned file descriptors for kernel BPF objects.

A BTF object lives as long as some fd (or bpffs pin, or program/map) refers to
it, so the fd is the handle users must not leak.  :class:`BpfFd` closes its fd
exactly once: on :meth:`close`, on leaving a ``with`` block, or when garbage
collected; :meth:`detach` hands ownership to the caller instead.
"""

from __future__ import annotations

import errno as errno_mod
import os
import weakref
from types import TracebackType
from typing import TYPE_CHECKING

from btfdedup.errors import KernelError

if TYPE_CHECKING:
    from btfdedup.kernel.btf import BtfInfo


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class BpfFd:
    """An fd returned by ``bpf(2)`` that this object owns."""

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise ValueError(f"invalid fd {fd}")
        self._fd: int | None = fd
        self._finalizer = weakref.finalize(self, _close_quietly, fd)

    @property
    def fd(self) -> int:
        """The descriptor number; KernelError(EBADF) once closed."""
        if self._fd is None:
            raise KernelError("the BPF object fd is already closed", errno=errno_mod.EBADF)
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd is None

    def fileno(self) -> int:
        """Same as :attr:`fd`, so the object works where a file is expected."""
        return self.fd

    def close(self) -> None:
        """Close the fd (idempotent)."""
        if self._fd is not None:
            self._fd = None
            self._finalizer()

    def detach(self) -> int:
        """Give up ownership: return the fd, which the caller must now close."""
        fd = self.fd
        self._finalizer.detach()
        self._fd = None
        return fd

    def __enter__(self) -> BpfFd:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._fd is None else f"fd={self._fd}"
        return f"<{type(self).__name__} {state}>"


class BtfFd(BpfFd):
    """An owned fd of a kernel BTF object.

    ``log`` is the verifier log text of the load that created it (empty for
    objects opened by ID, or when no log was requested).
    """

    def __init__(self, fd: int, *, log: str = "") -> None:
        super().__init__(fd)
        self.log = log
        self._info: BtfInfo | None = None

    def info(self) -> BtfInfo:
        """The object's :class:`BtfInfo` (id, name, size, kernel_btf), fetched once."""
        if self._info is None:
            from btfdedup.kernel.btf import btf_info

            self._info = btf_info(self.fd)
        return self._info

    @property
    def id(self) -> int:
        """The kernel's BTF object ID (what ``bpftool btf show`` lists)."""
        return self.info().id

    def __enter__(self) -> BtfFd:
        return self

    def __repr__(self) -> str:
        if self._fd is None:
            return "<BtfFd closed>"
        return f"<BtfFd fd={self._fd}>"


__all__ = ["BpfFd", "BtfFd"]
