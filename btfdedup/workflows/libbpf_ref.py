"""libbpf's own C dedup, through ctypes, as the reference ``btfdedup bench
--against-libbpf`` measures the strategies against.

Only what the benchmark needs: parse raw BTF bytes (``btf__new``; split BTF on a base
with ``btf__new_split``, or ``btf__parse_raw_split`` on releases without it, such as
Debian 12's 1.1.2), ``btf__dedup`` with default options, and the result's type count
and raw bytes.  The library is the system ``libbpf.so.1`` (or ``$BTFDEDUP_BENCH_LIBBPF``,
a path to another build); when none can be loaded, :func:`find_libbpf` says why and
the benchmark leaves the comparison out with that note.

This is a measuring instrument, not a judge: the test suite's byte-identity oracle is
``tests/oracle/libbpf.py``, which the package never imports.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass

#: Where distributions put the shared library, tried in order before the loader's search.
SYSTEM_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libbpf.so.1",
    "/usr/lib/aarch64-linux-gnu/libbpf.so.1",
    "/usr/lib64/libbpf.so.1",
    "/usr/lib/libbpf.so.1",
)
#: Environment variable naming another libbpf build to measure against.
LIBBPF_ENV = "BTFDEDUP_BENCH_LIBBPF"

_VP = ctypes.c_void_p


class LibbpfMissing(Exception):
    """No usable libbpf: the message says what was tried."""


def find_libbpf() -> str:
    """Path of the libbpf shared library to load; :class:`LibbpfMissing` when none is found."""
    env = os.environ.get(LIBBPF_ENV)
    if env:
        if not os.path.exists(env):
            raise LibbpfMissing(f"{LIBBPF_ENV}={env} does not exist")
        return env
    for path in SYSTEM_CANDIDATES:
        if os.path.exists(path):
            return path
    found = ctypes.util.find_library("bpf")
    if found:
        return found
    raise LibbpfMissing("libbpf.so.1 not found (install the distribution's libbpf1 package, or set "
                        f"{LIBBPF_ENV} to a libbpf.so)")


@dataclass
class Handle:
    """One ``struct btf *`` (freed with :meth:`LibbpfRef.free`)."""

    ptr: int


class LibbpfRef:
    """A loaded libbpf: parse, dedup, count, serialize."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or find_libbpf()
        try:
            self._c = ctypes.CDLL(self.path, mode=os.RTLD_LOCAL, use_errno=True)
        except OSError as e:
            raise LibbpfMissing(f"cannot load {self.path}: {e}") from None
        sigs: dict[str, tuple[object, list[object]]] = {
            "btf__new": (_VP, [ctypes.c_char_p, ctypes.c_uint32]),
            "btf__parse_raw_split": (_VP, [ctypes.c_char_p, _VP]),
            "btf__free": (None, [_VP]),
            "btf__type_cnt": (ctypes.c_uint32, [_VP]),
            "btf__dedup": (ctypes.c_int, [_VP, _VP]),
            "btf__raw_data": (_VP, [_VP, ctypes.POINTER(ctypes.c_uint32)]),
            "libbpf_set_print": (_VP, [_VP]),
        }
        optional = {"btf__new_split": (_VP, [ctypes.c_char_p, ctypes.c_uint32, _VP]),
                    "libbpf_major_version": (ctypes.c_uint32, []),
                    "libbpf_minor_version": (ctypes.c_uint32, [])}
        for name, (res, args) in {**sigs, **optional}.items():
            fn = getattr(self._c, name, None)
            if fn is None:
                if name in optional:
                    continue
                raise LibbpfMissing(f"{self.path} does not export {name}")
            fn.restype = res
            fn.argtypes = args
        self._c.libbpf_set_print(None)  # libbpf's warnings would interleave with the table

    @property
    def version(self) -> str:
        """``major.minor`` (``?`` for releases before 0.7, which cannot say)."""
        if not hasattr(self._c, "libbpf_major_version"):
            return "?"
        return f"{self._c.libbpf_major_version()}.{self._c.libbpf_minor_version()}"

    def _check(self, ptr: int | None, what: str) -> Handle:
        if not ptr:
            err = ctypes.get_errno()
            raise OSError(err, f"libbpf {what} failed: {os.strerror(err) if err else 'no error code'}")
        return Handle(int(ptr))

    def parse(self, data: bytes, base: Handle | None = None) -> Handle:
        """``btf__new`` (``btf__new_split`` on ``base``) of raw BTF bytes; libbpf copies them."""
        ctypes.set_errno(0)
        if base is None:
            return self._check(self._c.btf__new(data, len(data)), "btf__new")
        if hasattr(self._c, "btf__new_split"):
            return self._check(self._c.btf__new_split(data, len(data), _VP(base.ptr)), "btf__new_split")
        fd = os.memfd_create("btfdedup-bench")
        try:
            os.write(fd, data)
            return self._check(self._c.btf__parse_raw_split(f"/proc/self/fd/{fd}".encode(), _VP(base.ptr)),
                               "btf__parse_raw_split")
        finally:
            os.close(fd)

    def dedup(self, h: Handle) -> None:
        """``btf__dedup(btf, NULL)``: default options."""
        rc = self._c.btf__dedup(_VP(h.ptr), None)
        if rc < 0:
            raise OSError(-rc, f"libbpf btf__dedup failed: {os.strerror(-rc)}")

    def type_cnt(self, h: Handle) -> int:
        """``btf__type_cnt``: void + base + own types."""
        return int(self._c.btf__type_cnt(_VP(h.ptr)))

    def raw_size(self, h: Handle) -> int:
        """Bytes of ``btf__raw_data`` (the object's own header, types and strings)."""
        size = ctypes.c_uint32(0)
        ptr = self._c.btf__raw_data(_VP(h.ptr), ctypes.byref(size))
        if not ptr:
            raise OSError(ctypes.get_errno(), "libbpf btf__raw_data failed")
        return int(size.value)

    def free(self, h: Handle) -> None:
        self._c.btf__free(_VP(h.ptr))
